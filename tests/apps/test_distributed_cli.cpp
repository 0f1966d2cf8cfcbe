// df_train on several processes (c10d Gloo over 127.0.0.1), end to end: two processes with half the batch each
// give the weights of one process with the whole batch; a rank that dies or hangs makes the others fail with
// a clear error within the timeout (torchrun-style ranks, and under df_train --nproc); a two-process run
// stopped by SIGTERM resumes with one process, and back with two.
#include <gtest/gtest.h>

#include <iostream>
#include <regex>

#include "df/training/checkpoint.h"
#include "df/training/launcher.h"
#include "tool_process.h"

namespace {

using namespace df::test_tools;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

// The tiny config as a 2-shard run that cannot finish by itself (for tests that stop it).
std::vector<std::string> endless_run(const std::string& dir, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {tool("df_train"), "--config", config("tiny_compositional.yaml"), "--run-dir", dir,
                                   "--set", "training.steps=1000000", "--set", "training.checkpoint_every=0",
                                   "--set", "training.log_every=1", "--set", "training.validate_every=0",
                                   "--set", "training.data_shards=2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Polls until `dir`/metrics.csv has `rows` rows; false if `pid` exited first or a minute passed.
bool wait_for_rows(const std::string& dir, int64_t rows, pid_t pid) {
  const auto deadline = clock_type::now() + std::chrono::seconds(60);
  while (count_lines(dir + "/metrics.csv") < rows + 1) {
    int raw = 0;
    if (waitpid(pid, &raw, WNOHANG) == pid || clock_type::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

double max_weight_difference(const std::string& a, const std::string& b) {
  const auto ca = df::load_checkpoint(a), cb = df::load_checkpoint(b);
  EXPECT_EQ(ca.step, cb.step);
  double worst = 0;
  for (const auto& [name, t] : ca.model) worst = std::max(worst, (t - cb.model.at(name)).abs().max().item<double>());
  return worst;
}

// Loss columns of two metrics.csv files agree to float rounding (relative 1e-5), row by row.
void expect_same_losses(const std::string& a, const std::string& b) {
  const auto la = csv_column(a, 1), lb = csv_column(b, 1);
  ASSERT_EQ(la.size(), lb.size()) << a << " vs " << b;
  for (size_t i = 0; i < la.size(); ++i)
    EXPECT_NEAR(std::stod(la[i]), std::stod(lb[i]), 1e-5 * std::abs(std::stod(lb[i]))) << "step " << i + 1;
}

std::vector<std::string> steps_1_to(int64_t n) {
  std::vector<std::string> steps;
  for (int64_t s = 1; s <= n; ++s) steps.push_back(std::to_string(s));
  return steps;
}

TEST(DistributedCli, TwoGlooProcessesGiveTheWeightsOfOneProcessWithTheSameShards) {
  const auto two = temp_dir("dp_two"), one = temp_dir("dp_one");
  const auto common = " --config " + config("tiny_compositional.yaml") + " --set training.steps=6";
  // Two processes need the batch split into a multiple of two shards.
  auto r = run(tool("df_train") + " --nproc 2" + common + " --run-dir " + two);
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("training.data_shards (1) must be a multiple of the number of processes"), std::string::npos)
      << r.output;

  r = run(tool("df_train") + " --nproc 2" + common + " --set training.data_shards=2 --run-dir " + two);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("rank 0 of 2 (gloo, cpu)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("step 6/6"), std::string::npos) << r.output;
  r = run(tool("df_train") + common + " --set training.data_shards=2 --run-dir " + one);
  ASSERT_EQ(r.status, 0) << r.output;

  // Same data (shards 0 and 1 of every step), sums split differently: equal to float rounding.
  // Not bit for bit: one process takes the mean loss over its 8 sequences, two processes each over 4 and then
  // average the gradients, so the float sums are grouped differently.
  const double difference = max_weight_difference(two + "/checkpoint.pt", one + "/checkpoint.pt");
  std::cout << "max |weights (2 processes) - weights (1 process)| after 6 steps: " << difference << "\n";
  EXPECT_LT(difference, 1e-5);
  EXPECT_EQ(csv_column(two + "/metrics.csv", 0), steps_1_to(6));
  expect_same_losses(two + "/metrics.csv", one + "/metrics.csv");
  // Rank 0 validated (steps 3 and 6) and kept best.pt, as one process does.
  EXPECT_EQ(csv_column(two + "/validation.csv", 0), (std::vector<std::string>{"3", "6"}));
  EXPECT_TRUE(fs::exists(two + "/config.yaml") && fs::exists(two + "/command.txt"));
}

struct TwoRanks {
  pid_t rank0 = -1, rank1 = -1;
  std::string log0, log1;
};

// Ranks 0 and 1 started the way torchrun starts them: one df_train each, told who it is by the environment.
TwoRanks start_torchrun_style(const std::string& dir, double timeout_seconds) {
  fs::create_directories(dir);
  const auto port = std::to_string(df::find_free_port());
  TwoRanks ranks{-1, -1, dir + ".rank0.log", dir + ".rank1.log"};
  const auto args = endless_run(dir, {"--set", "distributed.timeout_seconds=" + std::to_string(timeout_seconds)});
  const auto env = [&](int rank) {
    return std::vector<std::string>{"RANK=" + std::to_string(rank), "LOCAL_RANK=" + std::to_string(rank),
                                    "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port};
  };
  ranks.rank0 = spawn(args, ranks.log0, env(0));
  ranks.rank1 = spawn(args, ranks.log1, env(1));
  return ranks;
}

TEST(DistributedCli, ARankThatDiesMakesTheOtherFailWithAClearError) {
  const auto dir = temp_dir("dp_dead");
  const double timeout = 5;  // a closed connection is noticed at once; the timeout is the bound if it were not
  auto ranks = start_torchrun_style(dir, timeout);
  ASSERT_GT(ranks.rank0, 0);
  ASSERT_GT(ranks.rank1, 0);
  const bool training = wait_for_rows(dir, 3, ranks.rank0);
  kill(ranks.rank1, SIGKILL);
  waitpid(ranks.rank1, nullptr, 0);
  ASSERT_TRUE(training) << read_text(ranks.log0) << read_text(ranks.log1);
  // A hang guard, not a speed check: wait_for kills rank 0 and returns -2 if it is still running after a minute.
  const int status = wait_for(ranks.rank0, std::chrono::seconds(60));
  const auto log = read_text(ranks.log0);
  EXPECT_EQ(status, 2) << log;  // df::Error, not a crash (-1) and not a hang (-2)
  EXPECT_NE(log.find("distributed: "), std::string::npos) << log;
  EXPECT_NE(log.find("failed on rank 0 of 2 (gloo"), std::string::npos) << log;
  EXPECT_NE(log.find("another rank has probably exited or stopped responding"), std::string::npos) << log;
}

TEST(DistributedCli, AHungRankMakesTheOtherFailAfterTheTimeout) {
  const auto dir = temp_dir("dp_hung");
  const double timeout = 4;
  auto ranks = start_torchrun_style(dir, timeout);
  ASSERT_GT(ranks.rank0, 0);
  ASSERT_GT(ranks.rank1, 0);
  const bool training = wait_for_rows(dir, 3, ranks.rank0);
  kill(ranks.rank1, SIGSTOP);  // alive, connections open, never answers
  const auto stopped_at = clock_type::now();
  const int status = training ? wait_for(ranks.rank0, std::chrono::seconds(60)) : -3;  // -2: it hung
  const double seconds = std::chrono::duration<double>(clock_type::now() - stopped_at).count();
  kill(ranks.rank1, SIGKILL);
  waitpid(ranks.rank1, nullptr, 0);
  const auto log = read_text(ranks.log0);
  ASSERT_TRUE(training) << log << read_text(ranks.log1);
  EXPECT_EQ(status, 2) << log;
  EXPECT_GE(seconds, timeout - 1) << log;  // it failed because of the timeout, not earlier for another reason
  EXPECT_NE(log.find("failed on rank 0 of 2 (gloo, timeout 4 s)"), std::string::npos) << log;
}

TEST(DistributedCli, TheLauncherNamesTheRankThatDiedAndStopsTheOthers) {
  const auto dir = temp_dir("dp_launcher_dead");
  fs::create_directories(dir);
  const auto log = dir + ".log";
  auto args = endless_run(dir, {"--set", "distributed.timeout_seconds=5"});
  args.insert(args.begin() + 1, {"--nproc", "2"});
  const pid_t launcher = spawn(args, log);
  ASSERT_GT(launcher, 0);
  const bool training = wait_for_rows(dir, 3, launcher);
  std::smatch match;
  const auto text = read_text(log);
  const bool found = std::regex_search(text, match, std::regex("launcher: rank 1 is pid ([0-9]+)"));
  if (found) kill(std::stoi(match[1]), SIGKILL);
  const int status = wait_for(launcher, std::chrono::seconds(120));
  const auto out = read_text(log);
  ASSERT_TRUE(training && found) << out;
  EXPECT_NE(status, 0) << out;
  EXPECT_NE(status, -2) << "the launcher hung:\n" << out;
  EXPECT_NE(out.find("launcher: rank 1 (pid " + match[1].str() + ") was killed by signal 9"), std::string::npos)
      << out;
}

TEST(DistributedCli, ATwoProcessRunStoppedBySigtermResumesWithOneProcessAndBackWithTwo) {
  const auto dir = temp_dir("dp_resume"), reference = temp_dir("dp_resume_reference");
  fs::create_directories(dir);
  const auto log = dir + ".log";
  auto args = endless_run(dir);
  args.insert(args.begin() + 1, {"--nproc", "2"});
  const pid_t launcher = spawn(args, log);
  ASSERT_GT(launcher, 0);
  const bool training = wait_for_rows(dir, 3, launcher);
  kill(launcher, SIGTERM);  // forwarded to both ranks: they stop at the same step, rank 0 checkpoints
  const int status = wait_for(launcher, std::chrono::seconds(120));
  ASSERT_TRUE(training) << read_text(log);
  EXPECT_EQ(status, 128 + SIGTERM) << read_text(log);
  const int64_t k = df::load_checkpoint(dir + "/checkpoint.pt").step;
  ASSERT_GE(k, 3);
  EXPECT_EQ(csv_column(dir + "/metrics.csv", 0), steps_1_to(k));

  // One process continues the two-process run; a one-process run of the same length is the reference.
  const auto fixed = " --set training.checkpoint_every=0 --set training.log_every=1 --set training.validate_every=0";
  auto r = run(tool("df_train") + " --resume --run-dir " + dir + " --set training.steps=" + std::to_string(k + 3));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
  r = run(tool("df_train") + " --config " + config("tiny_compositional.yaml") + " --run-dir " + reference +
          " --set training.data_shards=2 --set training.steps=" + std::to_string(k + 3) + fixed);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(csv_column(dir + "/metrics.csv", 0), steps_1_to(k + 3));
  expect_same_losses(dir + "/metrics.csv", reference + "/metrics.csv");
  EXPECT_LT(max_weight_difference(dir + "/checkpoint.pt", reference + "/checkpoint.pt"), 1e-5);

  // And two processes continue a one-process run.
  const auto more = " --set training.steps=" + std::to_string(k + 5);
  r = run(tool("df_train") + " --nproc 2 --resume --run-dir " + dir + more);
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(tool("df_train") + " --resume --run-dir " + reference + more);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(csv_column(dir + "/metrics.csv", 0), steps_1_to(k + 5));
  expect_same_losses(dir + "/metrics.csv", reference + "/metrics.csv");
  EXPECT_LT(max_weight_difference(dir + "/checkpoint.pt", reference + "/checkpoint.pt"), 1e-5);
}

}  // namespace
