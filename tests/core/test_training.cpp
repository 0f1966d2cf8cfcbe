// Training: loss falls and samples land on the data of a tiny task; resume is bit-identical; a crashed
// checkpoint write keeps the previous checkpoint; a non-finite loss stops the run cleanly.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "circle_dataset.h"
#include "df/core/error.h"
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

}  // namespace
}  // namespace df
