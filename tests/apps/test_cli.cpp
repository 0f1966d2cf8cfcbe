// The command-line tools end to end: every shipped config resolves; bad configs fail with the key in the
// message; df_train trains a tiny config, resumes, and df_sample writes samples that match its metrics;
// SIGTERM / SIGINT stop df_train with a checkpoint and a resume continues exactly; df_sample uses the EMA
// weights unless --no-ema.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "df/compositional/cross_metrics.h"
#include "df/data/npy.h"
#include "df/training/checkpoint.h"
#include "tool_process.h"

namespace fs = std::filesystem;

namespace {

using namespace df::test_tools;





TEST(Cli, EveryShippedConfigResolves) {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(std::string(DF_SOURCE_DIR) + "/configs")) {
    if (entry.path().extension() != ".yaml") continue;
    const auto r = run(tool("df_train") + " --print-config --config " + entry.path().string());
    // A config of a domain that this build leaves out (-DDF_DOMAINS without it, no MuJoCo, ...) is reported
    // as an unknown top-level section or domain, not accepted silently.
    const bool domain_not_built = r.output.find("unknown domain") != std::string::npos ||
                                  r.output.find(": unknown key (allowed here: experiment,") != std::string::npos;
    if (r.status != 0) EXPECT_TRUE(domain_not_built) << entry.path() << "\n" << r.output;
    else EXPECT_NE(r.output.find("experiment:"), std::string::npos) << r.output;
    ++count;
  }
  EXPECT_GE(count, 5);
}

TEST(Cli, ConfigErrorsNameTheKey) {
  const auto dir = temp_dir("bad");
  fs::create_directories(dir);
  std::ofstream(dir + "/bad.yaml") << "training:\n  stepz: 3\n";
  auto r = run(tool("df_train") + " --config " + dir + "/bad.yaml --print-config");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("bad.yaml: training.stepz: unknown key"), std::string::npos) << r.output;
  r = run(tool("df_train") + " --config " + config("tiny_compositional.yaml") + " --set training.lr=-3 --print-config");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("training.lr: expected a number > 0, got -3"), std::string::npos) << r.output;
  r = run(tool("df_train") + " --config " + config("tiny_compositional.yaml") + " --set sampling.matrix=zigzag --print-config");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("sampling.matrix: expected one of"), std::string::npos) << r.output;
}

TEST(Cli, TrainResumeAndSampleEndToEnd) {
  const auto dir = temp_dir("run");
  auto r = run(tool("df_train") + " --config " + config("tiny_compositional.yaml") + " --run-dir " + dir +
               " --set training.steps=3");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("step 3/3"), std::string::npos) << r.output;
  for (const auto* f : {"config.yaml", "command.txt", "metrics.csv", "checkpoint.pt", "validation.csv"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  // Resume to 6 steps with the run's stored config.
  r = run(tool("df_train") + " --resume --run-dir " + dir + " --set training.steps=6");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("step 6/6"), std::string::npos) << r.output;

  r = run(tool("df_sample") + " --checkpoint " + dir + "/checkpoint.pt --out " + dir + "/s --batch 5 --tokens 8 " +
          "--matrix pyramid --chunk-size 4 --label pyr");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto samples = df::read_npy(dir + "/s/pyr.npy");
  ASSERT_EQ(samples.sizes(), torch::IntArrayRef({8, 5, 2}));
  // The reported metric is the metric of the written samples.
  const auto m = df::compositional::compute_cross_metrics(samples.transpose(0, 1).contiguous());
  std::ifstream csv(dir + "/s/pyr_metrics.csv");
  std::string line;
  bool found = false;
  while (std::getline(csv, line))
    if (line.rfind("cross_share,", 0) == 0) {
      EXPECT_NEAR(std::stod(line.substr(12)), m.cross_share, 1e-9);
      found = true;
    }
  EXPECT_TRUE(found);
  EXPECT_TRUE(fs::exists(dir + "/s/pyr_command.txt"));
  EXPECT_TRUE(fs::exists(dir + "/s/pyr_config.yaml"));
  // Limited-memory (MPC-style) sampling runs past the training length.
  r = run(tool("df_sample") + " --checkpoint " + dir + "/checkpoint.pt --out " + dir + "/s --batch 3 --tokens 20 " +
          "--memory 1 --replan-every 4 --label mpc");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(df::read_npy(dir + "/s/mpc.npy").size(0), 20);
  // A missing checkpoint is a clear error.
  r = run(tool("df_sample") + " --checkpoint " + dir + "/nope.pt");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("nope.pt: checkpoint not found"), std::string::npos) << r.output;
  // A token count that is not positive is an error, not the training length in disguise.
  for (const auto* tokens : {"0", "-3"}) {
    r = run(tool("df_sample") + " --checkpoint " + dir + "/checkpoint.pt --out " + dir + "/zero --tokens " + tokens);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(std::string("--tokens: expected a positive number of tokens (context included), got ") +
                            tokens),
              std::string::npos)
        << r.output;
  }
  r = run(tool("df_sample") + " --checkpoint " + dir + "/checkpoint.pt --out " + dir + "/zero --batch 0");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--batch: expected a positive number of sequences, got 0"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/zero"));
  // Sampling knobs may be overridden, what fixed the model at training may not (the objective would
  // silently reinterpret the network's output).
  r = run(tool("df_sample") + " --checkpoint " + dir + "/checkpoint.pt --out " + dir + "/bad --set diffusion.objective=eps");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("diffusion.objective is \"eps\" after --config/--set"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/bad"));
}



