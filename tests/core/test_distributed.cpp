// Data-parallel training on c10d's Gloo backend inside one process: the ranks are threads that meet over
// 127.0.0.1, which is enough to check the torchrun environment, the bucketed gradient average, the control
// messages, and that two ranks with half the batch each train the weights of one process with the whole batch.
// (tests/apps/test_distributed_cli.cpp runs real processes through df_train.)
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include "../error_of.h"
#include "circle_dataset.h"
#include "df/core/error.h"
#include "df/diffusion/forward_process.h"
#include "df/models/resmlp_gru.h"
#include "df/models/state_dict.h"
#include "df/training/checkpoint.h"
#include "df/training/distributed.h"
#include "df/training/launcher.h"
#include "df/training/trainer.h"

namespace df {
namespace {

namespace fs = std::filesystem;

// Sets environment variables for one test and puts the previous values back.
class ScopedEnvironment {
 public:
  void set(const std::string& name, const std::optional<std::string>& value) {
    if (!saved_.count(name)) {
      const char* old = std::getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (value) setenv(name.c_str(), value->c_str(), 1);
    else unsetenv(name.c_str());
  }
  ~ScopedEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value) setenv(name.c_str(), value->c_str(), 1);
      else unsetenv(name.c_str());
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

// Runs body(group) on `world` ranks, one thread each, over 127.0.0.1; rethrows the first rank's exception.
void run_ranks(int world, const std::function<void(ProcessGroup&)>& body, double bucket_mb = 25.0) {
  const int port = find_free_port();
  std::vector<std::exception_ptr> errors(world);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        DistributedEnvironment env;
        env.rank = env.local_rank = rank;
        env.world_size = env.local_world_size = world;
        env.master_addr = "127.0.0.1";
        env.master_port = port;
        DistributedOptions options;
        options.backend = DistributedBackend::Gloo;
        options.timeout_seconds = 60;
        options.bucket_mb = bucket_mb;
        auto group = ProcessGroup::connect(env, torch::kCPU, options);
        body(*group);
      } catch (...) {
        errors[rank] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

TEST(DistributedEnvironment, ReadsTorchrunVariablesAndNamesBadValues) {
  ScopedEnvironment env;
  for (const auto* name : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                           "TORCHELASTIC_USE_AGENT_STORE"})
    env.set(name, std::nullopt);
  auto single = DistributedEnvironment::from_environment();
  EXPECT_EQ(single.world_size, 1);
  EXPECT_EQ(single.rank, 0);
  EXPECT_FALSE(single.multi_process());

  env.set("WORLD_SIZE", "16");
  env.set("RANK", "9");
  env.set("LOCAL_RANK", "1");
  env.set("LOCAL_WORLD_SIZE", "8");
  env.set("MASTER_ADDR", "10.1.2.3");
  env.set("MASTER_PORT", "29400");
  const auto e = DistributedEnvironment::from_environment();
  EXPECT_EQ(e.world_size, 16);
  EXPECT_EQ(e.rank, 9);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 8);
  EXPECT_EQ(e.master_addr, "10.1.2.3");
  EXPECT_EQ(e.master_port, 29400);
  EXPECT_FALSE(e.agent_store);
  EXPECT_EQ(device_for_rank(torch::kCPU, e), torch::Device(torch::kCPU));

