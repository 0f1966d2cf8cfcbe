// Per-dimension z-scoring of a multivariate series, fitted on the training split (as Diffusion Forcing's
// save_mean_std_metadata task does): mean and std over the time axis, std clamped to >= 1e-7.
#pragma once
#include <torch/torch.h>

namespace df::timeseries {

class Normalizer {
 public:
  static constexpr double kMinStd = 1e-7;

  // Fits on `train` [T, D]. std is the unbiased (N-1) estimate, as torch.std in the reference. NaN
  // entries (missing values) are ignored: mean and std use the observed values of each dimension.
  static Normalizer fit(const torch::Tensor& train);
  // From stored statistics, e.g. read back from data_{mean,std}.npy; both [D]. std is clamped too.
  Normalizer(torch::Tensor mean, torch::Tensor std);

  // (x - mean) / std and its inverse, broadcast over the last dim: x [..., D] -> [..., D]. Statistics are
  // moved to x's device and dtype.
  torch::Tensor normalize(const torch::Tensor& x) const;
  torch::Tensor denormalize(const torch::Tensor& x) const;

  const torch::Tensor& mean() const { return mean_; }  // [D] float32
  const torch::Tensor& std() const { return std_; }    // [D] float32
  int64_t dim() const { return mean_.size(0); }

 private:
  void check_last_dim(const torch::Tensor& x, const char* what) const;
  torch::Tensor mean_;
  torch::Tensor std_;
};

}  // namespace df::timeseries
