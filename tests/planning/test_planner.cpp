// The maze planners with a hand-made denoiser (x0 = a fixed shrink of its input, so guidance has a clean
// gradient path): shapes of plans and executed episodes, goal replacement, and that guidance pulls the
// plan toward the goal by a measured margin.
#include <gtest/gtest.h>

#include <cmath>

#include "df/core/error.h"
#include "df/planning/maze_layout.h"
#include "df/planning/planner.h"

namespace pl = df::planning;

namespace {

class ShrinkDenoiser : public df::CausalDenoiser {
 public:
  explicit ShrinkDenoiser(int64_t x_dim) : x_dim_(x_dim) {}
  df::DenoiserStep step(const torch::Tensor& z_prev, const torch::Tensor& x_noisy, const torch::Tensor&,
                        const torch::Tensor&) override {
    return {z_prev + 1, 0.5 * x_noisy};  // x0 objective: predicted clean token = x / 2
  }
  torch::Tensor initial_latent(int64_t batch_size, const torch::Tensor& first_observation) override {
    EXPECT_EQ(first_observation.sizes(), (std::vector<int64_t>{batch_size, 4}));
    return torch::zeros({batch_size, 2});
  }
  std::vector<int64_t> x_shape() const override { return {x_dim_}; }
  std::vector<int64_t> z_shape() const override { return {2}; }
  std::string kind() const override { return "shrink"; }

 private:
  int64_t x_dim_;
};

struct Fixture {
  pl::MazeTokenLayout layout{10, pl::reference_normalization("maze2d-umaze-v1", 2.0)};
  std::shared_ptr<df::DiffusionForcingModel> model;
  Fixture() {
    df::DiffusionOptions d;
    d.schedule.kind = df::ScheduleKind::Linear;
    d.sampling_steps = 8;
    model = std::make_shared<df::DiffusionForcingModel>(std::make_shared<ShrinkDenoiser>(60), d, torch::kCPU);
  }
  pl::MazePlanner planner(pl::PlanMethod method, double guidance, int64_t mcg = 1) {
    pl::PlannerOptions o;
    o.method = method;
    o.sampler.guidance_scale = guidance;
    o.sampler.mcg_samples = mcg;
    return pl::MazePlanner(*model, layout, o);
  }
};

double mean_goal_distance(const pl::Plan& plan, const torch::Tensor& goals) {  // frames [F, B, 6]
  return (plan.frames.narrow(2, 0, 2) - goals.unsqueeze(0)).norm(2, -1).mean().item<double>();
}

}  // namespace

TEST(Planner, PdTrackingActionIsDiffusersRule) {
  const auto a = pl::pd_tracking_action({1.0, 2.0, 0.5, -0.5}, {1.5, 1.0, 0.0, 0.0});
  EXPECT_DOUBLE_EQ(a[0], 0.5 - 0.5);
  EXPECT_DOUBLE_EQ(a[1], -1.0 + 0.5);
  EXPECT_EQ(df::parse_enum<pl::PlanMethod>("diffuser_actions"), pl::PlanMethod::kDiffuserActions);
  EXPECT_THROW(df::parse_enum<pl::PlanMethod>("mppi"), df::Error);
}

TEST(Planner, GuidanceMovesThePlanTowardTheGoal) {
  Fixture f;
  const auto obs = torch::tensor({1.0, 1.0, 0.0, 0.0, 3.0, 1.0, 0.0, 0.0}, torch::kDouble).view({2, 4});
  const auto goals = torch::tensor({3.0, 3.0, 1.0, 3.0}, torch::kDouble).view({2, 2});
  double distance[2];
  for (int guided = 0; guided < 2; ++guided) {
    auto p = f.planner(pl::PlanMethod::kDiffusionForcing, guided ? 10.0 : 0.0, 2);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
    const auto plan = p.plan_pyramid(obs, goals, 4, gen);
    ASSERT_EQ(plan.tokens.sizes(), (std::vector<int64_t>{4, 2, 60}));
    ASSERT_EQ(plan.frames.sizes(), (std::vector<int64_t>{40, 2, 6}));
    distance[guided] = mean_goal_distance(plan, goals);
  }
  // Measured (seed 7): 1.25 unguided (the shrink pulls plans to the data mean), 0.79 guided.
  EXPECT_LT(distance[1], 0.75 * distance[0]) << "unguided " << distance[0] << " guided " << distance[1];
}

