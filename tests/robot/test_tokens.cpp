// Token packing of the robot policy: the round trip, the channel layout, and which actions a token holds.
#include <gtest/gtest.h>

#include "df/core/error.h"
#include "df/robot/demo_dataset.h"
#include "df/robot/tokens.h"

namespace df::robot {
namespace {

torch::Tensor random_actions(torch::IntArrayRef leading, int64_t s, const SceneSpec& spec) {
  std::vector<int64_t> shape(leading.begin(), leading.end());
  shape.insert(shape.end(), {s, 4});
  auto a = torch::rand(shape, torch::kDouble);
  for (int64_t k = 0; k < 3; ++k) {
    const auto lo = spec.workspace_min[static_cast<size_t>(k)], hi = spec.workspace_max[static_cast<size_t>(k)];
    a.select(-1, k).mul_(hi - lo).add_(lo);
  }
  a.select(-1, 3).copy_((a.select(-1, 3) > 0.5).to(torch::kDouble));
  return a.to(torch::kFloat);
}

TEST(RobotTokens, PackUnpackRoundTrip) {
  torch::manual_seed(0);
  const SceneSpec spec;
  const RobotTokenLayout layout(32, 15);
  EXPECT_EQ(layout.channels(), 21);  // the reference's 2 x RGB + 15 action channels
  EXPECT_EQ(layout.token_shape(), (std::vector<int64_t>{21, 32, 32}));
  const auto frames = torch::randint(0, 256, {3, 4, 2, 32, 32, 3}, torch::kLong).to(torch::kUInt8);
  const auto actions = random_actions({3, 4}, 15, spec);
  const auto tokens = layout.pack(frames, actions);
  EXPECT_EQ(tokens.sizes(), (std::vector<int64_t>{3, 4, 21, 32, 32}));
  EXPECT_LE(tokens.abs().max().item<float>(), 1.0f + 1e-6f);
  EXPECT_TRUE(torch::equal(layout.frames_of(tokens), frames));
  EXPECT_TRUE(torch::allclose(layout.actions_of(tokens), actions, 0, 1e-5));
}

TEST(RobotTokens, ChannelLayoutIsDocumented) {
  const RobotTokenLayout layout(8, 2);
  const SceneSpec spec;
  auto frames = torch::zeros({2, 8, 8, 3}, torch::kUInt8);
  frames[1][0][0][2] = 255;  // hand camera, pixel (0, 0), blue
  auto actions = torch::zeros({2, 4});
  actions[1][0] = spec.workspace_max[0];                 // action 1: x at the top of the range -> +1
  actions[1][1] = spec.workspace_min[1];                 //           y at the bottom -> -1
  actions[1][3] = 1.0;                                   //           closed -> +1
  const auto token = layout.pack(frames, actions);       // [8, 8, 8]
  EXPECT_FLOAT_EQ(token[0][0][0].item<float>(), -1.0f);  // overview red channel: black
  EXPECT_FLOAT_EQ(token[5][0][0].item<float>(), 1.0f);   // channel 5 = hand camera blue
  const auto a1 = token[7];                              // channel 6 + 1: action 1
  EXPECT_FLOAT_EQ(a1[0][0].item<float>(), 1.0f);         // top-left quadrant: x
  EXPECT_FLOAT_EQ(a1[3][3].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(a1[0][4].item<float>(), -1.0f);                      // top-right: y
  EXPECT_FLOAT_EQ(a1[7][7].item<float>(), 1.0f);                       // bottom-right: grasp
  EXPECT_THROW(layout.pack(frames, torch::zeros({3, 4})), df::Error);  // an action chunk of the wrong length
  EXPECT_THROW(layout.pack(torch::zeros({2, 16, 16, 3}, torch::kUInt8), actions), df::Error);
  EXPECT_THROW(RobotTokenLayout(7, 15), df::Error);  // odd resolution: no quadrants
}

TEST(RobotTokens, TokenJHoldsTheFrameAtStepSjAndTheActionsBeforeIt) {
  const SceneSpec spec;
  const RobotTokenLayout layout(16, 3);
  Demonstration demo;
  demo.name = "demo_test";
  demo.frames = torch::randint(0, 256, {4, 2, 16, 16, 3}, torch::kLong).to(torch::kUInt8);
  demo.states = torch::zeros({4, kStateDim});
  demo.actions = random_actions({}, 9, spec);  // (4 - 1) * 3 steps
  const auto codec = std::make_shared<PixelTokenCodec>(layout);
  const auto tokens = demonstration_tokens(demo, *codec, spec);
  ASSERT_EQ(tokens.sizes(), (std::vector<int64_t>{4, 9, 16, 16}));
  EXPECT_TRUE(torch::equal(layout.frames_of(tokens), demo.frames));
  const auto actions = layout.actions_of(tokens);  // [4, 3, 4]
  EXPECT_TRUE(torch::allclose(actions[0], layout.hold_actions(spec.home), 0, 1e-5));
  for (int64_t j = 1; j < 4; ++j)
    EXPECT_TRUE(torch::allclose(actions[j], demo.actions.narrow(0, 3 * (j - 1), 3), 0, 1e-5)) << "token " << j;

  DemoSet set;
  set.resolution = 16;
  set.frame_every = 3;
  set.demos = {demo, demo};
  RobotDemoDataset dataset(set, {0, 1}, codec, 4);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
  const auto batch = dataset.sample(5, generator);
  EXPECT_EQ(batch.x.sizes(), (std::vector<int64_t>{4, 5, 9, 16, 16}));
  EXPECT_TRUE(torch::equal(batch.x.select(1, 2), tokens));
  EXPECT_THROW(RobotDemoDataset(set, {0}, codec, 5), df::Error);  // sequences longer than the demos
  EXPECT_THROW(RobotDemoDataset(set, {0}, std::make_shared<PixelTokenCodec>(RobotTokenLayout(16, 5)), 4),
               df::Error);  // frame_every != action_stack
}

}  // namespace
}  // namespace df::robot
