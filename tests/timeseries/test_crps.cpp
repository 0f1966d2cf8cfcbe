#include <gtest/gtest.h>
#include <torch/torch.h>

#include "df/core/error.h"
#include "df/timeseries/crps.h"

namespace dt = df::timeseries;

namespace {

// The hand-computed example: S = 4 samples, W = 1 window, T = 3 steps, D = 2 dims.
//   step 0: dim0 samples [1, 3, -2, 0], dim1 [3, -3, 2, 4]  -> summed samples [4, 0, 0, 4]; truth 0.5 + 1.5 = 2
//   step 1: step 0 times 2                                   -> summed samples [8, 0, 0, 8]; truth 1 + 3 = 4
//   step 2: every sample (1, 1)                              -> summed samples [2, 2, 2, 2]; truth 2 + 1 = 3
void make_example(torch::Tensor& samples, torch::Tensor& truth) {
  samples = torch::zeros({4, 1, 3, 2}, torch::kFloat64);
  truth = torch::zeros({1, 3, 2}, torch::kFloat64);
  const double dim0[4] = {1, 3, -2, 0};
  const double dim1[4] = {3, -3, 2, 4};
  for (int s = 0; s < 4; ++s) {
    samples[s][0][0][0] = dim0[s];
    samples[s][0][0][1] = dim1[s];
    samples[s][0][1][0] = 2 * dim0[s];
    samples[s][0][1][1] = 2 * dim1[s];
    samples[s][0][2][0] = 1;
    samples[s][0][2][1] = 1;
  }
  truth[0][0][0] = 0.5;
  truth[0][0][1] = 1.5;
  truth[0][1][0] = 1.0;
  truth[0][1][1] = 3.0;
  truth[0][2][0] = 2.0;
  truth[0][2][1] = 1.0;
}

}  // namespace

TEST(CrpsTest, QuantileIndexRules) {
  // Reference: kthvalue(int(q * S)); q = 0.15 gives 0.15 * 100 = 15.000000000000002 -> 15th smallest.
  EXPECT_EQ(dt::quantile_sample_index(0.05, 100, dt::QuantileRule::kDiffusionForcing), 4);
  EXPECT_EQ(dt::quantile_sample_index(3 / 20.0, 100, dt::QuantileRule::kDiffusionForcing), 14);
  EXPECT_EQ(dt::quantile_sample_index(0.95, 100, dt::QuantileRule::kDiffusionForcing), 94);
  EXPECT_EQ(dt::quantile_sample_index(0.05, 4, dt::QuantileRule::kDiffusionForcing), 0);  // k = 0 clamped to 1
  // GluonTS: round((S - 1) q), half to even: 99 * 0.05 = 4.95 -> 5; 3 * 0.5 = 1.5 -> 2.
  EXPECT_EQ(dt::quantile_sample_index(0.05, 100, dt::QuantileRule::kGluonTS), 5);
  EXPECT_EQ(dt::quantile_sample_index(0.5, 4, dt::QuantileRule::kGluonTS), 2);
  EXPECT_EQ(dt::crps_quantile_levels().size(), 19u);
}

TEST(CrpsTest, CrpsSumMatchesHandComputation) {
  // Levels q_i = i/20. Diffusion Forcing rule with S = 4: k = int(4 q) clamped to >= 1, so
  //   q = 0.05..0.45 (9 levels) -> 1st smallest, 0.50..0.70 (5) -> 2nd, 0.75..0.95 (5) -> 3rd.
  // Step 0, sorted sums [0, 0, 4, 4], y = 2: Q = 0 for q <= 0.70 (14 levels), Q = 4 for q >= 0.75.
  //   Q = 0 < y: |(0 - 2)(0 - q)| = 2q;  sum over i = 1..14 of 2q = 2 * 0.05 * 105 = 10.5
  //   Q = 4 >= y: |(4 - 2)(1 - q)| = 2(1 - q); sum over i = 15..19 = 2 * (5 - 0.05 * 85) = 1.5
  //   numerator: 2 * (10.5 + 1.5) / 19 = 24/19 (factor 2 of the loss, mean over 19 levels)
  // Step 1 is step 0 scaled by 2: numerator 48/19.
  // Step 2, point forecast Q = 2 < y = 3 at every level: 2 * sum_q |(2 - 3)(0 - q)| / 19 = 2 * 9.5 / 19 = 1.
  // Denominator sum |y| = 2 + 4 + 3 = 9.  CRPS_sum = (24/19 + 48/19 + 19/19) / 9 = 91/171.
  torch::Tensor samples, truth;
  make_example(samples, truth);
  EXPECT_NEAR(dt::crps_sum(samples, truth), 91.0 / 171.0, 1e-12);

  // GluonTS rule, index round(3q): q <= 0.45 -> index 0 or 1 (value 0), q >= 0.50 -> index 2 or 3 (value 4).
  //   Step 0: 2 * sum_{i=1..9} q = 4.5 and 2 * sum_{i=10..19} (1 - q) = 2 * (10 - 7.25) = 5.5
  //   -> 2 * 10 / 19 = 20/19; step 1: 40/19; step 2: 1.   CRPS_sum = (79/19) / 9 = 79/171.
  EXPECT_NEAR(dt::crps_sum(samples, truth, dt::QuantileRule::kGluonTS), 79.0 / 171.0, 1e-12);

  // The sample mean equals the truth in steps 0 and 1; step 2 is off by 1 in dim 0 only: MSE = 1/6.
  const dt::ForecastMetrics metrics = dt::forecast_metrics(samples, truth);
  EXPECT_NEAR(metrics.crps_sum, 91.0 / 171.0, 1e-12);
  EXPECT_NEAR(metrics.mse, 1.0 / 6.0, 1e-12);
  EXPECT_EQ(metrics.crps_per_dim.sizes(), torch::IntArrayRef({2}));
  // Per-dimension CRPS equals CRPS_sum of that dimension alone.
  for (int64_t d = 0; d < 2; ++d) {
    const double alone = dt::crps_sum(samples.narrow(3, d, 1), truth.narrow(2, d, 1));
    EXPECT_NEAR(metrics.crps_per_dim[d].item<double>(), alone, 1e-12);
  }
  EXPECT_NEAR(metrics.crps_mean, metrics.crps_per_dim.mean().item<double>(), 1e-15);
}