TEST(Planner, FullSequencePlanEndsAtTheGoalAtRestByReplacement) {
  Fixture f;
  const auto obs = torch::tensor({1.0, 1.0, 0.0, 0.0}, torch::kDouble).view({1, 4});
  const auto goals = torch::tensor({3.0, 2.0}, torch::kDouble).view({1, 2});
  auto p = f.planner(pl::PlanMethod::kDiffuser, 0.0);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const auto plan = p.plan_full_sequence(obs, goals, 3, gen);
  ASSERT_EQ(plan.frames.sizes(), (std::vector<int64_t>{30, 1, 6}));
  // Diffuser's condition: the last planned observation is the goal at rest.
  EXPECT_NEAR(plan.frames[29][0][0].item<double>(), 3.0, 1e-5);
  EXPECT_NEAR(plan.frames[29][0][1].item<double>(), 2.0, 1e-5);
  EXPECT_NEAR(plan.frames[29][0][2].item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(plan.frames[29][0][3].item<double>(), 0.0, 1e-5);
}

TEST(Planner, EpisodesReplanEveryTokenAndPlanOnceForDiffuser) {
  Fixture f;
  auto spec = pl::maze_env_spec("maze2d-umaze-v1");
  for (auto method : {pl::PlanMethod::kDiffusionForcing, pl::PlanMethod::kDiffuser, pl::PlanMethod::kDiffuserActions}) {
    pl::BatchedMazeEnv envs(spec, {0, 1, 2});
    auto p = f.planner(method, 1.0);
    const auto r = p.run_episodes(envs, 25);
    ASSERT_EQ(r.returns.size(), 3u);
    ASSERT_EQ(r.paths.size(), 3u);
    EXPECT_EQ(r.paths[0].size(), 26u);
    const bool df_method = method == pl::PlanMethod::kDiffusionForcing;
    EXPECT_EQ(r.plan_seconds.size(), df_method ? 3u : 1u);
    EXPECT_EQ(r.plan_horizons.front(), 3);  // ceil(25 / 10): the flexible horizon to the episode end
    if (df_method) {
      EXPECT_EQ(r.plan_horizons.back(), 1);
    }
    EXPECT_EQ(r.first_plans[0].size(), 30u);
    for (const auto& path : r.paths)
      for (const auto& q : path) EXPECT_TRUE(std::isfinite(q[0]) && std::isfinite(q[1]));
  }
}

// Closed form of the goal cost on a plan whose frames sit at known distances from the goal: every frame
// counts, and the plan's very last frame is dropped only when the plan reaches the episode end.
TEST(Planner, GoalCostWeightsEveryFrameAndDropsTheLastOnlyAtTheEpisodeEnd) {
  Fixture f;
  auto p = f.planner(pl::PlanMethod::kDiffusionForcing, 1.0);
  const int64_t H = 2, B = 2, fs = 10;
  const auto goals = torch::tensor({3.0, 3.0, 1.0, 1.0}, torch::kFloat).view({B, 2});
  // Frame f of env b at goal + (d_f, 0) with d_f = 0.1 * (f + 1) (+ 1 for env 1); velocities/actions 0.
  auto obs = torch::zeros({H * fs, B, 4}, torch::kFloat);
  double expected_all = 0.0, last = 0.0, first4 = 0.0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t fr = 0; fr < H * fs; ++fr) {
      const double d = 0.1 * static_cast<double>(fr + 1) + static_cast<double>(b);
      obs[fr][b][0] = goals[b][0].item<float>() + static_cast<float>(d);
      obs[fr][b][1] = goals[b][1].item<float>();
      expected_all += d;  // n_frames * mean over frames = sum over frames
      if (fr == H * fs - 1) last += d;
      if (fr < 4) first4 += d;
    }
  const auto x0 = f.layout.encode(obs, torch::zeros({H * fs, B, 2})).unsqueeze(0).repeat({3, 1, 1, 1});
  EXPECT_NEAR(p.goal_cost(goals, H)(x0).item<double>(), expected_all, 1e-3 * expected_all);
  EXPECT_NEAR(p.goal_cost(goals, H, H * fs)(x0).item<double>(), expected_all, 1e-3 * expected_all);
  EXPECT_NEAR(p.goal_cost(goals, H, H * fs - 1)(x0).item<double>(), expected_all - last, 1e-3 * expected_all);
  // A mid-token replan 5 steps before the end weights only the 4 frames before the last observation.
  EXPECT_NEAR(p.goal_cost(goals, H, 4)(x0).item<double>(), first4, 1e-3 * first4);
}

// The reference's open_loop_horizon in steps: 25 steps, 4 executed per plan -> plans at t = 0, 4, ..., 24
// with flexible horizons ceil((25 - t) / 10) tokens.
TEST(Planner, OpenLoopStepsReplanMidTokenWithTheFlexibleHorizon) {
  Fixture f;
  pl::BatchedMazeEnv envs(pl::maze_env_spec("maze2d-umaze-v1"), {0, 1});
  pl::PlannerOptions o;
  o.open_loop_steps = 4;
  pl::MazePlanner p(*f.model, f.layout, o);
  const auto r = p.run_episodes(envs, 25);
  EXPECT_EQ(r.plan_horizons, (std::vector<int64_t>{3, 3, 2, 2, 1, 1, 1}));
  EXPECT_EQ(r.paths[1].size(), 26u);
}

// Diffuser's fixed plan length: 12 steps round up to 2 tokens; one plan, never extended.
TEST(Planner, DiffuserHorizonIsRoundedUpToWholeTokens) {
  Fixture f;
  auto spec = pl::maze_env_spec("maze2d-umaze-v1");
  pl::BatchedMazeEnv envs(spec, {0, 1});
  pl::PlannerOptions o;
  o.method = pl::PlanMethod::kDiffuser;
  o.diffuser_horizon_steps = 12;
  pl::MazePlanner p(*f.model, f.layout, o);
  const auto r = p.run_episodes(envs, 45);
  ASSERT_EQ(r.plan_horizons.size(), 1u);
  EXPECT_EQ(r.plan_horizons.front(), 2);
  EXPECT_EQ(r.first_plans[0].size(), 20u);
  EXPECT_EQ(r.paths[0].size(), 46u);
}
