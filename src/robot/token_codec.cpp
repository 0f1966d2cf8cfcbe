#include "df/robot/token_codec.h"

#include "df/core/error.h"

namespace df::robot {

torch::Tensor StateTokenCodec::observe(const SwapEnv& env, SceneRenderer*) const { return observe_state(env); }

torch::Tensor StateTokenCodec::demonstration_observations(const Demonstration& demo) const {
  check(demo.states.defined(), demo.name + ": no states recorded");
  return demo.states;
}

torch::Tensor StateTokenCodec::encode(const torch::Tensor& observations, const torch::Tensor& actions,
                                      const torch::Tensor& apple_start) const {
  return layout_.pack(observations, actions, apple_start);
}

torch::Tensor StateTokenCodec::decode_actions(const torch::Tensor& tokens) const { return layout_.actions_of(tokens); }

torch::Tensor StateTokenCodec::observation_mask() const {
  auto mask = torch::zeros({layout_.dim()}, torch::kFloat);
  mask.narrow(0, 0, layout_.sensor_dim()).fill_(1.0);
  return mask;
}

torch::Tensor PixelTokenCodec::observe(const SwapEnv& env, SceneRenderer* renderer) const {
  check(renderer != nullptr, "PixelTokenCodec: pixel observations need a renderer");
  return renderer->observe(env, static_cast<int>(layout_.resolution()));
}

torch::Tensor PixelTokenCodec::demonstration_observations(const Demonstration& demo) const {
  check(demo.frames.defined(), demo.name + ": no camera frames recorded (a state-only demonstration folder)");
  return demo.frames;
}

torch::Tensor PixelTokenCodec::encode(const torch::Tensor& observations, const torch::Tensor& actions,
                                      const torch::Tensor&) const {
  return layout_.pack(observations, actions);
}

torch::Tensor PixelTokenCodec::decode_actions(const torch::Tensor& tokens) const { return layout_.actions_of(tokens); }

torch::Tensor PixelTokenCodec::observation_mask() const {
  auto mask = torch::zeros(layout_.token_shape(), torch::kFloat);
  mask.narrow(0, 0, 6).fill_(1.0);
  return mask;
}

}  // namespace df::robot