  env.set("RANK", "16");  // RANK >= WORLD_SIZE
  EXPECT_NE(error_of([] { DistributedEnvironment::from_environment(); })
                .find("environment variable RANK: expected an integer in [0, 15] (RANK must be < WORLD_SIZE=16), "
                      "got \"16\""),
            std::string::npos);
  env.set("RANK", "-1");
  EXPECT_NE(error_of([] { DistributedEnvironment::from_environment(); }).find("environment variable RANK:"),
            std::string::npos);
  env.set("RANK", "1");
  // Malformed WORLD_SIZE: not a number, trailing junk, zero, empty after a sign.
  for (const auto* bad : {"two", "2x", "0", "-2", "+", " 2"}) {
    env.set("WORLD_SIZE", bad);
    const auto message = error_of([] { DistributedEnvironment::from_environment(); });
    EXPECT_NE(message.find(std::string("environment variable WORLD_SIZE: expected an integer in [1, 1048576], got \"") +
                           bad + "\""),
              std::string::npos)
        << message;
  }
  env.set("WORLD_SIZE", "16");
  env.set("LOCAL_RANK", "16");
  EXPECT_NE(error_of([] { DistributedEnvironment::from_environment(); })
                .find("environment variable LOCAL_RANK: expected an integer in [0, 15]"),
            std::string::npos);
  env.set("LOCAL_RANK", "1");
  env.set("RANK", "1");
  env.set("MASTER_PORT", "http");
  EXPECT_NE(error_of([] { DistributedEnvironment::from_environment(); }).find("MASTER_PORT: expected an integer"),
            std::string::npos);
  env.set("MASTER_PORT", std::nullopt);
  EXPECT_NE(error_of([] { DistributedEnvironment::from_environment(); }).find("needs MASTER_ADDR and MASTER_PORT"),
            std::string::npos);
}

TEST(ProcessGroup, AveragesGradientsInBucketsBetweenTwoRanks) {
  ASSERT_TRUE(distributed_backend_available(DistributedBackend::Gloo)) << "this build has no c10d Gloo backend";
  // 10 + 12 floats fit a 100-byte bucket, 100 floats need their own, 5 more start a third; the fourth
  // parameter has no gradient and must be left alone.
  const double bucket_mb = 100.0 / (1024.0 * 1024.0);
  std::vector<std::vector<float>> results(2);
  std::vector<int64_t> buckets(2);
  run_ranks(2, [&](ProcessGroup& group) {
    const std::vector<std::vector<int64_t>> shapes = {{10}, {3, 4}, {100}, {7}, {5}};
    std::vector<torch::Tensor> params;
    for (size_t i = 0; i < shapes.size(); ++i) {
      auto p = torch::zeros(shapes[i]).requires_grad_(true);
      if (i != 3)  // rank r: (r + 1) * (i + 1) * [0, 1, 2, ...]
        p.mutable_grad() = (group.rank() + 1.0) * (i + 1.0) * torch::arange(p.numel(), torch::kFloat).view(shapes[i]);
      params.push_back(p);
    }
    group.average_gradients(params, "test gradients");
    buckets[group.rank()] = group.last_bucket_count();
    std::vector<float> flat;
    for (size_t i = 0; i < params.size(); ++i) {
      if (i == 3) {
        EXPECT_FALSE(params[i].grad().defined());
        continue;
      }
      const auto g = params[i].grad().reshape({-1});
      flat.insert(flat.end(), g.data_ptr<float>(), g.data_ptr<float>() + g.numel());
    }
    results[group.rank()] = flat;
    // Control messages.
    EXPECT_EQ(group.sum({group.rank() + 1.0, 10.0}, "test sum"), (std::vector<double>{3.0, 20.0}));
    EXPECT_EQ(group.broadcast({group.rank() * 7.0}, 1, "test broadcast"), (std::vector<double>{7.0}));
  }, bucket_mb);
  EXPECT_EQ(buckets[0], 3);
  EXPECT_EQ(buckets[1], 3);
  // Mean of (1, 2) * (i + 1) * k = 1.5 * (i + 1) * k, exact in float for these small integers.
  std::vector<float> expected;
  for (const auto& [i, n] : std::vector<std::pair<int, int>>{{0, 10}, {1, 12}, {2, 100}, {4, 5}})
    for (int k = 0; k < n; ++k) expected.push_back(1.5f * (i + 1) * k);
  EXPECT_EQ(results[0], expected);
  EXPECT_EQ(results[1], expected);
}

// A rank writing to a peer that has died: the write fails with EPIPE instead of SIGPIPE ending the process
// silently (DistributedCli.ARankThatDiesMakesTheOtherFailWithAClearError depends on it when the survivor
// happens to be writing). Without the fix this test process is killed by SIGPIPE.
TEST(ProcessGroup, AWriteToADeadPeerIsAnErrorNotASignal) {
  ASSERT_TRUE(distributed_backend_available(DistributedBackend::Gloo)) << "this build has no c10d Gloo backend";
  run_ranks(2, [](ProcessGroup& group) { EXPECT_EQ(group.sum({1.0}, "test sum"), std::vector<double>{2.0}); });
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  close(fds[1]);
  const char byte = 1;
  errno = 0;
  EXPECT_EQ(write(fds[0], &byte, 1), -1);
  EXPECT_EQ(errno, EPIPE);
  close(fds[0]);
}

TEST(ProcessGroup, RequireEqualNamesTheRanksThatDiffer) {
  std::vector<std::string> messages(3);
  run_ranks(3, [&](ProcessGroup& group) {
    messages[group.rank()] =
        error_of([&] { group.require_equal(group.rank() == 2 ? 99 : 5, "test fingerprints"); });
  });
  for (const auto& m : messages)
    EXPECT_NE(m.find("test fingerprints differ between ranks: rank(s) 2 disagree with rank 0"), std::string::npos)
        << m;
}

TEST(ProcessGroup, AMissingBackendIsAClearError) {
  if (distributed_backend_available(DistributedBackend::Nccl)) GTEST_SKIP() << "this build has NCCL";
  DistributedEnvironment env;
  env.world_size = 2;
  env.master_port = find_free_port();
  DistributedOptions options;
  options.backend = DistributedBackend::Nccl;
  const auto message = error_of([&] { ProcessGroup::connect(env, torch::kCPU, options); });
  EXPECT_NE(message.find("distributed.backend: nccl is not available in this build"), std::string::npos) << message;
}

std::shared_ptr<DiffusionForcingModel> circle_model(uint64_t init_seed) {
  torch::manual_seed(init_seed);
  ResMlpGruOptions o;
  o.x_dim = 2;
  o.z_dim = 16;
  o.network_size = 4;
  o.num_mlp_layers = 2;
  DiffusionOptions d;
  d.sampling_steps = 10;
  return std::make_shared<DiffusionForcingModel>(std::make_shared<ResMlpGruDenoiser>(o), d, torch::kCPU);
}

TrainerOptions sharded_options(int64_t steps, int64_t shards) {
  TrainerOptions t;
  t.steps = steps;
  t.batch_size = 16;
  t.data_shards = shards;
  t.optimizer.lr = 3e-3;
  t.optimizer.warmup_steps = 2;
  t.grad_clip = 1.0;  // clipping must see the averaged gradients
  t.ema_decay = 0.9;  // and the EMA the averaged steps
  t.seed = 5;
  t.log_every = 0;
  return t;
}

double max_difference(const TensorMap& a, const TensorMap& b) {
  double worst = 0;
  for (const auto& [name, t] : a) worst = std::max(worst, (t - b.at(name)).abs().max().item<double>());
  return worst;
}

TEST(DataParallel, TwoRanksWithHalfTheBatchTrainTheWeightsOfOneProcess) {
  const int64_t steps = 8;
  test::CircleDataset one_data(4, 0.5);
  auto one = circle_model(11);
  const auto reference = Trainer(*one, one_data, sharded_options(steps, 4)).run();

  std::vector<std::shared_ptr<DiffusionForcingModel>> models = {circle_model(11), circle_model(11)};
  std::vector<TrainingSummary> summaries(2);
  run_ranks(2, [&](ProcessGroup& group) {
    test::CircleDataset data(4, 0.5);
    summaries[group.rank()] = Trainer(*models[group.rank()], data, sharded_options(steps, 4), {}, &group).run();
  });
  // The ranks hold bit-identical weights (run() also checks it), close to the one-process weights: the sums
  // over the batch are split differently, so they agree to float rounding, not bit for bit.
  const auto w0 = state_dict(*models[0]), w1 = state_dict(*models[1]), w = state_dict(*one);
  for (const auto& [name, t] : w0) EXPECT_TRUE(torch::equal(t, w1.at(name))) << name;
  EXPECT_LT(max_difference(w0, w), 1e-5);
  EXPECT_GT(max_difference(w0, state_dict(*circle_model(11))), 1e-3) << "the weights did not move";
  ASSERT_EQ(summaries[0].losses.size(), reference.losses.size());
  for (size_t i = 0; i < reference.losses.size(); ++i) {
    EXPECT_NEAR(summaries[0].losses[i], reference.losses[i], 1e-5 * std::abs(reference.losses[i])) << "step " << i + 1;
    EXPECT_EQ(summaries[0].losses[i], summaries[1].losses[i]) << "step " << i + 1;
  }
  // Shards are streams of their own: one stream for the whole batch gives other data and other losses.
  test::CircleDataset data(4, 0.5);
  auto unsharded = circle_model(11);
  EXPECT_NE(Trainer(*unsharded, data, sharded_options(steps, 1)).run().losses, reference.losses);
}

// The inputs of step `step` drawn by hand: the whole batch from one stream (shards = 0), or shard `shard` of
// `shards` from its own stream, in the trainer's order (data, levels, noise).
struct Draw {
  torch::Tensor x, levels, eps;
};
Draw draw_by_hand(DiffusionForcingModel& model, const TrainerOptions& options, int64_t step, int64_t shard,
                  int64_t shards) {
  test::CircleDataset data(4, 0.5);
  auto gen = shards == 0 ? Trainer::step_generator(options.seed, step)
                         : Trainer::shard_generator(options.seed, step, shard);
  Draw d;
  d.x = data.sample(shards == 0 ? options.batch_size : options.batch_size / shards, gen).x;
  d.levels = sample_training_levels(options.levels, d.x.size(0), d.x.size(1), model.schedule().timesteps(),
                                    torch::kCPU, gen);
  d.eps = torch::randn(d.x.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat));
  return d;
}

// Loss of `model` on x / levels / eps; its gradients are left in the parameters.
double loss_and_gradients(DiffusionForcingModel& model, const Draw& d) {
  model.train();
  for (auto& p : model.parameters())
    if (p.grad().defined()) p.mutable_grad().zero_();
  const auto z0 = model.denoiser().initial_latent(d.x.size(1), torch::Tensor());
  const auto loss = model.training_loss(d.x, z0, d.levels, d.eps).loss;
  loss.backward();
  return loss.item<double>();
}

std::vector<torch::Tensor> gradients(DiffusionForcingModel& model) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : model.parameters()) grads.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
  return grads;
}

