// The acting loop on a tiny untrained network: tokens are absorbed and chunks executed at the right
// steps, memoryless resets the latent, corrupted frames reach the policy (and are labelled), evaluation
// writes its files, and the task video comes out of one frame.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "df/models/unet_conv_gru.h"
#include "df/robot/evaluation.h"

namespace df::robot {
namespace {
namespace fs = std::filesystem;

std::shared_ptr<DiffusionForcingModel> tiny_model(const RobotTokenLayout& layout) {
  torch::manual_seed(0);
  UnetConvGruOptions o;
  o.x_shape = layout.token_shape();
  o.z_shape = {8, layout.resolution(), layout.resolution()};
  o.network_size = 8;
  o.dim_mults = {1, 2};
  o.learnable_init_z = true;
  DiffusionOptions d;
  d.schedule.kind = ScheduleKind::Cosine;
  d.sampling_steps = 2;
  auto model = std::make_shared<DiffusionForcingModel>(std::make_shared<UnetConvGruDenoiser>(o), d, torch::kCPU);
  model->eval();
  return model;
}

class RobotPolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = std::make_shared<const SwapModel>();
    renderer_ = std::make_unique<SceneRenderer>(*model_);
  }
  static void TearDownTestSuite() {
    renderer_.reset();
    model_.reset();
  }
  static std::shared_ptr<const SwapModel> model_;
  static std::unique_ptr<SceneRenderer> renderer_;
  RobotTokenLayout layout_{16, 5};
  std::shared_ptr<const TokenCodec> codec_ = std::make_shared<PixelTokenCodec>(layout_);
};
std::shared_ptr<const SwapModel> RobotPolicyTest::model_;
std::unique_ptr<SceneRenderer> RobotPolicyTest::renderer_;

