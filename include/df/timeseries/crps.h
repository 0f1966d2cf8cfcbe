// Probabilistic forecast metrics on un-normalised values, as GluonTS' MultivariateEvaluator reports them.
//
// Weighted quantile loss of samples x [S, ..., K] against truth y [..., K], per column k:
//   Q_q      = the q-quantile estimate of the S samples (rule below), per element
//   wQL_q[k] = 2 * sum_i |(Q_q,i,k - y_i,k) * (1{y_i,k <= Q_q,i,k} - q)| / sum_i |y_i,k|
//   mean_wQuantileLoss[k] = (1/19) * sum_q wQL_q[k],   q in {0.05, 0.10, ..., 0.95}
// where i runs over every window and forecast step together (GluonTS sums numerator and denominator
// over all items before dividing). Truth entries that are NaN are masked out of both sums.
//
// CRPS_sum (m_sum_mean_wQuantileLoss): the samples and the truth are first summed over the D dimensions,
// then mean_wQuantileLoss of that single column.
//
// Quantile estimate (QuantileRule):
//   kDiffusionForcing (default): the k-th smallest sample, k = int(q * S) (1-based, torch.kthvalue),
//     with q = i / 20.0 in double precision and int() truncating, exactly as the reference's
//     crps_quantile_sum. For S = 100 that is sorted index int(100 q) - 1 (q = 0.05 -> 5th smallest).
//     When int(q * S) = 0 (only possible for S < 20) the reference crashes; we use k = 1 instead.
//   kGluonTS: GluonTS SampleForecast.quantile, sorted index round((S - 1) * q) with numpy's
//     round-half-to-even (q = 0.05, S = 100 -> index 5, the 6th smallest).
// The two differ by at most one order statistic; the reference repository compared them to 1e-3.
#pragma once
#include <vector>

#include <torch/torch.h>

namespace df::timeseries {

enum class QuantileRule { kDiffusionForcing, kGluonTS };

// The 19 levels 0.05, 0.10, ..., 0.95 (computed as i / 20.0, i = 1..19).
std::vector<double> crps_quantile_levels();

// 0-based sorted-sample index used for level q with S samples.
int64_t quantile_sample_index(double q, int64_t num_samples, QuantileRule rule);

// mean_wQuantileLoss per column: samples [S, ..., K], truth [..., K] -> [K] float64.
torch::Tensor mean_weighted_quantile_loss(const torch::Tensor& samples, const torch::Tensor& truth,
                                          QuantileRule rule = QuantileRule::kDiffusionForcing);

// CRPS_sum: samples [S, W, T, D], truth [W, T, D] (W windows of T forecast steps).
double crps_sum(const torch::Tensor& samples, const torch::Tensor& truth,
                QuantileRule rule = QuantileRule::kDiffusionForcing);

struct ForecastMetrics {
  double crps_sum = 0.0;        // m_sum_mean_wQuantileLoss
  torch::Tensor crps_per_dim;   // [D] float64: mean_wQuantileLoss of each dimension
  double crps_mean = 0.0;       // mean of crps_per_dim (GluonTS m_mean_wQuantileLoss)
  double mse = 0.0;             // mean squared error of the SAMPLE MEAN forecast over all W*T*D entries
  double mse_sum = 0.0;         // the same for the dimension-summed series (GluonTS m_sum_MSE)
};

// All metrics for samples [S, W, T, D] and truth [W, T, D].
ForecastMetrics forecast_metrics(const torch::Tensor& samples, const torch::Tensor& truth,
                                 QuantileRule rule = QuantileRule::kDiffusionForcing);

// The same for windows of different lengths: samples[w] [S, T_w, D], truth[w] [T_w, D]. Windows are
// concatenated along time, which leaves every sum above unchanged.
ForecastMetrics forecast_metrics(const std::vector<torch::Tensor>& samples, const std::vector<torch::Tensor>& truth,
                                 QuantileRule rule = QuantileRule::kDiffusionForcing);

}  // namespace df::timeseries