// One process, data_shards = 4: Trainer::train_step uses exactly the concatenation of the four shard draws
// (same loss and gradients bit for bit as a hand-made batch of them), and those gradients are the mean of the
// per-shard gradients (equal shards; the loss is a mean over tokens) up to float rounding -- which is why W
// processes averaging their shards' gradients train the weights of one process with the same shards.
TEST(DataShards, AStepIsTheConcatenationOfShardDrawsAndItsGradientTheMeanOfShardGradients) {
  const int64_t step = 3, shards = 4;
  auto options = sharded_options(10, shards);
  options.grad_clip = 0;  // the gradients stay as backward left them
  options.ema_decay = 0;
  auto trained = circle_model(21), by_hand = circle_model(21);
  test::CircleDataset data(4, 0.5);
  Trainer trainer(*trained, data, options);
  const double trainer_loss = trainer.train_step(step);
  const auto trainer_grads = gradients(*trained);  // the optimizer step changed the weights, not the gradients

  std::vector<Draw> parts;
  for (int64_t i = 0; i < shards; ++i) parts.push_back(draw_by_hand(*by_hand, options, step, i, shards));
  ASSERT_EQ(parts[0].x.size(1), 4);
  EXPECT_FALSE(torch::equal(parts[0].x, parts[1].x)) << "two shards drew the same data";
  EXPECT_FALSE(torch::equal(parts[0].eps, parts[1].eps)) << "two shards drew the same noise";
  Draw whole;
  for (auto member : {&Draw::x, &Draw::levels, &Draw::eps}) {
    std::vector<torch::Tensor> pieces;
    for (const auto& p : parts) pieces.push_back(p.*member);
    whole.*member = torch::cat(pieces, 1);
  }
  const double whole_loss = loss_and_gradients(*by_hand, whole);
  EXPECT_EQ(trainer_loss, whole_loss) << "train_step did not train on the concatenated shard draws";
  const auto whole_grads = gradients(*by_hand);
  ASSERT_EQ(whole_grads.size(), trainer_grads.size());
  for (size_t k = 0; k < whole_grads.size(); ++k) {
    ASSERT_TRUE(whole_grads[k].defined()) << "parameter " << k;
    EXPECT_TRUE(torch::equal(whole_grads[k], trainer_grads[k])) << "parameter " << k;
  }

  // Mean of the per-shard losses and gradients, accumulated in double.
  double mean_loss = 0;
  std::vector<torch::Tensor> mean_grads(whole_grads.size());
  for (const auto& part : parts) {
    mean_loss += loss_and_gradients(*by_hand, part) / shards;
    const auto g = gradients(*by_hand);
    for (size_t k = 0; k < g.size(); ++k) {
      const auto scaled = g[k].to(torch::kDouble) / static_cast<double>(shards);
      mean_grads[k] = mean_grads[k].defined() ? mean_grads[k] + scaled : scaled;
    }
  }
  EXPECT_NEAR(mean_loss, whole_loss, 1e-6 * std::abs(whole_loss));
  double worst = 0, largest = 0;
  for (size_t k = 0; k < whole_grads.size(); ++k) {
    worst = std::max(worst, (mean_grads[k] - whole_grads[k].to(torch::kDouble)).abs().max().item<double>());
    largest = std::max(largest, whole_grads[k].abs().max().item<double>());
  }
  EXPECT_GT(largest, 1e-3);
  EXPECT_LE(worst, 1e-5 * largest) << "largest gradient entry " << largest;

  // data_shards = 1 keeps the single stream per step of earlier versions.
  options.data_shards = 1;
  auto unsharded = circle_model(21), unsharded_by_hand = circle_model(21);
  Trainer one_stream(*unsharded, data, options);
  const double one_stream_loss = one_stream.train_step(step);
  EXPECT_EQ(one_stream_loss, loss_and_gradients(*unsharded_by_hand, draw_by_hand(*unsharded_by_hand, options, step, 0, 0)));
  EXPECT_NE(one_stream_loss, whole_loss);
}