TEST_F(RobotPolicyTest, ExecutesOneChunkPerTokenAndSeesCorruptedFrames) {
  auto net = tiny_model(layout_);
  PolicyOptions o;
  o.max_tokens = 3;
  o.corruption.kind = CorruptionKind::Blackout;
  o.corruption.start_token = 1;
  o.corruption.tokens = 1;
  o.corruption.blackout = CameraSet::Hand;
  RobotPolicy policy(*net, codec_, o);
  BatchedSwapEnv envs({1, 2});
  envs.reset();
  std::vector<int64_t> tokens;
  std::vector<bool> corrupted;
  std::vector<torch::Tensor> frames;
  int steps = 0;
  PolicyObserver observer;
  observer.on_token = [&](int64_t j, const torch::Tensor& t, const std::vector<bool>& c) {
    tokens.push_back(j);
    corrupted.push_back(c[0] && c[1]);
    frames.push_back(layout_.frames_of(t));
  };
  observer.on_step = [&](int, const SwapEnv&) { ++steps; };
  const auto outcome = policy.run(envs, renderer_.get(), observer);
  EXPECT_EQ(outcome.tokens, 3);
  EXPECT_EQ(tokens, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(corrupted, (std::vector<bool>{false, true, false}));
  EXPECT_EQ(envs.env(0).steps(), 15);  // 3 tokens x 5 actions
  EXPECT_EQ(steps, 2 * 15);
  EXPECT_EQ(frames[1].sizes(), (std::vector<int64_t>{2, 2, 16, 16, 3}));
  EXPECT_EQ(frames[1].select(1, 1).max().item<int>(), 0);  // hand camera black
  EXPECT_GT(frames[1].select(1, 0).max().item<int>(), 0);  // overview still there
  EXPECT_GT(frames[2].select(1, 1).max().item<int>(), 0);
  EXPECT_FALSE(outcome.success[0]);
}

TEST_F(RobotPolicyTest, CorruptionLevelAndMemoryChangeTheLatent) {
  auto net = tiny_model(layout_);
  PolicyOptions o;
  RobotPolicy policy(*net, codec_, o);
  SwapEnv env(model_, 3);
  env.reset();
  const auto token = layout_.pack(renderer_->observe(env, 16), layout_.hold_actions(env.hand())).unsqueeze(0);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
  torch::NoGradGuard no_grad;
  const auto z0 = net->denoiser().initial_latent(1, {});
  const auto level = [](int64_t k) { return torch::full({1}, k, torch::kLong); };
  const auto clean = policy.absorb(z0, token, level(0), generator);
  const auto again = policy.absorb(z0, token, level(0), generator);
  const auto noisy = policy.absorb(z0, token, level(600), generator);
  EXPECT_TRUE(torch::equal(clean, again));  // level 0: the token as given
  EXPECT_FALSE(torch::allclose(clean, noisy));
  // A policy that remembers feeds z forward: two absorptions differ from one.
  EXPECT_FALSE(torch::allclose(policy.absorb(clean, token, level(0), generator), clean));
  // Per-env levels: env 0 clean, env 1 labelled; each gets its own level's absorption.
  const auto two = torch::cat({token, token});
  const auto z2 = net->denoiser().initial_latent(2, {});
  auto g1 = at::make_generator<at::CPUGeneratorImpl>(5), g2 = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto mixed = policy.absorb(z2, two, torch::tensor({0, 600}, torch::kLong), g1);
  const auto both_clean = policy.absorb(z2, two, torch::tensor({0, 0}, torch::kLong), g1);
  const auto both_noisy = policy.absorb(z2, two, torch::tensor({600, 600}, torch::kLong), g2);
  EXPECT_TRUE(torch::equal(mixed[0], both_clean[0]));
  EXPECT_TRUE(torch::allclose(mixed[1], both_noisy[1], 1e-5, 1e-6));  // the same noise draw (one seed)
  EXPECT_FALSE(torch::allclose(mixed[1], both_clean[1], 1e-3, 1e-3));
  PolicyOptions bad;
  bad.corruption.level = 1000;
  EXPECT_THROW(RobotPolicy(*net, codec_, bad), df::Error);
  EXPECT_THROW(RobotPolicy(*net, std::make_shared<PixelTokenCodec>(RobotTokenLayout(16, 6)), o),
               df::Error);  // token shape mismatch
  PolicyOptions state_corruption;
  state_corruption.corruption.kind = CorruptionKind::Glitch;
  EXPECT_THROW(RobotPolicy(*net, codec_, state_corruption), df::Error);  // a state corruption on pixels
}

TEST_F(RobotPolicyTest, EvaluationWritesSummaryEpisodesAndVideos) {
  auto net = tiny_model(layout_);
  PolicyOptions o;
  o.max_tokens = 2;
  o.memory = PolicyMemory::Memoryless;
  o.corruption.kind = CorruptionKind::Distractor;
  o.corruption.start_token = 1;
  RobotEvaluationOptions e;
  e.episodes = 3;
  e.batch = 2;
  e.videos = 1;
  e.video_resolution = 32;
  e.out_dir = (fs::temp_directory_path() / ("df_robot_eval_" + std::to_string(::getpid()))).string();
  e.label = "tiny";
  fs::remove_all(e.out_dir);
  const auto summary = evaluate_robot_policy(*net, codec_, o, e);
  EXPECT_EQ(summary.episodes, 3);
  EXPECT_EQ(summary.records.size(), 3u);
  EXPECT_EQ(summary.records[2].seed, 1002u);
  EXPECT_EQ(summary.successes, 0);
  EXPECT_EQ(summary.failures_by_stage[0], 3);
  EXPECT_NEAR(summary.ci_high, wilson_interval(0, 3).second, 1e-12);
  EXPECT_TRUE(fs::exists(e.out_dir + "/summary.csv"));
  EXPECT_TRUE(fs::exists(e.out_dir + "/episodes.csv"));
  EXPECT_GT(fs::file_size(e.out_dir + "/episode_1000.mp4"), 1000u);
  EXPECT_FALSE(fs::exists(e.out_dir + "/episode_1001.mp4"));
  std::ifstream episodes(e.out_dir + "/episodes.csv");
  std::string line;
  int lines = 0;
  while (std::getline(episodes, line)) ++lines;
  EXPECT_EQ(lines, 4);

  TaskVideoOptions v;
  v.tokens = 4;
  v.columns = 3;
  v.out_dir = e.out_dir;
  const auto tokens = generate_task_video(*net, layout_, SamplerOptions{}, v);
  EXPECT_EQ(tokens.sizes(), (std::vector<int64_t>{4, layout_.channels(), 16, 16}));
  EXPECT_GT(fs::file_size(e.out_dir + "/task_video.png"), 500u);
  EXPECT_GT(fs::file_size(e.out_dir + "/task_video.mp4"), 500u);
  fs::remove_all(e.out_dir);
}

TEST(RobotWilson, IntervalOfKnownProportions) {
  const auto [lo, hi] = wilson_interval(80, 100);
  EXPECT_NEAR(lo, 0.7112, 1e-3);  // standard Wilson 95% bounds of 80/100
  EXPECT_NEAR(hi, 0.8666, 1e-3);
  EXPECT_EQ(wilson_interval(0, 10).first, 0.0);
  EXPECT_NEAR(wilson_interval(10, 10).second, 1.0, 1e-12);
}

}  // namespace
}  // namespace df::robot