TEST(CrpsTest, WindowListEqualsStackedTensor) {
  torch::manual_seed(3);
  const torch::Tensor samples = torch::randn({100, 2, 5, 3}) + 4;
  const torch::Tensor truth = torch::randn({2, 5, 3}) + 4;
  const dt::ForecastMetrics stacked = dt::forecast_metrics(samples, truth);
  const dt::ForecastMetrics listed = dt::forecast_metrics({samples.select(1, 0), samples.select(1, 1)},
                                                         {truth[0], truth[1]});
  EXPECT_NEAR(stacked.crps_sum, listed.crps_sum, 1e-12);
  EXPECT_NEAR(stacked.crps_mean, listed.crps_mean, 1e-12);
  EXPECT_NEAR(stacked.mse, listed.mse, 1e-12);
}

TEST(CrpsTest, PerfectPointForecastScoresExactlyZero) {
  torch::manual_seed(0);
  const torch::Tensor truth = torch::rand({5, 30, 8}) * 3 + 0.5;  // [W, T, D]
  const torch::Tensor samples = truth.unsqueeze(0).expand({100, 5, 30, 8});
  const dt::ForecastMetrics metrics = dt::forecast_metrics(samples, truth);
  EXPECT_EQ(metrics.crps_sum, 0.0);
  EXPECT_EQ(metrics.crps_mean, 0.0);
  EXPECT_EQ(metrics.mse, 0.0);
  EXPECT_EQ(dt::crps_sum(samples, truth, dt::QuantileRule::kGluonTS), 0.0);
}

TEST(CrpsTest, WideCentredForecastScoresWorseThanSharpCorrectOne) {
  torch::manual_seed(1);
  const torch::Tensor truth = torch::rand({5, 30, 8}) + 1;
  const torch::Tensor noise = torch::randn({100, 5, 30, 8});
  const double sharp = dt::crps_sum(truth + 0.01 * noise, truth);
  const double wide = dt::crps_sum(truth + 1.0 * noise, truth);
  EXPECT_GT(sharp, 0.0);
  EXPECT_LT(sharp, wide);
  const torch::Tensor sharp_dims = dt::forecast_metrics(truth + 0.01 * noise, truth).crps_per_dim;
  const torch::Tensor wide_dims = dt::forecast_metrics(truth + 1.0 * noise, truth).crps_per_dim;
  EXPECT_TRUE((sharp_dims < wide_dims).all().item<bool>());
}

TEST(CrpsTest, NanTruthIsMaskedAndShapesAreChecked) {
  torch::Tensor samples, truth;
  make_example(samples, truth);
  // Appending a step whose truth is NaN must not change the score.
  const torch::Tensor extra_truth = torch::full({1, 1, 2}, std::nan(""), torch::kFloat64);
  const torch::Tensor extra_samples = torch::ones({4, 1, 1, 2}, torch::kFloat64);
  EXPECT_NEAR(dt::crps_sum(torch::cat({samples, extra_samples}, 2), torch::cat({truth, extra_truth}, 1)),
              91.0 / 171.0, 1e-12);
  EXPECT_THROW(dt::crps_sum(samples, truth.narrow(1, 0, 2)), df::Error);
}
