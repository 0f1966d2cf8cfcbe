// Loss weights per token as a pure function of the noise levels [T,B], exactly as the reference computes
// them for each objective:
//   constant : w = 0.5 * snr_clip                      (reference default when SNR weighting is off)
//   min_snr  : x0: min(snr, g); eps: min(snr, g)/snr; v: min(snr, g)/(snr + 1)
//   fused_min_snr (appendix D.1): the normalised clipped SNR is fused with a running mean over the
//     history, cum_t = d cum_{t-1} + (1-d) min(snr_t, g)/g, and S'_t = 1 - (1 - d cum_{t-1})(1 - S_t);
//     d = cum_snr_decay ^ frame_stack.
#pragma once
#include <torch/torch.h>

#include <string>

#include "df/diffusion/noise_schedule.h"
#include "df/diffusion/parameterization.h"

#include "df/core/enum_names.h"

namespace df {

enum class LossWeightingKind { Constant, MinSnr, FusedMinSnr };
template <>
struct EnumNames<LossWeightingKind> {
  static constexpr const char* what = "loss weighting";
  static constexpr EnumName<LossWeightingKind> table[] = {{LossWeightingKind::Constant, "constant"},
                                                          {LossWeightingKind::MinSnr, "min_snr"},
                                                          {LossWeightingKind::FusedMinSnr, "fused_min_snr"}};
};

struct LossWeightingOptions {
  LossWeightingKind kind = LossWeightingKind::Constant;
  double snr_clip = 5.0;        // gamma
  double cum_snr_decay = 0.9;   // per frame; raised to the power frame_stack
  int64_t frame_stack = 1;
  double effective_decay() const;
};

struct LossWeights {
  torch::Tensor weight;   // [T,B]
  torch::Tensor cum_snr;  // [T,B] running mean of the normalised clipped SNR (reference's cum_snr output)
};

class LossWeighting {
 public:
  LossWeighting(const LossWeightingOptions& options, Objective objective, const NoiseSchedule& schedule)
      : options_(options), objective_(objective), schedule_(&schedule) {}

  LossWeights compute(const torch::Tensor& levels) const;  // levels [T,B]

  // One token of the recurrence: levels [B], previous running mean [B] (undefined for token 0).
  LossWeights step(const torch::Tensor& levels, const torch::Tensor& previous_cum_snr) const;

  const LossWeightingOptions& options() const { return options_; }

 private:
  LossWeightingOptions options_;
  Objective objective_;
  const NoiseSchedule* schedule_;
};

}  // namespace df
