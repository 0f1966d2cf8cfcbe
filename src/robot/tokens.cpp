#include "df/robot/tokens.h"

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::robot {
namespace {

// Shape of x with its last `n` dimensions replaced by `tail`.
std::vector<int64_t> replace_tail(const torch::Tensor& x, int64_t n, std::vector<int64_t> tail) {
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end() - n);
  shape.insert(shape.end(), tail.begin(), tail.end());
  return shape;
}

}  // namespace

RobotTokenLayout::RobotTokenLayout(int64_t resolution, int64_t action_stack, const SceneSpec& spec)
    : resolution_(resolution), action_stack_(action_stack) {
  check(resolution >= 2 && resolution % 2 == 0,
        "robot.resolution: expected an even number >= 2, got " + std::to_string(resolution));
  check(action_stack >= 1, "robot.action_stack: expected >= 1, got " + std::to_string(action_stack));
  const auto& lo = spec.workspace_min;
  const auto& hi = spec.workspace_max;
  low_ = torch::tensor({lo[0], lo[1], lo[2], 0.0}, torch::kDouble);
  high_ = torch::tensor({hi[0], hi[1], hi[2], 1.0}, torch::kDouble);
}

torch::Tensor RobotTokenLayout::pack_frames(const torch::Tensor& frames) const {
  const int64_t n = frames.dim(), R = resolution_;
  check(n >= 4 && frames.size(n - 4) == 2 && frames.size(n - 3) == R && frames.size(n - 2) == R &&
            frames.size(n - 1) == 3 && frames.scalar_type() == torch::kUInt8,
        "RobotTokenLayout::pack_frames: expected uint8 frames [..., 2, " + std::to_string(R) + ", " +
            std::to_string(R) + ", 3], got " + shape_str(frames));
  std::vector<int64_t> order;
  for (int64_t d = 0; d < n - 4; ++d) order.push_back(d);
  order.insert(order.end(), {n - 4, n - 1, n - 3, n - 2});  // camera, rgb, H, W
  const auto x = frames.permute(order).to(torch::kFloat).div(255.0).sub(0.5).div(0.5);
  return x.reshape(replace_tail(frames, 4, {6, R, R}));
}

torch::Tensor RobotTokenLayout::unpack_frames(const torch::Tensor& channels) const {
  const int64_t n = channels.dim(), R = resolution_;
  check(n >= 3 && channels.size(n - 3) == 6 && channels.size(n - 2) == R && channels.size(n - 1) == R,
        "RobotTokenLayout::unpack_frames: expected [..., 6, R, R], got " + shape_str(channels));
  auto x = channels.reshape(replace_tail(channels, 3, {2, 3, R, R}));
  std::vector<int64_t> order;
  for (int64_t d = 0; d < n - 3; ++d) order.push_back(d);
  order.insert(order.end(), {n - 3, n - 1, n, n - 2});  // camera, H, W, rgb
  return x.permute(order).mul(0.5).add(0.5).mul(255.0).round().clamp(0, 255).to(torch::kUInt8).contiguous();
}

torch::Tensor RobotTokenLayout::pack_actions(const torch::Tensor& actions) const {
  const int64_t n = actions.dim(), half = resolution_ / 2;
  check(n >= 2 && actions.size(n - 2) == action_stack_ && actions.size(n - 1) == 4,
        "RobotTokenLayout::pack_actions: expected actions [..., " + std::to_string(action_stack_) + ", 4], got " +
            shape_str(actions));
  const auto a = actions.to(torch::kDouble);
  const auto normalised = ((a - low_.to(a.device())) / (high_ - low_).to(a.device()) * 2.0 - 1.0).to(torch::kFloat);
  // [..., s, 4] -> quadrants [..., s, 2, 2] ([[x, y], [z, grasp]]) -> blocks [..., s, R, R]
  const auto quadrants = normalised.reshape(replace_tail(actions, 1, {2, 2}));
  return quadrants.repeat_interleave(half, -2).repeat_interleave(half, -1);
}

torch::Tensor RobotTokenLayout::unpack_actions(const torch::Tensor& channels) const {
  const int64_t n = channels.dim(), R = resolution_, half = R / 2;
  check(n >= 3 && channels.size(n - 3) == action_stack_ && channels.size(n - 2) == R && channels.size(n - 1) == R,
        "RobotTokenLayout::unpack_actions: expected [..., " + std::to_string(action_stack_) + ", R, R], got " +
            shape_str(channels));
  const auto blocks = channels.to(torch::kDouble).reshape(replace_tail(channels, 2, {2, half, 2, half}));
  const auto means = blocks.mean(std::vector<int64_t>{-3, -1});  // [..., s, 2, 2]
  const auto normalised = means.reshape(replace_tail(channels, 2, {4}));
  const auto low = low_.to(channels.device()), high = high_.to(channels.device());
  return ((normalised + 1.0) / 2.0 * (high - low) + low).to(torch::kFloat);
}

torch::Tensor RobotTokenLayout::pack(const torch::Tensor& frames, const torch::Tensor& actions) const {
  return torch::cat({pack_frames(frames), pack_actions(actions).to(frames.device())}, -3);
}

torch::Tensor RobotTokenLayout::frames_of(const torch::Tensor& tokens) const {
  check(tokens.dim() >= 3 && tokens.size(-3) == channels(),
        "RobotTokenLayout: expected tokens [..., " + std::to_string(channels()) + ", R, R], got " + shape_str(tokens));
  return unpack_frames(tokens.narrow(-3, 0, 6));
}

torch::Tensor RobotTokenLayout::actions_of(const torch::Tensor& tokens) const {
  check(tokens.dim() >= 3 && tokens.size(-3) == channels(),
        "RobotTokenLayout: expected tokens [..., " + std::to_string(channels()) + ", R, R], got " + shape_str(tokens));
  return unpack_actions(tokens.narrow(-3, 6, action_stack_));
}

torch::Tensor RobotTokenLayout::hold_actions(const Vec3& position) const {
  auto a = torch::zeros({action_stack_, 4}, torch::kFloat);
  for (int64_t k = 0; k < 3; ++k) a.select(1, k).fill_(position[static_cast<size_t>(k)]);
  return a;
}

}  // namespace df::robot