// training.shard_threads: the shards of one process on two threads at once do the arithmetic of two
// data-parallel processes (each thread's gradients, then their sum divided by two, as the all-reduce does):
// the same weights and losses bit for bit, without a process group.
TEST(ShardThreads, TwoThreadsTrainTheBitsOfTwoProcesses) {
  const int64_t steps = 8;
  std::vector<std::shared_ptr<DiffusionForcingModel>> ranks = {circle_model(11), circle_model(11)};
  std::vector<TrainingSummary> summaries(2);
  run_ranks(2, [&](ProcessGroup& group) {
    test::CircleDataset data(4, 0.5);
    summaries[group.rank()] = Trainer(*ranks[group.rank()], data, sharded_options(steps, 4), {}, &group).run();
  });
  auto threaded = circle_model(11);
  auto options = sharded_options(steps, 4);
  options.shard_threads = 2;
  test::CircleDataset data(4, 0.5);
  const auto summary = Trainer(*threaded, data, options).run();
  const auto w = state_dict(*threaded), w_rank = state_dict(*ranks[0]);
  for (const auto& [name, t] : w) EXPECT_TRUE(torch::equal(t, w_rank.at(name))) << name;
  EXPECT_GT(max_difference(w, state_dict(*circle_model(11))), 1e-3) << "the weights did not move";
  EXPECT_EQ(summary.losses, summaries[0].losses);
  // Against one thread over the same four shards: the same steps up to float rounding (the batch sums are split
  // differently), so shard threads change the speed, not what is learned.
  auto one_thread = circle_model(11);
  test::CircleDataset data1(4, 0.5);
  Trainer(*one_thread, data1, sharded_options(steps, 4)).run();
  EXPECT_LT(max_difference(w, state_dict(*one_thread)), 1e-5);
}

