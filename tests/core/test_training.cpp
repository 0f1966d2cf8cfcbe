// Training: loss falls and samples land on the data of a tiny task; resume is bit-identical; a crashed
// checkpoint write keeps the previous checkpoint; a non-finite loss stops the run cleanly; a stop request
// (SIGTERM / SIGINT through StopSignalGuard) checkpoints at the current step; timed checkpoints; EMA weights
// and the fp16 loss scaler against closed forms; the teacher-forcing share mixes whole steps of the two losses.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "circle_dataset.h"
#include "df/core/error.h"
#include "df/core/stop_signal.h"
#include "df/experiment/experiment_config.h"
#include "df/models/resmlp_gru.h"
#include "df/sampling/sampler.h"
#include "df/training/checkpoint.h"
#include "df/training/optimizer.h"
#include "df/training/trainer.h"

namespace df {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<DiffusionForcingModel> circle_model(uint64_t init_seed) {
  torch::manual_seed(init_seed);
  ResMlpGruOptions o;
  o.x_dim = 2;
  o.z_dim = 32;
  o.network_size = 4;
  o.num_mlp_layers = 2;
  DiffusionOptions d;
  d.schedule.kind = ScheduleKind::Cosine;
  d.objective = Objective::X0;
  d.sampling_steps = 10;
  return std::make_shared<DiffusionForcingModel>(std::make_shared<ResMlpGruDenoiser>(o), d, torch::kCPU);
}

TrainerOptions circle_options(const std::string& run_dir, int64_t steps) {
  TrainerOptions t;
  t.steps = steps;
  t.batch_size = 32;
  t.optimizer.lr = 3e-3;
  t.optimizer.warmup_steps = 20;
  t.grad_clip = 1.0;
  t.seed = 42;
  t.log_every = 0;
  t.run_dir = run_dir;
  return t;
}

std::string temp_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("df_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

TEST(Training, LossFallsAndSamplesLandOnTheCircle) {
  // Measure: samples of 6 tokens from z_0 should lie on the unit circle (| |x| - 1 | small) and advance
  // by the training angular step 0.5 rad. An untrained model gives radius errors ~O(1).
  auto model = circle_model(1);
  test::CircleDataset data(6, 0.5);
  Trainer trainer(*model, data, circle_options("", 600));
  const auto summary = trainer.run();
  const auto& l = summary.losses;
  auto mean = [](auto b, auto e) { return std::accumulate(b, e, 0.0) / std::distance(b, e); };
  const double first = mean(l.begin(), l.begin() + 50), last = mean(l.end() - 50, l.end());
  EXPECT_LT(last, 0.5 * first) << "loss: first 50 steps " << first << ", last 50 steps " << last;

  SamplerOptions so;
  Sampler sampler(*model, so);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const int64_t B = 256;
  model->eval();
  const auto x = sampler.rollout(model->denoiser().initial_latent(B, {}), 6, 1, ScheduleMatrixKind::Autoregressive, 1.0,
                                 {}, gen);  // [6, B, 2]
  const double radius_error = (x.norm(2, -1) - 1).abs().mean().item<double>();
  const auto angle = torch::atan2(x.select(-1, 1), x.select(-1, 0));
  auto dtheta = angle.slice(0, 1) - angle.slice(0, 0, -1);
  dtheta = torch::remainder(dtheta + M_PI, 2 * M_PI) - M_PI;
  const double step_error = (dtheta - 0.5).abs().mean().item<double>();
  EXPECT_LT(radius_error, 0.1) << "mean | |x| - 1 |";
  EXPECT_LT(step_error, 0.15) << "mean |dtheta - 0.5| (rad)";
}

TEST(Optimizer, LearningRateScheduleMatchesClosedForm) {
  OptimizerOptions o;
  o.lr = 1e-3;
  o.warmup_steps = 10;
  // Reference: linear warm-up, then constant.
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 0), 1e-4);
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 4), 5e-4);
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 9), 1e-3);
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 5000), 1e-3);
  // Cosine decay over steps 10..110 down to 0.1 lr: halfway is lr * (0.1 + 0.9 * 0.5).
  o.decay_steps = 110;
  o.min_lr_ratio = 0.1;
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 9), 1e-3);
  EXPECT_NEAR(scheduled_lr(o, 10), 1e-3, 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 60), 1e-3 * 0.55, 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 35), 1e-3 * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 0.25))), 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 110), 1e-4, 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 500), 1e-4, 1e-15);
  // Constant until decay_start = 60, then the cosine over 60..110: halfway is step 85.
  o.decay_start = 60;
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 35), 1e-3);
  EXPECT_NEAR(scheduled_lr(o, 60), 1e-3, 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 85), 1e-3 * 0.55, 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 70), 1e-3 * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 0.2))), 1e-15);
  EXPECT_NEAR(scheduled_lr(o, 110), 1e-4, 1e-15);
  // A start inside the warm-up changes nothing: the cosine begins after it.
  o.decay_start = 5;
  EXPECT_NEAR(scheduled_lr(o, 60), 1e-3 * 0.55, 1e-15);
}

