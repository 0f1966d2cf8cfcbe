#include "df/diffusion/ddim.h"

#include "df/core/error.h"
#include "df/diffusion/forward_process.h"

namespace df {

DdimGrid::DdimGrid(int64_t timesteps, int64_t sampling_steps) {
  check(sampling_steps >= 1 && sampling_steps <= timesteps,
        "DDIM: sampling_steps must be in [1, " + std::to_string(timesteps) + "], got " + std::to_string(sampling_steps));
  // float32 linspace then truncation toward zero, exactly as the reference.
  const auto grid = torch::linspace(-1.0, static_cast<double>(timesteps - 1), sampling_steps + 1,
                                    torch::TensorOptions().dtype(torch::kFloat))
                        .to(torch::kInt);
  levels_.resize(static_cast<size_t>(sampling_steps + 1));
  for (int64_t v = 0; v <= sampling_steps; ++v) levels_[static_cast<size_t>(v)] = grid[v].item<int>();
}

int64_t DdimGrid::level(int64_t v) const {
  check(v >= 0 && v <= sampling_steps(), "DdimGrid::level: entry " + std::to_string(v) + " outside [0, " +
                                             std::to_string(sampling_steps()) + "]");
  return levels_[static_cast<size_t>(v)];
}

namespace {
struct DdimCoefficients {
  torch::Tensor alpha, alpha_next, sigma, c;
};
DdimCoefficients coefficients(const NoiseSchedule& schedule, const torch::Tensor& k_from, const torch::Tensor& k_to,
                              double eta) {
  DdimCoefficients r;
  r.alpha = schedule.alphas_cumprod_or_one(k_from);
  r.alpha_next = schedule.alphas_cumprod_or_one(k_to);
  r.sigma = eta * ((1 - r.alpha / r.alpha_next) * (1 - r.alpha_next) / (1 - r.alpha)).clamp_min(0).sqrt();
  r.c = (1 - r.alpha_next - r.sigma * r.sigma).clamp_min(0).sqrt();
  return r;
}
}  // namespace

torch::Tensor ddim_update(const NoiseSchedule& schedule, const Prediction& prediction, const torch::Tensor& k_from,
                          const torch::Tensor& k_to, double eta, const torch::Tensor& noise) {
  const auto k = coefficients(schedule, k_from, k_to, eta);
  const auto& x0 = prediction.x0;
  auto x = broadcast_to_tokens(k.alpha_next.sqrt(), x0) * x0 + broadcast_to_tokens(k.c, x0) * prediction.eps;
  if (eta != 0.0 && noise.defined()) x = x + broadcast_to_tokens(k.sigma, x0) * noise;
  // Tokens reaching level -1 return x0 exactly (the reference returns x_start there).
  return torch::where(broadcast_to_tokens(k_to < 0, x0), x0, x);
}

torch::Tensor ddim_guidance_constant(const NoiseSchedule& schedule, const torch::Tensor& k_from,
                                     const torch::Tensor& k_to, double eta) {
  const auto k = coefficients(schedule, k_from, k_to, eta);
  const auto g = (1 - k.alpha) - k.c * (1 - k.alpha).sqrt();
  return torch::where(k_to < 0, torch::zeros_like(g), g);
}

}  // namespace df
