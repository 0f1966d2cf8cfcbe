// State observations of the fruit swap (robot.observation: state): what a tracker and the gripper's own
// sensors report instead of pictures. One state, raw [kStateDim]:
//   hand x, y, z (the grasp point, metres) | gripper closure (finger travel, 0 open .. SceneSpec::finger_travel)
//   | holding a fruit (0 / 1: the hand camera shows it) | apple x, y, z | orange x, y, z
// Nothing reveals the start configuration or the time: no step counter, no start flag, no velocities, no
// orientations. A state token is [normalised state | the s actions executed before it], the actions as in
// the pixel tokens: target x, y, z scaled from the workspace box to [-1, 1], grasp -1 open / +1 closed. The
// state is normalised the same way: positions by the workspace box, the closure by the finger travel, the
// holding flag to -1 / +1.
//
// position_scale s (robot.position_scale, default 1) stretches every position entry (hand, fruits, action
// targets) to [-s, s] instead of [-1, 1]: a fruit's 2 cm jitter in its slot is then s times larger against
// the diffusion noise and in the x0 loss, where at s = 1 it is about 1% of the loss (docs/results/robot.md,
// what the network reads). robot.corrupt_sigma is on the normalised state, so it means s times less noise in
// metres. Measured at s = 4 on the control (probe ctl_pos4): no better readout, a worse policy; configs keep 1.
//
// slot_offsets (robot.slot_offsets, default off) appends, after the state, each fruit's x, y offset from the
// nearest slot's centre in units of the start jitter (SceneSpec::fruit_jitter), clamped to [-2, 2]: apple
// dx, dy, orange dx, dy. Why: what a grasp must aim by is where a fruit lies in its slot, and in the
// workspace-normalised entries that is a jitter of at most 0.08 (the entries span 2), which the denoisers
// here do not resolve (docs/results/robot.md, what the network reads); as an offset it spans [-1, 1], and
// the control that could not aim now does (probe ctl_offsets: 94% against 54%). It is a function
// of the state (no start information: placements are drawn from the start distribution), so every model
// and baseline gets it alike. A corruption of the state is applied to the raw state and the offsets are
// recomputed from it (glitch, dropout); sensor noise is added to every entry the sensor reports.
//
// start_bit (only the positive control of the memory experiment) appends one entry that tells the start:
// -1 apple started in A, +1 in B. A memoryless policy given it has what memory would give it.
//
//   StateTokenLayout layout(15, false);
//   auto token = layout.pack(observe_state(env), executed);    // [11 + 60] ([11 + 4 + 60] with slot offsets)
//   auto actions = layout.actions_of(sampled);                  // [..., 15, 4] metres, grasp in [0, 1]
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "df/robot/env.h"

namespace df::robot {

inline constexpr int64_t kStateDim = 11;
// Entries of a state (raw and normalised): the fruits' x coordinates (the corruption "glitch" mirrors them).
inline constexpr int64_t kStateAppleX = 5, kStateOrangeX = 8;

// The raw state of one env [kStateDim] float.
torch::Tensor observe_state(const SwapEnv& env);

class StateTokenLayout {
 public:
  StateTokenLayout(int64_t action_stack, bool start_bit, const SceneSpec& spec = {}, double position_scale = 1.0,
                   bool slot_offsets = false);

  int64_t action_stack() const { return action_stack_; }
  bool start_bit() const { return start_bit_; }
  double position_scale() const { return position_scale_; }
  bool slot_offsets() const { return slot_offsets_; }
  // The entries a sensor reports (what corruptions touch): the state and, with slot_offsets, the offsets.
  int64_t sensor_dim() const { return kStateDim + (slot_offsets_ ? 4 : 0); }
  // Entries before the actions: the sensor entries and, with start_bit, the start.
  int64_t observation_dim() const { return sensor_dim() + (start_bit_ ? 1 : 0); }
  int64_t dim() const { return observation_dim() + 4 * action_stack_; }

  // raw states [..., kStateDim] <-> normalised (the token's first kStateDim entries).
  torch::Tensor normalise_states(const torch::Tensor& states) const;
  torch::Tensor denormalise_states(const torch::Tensor& normalised) const;
  // raw states [..., kStateDim] -> a token's sensor entries [..., sensor_dim()].
  torch::Tensor sensor_entries(const torch::Tensor& states) const;
  // [dim()] double: how a token's entries move per unit of a fruit's normalised x while it rests in a slot
  // (1 at its x entry and, with slot_offsets, its x offset's slope): the direction along which
  // aim_sensitivity differentiates "the fruit's x".
  torch::Tensor fruit_x_direction(Fruit fruit) const;

  // states [..., kStateDim] raw + actions [..., s, 4] raw (+ apple start slot [...] long, 0 = A, 1 = B, needed
  // with start_bit and ignored without) -> tokens [..., dim].
  torch::Tensor pack(const torch::Tensor& states, const torch::Tensor& actions,
                     const torch::Tensor& apple_start = {}) const;
  // The raw states [..., kStateDim] and actions [..., s, 4] (grasp in [0, 1]) of tokens [..., dim].
  torch::Tensor states_of(const torch::Tensor& tokens) const;
  torch::Tensor actions_of(const torch::Tensor& tokens) const;

 private:
  void check_tokens(const torch::Tensor& tokens) const;
  int64_t action_stack_;
  bool start_bit_;
  double position_scale_;
  bool slot_offsets_;
  double jitter_;               // SceneSpec::fruit_jitter
  torch::Tensor slot_centres_;  // [3, 2] double
  torch::Tensor state_scale_, action_scale_;  // [kStateDim], [4]: position_scale at positions, else 1 (double)
  torch::Tensor state_low_, state_high_;    // [kStateDim] normalisation range (double)
  torch::Tensor action_low_, action_high_;  // [4]
};

}  // namespace df::robot
