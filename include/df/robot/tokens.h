// Token layout of the robot policy: token j = [camera frames at control step s*j (overview RGB, hand RGB:
// 6 channels) | the s actions executed before that frame, steps s*(j-1) .. s*j-1 (s channels)], with
// s = action_stack (15 as in the reference: 21 channels at 32x32). Token 0 carries the actions "hold the
// start pose, gripper open" (the reference pads with the mean action).
//
// Actions come before the frame they led to, as the paper's x_t = [a_t, o_{t+1}]. That makes acting
// consistent: after executing the chunk of token j+1 the policy observes the frame at s*(j+1), and the
// real token j+1 (that frame + the executed actions) is exactly what it absorbs next at level 0. (The
// reference's "frame + the 15 actions that follow it" would need actions not yet chosen.)
//
// Packing (simpler than the reference's 4x4 pattern with a rotation matrix; the gripper never turns): the
// channel of action i is split into four R/2 x R/2 quadrants holding, normalised to [-1, 1], target x
// (top left), y (top right), z (bottom left) and grasp (bottom right, -1 open / +1 closed). Unpacking
// averages each quadrant. Pixels are (p / 255 - 0.5) / 0.5.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "df/robot/env.h"

namespace df::robot {

class RobotTokenLayout {
 public:
  // resolution: even, >= 2; action_stack >= 1. The workspace of `spec` normalises the positions.
  RobotTokenLayout(int64_t resolution, int64_t action_stack, const SceneSpec& spec = {});

  int64_t resolution() const { return resolution_; }
  int64_t action_stack() const { return action_stack_; }
  int64_t channels() const { return 6 + action_stack_; }
  std::vector<int64_t> token_shape() const { return {channels(), resolution_, resolution_}; }

  // frames [..., 2, R, R, 3] uint8 -> [..., 6, R, R] float in [-1, 1] (and back, rounded and clamped).
  torch::Tensor pack_frames(const torch::Tensor& frames) const;
  torch::Tensor unpack_frames(const torch::Tensor& channels) const;
  // actions [..., s, 4] raw (metres, grasp 0/1) -> [..., s, R, R] (and back: positions and grasp in [0, 1]).
  torch::Tensor pack_actions(const torch::Tensor& actions) const;
  torch::Tensor unpack_actions(const torch::Tensor& channels) const;

  // Whole tokens: frames [..., 2, R, R, 3] uint8 + actions [..., s, 4] -> [..., 6 + s, R, R].
  torch::Tensor pack(const torch::Tensor& frames, const torch::Tensor& actions) const;
  // The frames [..., 2, R, R, 3] uint8 and actions [..., s, 4] of tokens [..., 6 + s, R, R].
  torch::Tensor frames_of(const torch::Tensor& tokens) const;
  torch::Tensor actions_of(const torch::Tensor& tokens) const;

  // [s, 4]: hold `position` with the gripper open (token 0's actions).
  torch::Tensor hold_actions(const Vec3& position) const;

 private:
  int64_t resolution_, action_stack_;
  torch::Tensor low_, high_;  // [4] normalisation range of x, y, z, grasp (double)
};

}  // namespace df::robot
