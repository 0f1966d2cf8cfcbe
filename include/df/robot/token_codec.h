// The two observation kinds of the robot policy behind one interface (robot.observation): what the training
// data, the acting loop and the corruptions need to know about a token.
//   pixels: both cameras + actions packed as images [6 + s, R, R] (RobotTokenLayout, the paper's tokens);
//   state:  hand, gripper and fruit positions + actions as one vector [11 + 4 s] (StateTokenLayout).
// A state policy needs no renderer: observations come from the simulator's state.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "df/core/enum_names.h"
#include "df/robot/demonstrations.h"
#include "df/robot/state_tokens.h"
#include "df/robot/tokens.h"

namespace df::robot {
enum class ObservationKind { State, Pixels };
}  // namespace df::robot

namespace df {
template <>
struct EnumNames<robot::ObservationKind> {
  static constexpr const char* what = "observation";
  static constexpr EnumName<robot::ObservationKind> table[] = {{robot::ObservationKind::State, "state"},
                                                               {robot::ObservationKind::Pixels, "pixels"}};
};
}  // namespace df

namespace df::robot {

class TokenCodec {
 public:
  virtual ~TokenCodec() = default;
  virtual ObservationKind kind() const = 0;
  virtual std::vector<int64_t> token_shape() const = 0;
  virtual int64_t action_stack() const = 0;
  // One env's observation: its state [kStateDim] float, or both cameras [2, R, R, 3] uint8 (needs `renderer`).
  virtual torch::Tensor observe(const SwapEnv& env, SceneRenderer* renderer) const = 0;
  // A demonstration's observations [F, ...]; throws df::Error naming the demonstration when it lacks them.
  virtual torch::Tensor demonstration_observations(const Demonstration& demo) const = 0;
  // Tokens [..., token] of observations [..., obs], executed actions [..., s, 4] (raw) and the apple's start
  // slot [...] (long, 0 = A, 1 = B; only the positive control's state tokens read it).
  virtual torch::Tensor encode(const torch::Tensor& observations, const torch::Tensor& actions,
                               const torch::Tensor& apple_start) const = 0;
  // Raw actions [..., s, 4] of tokens [..., token].
  virtual torch::Tensor decode_actions(const torch::Tensor& tokens) const = 0;
  // [token]: 1 at the entries that hold the observation (cameras or state), 0 at the actions (and the start
  // bit, which no corruption touches).
  virtual torch::Tensor observation_mask() const = 0;
};

class StateTokenCodec : public TokenCodec {
 public:
  StateTokenCodec(int64_t action_stack, bool start_bit, double position_scale = 1.0, bool slot_offsets = false)
      : layout_(action_stack, start_bit, SceneSpec{}, position_scale, slot_offsets) {}
  ObservationKind kind() const override { return ObservationKind::State; }
  std::vector<int64_t> token_shape() const override { return {layout_.dim()}; }
  int64_t action_stack() const override { return layout_.action_stack(); }
  torch::Tensor observe(const SwapEnv& env, SceneRenderer* renderer) const override;
  torch::Tensor demonstration_observations(const Demonstration& demo) const override;
  torch::Tensor encode(const torch::Tensor& observations, const torch::Tensor& actions,
                       const torch::Tensor& apple_start) const override;
  torch::Tensor decode_actions(const torch::Tensor& tokens) const override;
  torch::Tensor observation_mask() const override;
  const StateTokenLayout& layout() const { return layout_; }

 private:
  StateTokenLayout layout_;
};

class PixelTokenCodec : public TokenCodec {
 public:
  explicit PixelTokenCodec(RobotTokenLayout layout) : layout_(std::move(layout)) {}
  ObservationKind kind() const override { return ObservationKind::Pixels; }
  std::vector<int64_t> token_shape() const override { return layout_.token_shape(); }
  int64_t action_stack() const override { return layout_.action_stack(); }
  torch::Tensor observe(const SwapEnv& env, SceneRenderer* renderer) const override;
  torch::Tensor demonstration_observations(const Demonstration& demo) const override;
  torch::Tensor encode(const torch::Tensor& observations, const torch::Tensor& actions,
                       const torch::Tensor& apple_start) const override;
  torch::Tensor decode_actions(const torch::Tensor& tokens) const override;
  torch::Tensor observation_mask() const override;
  const RobotTokenLayout& layout() const { return layout_; }

 private:
  RobotTokenLayout layout_;
};

}  // namespace df::robot
