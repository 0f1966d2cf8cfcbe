#include "df/timeseries/normalizer.h"
#include "df/core/compat.h"

#include <string>

#include "df/core/error.h"

namespace df::timeseries {

Normalizer Normalizer::fit(const torch::Tensor& train) {
  check(train.defined() && train.dim() == 2 && train.size(0) >= 2,
        "Normalizer::fit: expected train [T >= 2, D], got " + (train.defined() ? shape_str(train) : std::string("undefined")));
  const torch::Tensor x = train.to(torch::kFloat64);                   // [T, D]
  const torch::Tensor observed = x.isnan().logical_not();              // [T, D]
  const torch::Tensor count = observed.sum(0).to(torch::kFloat64);     // [D]
  check(count.min().item<double>() >= 2, "Normalizer::fit: a dimension has fewer than 2 observed values");
  const torch::Tensor filled = torch::where(observed, x, torch::zeros_like(x));
  const torch::Tensor mean = filled.sum(0) / count;                    // [D]
  const torch::Tensor deviation = torch::where(observed, x - mean, torch::zeros_like(x));
  const torch::Tensor std = (deviation.square().sum(0) / (count - 1)).sqrt();
  return Normalizer(mean, std);
}

Normalizer::Normalizer(torch::Tensor mean, torch::Tensor std) {
  check(mean.defined() && std.defined() && mean.dim() == 1 && std.sizes() == mean.sizes(),
        "Normalizer: mean and std must both be [D]");
  mean_ = mean.to(torch::kFloat32).contiguous();
  std_ = std.to(torch::kFloat32).clamp_min(kMinStd).contiguous();
}

void Normalizer::check_last_dim(const torch::Tensor& x, const char* what) const {
  check(x.defined() && x.dim() >= 1 && x.size(-1) == dim(),
        std::string("Normalizer::") + what + ": expected [..., " + std::to_string(dim()) + "], got " +
            (x.defined() ? shape_str(x) : std::string("undefined")));
}

torch::Tensor Normalizer::normalize(const torch::Tensor& x) const {
  check_last_dim(x, "normalize");
  const auto options = x.options();
  return (x - mean_.to(options)) / std_.to(options);
}

torch::Tensor Normalizer::denormalize(const torch::Tensor& x) const {
  check_last_dim(x, "denormalize");
  const auto options = x.options();
  return x * std_.to(options) + mean_.to(options);
}

}  // namespace df::timeseries
