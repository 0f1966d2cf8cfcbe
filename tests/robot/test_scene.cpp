// The fruit-swap scene on MuJoCo: starts, resting fruits, the position controller, grasp and release,
// success detection and the stage monitor.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "df/core/error.h"
#include "df/robot/env.h"
#include "df/robot/task_monitor.h"

namespace df::robot {
namespace {

double distance_xy(const Vec3& p, const Vec2& q) { return std::hypot(p[0] - q[0], p[1] - q[1]); }

// Moves the hand to `target` (grasp flag held) until it is there.
void move_to(SwapEnv& env, const Vec3& target, double grasp, int max_steps = 200) {
  for (int i = 0; i < max_steps; ++i) {
    const Vec3 h = env.hand();
    if (std::abs(h[0] - target[0]) + std::abs(h[1] - target[1]) + std::abs(h[2] - target[2]) < 1e-9) return;
    env.step({target[0], target[1], target[2], grasp});
  }
  FAIL() << "hand did not reach the target";
}

TEST(RobotScene, ResetPutsAppleAndOrangeJitteredInAAndB) {
  auto model = std::make_shared<const SwapModel>();
  const auto& spec = model->spec();
  std::set<Slot> apple_starts;
  for (uint64_t seed = 0; seed < 16; ++seed) {
    SwapEnv env(model, seed);
    env.reset();
    const Slot apple = env.start().apple_slot;
    apple_starts.insert(apple);
    ASSERT_NE(apple, Slot::C);
    EXPECT_NE(env.start_slot(Fruit::Orange), apple);
    EXPECT_NE(env.start_slot(Fruit::Orange), Slot::C);
    for (Fruit f : {Fruit::Apple, Fruit::Orange}) {
      const Vec3 p = env.fruit(f);
      const double off = distance_xy(p, spec.slot(env.start_slot(f)));
      EXPECT_LE(off, spec.fruit_jitter + 1e-12);
      EXPECT_NEAR(p[2], spec.fruit_radius(f), 1e-12);
      EXPECT_EQ(env.resting_slot(f), env.start_slot(f));
    }
    EXPECT_FALSE(env.success());
    EXPECT_EQ(env.gripper(), Gripper::Open);
  }
  EXPECT_EQ(apple_starts.size(), 2u) << "both starts should occur over 16 seeds";
  // The same seed gives the same start; jitter differs between seeds.
  SwapEnv a(model, 3), b(model, 3), c(model, 4);
  a.reset(), b.reset(), c.reset();
  EXPECT_EQ(a.fruit(Fruit::Apple), b.fruit(Fruit::Apple));
  EXPECT_NE(a.fruit(Fruit::Apple), c.fruit(Fruit::Apple));
}

TEST(RobotScene, FruitsStayAtRestAndTheHandMovesAtMostMaxSpeed) {
  auto model = std::make_shared<const SwapModel>();
  SwapEnv env(model, 1);
  env.reset();
  const Vec3 apple = env.fruit(Fruit::Apple), start = env.hand();
  const double limit = env.spec().max_speed * env.spec().control_dt;
  env.step({start[0] + 1.0, start[1], start[2], 0.0});  // far target: clamped and speed-limited
  EXPECT_NEAR(env.hand()[0] - start[0], limit, 1e-9);
  EXPECT_NEAR(env.hand()[1], start[1], 1e-12);
  const Vec3 moved = env.hand();
  env.step({moved[0], moved[1], moved[2] - 0.001, 0.0});  // near target: reached exactly
  EXPECT_NEAR(env.hand()[2], moved[2] - 0.001, 1e-12);
  for (int i = 0; i < 40; ++i) env.step({start[0], start[1], start[2], 0.0});
  const Vec3 later = env.fruit(Fruit::Apple);
  EXPECT_LT(std::abs(later[0] - apple[0]) + std::abs(later[1] - apple[1]) + std::abs(later[2] - apple[2]), 1e-3);
  EXPECT_EQ(env.steps(), 42);
  EXPECT_THROW(env.step({NAN, 0.0, 0.1, 0.0}), df::Error);
}

TEST(RobotScene, ClosingOnAFruitLiftsItAndOpeningDropsIt) {
  auto model = std::make_shared<const SwapModel>();
  SwapEnv env(model, 2);
  env.reset();
  const Vec3 apple = env.fruit(Fruit::Apple);
  // Closing in the air holds nothing, and the gripper must open before it can grasp again.
  env.step({env.hand()[0], env.hand()[1], env.hand()[2], 1.0});
  EXPECT_EQ(env.gripper(), Gripper::ClosedEmpty);
  move_to(env, {apple[0], apple[1], 0.1}, 1.0);
  move_to(env, apple, 1.0);
  EXPECT_FALSE(env.held());
  env.step({apple[0], apple[1], apple[2], 0.0});
  EXPECT_EQ(env.gripper(), Gripper::Open);
  // Closing with the apple between the fingers holds it; lifting carries it.
  env.step({apple[0], apple[1], apple[2], 1.0});
  ASSERT_EQ(env.held(), Fruit::Apple);
  EXPECT_EQ(env.gripper(), Gripper::Holding);
  move_to(env, {apple[0], apple[1], 0.12}, 1.0);
  EXPECT_NEAR(env.fruit(Fruit::Apple)[2], 0.12, 0.006);
  EXPECT_FALSE(env.resting_slot(Fruit::Apple));
  // Carry it over C and let go just above the table: it lands and rests in C.
  const Vec2 c = env.spec().slot(Slot::C);
  move_to(env, {c[0], c[1], 0.12}, 1.0);
  move_to(env, {c[0], c[1], env.spec().apple_radius + 0.004}, 1.0);
  env.step({c[0], c[1], env.spec().apple_radius + 0.004, 0.0});
  EXPECT_FALSE(env.held());
  for (int i = 0; i < 20; ++i) env.step({c[0], c[1], 0.1, 0.0});
  EXPECT_EQ(env.resting_slot(Fruit::Apple), Slot::C);
  EXPECT_LT(distance_xy(env.fruit(Fruit::Apple), c), 0.01);
  // A fruit beyond the grasp tolerance is not taken.
  const Vec3 orange = env.fruit(Fruit::Orange);
  move_to(env, {orange[0] + 0.03, orange[1], orange[2]}, 0.0);
  env.step({orange[0] + 0.03, orange[1], orange[2], 1.0});
  EXPECT_EQ(env.gripper(), Gripper::ClosedEmpty);
  EXPECT_FALSE(env.held());
}

TEST(RobotScene, SuccessOnlyWhenEachFruitRestsInTheOthersStartSlot) {
  auto model = std::make_shared<const SwapModel>();
  SwapEnv env(model, 0);
  env.reset_to(StartState{Slot::A, {}});
  const auto& spec = env.spec();
  EXPECT_FALSE(env.success());
  env.place_fruit(Fruit::Apple, spec.slot(Slot::C));
  EXPECT_FALSE(env.success());
  env.place_fruit(Fruit::Orange, spec.slot(Slot::A));
  EXPECT_FALSE(env.success());
  env.place_fruit(Fruit::Apple, {spec.slot(Slot::B)[0] + 0.03, spec.slot(Slot::B)[1]});  // inside B's rim
  EXPECT_TRUE(env.success());
  env.place_fruit(Fruit::Apple, {spec.slot(Slot::B)[0] + 0.07, spec.slot(Slot::B)[1]});  // outside every slot
  EXPECT_FALSE(env.resting_slot(Fruit::Apple));
  EXPECT_FALSE(env.success());
  // The other start needs the opposite placement.
  env.reset_to(StartState{Slot::B, {}});
  env.place_fruit(Fruit::Apple, spec.slot(Slot::B));
  env.place_fruit(Fruit::Orange, spec.slot(Slot::A));
  EXPECT_FALSE(env.success());
  env.place_fruit(Fruit::Apple, spec.slot(Slot::A));
  env.place_fruit(Fruit::Orange, spec.slot(Slot::B));
  EXPECT_TRUE(env.success());
  // Holding a fruit in place is not success.
  env.step({spec.slot(Slot::A)[0], spec.slot(Slot::A)[1], spec.apple_radius, 0.0});
  for (int i = 0; i < 40; ++i) env.step({spec.slot(Slot::A)[0], spec.slot(Slot::A)[1], spec.apple_radius, 0.0});
  env.step({spec.slot(Slot::A)[0], spec.slot(Slot::A)[1], spec.apple_radius, 1.0});
  ASSERT_EQ(env.held(), Fruit::Apple);
  EXPECT_FALSE(env.success());
}

TEST(RobotScene, TaskMonitorFollowsStagesAndCountsWrongPicks) {
  auto model = std::make_shared<const SwapModel>();
  SwapEnv env(model, 0);
  env.reset_to(StartState{Slot::A, {}});
  const auto& spec = env.spec();
  TaskMonitor monitor(env);
  EXPECT_EQ(monitor.stage(), 0);
  env.place_fruit(Fruit::Apple, spec.slot(Slot::C));
  monitor.update(env);
  EXPECT_EQ(monitor.stage(), 1);  // the ambiguous state: apple in C, orange still in B
  // Picking the apple here (the wrong fruit) is counted.
  const Vec3 apple = env.fruit(Fruit::Apple);
  env.step({apple[0], apple[1], spec.home[2], 0.0});
  for (int i = 0; i < 40 && env.hand()[2] > apple[2] + 1e-9; ++i) {
    env.step({apple[0], apple[1], apple[2], 0.0});
    monitor.update(env);
  }
  env.step({apple[0], apple[1], apple[2], 1.0});
  monitor.update(env);
  ASSERT_EQ(env.held(), Fruit::Apple);
  EXPECT_EQ(monitor.picks(1), 1);
  EXPECT_EQ(monitor.wrong_picks(1), 1);
  EXPECT_EQ(monitor.stage(), 1);  // held: the stage stays
  env.place_fruit(Fruit::Orange, spec.slot(Slot::A));
  env.place_fruit(Fruit::Apple, spec.slot(Slot::C));
  monitor.update(env);
  EXPECT_EQ(monitor.stage(), 2);
  env.place_fruit(Fruit::Apple, spec.slot(Slot::B));
  monitor.update(env);
  EXPECT_EQ(monitor.stage(), 3);
  EXPECT_EQ(monitor.max_stage(), 3);
  EXPECT_FALSE(monitor.off_plan());
  env.place_fruit(Fruit::Orange, spec.slot(Slot::C));  // orange in C: not on the plan
  monitor.update(env);
  EXPECT_TRUE(monitor.off_plan());
}

TEST(RobotScene, BatchedEnvsStepOnlyActiveEnvs) {
  BatchedSwapEnv envs({10, 11, 12});
  envs.reset();
  EXPECT_EQ(envs.size(), 3);
  std::vector<Action> actions(3, Action{0.0, 0.03, 0.1, 0.0});
  envs.step(actions, {true, false, true});
  EXPECT_EQ(envs.env(0).steps(), 1);
  EXPECT_EQ(envs.env(1).steps(), 0);
  EXPECT_THROW(envs.step({actions[0]}), df::Error);
}

}  // namespace
}  // namespace df::robot