std::vector<std::string> steps_1_to(int64_t n) {
  std::vector<std::string> steps;
  for (int64_t s = 1; s <= n; ++s) steps.push_back(std::to_string(s));
  return steps;
}




// Starts df_train on the tiny config with far more steps than it will run, waits until metrics.csv has
// `rows` rows (polling; the process must still be running), sends `signal_number` and returns the exit
// status (-1 if it did not exit normally). The step count is large so the run cannot finish before the
// signal however slow or fast the machine is; the resumed and reference runs set their own.
int train_and_signal(const std::string& dir, int signal_number, int64_t rows, std::string& log_text) {
  const auto log = dir + ".log";
  fs::create_directories(dir);
  const pid_t pid = spawn({tool("df_train"), "--config", config("tiny_compositional.yaml"), "--run-dir", dir, "--set",
                           "training.steps=1000000", "--set", "training.checkpoint_every=0", "--set",
                           "training.log_every=1", "--set", "training.validate_every=0"},
                          log);
  EXPECT_GT(pid, 0) << "cannot start df_train";
  if (pid <= 0) return -1;
  int raw = 0;
  bool exited = false;
  // A generous safety net against a hung child, not a pass/fail timing.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count_lines(dir + "/metrics.csv") < rows + 1) {
    if (waitpid(pid, &raw, WNOHANG) == pid) {
      exited = true;
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(exited) << "df_train ended before the signal:\n" << read_text(log);
  if (!exited) {
    kill(pid, signal_number);
    waitpid(pid, &raw, 0);
  }
  log_text = read_text(log);
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

TEST(Cli, StopSignalCheckpointsAndResumeMatchesAnUninterruptedRun) {
  const auto dir = temp_dir("sigterm"), reference = temp_dir("sigterm_reference");
  std::string log;
  const int status = train_and_signal(dir, SIGTERM, 5, log);
  EXPECT_EQ(status, 128 + SIGTERM) << log;
  EXPECT_NE(log.find("stopped by SIGTERM at step"), std::string::npos) << log;
  EXPECT_NE(log.find("df_train --resume --run-dir " + dir), std::string::npos) << log;
  const int64_t k = df::load_checkpoint(dir + "/checkpoint.pt").step;
  ASSERT_GE(k, 5);
  EXPECT_EQ(csv_column(dir + "/metrics.csv", 0), steps_1_to(k)) << "metrics.csv must end at the checkpoint's step";

  // Resume to k + 8 steps, and train the same config uninterrupted for k + 8 steps.
  const auto total = std::to_string(k + 8);
  auto r = run(tool("df_train") + " --resume --run-dir " + dir + " --set training.steps=" + total);
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(tool("df_train") + " --config " + config("tiny_compositional.yaml") + " --run-dir " + reference +
          " --set training.steps=" + total +
          " --set training.checkpoint_every=0 --set training.log_every=1 --set training.validate_every=0");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(csv_column(dir + "/metrics.csv", 0), steps_1_to(k + 8));
  const auto losses = csv_column(dir + "/metrics.csv", 1);
  EXPECT_EQ(losses, csv_column(reference + "/metrics.csv", 1)) << "loss column after interrupt + resume";
  EXPECT_EQ(losses.size(), static_cast<size_t>(k + 8));

  // SIGINT (Ctrl-C) works the same way and exits with 130.
  const auto dir_int = temp_dir("sigint");
  EXPECT_EQ(train_and_signal(dir_int, SIGINT, 3, log), 128 + SIGINT) << log;
  EXPECT_NE(log.find("stopped by SIGINT at step"), std::string::npos) << log;
  const int64_t k_int = df::load_checkpoint(dir_int + "/checkpoint.pt").step;
  EXPECT_GE(k_int, 3);
  EXPECT_EQ(csv_column(dir_int + "/metrics.csv", 0), steps_1_to(k_int));
}

TEST(Cli, SampleUsesEmaWeightsUnlessNoEma) {
  const auto dir = temp_dir("ema");
  auto r = run(tool("df_train") + " --config " + config("tiny_compositional.yaml") + " --run-dir " + dir +
               " --set training.steps=5 --set training.ema_decay=0.9");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto checkpoint = df::load_checkpoint(dir + "/checkpoint.pt");
  ASSERT_FALSE(checkpoint.ema.empty());
  // Two more checkpoints holding one set of weights each as their only (training) weights.
  auto ema_only = checkpoint, training_only = checkpoint;
  for (const auto& [k, v] : checkpoint.ema) ema_only.model[k] = v;
  ema_only.ema.clear();
  training_only.ema.clear();
  df::save_checkpoint(dir + "/ema_only.pt", ema_only);
  df::save_checkpoint(dir + "/training_only.pt", training_only);
  const auto sample = [&](const std::string& checkpoint_file, const std::string& flags, const std::string& label) {
    const auto out = run(tool("df_sample") + " --checkpoint " + dir + "/" + checkpoint_file + " --out " + dir +
                         "/s --batch 4 --tokens 8 --seed 3 --label " + label + flags);
    EXPECT_EQ(out.status, 0) << out.output;
    return df::read_npy(dir + "/s/" + label + ".npy");
  };
  const auto by_default = sample("checkpoint.pt", "", "default");
  const auto no_ema = sample("checkpoint.pt", " --no-ema", "no_ema");
  EXPECT_FALSE(torch::equal(by_default, no_ema)) << "EMA and training weights gave the same samples";
  EXPECT_TRUE(torch::equal(by_default, sample("ema_only.pt", "", "ema_only"))) << "default must sample the EMA weights";
  EXPECT_TRUE(torch::equal(no_ema, sample("training_only.pt", "", "training_only")))
      << "--no-ema must sample the training weights";
}

}  // namespace
