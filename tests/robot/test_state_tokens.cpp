// State tokens: the round trip, normalisation values computed by hand, what the state reads from the
// simulator (and that nothing in it tells the start or the time), and the positive control's start bit.
#include <gtest/gtest.h>

#include "df/core/error.h"
#include "df/robot/state_tokens.h"
#include "df/robot/token_codec.h"

namespace df::robot {
namespace {

TEST(RobotStateTokens, RoundTripOfStatesAndActions) {
  torch::manual_seed(0);
  const SceneSpec spec;
  const StateTokenLayout layout(15, false);
  EXPECT_EQ(layout.dim(), 11 + 60);
  auto states = torch::rand({3, 5, kStateDim}, torch::kDouble);
  auto actions = torch::rand({3, 5, 15, 4}, torch::kDouble);
  for (int64_t k = 0; k < 3; ++k) {
    const double lo = spec.workspace_min[static_cast<size_t>(k)], hi = spec.workspace_max[static_cast<size_t>(k)];
    for (int64_t e : {k, 5 + k, 8 + k}) states.select(-1, e).mul_(hi - lo).add_(lo);
    actions.select(-1, k).mul_(hi - lo).add_(lo);
  }
  states.select(-1, 3).mul_(spec.finger_travel);
  states.select(-1, 4).copy_((states.select(-1, 4) > 0.5).to(torch::kDouble));
  actions.select(-1, 3).copy_((actions.select(-1, 3) > 0.5).to(torch::kDouble));
  const auto tokens = layout.pack(states.to(torch::kFloat), actions.to(torch::kFloat));
  EXPECT_EQ(tokens.sizes(), (std::vector<int64_t>{3, 5, 71}));
  EXPECT_LE(tokens.abs().max().item<float>(), 1.0f + 1e-5f);  // everything normalised into [-1, 1]
  EXPECT_TRUE(torch::allclose(layout.states_of(tokens), states.to(torch::kFloat), 0, 1e-6));
  EXPECT_TRUE(torch::allclose(layout.actions_of(tokens), actions.to(torch::kFloat), 0, 1e-6));
  EXPECT_THROW(layout.pack(states.to(torch::kFloat), torch::zeros({3, 5, 14, 4})), df::Error);
  EXPECT_THROW(layout.states_of(torch::zeros({70})), df::Error);
}

TEST(RobotStateTokens, NormalisationByHand) {
  const StateTokenLayout layout(1, false);
  // hand at home (0, 0.03, 0.15), fingers half closed, holding; apple at A's centre on the table; orange at
  // the workspace's far corner.
  const auto state = torch::tensor({0.0f, 0.03f, 0.15f, 0.02f, 1.0f, -0.12f, 0.0f, 0.028f, 0.25f, 0.25f, 0.25f});
  const auto action = torch::tensor({{-0.25f, -0.15f, 0.0f, 1.0f}});
  const auto t = layout.pack(state, action);
  // x: (0 + 0.25) / 0.5 * 2 - 1 = 0; y: (0.03 + 0.15) / 0.4 * 2 - 1 = -0.1; z: 0.15 / 0.25 * 2 - 1 = 0.2
  const std::vector<float> expected{0.0f, -0.1f, 0.2f, 0.0f,  1.0f, -0.48f, -0.25f, -0.776f,
                                    1.0f, 1.0f,  1.0f, -1.0f, -1.0f, -1.0f, 1.0f};
  ASSERT_EQ(t.size(0), 15);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(t[static_cast<int64_t>(i)].item<float>(), expected[i], 1e-6) << i;
}

// robot.position_scale 4: the same token with every position entry (hand, fruits, action target) times 4 and
// the gripper entries as they were; the round trip still returns metres; a scale <= 0 is refused.
TEST(RobotStateTokens, PositionScaleStretchesOnlyPositions) {
  const StateTokenLayout plain(1, false), scaled(1, false, SceneSpec{}, 4.0);
  const auto state = torch::tensor({0.0f, 0.03f, 0.15f, 0.02f, 1.0f, -0.12f, 0.0f, 0.028f, 0.25f, 0.25f, 0.25f});
  const auto action = torch::tensor({{-0.25f, -0.15f, 0.0f, 1.0f}});
  const auto a = plain.pack(state, action), b = scaled.pack(state, action);
  const std::vector<float> factor{4, 4, 4, 1, 1, 4, 4, 4, 4, 4, 4, 4, 4, 4, 1};
  for (int64_t i = 0; i < 15; ++i)
    EXPECT_NEAR(b[i].item<float>(), factor[static_cast<size_t>(i)] * a[i].item<float>(), 1e-5) << i;
  EXPECT_TRUE(torch::allclose(scaled.states_of(b), state, 0, 1e-6));
  EXPECT_TRUE(torch::allclose(scaled.actions_of(b), action.unsqueeze(0).squeeze(0), 0, 1e-6));
  EXPECT_THROW(StateTokenLayout(1, false, SceneSpec{}, 0.0), df::Error);
}

// robot.slot_offsets: each fruit's offset from its nearest slot centre in units of the 2 cm jitter, computed
// by hand; a fruit far from every slot (carried) is clamped to +-2; the other entries are those of the plain
// layout and the round trip still returns metres.
TEST(RobotStateTokens, SlotOffsetsByHand) {
  const StateTokenLayout plain(1, false), offsets(1, false, SceneSpec{}, 1.0, true);
  EXPECT_EQ(offsets.sensor_dim(), kStateDim + 4);
  EXPECT_EQ(offsets.dim(), plain.dim() + 4);
  // apple 1 cm right of and 0.5 cm nearer than B's centre (0.12, 0); orange in the air over the table's front
  // edge (nearest slot A (-0.12, 0) or B: x = -0.05 -> A, 7 cm right, 10 cm nearer).
  const auto state = torch::tensor({0.0f, 0.03f, 0.15f, 0.02f, 1.0f, 0.13f, -0.005f, 0.028f, -0.05f, -0.1f, 0.2f});
  const auto action = torch::tensor({{-0.25f, -0.15f, 0.0f, 1.0f}});
  const auto a = plain.pack(state, action), b = offsets.pack(state, action);
  ASSERT_EQ(b.size(0), 19);
  EXPECT_TRUE(torch::equal(b.narrow(0, 0, kStateDim), a.narrow(0, 0, kStateDim)));
  const std::vector<float> expected{0.5f, -0.25f, 2.0f, -2.0f};
  for (int64_t i = 0; i < 4; ++i)
    EXPECT_NEAR(b[kStateDim + i].item<float>(), expected[static_cast<size_t>(i)], 1e-5) << i;
  EXPECT_TRUE(torch::equal(b.narrow(0, kStateDim + 4, 4), a.narrow(0, kStateDim, 4)));
  EXPECT_TRUE(torch::allclose(offsets.states_of(b), state, 0, 1e-6));
  EXPECT_TRUE(torch::allclose(offsets.actions_of(b), action, 0, 1e-6));
  // The start bit goes after the offsets: the sensor entries first, as corruptions expect.
  const StateTokenLayout both(1, true, SceneSpec{}, 1.0, true);
  const auto c = both.pack(state, action, torch::ones({}, torch::kLong));
  EXPECT_EQ(c[kStateDim + 4].item<float>(), 1.0f);
  EXPECT_TRUE(torch::equal(c.narrow(0, 0, kStateDim + 4), b.narrow(0, 0, kStateDim + 4)));
}

// fruit_x_direction against a finite difference of pack: moving a resting fruit by dx changes the token by
// dx * direction (in units of its normalised x), with and without slot offsets and position scale.
TEST(RobotStateTokens, FruitDirectionIsTheTokensDerivative) {
  for (const bool with_offsets : {false, true}) {
    for (const double scale : {1.0, 4.0}) {
      const StateTokenLayout layout(2, false, SceneSpec{}, scale, with_offsets);
      const auto state = torch::tensor({0.0, 0.03, 0.15, 0.0, 0.0, -0.11, 0.004, 0.028, 0.125, -0.01, 0.031},
                                       torch::kDouble);
      const auto actions = torch::zeros({2, 4}, torch::kDouble);
      for (const Fruit f : {Fruit::Apple, Fruit::Orange}) {
        const int64_t fx = f == Fruit::Apple ? kStateAppleX : kStateOrangeX;
        const double h = 1e-3;  // metres: stays inside the slot
        auto moved = state.clone();
        moved[fx] += h;
        const auto d_token = (layout.pack(moved, actions) - layout.pack(state, actions)).to(torch::kDouble);
        const auto d_entry = d_token[fx].item<double>();
        EXPECT_NEAR(d_entry, h / 0.5 * 2 * scale, 1e-6);
        EXPECT_TRUE(torch::allclose(d_token / d_entry, layout.fruit_x_direction(f), 1e-3, 1e-3))
            << "offsets " << with_offsets << " scale " << scale << " fruit " << to_string(f);
      }
    }
  }
}

TEST(RobotStateTokens, TheStateReadsTheSimulatorAndNothingElse) {
  auto model = std::make_shared<const SwapModel>();
  const auto& spec = model->spec();
  SwapEnv env(model, 11);
  env.reset();
  const auto s = observe_state(env);
  ASSERT_EQ(s.size(0), kStateDim);
  for (int64_t k = 0; k < 3; ++k) EXPECT_NEAR(s[k].item<double>(), spec.home[static_cast<size_t>(k)], 1e-6);
  EXPECT_NEAR(s[3].item<double>(), 0.0, 1e-6);  // open
  EXPECT_EQ(s[4].item<double>(), 0.0);          // holding nothing
  const Vec3 apple = env.fruit(Fruit::Apple), orange = env.fruit(Fruit::Orange);
  for (int64_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(s[5 + k].item<double>(), apple[static_cast<size_t>(k)], 1e-6);
    EXPECT_NEAR(s[8 + k].item<double>(), orange[static_cast<size_t>(k)], 1e-6);
  }
  // Nothing of the time: once the fruits have settled on the table, waiting at home changes no entry (no
  // step counter, no velocities).
  for (int t = 0; t < 20; ++t) env.step({spec.home[0], spec.home[1], spec.home[2], 0.0});
  const auto settled = observe_state(env);
  EXPECT_TRUE(torch::allclose(settled, s, 0, 5e-3));  // the fruits sink into the soft contact, a few mm at most
  for (int t = 0; t < 30; ++t) env.step({spec.home[0], spec.home[1], spec.home[2], 0.0});
  EXPECT_TRUE(torch::allclose(observe_state(env), settled, 0, 1e-5));
  // Nothing of the start: start A with the fruits put where start B has them reads exactly as start B.
  StartState a{Slot::A, {{{0.01, 0.0}, {0.0, 0.01}}}}, b{Slot::B, {{{0.0, 0.01}, {0.01, 0.0}}}};
  env.reset_to(b);
  const auto sb = observe_state(env);
  env.reset_to(a);
  env.place_fruit(Fruit::Apple, {spec.slot(Slot::B)[0], spec.slot(Slot::B)[1] + 0.01});
  env.place_fruit(Fruit::Orange, {spec.slot(Slot::A)[0] + 0.01, spec.slot(Slot::A)[1]});
  EXPECT_TRUE(torch::allclose(observe_state(env), sb, 0, 1e-6));
  // Closing on the apple: holding, fingers closed on it.
  env.reset_to(a);
  const Vec3 p = env.fruit(Fruit::Apple);
  for (int t = 0; t < 40; ++t) env.step({p[0], p[1], p[2], 0.0});
  for (int t = 0; t < 5; ++t) env.step({p[0], p[1], p[2], 1.0});
  const auto held = observe_state(env);
  EXPECT_EQ(held[4].item<double>(), 1.0);
  EXPECT_NEAR(held[3].item<double>(), 0.041 - spec.apple_radius, 2e-3);
}

TEST(RobotStateTokens, StartBitTellsTheStartOnlyWhenAsked) {
  const StateTokenCodec plain(2, false), control(2, true);
  EXPECT_EQ(plain.token_shape(), (std::vector<int64_t>{11 + 8}));
  EXPECT_EQ(control.token_shape(), (std::vector<int64_t>{12 + 8}));
  const auto states = torch::zeros({2, kStateDim});
  const auto actions = torch::zeros({2, 2, 4});
  const auto tokens = control.encode(states, actions, torch::tensor({0, 1}, torch::kLong));
  EXPECT_EQ(tokens[0][11].item<float>(), -1.0f);  // apple started in A
  EXPECT_EQ(tokens[1][11].item<float>(), 1.0f);   // in B
  EXPECT_TRUE(torch::allclose(control.decode_actions(tokens), actions, 0, 1e-6));
  EXPECT_TRUE(torch::equal(plain.encode(states, actions, torch::tensor({0, 1}, torch::kLong))[0],
                           plain.encode(states, actions, torch::tensor({1, 0}, torch::kLong))[0]));
  EXPECT_THROW(control.encode(states, actions, {}), df::Error);
  // The observation mask covers the state, not the start bit or the actions.
  const auto mask = control.observation_mask();
  EXPECT_EQ(mask.sum().item<float>(), 11.0f);
  EXPECT_EQ(mask[11].item<float>(), 0.0f);
}

}  // namespace
}  // namespace df::robot