TEST(Training, ResumeIsBitIdentical) {
  const auto dir_a = temp_dir("resume_a"), dir_b = temp_dir("resume_b");
  test::CircleDataset data(4, 0.5);
  // Uninterrupted: 40 steps.
  auto model_a = circle_model(7);
  Trainer a(*model_a, data, circle_options(dir_a, 40));
  const auto full = a.run().losses;
  // Interrupted at 17 steps (on_step returns false), then resumed by a fresh process-like setup whose
  // model starts from different weights: everything must come from the checkpoint.
  auto model_b = circle_model(7);
  TrainerHooks stop_hooks;
  stop_hooks.on_step = [](const TrainingProgress& p) { return p.step < 17; };
  Trainer b(*model_b, data, circle_options(dir_b, 40), stop_hooks);
  auto first = b.run().losses;
  ASSERT_EQ(first.size(), 17u);
  auto model_c = circle_model(999);
  Trainer c(*model_c, data, circle_options(dir_b, 40));
  const auto second = c.run(true).losses;
  first.insert(first.end(), second.begin(), second.end());
  ASSERT_EQ(first.size(), full.size());
  for (size_t i = 0; i < full.size(); ++i) EXPECT_EQ(first[i], full[i]) << "step " << i + 1;
  const auto wa = state_dict(*model_a), wc = state_dict(*model_c);
  for (const auto& [k, v] : wa) EXPECT_TRUE(torch::equal(v, wc.at(k))) << k;
  // metrics.csv has exactly one row per step after the resume.
  std::ifstream csv(dir_b + "/metrics.csv");
  EXPECT_EQ(std::count(std::istreambuf_iterator<char>(csv), {}, '\n'), 41);
}

TEST(Checkpoint, CrashedWriteKeepsThePreviousCheckpoint) {
  const auto dir = temp_dir("ckpt");
  const auto path = dir + "/checkpoint.pt";
  Checkpoint c;
  c.step = 5;
  c.config_yaml = "a: 1\n";
  c.model["w"] = torch::arange(6, torch::kFloat);
  save_checkpoint(path, c);
  // Steps far past one byte survive the round trip.
  Checkpoint big = c;
  big.step = 123456789;
  save_checkpoint(dir + "/big.pt", big);
  EXPECT_EQ(load_checkpoint(dir + "/big.pt").step, 123456789);
  Checkpoint d = c;
  d.step = 6;
  d.model["w"] = torch::zeros(6);
  EXPECT_THROW(save_checkpoint(path, d, [] { throw std::runtime_error("simulated crash before rename"); }),
               std::runtime_error);
  // A torn temp file from the crash must not matter either.
  std::ofstream(path + ".tmp", std::ios::trunc) << "PK\x03\x04 torn";
  const auto back = load_checkpoint(path);
  EXPECT_EQ(back.step, 5);
  EXPECT_EQ(back.config_yaml, "a: 1\n");
  EXPECT_TRUE(torch::equal(back.model.at("w"), torch::arange(6, torch::kFloat)));
  // A truncated checkpoint is reported with its path.
  std::ofstream(dir + "/broken.pt") << "not a checkpoint";
  try {
    load_checkpoint(dir + "/broken.pt");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken.pt"), std::string::npos) << e.what();
  }
}

