// DDIM with per-token noise levels. The step grid is the reference's: the integer part of
// linspace(-1, K-1, S+1) (float32, as the reference), so a scheduling-matrix entry v in [0, S] means
// noise level grid[v] (grid[S] = K-1 is pure noise, grid[0] = -1 is clean).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "df/diffusion/noise_schedule.h"
#include "df/diffusion/parameterization.h"

namespace df {

class DdimGrid {
 public:
  DdimGrid() = default;
  DdimGrid(int64_t timesteps, int64_t sampling_steps);

  int64_t sampling_steps() const { return static_cast<int64_t>(levels_.size()) - 1; }
  // Noise level of matrix entry v in [0, S]: -1 (clean) .. K-1 (pure noise).
  int64_t level(int64_t v) const;
  // Reference (paper branch) index convention: step i in [0, S-1] goes from level(S - i) to level(S - i - 1).
  int64_t step_from(int64_t i) const { return level(sampling_steps() - i); }
  int64_t step_to(int64_t i) const { return level(sampling_steps() - i - 1); }
  const std::vector<int64_t>& levels() const { return levels_; }

 private:
  std::vector<int64_t> levels_;  // ascending, levels_[0] = -1
};

// One DDIM update of tokens from level k_from to k_to (per-token [B] integer tensors; k_to may be -1,
// in which case the result is x0 itself):
//   sigma = eta sqrt((1 - a/a')(1 - a')/(1 - a)),  c = sqrt(1 - a' - sigma^2),
//   x' = sqrt(a') x0 + c eps + sigma noise.
// `noise` is the (already clamped) Gaussian draw; undefined means no stochastic term (eta == 0 or a
// final step to level -1, where sigma is 0).
torch::Tensor ddim_update(const NoiseSchedule& schedule, const Prediction& prediction, const torch::Tensor& k_from,
                          const torch::Tensor& k_to, double eta, const torch::Tensor& noise);

// The reference's guidance constant (1 - a) - c sqrt(1 - a): scales the guidance gradient of a token
// stepping from k_from to k_to. Zero on the final step.
torch::Tensor ddim_guidance_constant(const NoiseSchedule& schedule, const torch::Tensor& k_from,
                                     const torch::Tensor& k_to, double eta);

}  // namespace df
