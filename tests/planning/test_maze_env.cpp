#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "df/core/error.h"
#include "df/planning/maze_env.h"

namespace df::planning {
namespace {

const double kMass = 4.0 / 3.0 * std::acos(-1.0) * 0.1 * 0.1 * 0.1 * 1000.0;  // 4.18879 kg
constexpr double kH = PointMassConstants::kTimestep;

MazeEnv umaze_env(std::uint64_t seed = 0) { return MazeEnv(maze_env_spec("maze2d-umaze-v1"), seed); }

TEST(MazeEnvPhysics, MassComesFromTheSphereDensity) {
  MazeEnv env = umaze_env();
  EXPECT_NEAR(env.model().particle_mass(), kMass, 1e-9);
  EXPECT_NEAR(kMass, 4.18879, 1e-5);
}

// MuJoCo's Euler integrator treats joint damping implicitly:
//   v' = v + h (100 a - b v) / (m + h b),  x' = x + h v'   (b = 1)
// so from rest under constant a: v_n = 100 a (1 - r^n) with r = m / (m + h).
TEST(MazeEnvPhysics, ConstantPushFollowsImplicitDampingEulerRecurrence) {
  MazeEnv env = umaze_env();
  const Vec2 start{3.0, 0.8};  // bottom corridor of the U: free along +y for 2.4
  env.set_state(start, {0.0, 0.0});
  const double a = 1.0;
  const double r = kMass / (kMass + kH);
  double x_expected = start[1];
  for (int n = 1; n <= 20; ++n) {
    const MazeStep s = env.step({0.0, a});
    const double v_expected = 100.0 * a * (1.0 - std::pow(r, n));
    x_expected += kH * v_expected;
    ASSERT_NEAR(s.observation[3], v_expected, 1e-9) << "step " << n;
    ASSERT_NEAR(s.observation[1], x_expected, 1e-9) << "step " << n;
    ASSERT_NEAR(s.observation[0], start[0], 1e-12) << "no force along x";
    ASSERT_NEAR(s.observation[2], 0.0, 1e-12);
  }
  // The numbers themselves: after 20 steps the ball moves at 100 (1 - r^20) = 4.657 (below the 5.0 clip).
  EXPECT_NEAR(env.qvel()[1], 4.657, 1e-3);
}

TEST(MazeEnvPhysics, VelocityIsClippedBeforeTheStepAndDampedAfter) {
  MazeEnv env = umaze_env();
  env.set_state({3.0, 1.0}, {0.0, 8.0});
  const MazeStep s = env.step({0.0, 0.0});
  // Clipped to 5, then one implicit damping step with no force: v = 5 m / (m + h).
  EXPECT_NEAR(s.observation[3], 5.0 * kMass / (kMass + kH), 1e-9);
  EXPECT_NEAR(s.observation[1], 1.0 + kH * s.observation[3], 1e-9);
}

TEST(MazeEnvPhysics, ActionsAreClippedToUnitBox) {
  MazeEnv a = umaze_env();
  MazeEnv b = umaze_env();
  a.set_state({3.0, 1.0}, {0.0, 0.0});
  b.set_state({3.0, 1.0}, {0.0, 0.0});
  const MazeStep big = a.step({0.0, 7.0});
  const MazeStep one = b.step({0.0, 1.0});
  EXPECT_DOUBLE_EQ(big.observation[3], one.observation[3]);
  EXPECT_THROW(a.step({std::nan(""), 0.0}), Error);
}

// Wall cell (i, j) covers qpos [i-0.7, i+0.3] x [j-0.7, j+0.3]; the ball has radius 0.1. In the top row of
// the U maze the free band for the ball centre along x is therefore [0.4, 1.2]. Contacts are soft, so
// MuJoCo lets the ball sink in slightly; we allow 0.01 (measured: a few millimetres at full force).
TEST(MazeEnvPhysics, WallsStopTheBallAtTheirFaces) {
  constexpr double kPenetration = 0.01;
  for (double direction : {+1.0, -1.0}) {
    MazeEnv env = umaze_env();
    env.set_state({0.8, 2.0}, {0.0, 0.0});
    const double face = direction > 0 ? 1.3 - 0.1 : 0.3 + 0.1;
    double extreme = 0.8;
    for (int t = 0; t < 300; ++t) {
      const MazeStep s = env.step({direction, 0.0});
      extreme = direction > 0 ? std::max(extreme, s.observation[0]) : std::min(extreme, s.observation[0]);
    }
    EXPECT_LE(direction * (extreme - face), kPenetration) << "direction " << direction;
    // It did reach the wall (not stopped early) and rests there.
    EXPECT_NEAR(env.qpos()[0], face, kPenetration) << "direction " << direction;
    EXPECT_LT(std::abs(env.qvel()[0]), 0.05);
    EXPECT_NEAR(env.qpos()[1], 2.0, 1e-9) << "frictionless walls: no sideways motion";
  }
}

TEST(MazeEnvPhysics, BallSlidesAlongAWallWithoutFriction) {
  MazeEnv env = umaze_env();
  env.set_state({1.15, 1.0}, {0.0, 0.0});
  // Push diagonally into the wall below row 1 while moving along +y, across the seam between the wall
  // boxes (2,1) and (2,2) at y = 1.3. 20 steps keep the speed under the 5.0 clip.
  for (int t = 0; t < 20; ++t) {
    env.step({1.0, 1.0});
    ASSERT_LE(env.qpos()[0], 1.2 + 0.01);
  }
  // The ball rests on the wall (contact margin 0.002: it settles 1.5 mm before the face).
  EXPECT_NEAR(env.qpos()[0], 1.2, 0.003);
  // Same y motion as free flight: 20 steps of the recurrence (condim 1: no friction, no seam bump).
  const double r = kMass / (kMass + kH);
  double y = 1.0;
  for (int n = 1; n <= 20; ++n) y += kH * 100.0 * (1.0 - std::pow(r, n));
  EXPECT_NEAR(env.qpos()[1], y, 1e-9);
}

TEST(MazeEnv, SparseRewardIsOneWithinHalfAUnitOfTheGoal) {
  MazeEnv env = umaze_env();
  const Vec2 goal = env.goal();
  EXPECT_EQ(goal, (Vec2{1.0, 1.0}));
  EXPECT_EQ(env.target(), goal);
  struct Case { double dx, dy, reward; };
  // Offsets stay inside the free space around (1, 1): ball centre x in [0.4, 1.2], y in [0.4, 3.2].
  const Case cases[] = {{0.0, 0.0, 1.0},   {-0.49, 0.0, 1.0},   {0.0, 0.49, 1.0}, {-0.35, -0.35, 1.0},
                        {-0.51, 0.0, 0.0}, {-0.36, -0.36, 0.0}, {0.0, 0.51, 0.0}, {0.2, 1.0, 0.0}};
  for (const auto& c : cases) {
    env.set_state({goal[0] + c.dx, goal[1] + c.dy}, {0.0, 0.0});
    EXPECT_EQ(env.sparse_reward(), c.reward) << c.dx << ", " << c.dy;
    // A step with no action and no velocity keeps the ball in place: same reward from step().
    EXPECT_EQ(env.step({0.0, 0.0}).reward, c.reward) << c.dx << ", " << c.dy;
  }
}

TEST(MazeEnv, ResetDrawsJitteredStartCellsAndSmallVelocities) {
  MazeEnv env = umaze_env(42);
  const auto cells = env.layout().start_cells();
  std::vector<int> hits(cells.size(), 0);
  for (int k = 0; k < 2000; ++k) {
    const Observation o = env.reset();
    const Cell c{static_cast<int>(std::lround(o[0])), static_cast<int>(std::lround(o[1]))};
    auto it = std::find(cells.begin(), cells.end(), c);
    ASSERT_NE(it, cells.end());
    EXPECT_LE(std::abs(o[0] - c.row), 0.1);
    EXPECT_LE(std::abs(o[1] - c.col), 0.1);
    EXPECT_LT(std::abs(o[2]), 0.6);  // 6 sigma
    ++hits[static_cast<size_t>(it - cells.begin())];
    EXPECT_EQ(env.target(), env.goal()) << "single-task env keeps the G goal";
  }
  for (int h : hits) EXPECT_GT(h, 200) << "each of 7 cells ~286 times";
}

TEST(MazeEnv, MultiVariantDrawsANewTargetAfterEachReset) {
  MazeEnv env(maze_env_spec("maze2d-medium-multi-v1"), 3);
  env.reset();
  const Vec2 first = env.target();
  env.reset();
  EXPECT_NE(env.target(), first);
}

TEST(MazeEnv, SameSeedSameTrajectory) {
  MazeEnv a = umaze_env(7);
  MazeEnv b = umaze_env(7);
  EXPECT_EQ(a.reset(), b.reset());
  for (int t = 0; t < 50; ++t) EXPECT_EQ(a.step({0.3, -0.2}).observation, b.step({0.3, -0.2}).observation);
}

TEST(BatchedMazeEnv, MatchesIndependentEnvsWithTheSameSeeds) {
  const MazeEnvSpec spec = maze_env_spec("maze2d-large-v1");
  const std::vector<std::uint64_t> seeds = {1, 2, 3};
  BatchedMazeEnv batch(spec, seeds);
  std::vector<MazeEnv> singles;
  for (auto s : seeds) singles.emplace_back(spec, s);
  std::vector<double> obs = batch.reset();
  ASSERT_EQ(obs.size(), 12u);
  for (size_t n = 0; n < 3; ++n) {
    const Observation o = singles[n].reset();
    for (size_t k = 0; k < 4; ++k) EXPECT_EQ(obs[4 * n + k], o[k]);
  }
  std::vector<double> rewards;
  for (int t = 0; t < 40; ++t) {
    std::vector<double> actions = {0.5, -1.0, -0.2, 0.9, 1.0, 1.0};
    obs = batch.step(actions, rewards);
    ASSERT_EQ(rewards.size(), 3u);
    for (size_t n = 0; n < 3; ++n) {
      const MazeStep s = singles[n].step({actions[2 * n], actions[2 * n + 1]});
      for (size_t k = 0; k < 4; ++k) EXPECT_EQ(obs[4 * n + k], s.observation[k]);
      EXPECT_EQ(rewards[n], s.reward);
    }
  }
  std::vector<double> wrong(4, 0.0);
  EXPECT_THROW(batch.step(wrong, rewards), Error);
}

}  // namespace
}  // namespace df::planning