TEST(Training, NonFiniteLossStopsAndKeepsTheLastCheckpoint) {
  const auto dir = temp_dir("nan");
  test::CircleDataset data(4, 0.5);
  auto model = circle_model(3);
  auto options = circle_options(dir, 30);
  options.checkpoint_every = 10;
  TrainerHooks hooks;
  hooks.on_step = [&](const TrainingProgress& p) {
    if (p.step == 12) data.poison(true);
    return true;
  };
  Trainer trainer(*model, data, options, hooks);
  try {
    trainer.run();
    FAIL() << "expected a non-finite loss error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite loss"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("step 13"), std::string::npos) << e.what();
  }
  EXPECT_EQ(load_checkpoint(dir + "/checkpoint.pt").step, 10);
}


std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Column `column` of every data row of a CSV (header skipped), as text.
std::vector<std::string> csv_column(const std::string& path, size_t column) {
  std::vector<std::string> values;
  const auto lines = read_lines(path);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::istringstream row(lines[i]);
    std::string cell;
    for (size_t c = 0; c <= column && std::getline(row, cell, ','); ++c) {
    }
    values.push_back(cell);
  }
  return values;
}

std::vector<std::string> expected_steps(int64_t n) {
  std::vector<std::string> steps;
  for (int64_t s = 1; s <= n; ++s) steps.push_back(std::to_string(s));
  return steps;
}

int g_previous_handler_calls = 0;
void counting_handler(int) { ++g_previous_handler_calls; }

// Restores the default action of SIGTERM and SIGINT when a test ends, whatever it installed.
struct DefaultSignals {
  ~DefaultSignals() {
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGINT, SIG_DFL);
  }
};

TEST(StopSignal, RecordsTheFirstSignalAndRestoresThePreviousHandlers) {
  DefaultSignals restore;
  g_previous_handler_calls = 0;
  ASSERT_NE(std::signal(SIGTERM, counting_handler), SIG_ERR);
  {
    StopSignalGuard guard;
    EXPECT_FALSE(guard.requested());
    EXPECT_EQ(guard.signal(), 0);
    EXPECT_THROW(StopSignalGuard second, Error);  // the flag is process-wide
    std::raise(SIGTERM);
    EXPECT_TRUE(guard.requested());
    EXPECT_EQ(guard.signal(), SIGTERM);
    EXPECT_EQ(g_previous_handler_calls, 0) << "the guard's handler, not the previous one, must get SIGTERM";
    std::raise(SIGTERM);  // repeated SIGTERMs are only recorded
    std::raise(SIGINT);   // the first signal stays the reported one
    EXPECT_EQ(guard.signal(), SIGTERM);
    EXPECT_EQ(StopSignalGuard::name(guard.signal()), "SIGTERM");
  }
  std::raise(SIGTERM);
  EXPECT_EQ(g_previous_handler_calls, 1) << "the previous SIGTERM handler was not restored";
  // A new guard starts clear; SIGINT is reported as such.
  StopSignalGuard guard;
  EXPECT_FALSE(guard.requested());
  std::raise(SIGINT);
  EXPECT_EQ(guard.signal(), SIGINT);
  EXPECT_EQ(StopSignalGuard::name(SIGINT), "SIGINT");
}

TEST(StopSignal, IgnoredSignalsStayIgnored) {
  DefaultSignals restore;
  ASSERT_NE(std::signal(SIGINT, SIG_IGN), SIG_ERR);
  {
    StopSignalGuard guard;
    std::raise(SIGINT);
    EXPECT_FALSE(guard.requested()) << "SIGINT was ignored before the guard and must stay ignored";
  }
  struct sigaction now {};
  ASSERT_EQ(sigaction(SIGINT, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_IGN);
}

TEST(StopSignal, SecondSigintEndsTheProcess) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::signal(SIGINT, SIG_DFL);
        StopSignalGuard guard;
        std::raise(SIGINT);
        if (!guard.requested()) std::_Exit(10);
        std::raise(SIGINT);
        std::_Exit(11);  // not reached when the second SIGINT kills the process
      },
      ::testing::KilledBySignal(SIGINT), "");
}

