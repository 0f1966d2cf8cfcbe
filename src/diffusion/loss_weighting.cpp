#include "df/diffusion/loss_weighting.h"

#include <cmath>

#include "df/core/error.h"

namespace df {



double LossWeightingOptions::effective_decay() const {
  return std::pow(cum_snr_decay, static_cast<double>(frame_stack));
}

LossWeights LossWeighting::step(const torch::Tensor& levels, const torch::Tensor& previous_cum_snr) const {
  const double gamma = options_.snr_clip;
  const double d = options_.effective_decay();
  const auto norm_clipped = NoiseSchedule::gather(schedule_->clipped_snr, levels) / gamma;
  const auto norm_snr = NoiseSchedule::gather(schedule_->snr, levels) / gamma;
  const bool fused = options_.kind == LossWeightingKind::FusedMinSnr;

  torch::Tensor cum, clipped_fused = norm_clipped, fused_snr = norm_snr;
  if (!previous_cum_snr.defined() || !fused) {
    cum = norm_clipped;  // the reference returns the plain normalised clipped SNR when fusion is off
  } else {
    cum = d * previous_cum_snr + (1 - d) * norm_clipped;
    const auto history = 1 - d * previous_cum_snr;
    clipped_fused = 1 - history * (1 - norm_clipped);
    fused_snr = 1 - history * (1 - norm_snr);
  }
  torch::Tensor weight;
  if (options_.kind == LossWeightingKind::Constant) {
    weight = torch::full_like(norm_clipped, 0.5 * gamma);
  } else {
    switch (objective_) {
      case Objective::Eps: weight = clipped_fused / fused_snr; break;
      case Objective::X0: weight = clipped_fused * gamma; break;
      case Objective::V: weight = clipped_fused * gamma / (fused_snr * gamma + 1); break;
    }
  }
  return {weight, cum};
}

LossWeights LossWeighting::compute(const torch::Tensor& levels) const {
  check(levels.dim() == 2, "LossWeighting::compute: levels must be [T,B]");
  std::vector<torch::Tensor> weights, cums;
  torch::Tensor cum;
  for (int64_t t = 0; t < levels.size(0); ++t) {
    auto w = step(levels[t], cum);
    weights.push_back(w.weight);
    cums.push_back(w.cum_snr);
    cum = w.cum_snr;
  }
  return {torch::stack(weights), torch::stack(cums)};
}

}  // namespace df