TEST(ShardThreads, CountsAreChecked) {
  test::CircleDataset data(4, 0.5);
  auto model = circle_model(1);
  auto options = sharded_options(2, 4);
  options.shard_threads = 3;
  const auto message = error_of([&] { Trainer(*model, data, options); });
  EXPECT_NE(message.find("training.shard_threads (3) must divide training.data_shards (4)"), std::string::npos)
      << message;
  std::vector<std::string> messages(2);
  run_ranks(2, [&](ProcessGroup& group) {
    auto both = sharded_options(2, 4);
    both.shard_threads = 2;
    messages[group.rank()] = error_of([&] { Trainer(*model, data, both, {}, &group); });
  });
  for (const auto& m : messages)
    EXPECT_NE(m.find("training.shard_threads > 1 with several processes"), std::string::npos) << m;
}

TEST(DataParallel, ShardCountsAreCheckedAgainstBatchAndRanks) {
  test::CircleDataset data(4, 0.5);
  auto model = circle_model(1);
  EXPECT_NE(error_of([&] { Trainer(*model, data, sharded_options(2, 3)); })
                .find("training.data_shards (3) must divide training.batch_size (16)"),
            std::string::npos);
  std::vector<std::string> messages(2);
  run_ranks(2, [&](ProcessGroup& group) {
    auto options = sharded_options(2, 1);
    messages[group.rank()] = error_of([&] { Trainer(*model, data, options, {}, &group); });
  });
  for (const auto& m : messages)
    EXPECT_NE(m.find("training.data_shards (1) must be a multiple of the number of processes (2)"), std::string::npos)
        << m;
}

