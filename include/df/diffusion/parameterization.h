// The three parameterizations of the denoiser output (x0, eps, v) and every conversion between them,
// in one place. Per-token coefficients broadcast over the feature dims; no clipping of x0 anywhere
// (as in the reference); eps predictions are clamped to +-clip_noise.
#pragma once
#include <torch/torch.h>

#include <string>

#include "df/diffusion/noise_schedule.h"

#include "df/core/enum_names.h"

namespace df {

enum class Objective { X0, Eps, V };
template <>
struct EnumNames<Objective> {
  static constexpr const char* what = "objective";
  static constexpr EnumName<Objective> table[] = {
      {Objective::X0, "x0"},      {Objective::Eps, "eps"},        {Objective::V, "v"},
      {Objective::X0, "pred_x0"}, {Objective::Eps, "pred_noise"}, {Objective::V, "pred_v"}};
};

// What the network is fed for a noisy token x_k. None: x_k itself (the reference). SqrtAlphaBar:
// sqrt(abar_k) x_k = abar_k x0 + sqrt(abar_k (1 - abar_k)) eps, the least-squares estimate of x0 from x_k for
// unit-variance data: a clean token arrives whole and a noisy one shrinks towards 0, so a network that
// takes its inputs by concatenation (the ResMLP-GRU) gets each token's reliability as its scale instead of
// having to learn a level-dependent gate. Only the input changes: outputs and conversions use x_k.
// Measured on the robot's state control (probe ctl_inscale): no better fruit readout or policy; configs keep none.
enum class InputScale { None, SqrtAlphaBar };
template <>
struct EnumNames<InputScale> {
  static constexpr const char* what = "input scale";
  static constexpr EnumName<InputScale> table[] = {{InputScale::None, "none"},
                                                   {InputScale::SqrtAlphaBar, "sqrt_alpha_bar"}};
};

struct Prediction {
  torch::Tensor x0;   // predicted clean token
  torch::Tensor eps;  // implied noise
};

class Parameterization {
 public:
  Parameterization(Objective objective, const NoiseSchedule& schedule, double clip_noise)
      : objective_(objective), schedule_(&schedule), clip_noise_(clip_noise) {}

  Objective objective() const { return objective_; }

  // Converts the raw model output at noisy input x_k with levels (shape = leading dims of x_k).
  Prediction from_output(const torch::Tensor& out, const torch::Tensor& x_k, const torch::Tensor& levels) const;
  // The regression target for the objective given the clean x0 and the (clamped) noise used.
  torch::Tensor target(const torch::Tensor& x0, const torch::Tensor& eps, const torch::Tensor& levels) const;

  torch::Tensor x0_from_eps(const torch::Tensor& x_k, const torch::Tensor& eps, const torch::Tensor& levels) const;
  torch::Tensor eps_from_x0(const torch::Tensor& x_k, const torch::Tensor& x0, const torch::Tensor& levels) const;
  torch::Tensor x0_from_v(const torch::Tensor& x_k, const torch::Tensor& v, const torch::Tensor& levels) const;
  torch::Tensor v_from(const torch::Tensor& x0, const torch::Tensor& eps, const torch::Tensor& levels) const;
  // The model output that would give exactly this (x0, eps): used by oracle denoisers in tests.
  torch::Tensor output_from(const torch::Tensor& x0, const torch::Tensor& eps, const torch::Tensor& levels) const;

 private:
  torch::Tensor coef(const torch::Tensor& buffer, const torch::Tensor& levels, const torch::Tensor& x) const;

  Objective objective_;
  const NoiseSchedule* schedule_;
  double clip_noise_;
};

}  // namespace df