TEST(Trainer, StopRequestCheckpointsAtTheCurrentStepAndResumesExactly) {
  DefaultSignals restore;
  const auto dir_full = temp_dir("stop_full"), dir = temp_dir("stop");
  test::CircleDataset data(4, 0.5);
  auto model_full = circle_model(11);
  Trainer full(*model_full, data, circle_options(dir_full, 30));
  const auto full_summary = full.run();
  EXPECT_FALSE(full_summary.interrupted);

  // SIGTERM arrives during step 13 (raised from on_step); the trainer stops before step 14.
  auto model = circle_model(11);
  int validations = 0;
  TrainerHooks hooks;
  hooks.validate = [&](DiffusionForcingModel&, int64_t) {
    ++validations;
    return std::map<std::string, double>{};
  };
  hooks.on_step = [](const TrainingProgress& p) {
    if (p.step == 13) std::raise(SIGTERM);
    return true;
  };
  TrainingSummary first;
  {
    StopSignalGuard guard;
    hooks.should_stop = [&guard] { return guard.requested(); };
    Trainer trainer(*model, data, circle_options(dir, 30), hooks);
    first = trainer.run();
    EXPECT_EQ(guard.signal(), SIGTERM);
  }
  EXPECT_TRUE(first.interrupted);
  EXPECT_EQ(first.steps_done, 13);
  EXPECT_EQ(first.losses.size(), 13u);
  EXPECT_EQ(validations, 0) << "an interrupted run must not run the final validation";
  EXPECT_EQ(load_checkpoint(dir + "/checkpoint.pt").step, 13);
  EXPECT_EQ(csv_column(dir + "/metrics.csv", 0), expected_steps(13));

  // Rows logged past the checkpoint and a row torn by a kill mid-write must both go on resume.
  std::ofstream(dir + "/metrics.csv", std::ios::app) << "14,0.5,0.001,9\n15,0.5,0.001,9\n1";
  auto model_resumed = circle_model(999);
  Trainer resumed(*model_resumed, data, circle_options(dir, 30));
  const auto second = resumed.run(true);
  EXPECT_FALSE(second.interrupted);
  auto losses = first.losses;
  losses.insert(losses.end(), second.losses.begin(), second.losses.end());
  ASSERT_EQ(losses.size(), full_summary.losses.size());
  for (size_t i = 0; i < losses.size(); ++i) EXPECT_EQ(losses[i], full_summary.losses[i]) << "step " << i + 1;
  EXPECT_EQ(csv_column(dir + "/metrics.csv", 0), expected_steps(30));
  EXPECT_EQ(csv_column(dir + "/metrics.csv", 1), csv_column(dir_full + "/metrics.csv", 1));
}

TEST(Trainer, CheckpointMinutesWritesCheckpointsBetweenStepCheckpoints) {
  test::CircleDataset data(4, 0.5);
  // Returns, for every step s >= 2, the step of checkpoint.pt as seen from on_step (-1 = none yet).
  const auto checkpoint_steps_seen = [&](const std::string& name, double minutes) {
    const auto dir = temp_dir(name);
    auto model = circle_model(2);
    auto options = circle_options(dir, 6);
    options.checkpoint_every = 0;
    options.checkpoint_minutes = minutes;
    std::vector<int64_t> seen;
    TrainerHooks hooks;
    hooks.on_step = [&](const TrainingProgress& p) {
      const auto path = dir + "/checkpoint.pt";
      if (p.step >= 2) seen.push_back(fs::exists(path) ? load_checkpoint(path).step : -1);
      return true;
    };
    Trainer(*model, data, options, hooks).run();
    EXPECT_EQ(load_checkpoint(dir + "/checkpoint.pt").step, 6) << name;
    return seen;
  };
  // Far below one step's duration: a checkpoint after every step, so step s sees the one of step s - 1.
  EXPECT_EQ(checkpoint_steps_seen("minutes_tiny", 1e-9), (std::vector<int64_t>{1, 2, 3, 4, 5}));
  // Off, or far longer than the run: only the final checkpoint.
  EXPECT_EQ(checkpoint_steps_seen("minutes_off", 0.0), (std::vector<int64_t>{-1, -1, -1, -1, -1}));
  EXPECT_EQ(checkpoint_steps_seen("minutes_long", 1e6), (std::vector<int64_t>{-1, -1, -1, -1, -1}));
}

