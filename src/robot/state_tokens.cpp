#include "df/robot/state_tokens.h"

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::robot {
namespace {

// [low, high] -> [-scale, scale] and back, broadcasting over the last dimension.
torch::Tensor to_unit(const torch::Tensor& x, const torch::Tensor& low, const torch::Tensor& high,
                      const torch::Tensor& scale) {
  const auto l = low.to(x.device()), h = high.to(x.device());
  return (((x.to(torch::kDouble) - l) / (h - l) * 2.0 - 1.0) * scale.to(x.device())).to(torch::kFloat);
}
torch::Tensor from_unit(const torch::Tensor& u, const torch::Tensor& low, const torch::Tensor& high,
                        const torch::Tensor& scale) {
  const auto l = low.to(u.device()), h = high.to(u.device());
  return ((u.to(torch::kDouble) / scale.to(u.device()) + 1.0) / 2.0 * (h - l) + l).to(torch::kFloat);
}

}  // namespace

torch::Tensor observe_state(const SwapEnv& env) {
  const Vec3 hand = env.hand(), apple = env.fruit(Fruit::Apple), orange = env.fruit(Fruit::Orange);
  return torch::tensor({hand[0], hand[1], hand[2], env.gripper_closure(), env.held() ? 1.0 : 0.0, apple[0], apple[1],
                        apple[2], orange[0], orange[1], orange[2]},
                       torch::kDouble)
      .to(torch::kFloat);
}

StateTokenLayout::StateTokenLayout(int64_t action_stack, bool start_bit, const SceneSpec& spec, double position_scale,
                                   bool slot_offsets)
    : action_stack_(action_stack),
      start_bit_(start_bit),
      position_scale_(position_scale),
      slot_offsets_(slot_offsets),
      jitter_(spec.fruit_jitter) {
  check(action_stack >= 1, "robot.action_stack: expected >= 1, got " + std::to_string(action_stack));
  check(position_scale > 0, "robot.position_scale: expected > 0, got " + std::to_string(position_scale));
  const double s = position_scale;
  state_scale_ = torch::tensor({s, s, s, 1.0, 1.0, s, s, s, s, s, s}, torch::kDouble);
  action_scale_ = torch::tensor({s, s, s, 1.0}, torch::kDouble);
  check(spec.fruit_jitter > 0, "StateTokenLayout: SceneSpec::fruit_jitter must be > 0");
  slot_centres_ = torch::tensor({spec.slots[0][0], spec.slots[0][1], spec.slots[1][0], spec.slots[1][1],
                                 spec.slots[2][0], spec.slots[2][1]},
                                torch::kDouble)
                      .view({3, 2});
  const auto& lo = spec.workspace_min;
  const auto& hi = spec.workspace_max;
  action_low_ = torch::tensor({lo[0], lo[1], lo[2], 0.0}, torch::kDouble);
  action_high_ = torch::tensor({hi[0], hi[1], hi[2], 1.0}, torch::kDouble);
  state_low_ = torch::tensor({lo[0], lo[1], lo[2], 0.0, 0.0, lo[0], lo[1], lo[2], lo[0], lo[1], lo[2]}, torch::kDouble);
  state_high_ = torch::tensor(
      {hi[0], hi[1], hi[2], spec.finger_travel, 1.0, hi[0], hi[1], hi[2], hi[0], hi[1], hi[2]}, torch::kDouble);
}

torch::Tensor StateTokenLayout::normalise_states(const torch::Tensor& states) const {
  check(states.dim() >= 1 && states.size(-1) == kStateDim,
        "StateTokenLayout: expected states [..., " + std::to_string(kStateDim) + "], got " + shape_str(states));
  return to_unit(states, state_low_, state_high_, state_scale_);
}

torch::Tensor StateTokenLayout::denormalise_states(const torch::Tensor& normalised) const {
  check(normalised.dim() >= 1 && normalised.size(-1) == kStateDim,
        "StateTokenLayout: expected states [..., " + std::to_string(kStateDim) + "], got " + shape_str(normalised));
  return from_unit(normalised, state_low_, state_high_, state_scale_);
}

torch::Tensor StateTokenLayout::sensor_entries(const torch::Tensor& states) const {
  const auto normalised = normalise_states(states);
  if (!slot_offsets_) return normalised;
  const auto raw = states.to(torch::kDouble);
  const auto centres = slot_centres_.to(raw.device());
  std::vector<torch::Tensor> offsets;
  for (const int64_t fx : {kStateAppleX, kStateOrangeX}) {
    const auto xy = raw.narrow(-1, fx, 2);                                      // [..., 2]
    const auto to_slots = xy.unsqueeze(-2) - centres;                           // [..., 3, 2]
    const auto nearest = to_slots.pow(2).sum(-1).argmin(-1, /*keepdim=*/true);  // [..., 1]
    auto shape = nearest.sizes().vec();
    shape.push_back(2);
    const auto offset = to_slots.gather(-2, nearest.unsqueeze(-1).expand(shape)).squeeze(-2);  // [..., 2]
    offsets.push_back((offset / jitter_).clamp(-2.0, 2.0).to(torch::kFloat));
  }
  return torch::cat({normalised, offsets[0].to(normalised.device()), offsets[1].to(normalised.device())}, -1);
}

torch::Tensor StateTokenLayout::fruit_x_direction(Fruit fruit) const {
  auto direction = torch::zeros({dim()}, torch::kDouble);
  const int64_t fx = fruit == Fruit::Apple ? kStateAppleX : kStateOrangeX;
  direction[fx] = 1.0;
  if (slot_offsets_) {
    // offset = (x - centre) / jitter and the entry = (2 (x - low) / (high - low) - 1) s: d offset / d entry.
    const double range = (state_high_[fx] - state_low_[fx]).item<double>();
    direction[kStateDim + (fruit == Fruit::Apple ? 0 : 2)] = range / (2.0 * position_scale_ * jitter_);
  }
  return direction;
}

torch::Tensor StateTokenLayout::pack(const torch::Tensor& states, const torch::Tensor& actions,
                                     const torch::Tensor& apple_start) const {
  const int64_t n = actions.dim();
  check(n >= 2 && actions.size(n - 2) == action_stack_ && actions.size(n - 1) == 4,
        "StateTokenLayout::pack: expected actions [..., " + std::to_string(action_stack_) + ", 4], got " +
            shape_str(actions));
  const auto lead = actions.sizes().slice(0, static_cast<size_t>(n - 2)).vec();
  check(states.sizes().slice(0, static_cast<size_t>(states.dim() - 1)).vec() == lead,
        "StateTokenLayout::pack: states " + shape_str(states) + " and actions " + shape_str(actions) +
            " differ in their leading dimensions");
  std::vector<int64_t> flat = lead;
  flat.push_back(4 * action_stack_);
  std::vector<torch::Tensor> parts{sensor_entries(states),
                                   to_unit(actions, action_low_, action_high_, action_scale_)
                                       .reshape(flat)
                                       .to(states.device())};
  if (start_bit_) {
    check(apple_start.defined() && apple_start.sizes().vec() == lead,
          "StateTokenLayout::pack: start_bit needs the apple's start slot per token " + shape_str(lead));
    parts.insert(parts.begin() + 1, (apple_start.to(torch::kFloat) * 2.0 - 1.0).unsqueeze(-1).to(states.device()));
  }
  return torch::cat(parts, -1);
}

void StateTokenLayout::check_tokens(const torch::Tensor& tokens) const {
  check(tokens.dim() >= 1 && tokens.size(-1) == dim(),
        "StateTokenLayout: expected tokens [..., " + std::to_string(dim()) + "], got " + shape_str(tokens));
}

torch::Tensor StateTokenLayout::states_of(const torch::Tensor& tokens) const {
  check_tokens(tokens);
  return denormalise_states(tokens.narrow(-1, 0, kStateDim));
}

torch::Tensor StateTokenLayout::actions_of(const torch::Tensor& tokens) const {
  check_tokens(tokens);
  auto shape = tokens.sizes().vec();
  shape.back() = action_stack_;
  shape.push_back(4);
  return from_unit(tokens.narrow(-1, observation_dim(), 4 * action_stack_).reshape(shape), action_low_, action_high_,
                   action_scale_);
}

}  // namespace df::robot
