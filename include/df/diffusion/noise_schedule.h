// Noise schedules of the reference implementation (linear, cosine, sigmoid), computed in float64 with
// the 0.999 clip on beta, stored on the model's device, and looked up per token with a [T,B] level
// tensor.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

#include "df/core/enum_names.h"

namespace df {

enum class ScheduleKind { Linear, Cosine, Sigmoid };
template <>
struct EnumNames<ScheduleKind> {
  static constexpr const char* what = "noise schedule";
  static constexpr EnumName<ScheduleKind> table[] = {
      {ScheduleKind::Linear, "linear"}, {ScheduleKind::Cosine, "cosine"}, {ScheduleKind::Sigmoid, "sigmoid"}};
};

struct NoiseScheduleOptions {
  ScheduleKind kind = ScheduleKind::Cosine;
  int64_t timesteps = 1000;  // K
  double snr_clip = 5.0;     // gamma of min-SNR weighting
  double cosine_s = 0.008;
  double sigmoid_start = -3.0, sigmoid_end = 3.0, sigmoid_tau = 1.0;
};

// beta_1..beta_K in float64 on the CPU, clipped to [0, 0.999], exactly as the reference computes them.
torch::Tensor make_betas(const NoiseScheduleOptions& options);

class NoiseSchedule {
 public:
  NoiseSchedule() = default;
  NoiseSchedule(const NoiseScheduleOptions& options, torch::Device device,
                torch::ScalarType dtype = torch::kFloat);

  const NoiseScheduleOptions& options() const { return options_; }
  int64_t timesteps() const { return options_.timesteps; }

  // All buffers are [K] tensors on the device (float64 math, then cast to dtype).
  torch::Tensor betas, alphas_cumprod, alphas_cumprod_prev, sqrt_alphas_cumprod, sqrt_one_minus_alphas_cumprod,
      log_one_minus_alphas_cumprod, sqrt_recip_alphas_cumprod, sqrt_recipm1_alphas_cumprod, posterior_variance,
      posterior_log_variance_clipped, posterior_mean_coef1, posterior_mean_coef2, snr, clipped_snr;

  // Named view of the buffers above (names as in the reference, e.g. "alphas_cumprod").
  std::map<std::string, torch::Tensor> buffers() const;

  // buffer[levels] for an integer level tensor of any shape (e.g. [T,B]); levels must be in [0, K).
  static torch::Tensor gather(const torch::Tensor& buffer, const torch::Tensor& levels);

  // alpha-bar at a level that may be -1 ("clean", alpha-bar = 1), used by DDIM's last step.
  torch::Tensor alphas_cumprod_or_one(const torch::Tensor& levels) const;

 private:
  NoiseScheduleOptions options_;
};

}  // namespace df