TEST(Trainer, CheckpointMinutesIsReadFromTheConfig) {
  auto config = make_experiment_config();
  EXPECT_EQ(read_trainer_options(config, "run").checkpoint_minutes, 0.0) << "default must be off";
  config.set("training.checkpoint_minutes=2.5");
  config.validate();
  EXPECT_EQ(read_trainer_options(config, "run").checkpoint_minutes, 2.5);
  config.set("training.checkpoint_minutes=-1");
  try {
    config.validate();
    FAIL() << "a negative training.checkpoint_minutes was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training.checkpoint_minutes"), std::string::npos) << e.what();
  }
}

TEST(Trainer, DecayStartIsReadFromTheConfigAndChecked) {
  auto config = make_experiment_config();
  config.set("training.steps=1000");
  EXPECT_EQ(read_trainer_options(config, "run").optimizer.decay_start, 0) << "default: the cosine after the warm-up";
  config.set("training.lr_schedule=cosine");
  config.set("training.decay_start=600");
  config.validate();
  const auto options = read_trainer_options(config, "run");
  EXPECT_EQ(options.optimizer.decay_start, 600);
  EXPECT_EQ(options.optimizer.decay_steps, 1000);
  // Meaningless combinations name the key: a start with a constant schedule, at or after the last step.
  for (const auto* bad : {"training.lr_schedule=constant", "training.decay_start=1000"}) {
    auto c = config;
    c.set(bad);
    try {
      read_trainer_options(c, "run");
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("training.decay_start: "), std::string::npos) << e.what();
    }
  }
  config.set("training.decay_start=-5");
  EXPECT_THROW(config.validate(), Error);
}

// diffusion.teacher_forcing_prob: a step is either a DF step or a teacher-forcing step, whole; the choice
// has its own stream, so the step's data, levels and noise are those of the other modes. With the learning
// rate at 0 the weights never move, so every step's loss of the mixed run equals, bit for bit, that of the DF
// run or that of the teacher-forced run, as teacher_forcing_step says.
TEST(Trainer, TeacherForcingShareMixesWholeStepsOfTheTwoLosses) {
  test::CircleDataset data(6, 0.5);
  auto options_for = [&](TrainingNoise mode, double share, const std::string& name) {
    auto t = circle_options(temp_dir(name), 40);
    t.optimizer.lr = 0.0;
    t.levels.mode = mode;
    t.levels.first_token_clean_prob = 0.5;
    t.levels.teacher_forcing_prob = share;
    return t;
  };
  auto model_df = circle_model(3), model_tf = circle_model(3), model_mix = circle_model(3);
  Trainer df(*model_df, data, options_for(TrainingNoise::Independent, 0.0, "mix_df"));
  Trainer tf(*model_tf, data, options_for(TrainingNoise::TeacherForcing, 0.0, "mix_tf"));
  Trainer mix(*model_mix, data, options_for(TrainingNoise::Independent, 0.5, "mix_both"));
  int teacher_steps = 0;
  for (int64_t s = 0; s < 40; ++s) {
    const double l_df = df.train_step(s), l_tf = tf.train_step(s), l_mix = mix.train_step(s);
    ASSERT_NE(l_df, l_tf) << "step " << s << ": the two losses must differ for the test to mean anything";
    EXPECT_FALSE(df.teacher_forcing_step(s));
    EXPECT_TRUE(tf.teacher_forcing_step(s));
    const bool teacher = mix.teacher_forcing_step(s);
    teacher_steps += teacher ? 1 : 0;
    EXPECT_EQ(l_mix, teacher ? l_tf : l_df) << "step " << s;
  }
  // Binomial(40, 0.5): outside 8..32 with probability < 1e-4.
  EXPECT_GE(teacher_steps, 8);
  EXPECT_LE(teacher_steps, 32);
  // The share over many steps: p = 0.3 over 20000 steps has sd 0.0032 (bound at 4 sd).
  Trainer share(*model_mix, data, options_for(TrainingNoise::Independent, 0.3, "mix_share"));
  int count = 0;
  for (int64_t s = 0; s < 20000; ++s) count += share.teacher_forcing_step(s) ? 1 : 0;
  EXPECT_NEAR(count / 20000.0, 0.3, 0.013);

  // The config key (default off) and the trainer's checks: a share in [0, 1], with independent noise only (in
  // the other modes it means nothing); the config also rejects an out-of-range share by itself.
  auto config = make_experiment_config();
  EXPECT_EQ(read_trainer_options(config, "run").levels.teacher_forcing_prob, 0.0) << "default must be off";
  config.set("diffusion.teacher_forcing_prob=0.25");
  config.validate();
  EXPECT_EQ(read_trainer_options(config, "run").levels.teacher_forcing_prob, 0.25);
  config.set("diffusion.teacher_forcing_prob=1.5");
  EXPECT_THROW(config.validate(), Error);
  const std::vector<std::pair<TrainingNoise, double>> bad{
      {TrainingNoise::Independent, 1.5}, {TrainingNoise::Independent, -0.1}, {TrainingNoise::FullSequence, 0.25},
      {TrainingNoise::TeacherForcing, 0.25}};
  for (const auto& [mode, value] : bad) {
    try {
      Trainer rejected(*model_mix, data, options_for(mode, value, "mix_bad"));
      FAIL() << "teacher_forcing_prob " << value << " with " << to_string(mode) << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("diffusion.teacher_forcing_prob"), std::string::npos) << e.what();
    }
  }
}

