// The cameras (MuJoCo's renderer on an off-screen EGL context): deterministic pictures that change with
// the state, and the overview shows the apple on the side of its slot.
#include <gtest/gtest.h>

#include "df/robot/cameras.h"

namespace df::robot {
namespace {

// Mean absolute difference of two uint8 pictures, in grey levels.
double difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat) - b.to(torch::kFloat)).abs().mean().item<double>();
}

// Pixels that look like the apple (strong red, little green) in [R, R, 3], and the mean column of them.
std::pair<int64_t, double> red_pixels(const torch::Tensor& picture) {
  const auto p = picture.to(torch::kInt);
  const auto mask = (p.select(2, 0) > 120) & (p.select(2, 1) < 60) & (p.select(2, 2) < 60);
  const int64_t count = mask.sum().item<int64_t>();
  if (count == 0) return {0, -1.0};
  const auto columns = torch::arange(picture.size(1)).to(torch::kFloat).unsqueeze(0).expand_as(mask);
  return {count, columns.masked_select(mask).mean().item<double>()};
}

class RobotCameras : public ::testing::Test {
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
};
std::shared_ptr<const SwapModel> RobotCameras::model_;
std::unique_ptr<SceneRenderer> RobotCameras::renderer_;

TEST_F(RobotCameras, PicturesAreDeterministicAndOfTheRequestedSize) {
  SwapEnv env(model_, 1);
  env.reset();
  const auto a = renderer_->observe(env, 32), b = renderer_->observe(env, 32);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{2, 32, 32, 3}));
  EXPECT_EQ(a.scalar_type(), torch::kUInt8);
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_EQ(renderer_->render(env, Camera::Hand, 64).sizes(), (std::vector<int64_t>{64, 64, 3}));
  // Not a blank picture: the table, slots and fruits give many distinct colours.
  EXPECT_GT(std::get<0>(at::_unique(a[0].reshape({-1, 3}).select(1, 0))).numel(), 20);
  EXPECT_FALSE(renderer_->describe().empty());
  EXPECT_THROW(renderer_->render(env, Camera::Overview, 100000), df::Error);
}

TEST_F(RobotCameras, PicturesChangeWithTheState) {
  SwapEnv env(model_, 2);
  env.reset_to(StartState{Slot::A, {}});
  const auto start = renderer_->observe(env, 32);
  // The apple (red) sits left in the overview when it starts in A, right when it starts in B.
  const auto left = red_pixels(start[0]);
  env.reset_to(StartState{Slot::B, {}});
  const auto swapped = renderer_->observe(env, 32);
  const auto right = red_pixels(swapped[0]);
  ASSERT_GT(left.first, 3);
  ASSERT_GT(right.first, 3);
  EXPECT_LT(left.second, 14.0);
  EXPECT_GT(right.second, 18.0);
  EXPECT_GT(difference(start[0], swapped[0]), 1.0);
  // Moving the hand changes the hand camera a lot and the overview a little (the gripper is in view).
  env.reset_to(StartState{Slot::A, {}});
  for (int i = 0; i < 10; ++i) env.step({0.12, 0.0, 0.06, 0.0});
  const auto moved = renderer_->observe(env, 32);
  EXPECT_GT(difference(start[1], moved[1]), 5.0);
  EXPECT_GT(difference(start[0], moved[0]), 0.5);
  // The distractor bag shows in the overview.
  env.reset_to(StartState{Slot::A, {}});
  env.show_distractor({0.0, 0.06}, 0.3);
  const auto bag = renderer_->observe(env, 32);
  EXPECT_GT(difference(start[0], bag[0]), 1.0);
  env.hide_distractor();
  EXPECT_TRUE(torch::equal(renderer_->observe(env, 32), start));
}

}  // namespace
}  // namespace df::robot
