#include "df/diffusion/noise_schedule.h"

#include <cmath>

#include "df/core/error.h"

namespace df {



torch::Tensor make_betas(const NoiseScheduleOptions& o) {
  check(o.timesteps >= 2, "noise schedule: timesteps must be >= 2, got " + std::to_string(o.timesteps));
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t K = o.timesteps;
  torch::Tensor betas;
  if (o.kind == ScheduleKind::Linear) {
    const double scale = 1000.0 / static_cast<double>(K);
    betas = torch::linspace(scale * 1e-4, scale * 0.02, K, f64);
  } else {
    const auto t = torch::linspace(0, K, K + 1, f64) / static_cast<double>(K);
    torch::Tensor abar;
    if (o.kind == ScheduleKind::Cosine) {
      abar = torch::cos((t + o.cosine_s) / (1 + o.cosine_s) * M_PI * 0.5).pow(2);
    } else {
      // The reference evaluates these two constants as float32 tensors; keep that rounding.
      const auto sigmoid32 = [](double v) {
        return static_cast<double>(torch::tensor(static_cast<float>(v)).sigmoid().item<float>());
      };
      const double v_start = sigmoid32(o.sigmoid_start / o.sigmoid_tau);
      const double v_end = sigmoid32(o.sigmoid_end / o.sigmoid_tau);
      abar = (-torch::sigmoid((t * (o.sigmoid_end - o.sigmoid_start) + o.sigmoid_start) / o.sigmoid_tau) + v_end) /
             (v_end - v_start);
    }
    abar = abar / abar[0];
    betas = 1 - abar.slice(0, 1) / abar.slice(0, 0, K);
  }
  return betas.clamp(0, 0.999);
}

NoiseSchedule::NoiseSchedule(const NoiseScheduleOptions& options, torch::Device device, torch::ScalarType dtype)
    : options_(options) {
  const auto b = make_betas(options);
  const auto abar = torch::cumprod(1 - b, 0);
  const auto abar_prev = torch::cat({torch::ones({1}, b.options()), abar.slice(0, 0, -1)});
  const auto post_var = b * (1 - abar_prev) / (1 - abar);
  const auto snr64 = abar / (1 - abar);
  const auto cast = [&](const torch::Tensor& t) { return t.to(device, dtype); };
  betas = cast(b);
  alphas_cumprod = cast(abar);
  alphas_cumprod_prev = cast(abar_prev);
  sqrt_alphas_cumprod = cast(abar.sqrt());
  sqrt_one_minus_alphas_cumprod = cast((1 - abar).sqrt());
  log_one_minus_alphas_cumprod = cast((1 - abar).log());
  sqrt_recip_alphas_cumprod = cast((1 / abar).sqrt());
  sqrt_recipm1_alphas_cumprod = cast((1 / abar - 1).sqrt());
  posterior_variance = cast(post_var);
  posterior_log_variance_clipped = cast(post_var.clamp_min(1e-20).log());
  posterior_mean_coef1 = cast(b * abar_prev.sqrt() / (1 - abar));
  posterior_mean_coef2 = cast((1 - abar_prev) * (1 - b).sqrt() / (1 - abar));
  snr = cast(snr64);
  clipped_snr = cast(snr64.clamp_max(options.snr_clip));
}

std::map<std::string, torch::Tensor> NoiseSchedule::buffers() const {
  return {{"betas", betas},
          {"alphas_cumprod", alphas_cumprod},
          {"alphas_cumprod_prev", alphas_cumprod_prev},
          {"sqrt_alphas_cumprod", sqrt_alphas_cumprod},
          {"sqrt_one_minus_alphas_cumprod", sqrt_one_minus_alphas_cumprod},
          {"log_one_minus_alphas_cumprod", log_one_minus_alphas_cumprod},
          {"sqrt_recip_alphas_cumprod", sqrt_recip_alphas_cumprod},
          {"sqrt_recipm1_alphas_cumprod", sqrt_recipm1_alphas_cumprod},
          {"posterior_variance", posterior_variance},
          {"posterior_log_variance_clipped", posterior_log_variance_clipped},
          {"posterior_mean_coef1", posterior_mean_coef1},
          {"posterior_mean_coef2", posterior_mean_coef2},
          {"snr", snr},
          {"clipped_snr", clipped_snr}};
}

torch::Tensor NoiseSchedule::gather(const torch::Tensor& buffer, const torch::Tensor& levels) {
  return buffer.index_select(0, levels.reshape({-1}).to(torch::kLong)).view(levels.sizes());
}

torch::Tensor NoiseSchedule::alphas_cumprod_or_one(const torch::Tensor& levels) const {
  const auto clean = levels < 0;
  const auto abar = gather(alphas_cumprod, levels.clamp_min(0));
  return torch::where(clean, torch::ones_like(abar), abar);
}

}  // namespace df
