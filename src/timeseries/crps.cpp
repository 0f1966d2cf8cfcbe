#include "df/timeseries/crps.h"
#include "df/core/compat.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "df/core/error.h"

namespace df::timeseries {
namespace {

void check_forecast_shapes(const torch::Tensor& samples, const torch::Tensor& truth, const char* what) {
  check(samples.defined() && truth.defined(), std::string(what) + ": undefined tensor");
  check(samples.dim() == truth.dim() + 1 && samples.sizes().slice(1) == truth.sizes() && samples.size(0) >= 1,
        std::string(what) + ": expected samples [S, ...] and truth [...] with matching trailing shape, got samples " +
            shape_str(samples) + " and truth " + shape_str(truth));
}

// Mean squared error of the sample mean; NaN truth entries are masked.
double mse_of_sample_mean(const torch::Tensor& samples, const torch::Tensor& truth) {
  const torch::Tensor y = truth.to(torch::kFloat64);
  const torch::Tensor observed = y.isnan().logical_not();
  const torch::Tensor error = samples.to(torch::kFloat64).mean(0) - y;
  const torch::Tensor squared = torch::where(observed, error.square(), torch::zeros_like(error));
  return (squared.sum() / observed.sum().clamp_min(1)).item<double>();
}

}  // namespace

std::vector<double> crps_quantile_levels() {
  std::vector<double> levels;
  for (int i = 1; i < 20; ++i) levels.push_back(i / 20.0);
  return levels;
}

int64_t quantile_sample_index(double q, int64_t num_samples, QuantileRule rule) {
  check(num_samples >= 1, "quantile_sample_index: need at least one sample");
  if (rule == QuantileRule::kGluonTS) {
    // std::nearbyint uses the default round-half-to-even mode, like np.round.
    return static_cast<int64_t>(std::nearbyint(static_cast<double>(num_samples - 1) * q));
  }
  const auto k = static_cast<int64_t>(q * static_cast<double>(num_samples));  // int(q * S), truncation
  return std::clamp<int64_t>(k, 1, num_samples) - 1;                          // kthvalue is 1-based
}

torch::Tensor mean_weighted_quantile_loss(const torch::Tensor& samples, const torch::Tensor& truth, QuantileRule rule) {
  check_forecast_shapes(samples, truth, "mean_weighted_quantile_loss");
  check(truth.dim() >= 1, "mean_weighted_quantile_loss: truth needs a last (column) dimension");
  const int64_t num_samples = samples.size(0);
  const int64_t columns = truth.size(-1);
  // Flatten to samples [S, N, K], truth [N, K]; float64 so that large sums do not lose digits.
  const torch::Tensor x = samples.to(torch::kFloat64).reshape({num_samples, -1, columns});
  const torch::Tensor y_raw = truth.to(torch::kFloat64).reshape({-1, columns});
  const torch::Tensor observed = y_raw.isnan().logical_not().to(torch::kFloat64);  // [N, K]
  const torch::Tensor y = torch::nan_to_num(y_raw, 0.0);

  const std::vector<double> levels = crps_quantile_levels();
  std::vector<int64_t> indices;
  for (double q : levels) indices.push_back(quantile_sample_index(q, num_samples, rule));
  const torch::Tensor sorted = std::get<0>(x.sort(0));                                  // [S, N, K]
  const torch::Tensor index = torch::tensor(indices, torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
  const torch::Tensor quantiles = sorted.index_select(0, index);                          // [Q, N, K]
  const torch::Tensor q = torch::tensor(levels, x.options()).view({-1, 1, 1});            // [Q, 1, 1]

  const torch::Tensor below = (y <= quantiles).to(torch::kFloat64);                       // 1{y <= Q_q}
  const torch::Tensor loss = 2.0 * ((quantiles - y) * (below - q)).abs() * observed;     // [Q, N, K]
  const torch::Tensor numerator = loss.sum(1);                                            // [Q, K]
  const torch::Tensor denominator = (y.abs() * observed).sum(0);                          // [K]
  return (numerator / denominator).mean(0);                                               // [K]
}

double crps_sum(const torch::Tensor& samples, const torch::Tensor& truth, QuantileRule rule) {
  check(samples.dim() == 4 && truth.dim() == 3,
        "crps_sum: expected samples [S, W, T, D] and truth [W, T, D], got " + shape_str(samples) + " and " + shape_str(truth));
  check_forecast_shapes(samples, truth, "crps_sum");
  // NaN truth entries would poison the dimension sum; GluonTS' sum aggregation has the same behaviour
  // (a NaN in any dimension masks that step of the summed series), which the masking reproduces.
  const torch::Tensor summed_samples = samples.to(torch::kFloat64).sum(-1, /*keepdim=*/true);  // [S, W, T, 1]
  const torch::Tensor summed_truth = truth.to(torch::kFloat64).sum(-1, /*keepdim=*/true);      // [W, T, 1]
  return mean_weighted_quantile_loss(summed_samples, summed_truth, rule).item<double>();
}

ForecastMetrics forecast_metrics(const torch::Tensor& samples, const torch::Tensor& truth, QuantileRule rule) {
  ForecastMetrics metrics;
  metrics.crps_sum = crps_sum(samples, truth, rule);
  metrics.crps_per_dim = mean_weighted_quantile_loss(samples, truth, rule);
  metrics.crps_mean = metrics.crps_per_dim.mean().item<double>();
  metrics.mse = mse_of_sample_mean(samples, truth);
  metrics.mse_sum = mse_of_sample_mean(samples.to(torch::kFloat64).sum(-1), truth.to(torch::kFloat64).sum(-1));
  return metrics;
}

ForecastMetrics forecast_metrics(const std::vector<torch::Tensor>& samples, const std::vector<torch::Tensor>& truth,
                                 QuantileRule rule) {
  check(!samples.empty() && samples.size() == truth.size(),
        "forecast_metrics: need one truth window per sample window, got " + std::to_string(samples.size()) + " and " +
            std::to_string(truth.size()));
  for (size_t w = 0; w < samples.size(); ++w) {
    check(samples[w].dim() == 3 && truth[w].dim() == 2,
          "forecast_metrics: window " + std::to_string(w) + ": expected samples [S, T, D] and truth [T, D], got " +
              shape_str(samples[w]) + " and " + shape_str(truth[w]));
  }
  // [S, 1, sum T_w, D] and [1, sum T_w, D]
  const torch::Tensor all_samples = torch::cat(samples, 1).unsqueeze(1);
  const torch::Tensor all_truth = torch::cat(truth, 0).unsqueeze(0);
  return forecast_metrics(all_samples, all_truth, rule);
}

}  // namespace df::timeseries