TEST(WeightEma, ShadowFollowsTheClosedForm) {
  torch::manual_seed(0);
  torch::nn::Linear module(3, 2);
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> initial, target;
  for (auto& p : module->named_parameters()) initial[p.key()] = p.value().detach().clone();
  const double d = 0.9;
  WeightEma ema(*module, d);
  ASSERT_TRUE(ema.enabled());
  ASSERT_EQ(ema.shadow().size(), 2u);
  // Constant weights w after the first snapshot s0: after n updates the shadow is d^n s0 + (1 - d^n) w.
  for (auto& p : module->named_parameters()) {
    target[p.key()] = torch::randn(p.value().sizes());
    p.value().copy_(target[p.key()]);
  }
  for (int n = 1; n <= 8; ++n) {
    ema.update(*module);
    const double dn = std::pow(d, n);
    for (const auto& [name, shadow] : ema.shadow()) {
      const auto expected = dn * initial.at(name) + (1 - dn) * target.at(name);
      EXPECT_TRUE(torch::allclose(shadow, expected, 1e-5, 1e-6)) << name << " after " << n << " updates";
    }
  }
  // Varying weights: the recursion s <- d s + (1 - d) w, followed in double precision.
  std::map<std::string, torch::Tensor> reference;
  for (const auto& [name, shadow] : ema.shadow()) reference[name] = shadow.to(torch::kDouble);
  for (int k = 0; k < 5; ++k) {
    for (auto& p : module->named_parameters()) {
      p.value().copy_(torch::randn(p.value().sizes()) * (k + 1));
      reference[p.key()] = d * reference[p.key()] + (1 - d) * p.value().to(torch::kDouble);
    }
    ema.update(*module);
  }
  for (const auto& [name, shadow] : ema.shadow())
    EXPECT_TRUE(torch::allclose(shadow.to(torch::kDouble), reference.at(name), 1e-5, 1e-6)) << name;
  // An EMA with decay 0 is off: no shadow, update does nothing.
  WeightEma off(*module, 0.0);
  EXPECT_FALSE(off.enabled());
  off.update(*module);
  EXPECT_TRUE(off.shadow().empty());
}

TEST(WeightEma, CopyToCopiesTheShadowIntoTheModule) {
  torch::manual_seed(1);
  torch::nn::Linear source(3, 2), other(3, 2);
  torch::NoGradGuard no_grad;
  WeightEma ema(*source, 0.5);
  for (auto& p : source->parameters()) p.fill_(4.0);
  ema.update(*source);
  ema.copy_to(*other);
  for (const auto& p : other->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), ema.shadow().at(p.key()))) << p.key();
  // A copy, not an alias: changing the module leaves the shadow alone.
  const auto before = ema.shadow().at("weight").clone();
  other->weight.fill_(-7.0);
  EXPECT_TRUE(torch::equal(ema.shadow().at("weight"), before));
}