TEST(DataParallel, AStopRequestOnOneRankStopsEveryRankAtTheSameStep) {
  const auto dir = (fs::temp_directory_path() / ("df_test_dp_stop_" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  std::vector<std::shared_ptr<DiffusionForcingModel>> models = {circle_model(2), circle_model(2)};
  std::vector<TrainingSummary> summaries(2);
  run_ranks(2, [&](ProcessGroup& group) {
    test::CircleDataset data(4, 0.5);
    bool stop = false;
    TrainerHooks hooks;
    hooks.on_step = [&](const TrainingProgress& p) {
      stop = stop || (group.rank() == 1 && p.step == 3);  // as if SIGTERM reached rank 1 after step 3
      return true;
    };
    hooks.should_stop = [&] { return stop; };
    auto options = sharded_options(50, 2);
    options.run_dir = dir;
    summaries[group.rank()] = Trainer(*models[group.rank()], data, options, hooks, &group).run();
  });
  for (const auto& s : summaries) {
    EXPECT_TRUE(s.interrupted);
    EXPECT_EQ(s.steps_done, 3);
  }
  EXPECT_EQ(load_checkpoint(dir + "/checkpoint.pt").step, 3);  // written by rank 0
}

TEST(Launcher, ArgumentsWithoutDropTheFlagAndItsValue) {
  const char* argv[] = {"df_train", "--nproc", "4", "--config", "a.yaml", "--nproc=2", "--set", "x=1"};
  EXPECT_EQ(arguments_without(8, argv, "--nproc"),
            (std::vector<std::string>{"--config", "a.yaml", "--set", "x=1"}));
  const int port = find_free_port();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

}  // namespace
}  // namespace df