TEST(WeightEma, TrainerValidatesWithEmaWeightsAndRestoresTheTrainingWeights) {
  const auto dir = temp_dir("ema_validate"), dir_plain = temp_dir("ema_plain");
  test::CircleDataset data(4, 0.5);
  auto options = circle_options(dir, 12);
  options.ema_decay = 0.9;
  options.validate_every = 4;
  auto model = circle_model(5);
  std::vector<int64_t> validated_at;
  TensorMap seen_at_end;
  TrainerHooks hooks;
  hooks.validate = [&](DiffusionForcingModel& m, int64_t step) {
    validated_at.push_back(step);
    if (step == 12)
      for (const auto& [k, v] : state_dict(m)) seen_at_end[k] = v.detach().clone();
    return std::map<std::string, double>{{"score", 0.0}};
  };
  const auto losses = Trainer(*model, data, options, hooks).run().losses;
  EXPECT_EQ(validated_at, (std::vector<int64_t>{4, 8, 12}));
  const auto c = load_checkpoint(dir + "/checkpoint.pt");
  ASSERT_EQ(c.step, 12);
  ASSERT_FALSE(c.ema.empty());
  bool ema_differs = false;
  for (const auto& [k, v] : c.ema) {
    ASSERT_TRUE(seen_at_end.count(k)) << k;
    EXPECT_TRUE(torch::equal(seen_at_end.at(k), v)) << "validation did not see the EMA weights of " << k;
    ema_differs = ema_differs || !torch::equal(v, c.model.at(k));
  }
  EXPECT_TRUE(ema_differs) << "EMA and training weights should differ after 12 steps (test would prove nothing)";
  for (const auto& [k, v] : state_dict(*model))
    EXPECT_TRUE(torch::equal(v, c.model.at(k))) << "after run() the module must hold the training weights: " << k;
  // The weights put back after the validations at steps 4 and 8 are the training weights: the same run
  // without validation trains identically.
  auto model_plain = circle_model(5);
  auto options_plain = options;
  options_plain.run_dir = dir_plain;
  options_plain.validate_every = 0;
  const auto losses_plain = Trainer(*model_plain, data, options_plain).run().losses;
  EXPECT_EQ(losses, losses_plain);
  const auto plain = state_dict(*model_plain);
  for (const auto& [k, v] : state_dict(*model)) EXPECT_TRUE(torch::equal(v, plain.at(k))) << k;
}

TEST(WeightEma, LoadInferenceWeightsPicksEmaOnlyWhenPresentAndPreferred) {
  torch::nn::Linear module(3, 2);
  Checkpoint c;
  for (const auto& [k, v] : state_dict(*module)) {
    c.model[k] = torch::full_like(v, 1.0);
    c.ema[k] = torch::full_like(v, 2.0);
  }
  const auto all_equal = [&](double value) {
    for (const auto& p : module->parameters())
      if (!torch::equal(p, torch::full_like(p, value))) return false;
    return true;
  };
  load_inference_weights(*module, c, "test.pt", /*prefer_ema=*/true);
  EXPECT_TRUE(all_equal(2.0)) << "prefer_ema with EMA weights present must load the EMA weights";
  load_inference_weights(*module, c, "test.pt", /*prefer_ema=*/false);
  EXPECT_TRUE(all_equal(1.0)) << "prefer_ema = false must load the training weights";
  auto no_ema = c;
  no_ema.ema.clear();
  load_inference_weights(*module, no_ema, "test.pt", /*prefer_ema=*/true);
  EXPECT_TRUE(all_equal(1.0)) << "without EMA weights the training weights must be loaded";
  auto partial = c;
  partial.ema.erase("bias");
  try {
    load_inference_weights(*module, partial, "test.pt", true);
    FAIL() << "EMA weights without \"bias\" were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test.pt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bias"), std::string::npos) << e.what();
  }
}

// Parameters with the given gradients (a tensor per parameter).
std::vector<torch::Tensor> with_grads(const std::vector<torch::Tensor>& grads) {
  std::vector<torch::Tensor> params;
  for (const auto& g : grads) {
    auto p = torch::zeros_like(g).requires_grad_(true);
    p.mutable_grad() = g.clone();
    params.push_back(p);
  }
  return params;
}

TEST(LossScaler, UnscalesFiniteGradientsAndShrinksOnOverflow) {
  LossScaler scaler(true, /*initial_scale=*/8.0, /*growth_interval=*/3);
  EXPECT_EQ(scaler.scale(), 8.0);
  auto params = with_grads({torch::tensor({8.0f, -16.0f}), torch::tensor({4.0f})});
  params.push_back(torch::zeros({2}, torch::requires_grad()));  // no gradient: skipped
  EXPECT_TRUE(scaler.unscale_and_check(params));
  EXPECT_TRUE(torch::equal(params[0].grad(), torch::tensor({1.0f, -2.0f})));
  EXPECT_TRUE(torch::equal(params[1].grad(), torch::tensor({0.5f})));
  EXPECT_EQ(scaler.good_steps(), 1);
  EXPECT_EQ(scaler.scale(), 8.0);

  for (const float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    auto overflow = with_grads({torch::tensor({1.0f}), torch::tensor({2.0f, bad})});
    const double before = scaler.scale();
    EXPECT_FALSE(scaler.unscale_and_check(overflow)) << bad;
    EXPECT_EQ(scaler.scale(), before / 2) << bad;
    EXPECT_EQ(scaler.good_steps(), 0) << bad;
    EXPECT_TRUE(torch::equal(overflow[0].grad(), torch::tensor({1.0f}))) << "a skipped step need not unscale";
  }
  EXPECT_EQ(scaler.scale(), 2.0);
  // Never below 1.
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(scaler.unscale_and_check(with_grads({torch::tensor({NAN})})));
  EXPECT_EQ(scaler.scale(), 1.0);
}

TEST(LossScaler, GrowsAfterGrowthIntervalCleanStepsAndRestoresItsState) {
  LossScaler scaler(true, 4.0, /*growth_interval=*/3);
  const auto clean = [] { return with_grads({torch::tensor({1.0f, 2.0f})}); };
  EXPECT_TRUE(scaler.unscale_and_check(clean()));
  EXPECT_TRUE(scaler.unscale_and_check(clean()));
  EXPECT_EQ(scaler.scale(), 4.0);
  EXPECT_EQ(scaler.good_steps(), 2);
  EXPECT_TRUE(scaler.unscale_and_check(clean()));
  EXPECT_EQ(scaler.scale(), 8.0) << "3 clean steps with growth_interval 3 double the scale";
  EXPECT_EQ(scaler.good_steps(), 0);
  // An overflow resets the count of clean steps.
  EXPECT_TRUE(scaler.unscale_and_check(clean()));
  EXPECT_FALSE(scaler.unscale_and_check(with_grads({torch::tensor({INFINITY})})));
  EXPECT_EQ(scaler.scale(), 4.0);
  EXPECT_TRUE(scaler.unscale_and_check(clean()));
  EXPECT_TRUE(scaler.unscale_and_check(clean()));
  EXPECT_EQ(scaler.scale(), 4.0);
  // set_state round-trips, and the restored count of clean steps counts towards the next growth.
  LossScaler restored(true, 65536.0, 3);
  restored.set_state(scaler.scale(), scaler.good_steps());
  EXPECT_EQ(restored.scale(), 4.0);
  EXPECT_EQ(restored.good_steps(), 2);
  EXPECT_TRUE(restored.unscale_and_check(clean()));
  EXPECT_EQ(restored.scale(), 8.0);
  // Disabled (fp32 / bf16): scale 1 and gradients untouched, even non-finite ones.
  LossScaler off;
  auto grads = with_grads({torch::tensor({3.0f, INFINITY})});
  EXPECT_EQ(off.scale(), 1.0);
  EXPECT_TRUE(off.unscale_and_check(grads));
  EXPECT_TRUE(torch::equal(grads[0].grad(), torch::tensor({3.0f, INFINITY})));
}

}  // namespace
}  // namespace df
