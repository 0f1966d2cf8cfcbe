#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "df/core/error.h"
#include "df/timeseries/covariates.h"
#include "df/timeseries/normalizer.h"
#include "df/timeseries/timestamp.h"

namespace dt = df::timeseries;

TEST(TimestampTest, ParsesAndAdvancesCalendars) {
  const dt::Timestamp start = dt::parse_timestamp("1990-01-01 00:00:00");
  EXPECT_EQ(dt::format_timestamp(start), "1990-01-01 00:00:00");
  EXPECT_EQ(dt::to_civil(start).day_of_week, 0);  // 1 January 1990 was a Monday
  EXPECT_EQ(dt::parse_timestamp("2021-03-01"), dt::make_timestamp(2021, 3, 1));
  EXPECT_EQ(dt::parse_timestamp("2021-03-01T05:30"), dt::make_timestamp(2021, 3, 1, 5, 30));
  EXPECT_THROW(dt::parse_timestamp("01/03/2021"), df::Error);
  EXPECT_THROW(dt::parse_timestamp("2021-02-30"), df::Error);

  const dt::CivilTime leap = dt::to_civil(dt::make_timestamp(2024, 2, 29));
  EXPECT_EQ(leap.day_of_week, 3);  // Thursday
  EXPECT_EQ(leap.day_of_year, 60);
  EXPECT_EQ(dt::to_civil(dt::make_timestamp(1990, 12, 31)).day_of_year, 365);
  EXPECT_EQ(dt::to_civil(dt::make_timestamp(2021, 1, 1)).week_of_year, 53);  // ISO week of 2020
  EXPECT_EQ(dt::to_civil(dt::make_timestamp(2024, 12, 30)).week_of_year, 1);

  // Business days skip weekends: index 4 = Friday 5 Jan, index 5 = Monday 8 Jan, index -1 = Friday 29 Dec.
  const dt::Frequency business = dt::parse_frequency("B");
  EXPECT_EQ(dt::advance(start, business, 4), dt::make_timestamp(1990, 1, 5));
  EXPECT_EQ(dt::advance(start, business, 5), dt::make_timestamp(1990, 1, 8));
  EXPECT_EQ(dt::advance(start, business, -1), dt::make_timestamp(1989, 12, 29));
  EXPECT_EQ(dt::advance(dt::make_timestamp(1990, 1, 6), business, 0), dt::make_timestamp(1990, 1, 8));  // Sat -> Mon
  const dt::Frequency half_hour = dt::parse_frequency("30min");
  EXPECT_EQ(half_hour.multiple, 30);
  EXPECT_EQ(dt::advance(start, half_hour, 3), dt::make_timestamp(1990, 1, 1, 1, 30));
  EXPECT_EQ(dt::advance(dt::make_timestamp(2021, 1, 31), dt::parse_frequency("M"), 1), dt::make_timestamp(2021, 2, 28));
  EXPECT_THROW(dt::parse_frequency("Q"), df::Error);
}

TEST(NormalizerTest, RoundTripAndStatistics) {
  torch::manual_seed(0);
  torch::Tensor train = torch::randn({200, 4}) * torch::tensor({1.f, 10.f, 0.1f, 1.f}) + torch::tensor({5.f, -3.f, 0.f, 2.f});
  train.select(1, 3).fill_(2.0f);  // a constant dimension: std clamps to 1e-7
  const dt::Normalizer normalizer = dt::Normalizer::fit(train);
  EXPECT_TRUE(torch::allclose(normalizer.mean(), train.mean(0), 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(normalizer.std().narrow(0, 0, 3), train.std(0).narrow(0, 0, 3), 1e-5, 1e-6));  // unbiased
  EXPECT_FLOAT_EQ(normalizer.std()[3].item<float>(), 1e-7f);

  const torch::Tensor z = normalizer.normalize(train);
  EXPECT_TRUE(torch::allclose(z.narrow(1, 0, 3).mean(0), torch::zeros({3}), 0, 1e-5));
  EXPECT_TRUE(torch::allclose(z.narrow(1, 0, 3).std(0), torch::ones({3}), 0, 1e-4));
  EXPECT_TRUE(torch::allclose(normalizer.denormalize(z), train, 1e-5, 1e-5));
  // Broadcast over leading dims: [S, W, T, D].
  const torch::Tensor batch = train.view({2, 5, 20, 4}).to(torch::kFloat64);
  EXPECT_TRUE(torch::allclose(normalizer.denormalize(normalizer.normalize(batch)), batch, 1e-9, 1e-6));
  EXPECT_THROW(normalizer.normalize(torch::zeros({3, 5})), df::Error);

  // NaN entries are ignored by the fit.
  torch::Tensor with_nan = train.clone();
  with_nan[7][0] = std::nanf("");
  const dt::Normalizer robust = dt::Normalizer::fit(with_nan);
  EXPECT_FALSE(std::isnan(robust.mean()[0].item<float>()));
}

TEST(CovariatesTest, LayoutShapesLagsAndZeroFirstToken) {
  const dt::Frequency business = dt::parse_frequency("B");
  const int64_t dims = 8;
  const dt::CovariateLayout layout = dt::make_covariate_layout(business, dims);
  EXPECT_EQ(layout.lags, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(layout.max_lag(), 2);
  EXPECT_EQ(layout.lag_dim, 8);           // (L - 1) * D
  EXPECT_EQ(layout.series_index_dim, 8);  // D
  EXPECT_EQ(layout.time_dim, 4);          // 2 * {day_of_week, day_of_year}
  EXPECT_EQ(layout.cond_dim, 2 * dims + 4);  // L * D + 2F

  // Series value x[i, d] = 100 i + d makes every lag recognisable.
  const torch::Tensor series =
      (torch::arange(50).unsqueeze(1) * 100 + torch::arange(dims).unsqueeze(0)).to(torch::kFloat32);  // [50, 8]
  const dt::Timestamp start = dt::parse_timestamp("1990-01-01 00:00:00");
  const int64_t window_start = 10, length = 12;
  const torch::Tensor covariates = dt::build_window_covariates(series, start, window_start, length, layout);
  ASSERT_EQ(covariates.sizes(), torch::IntArrayRef({length, layout.cond_dim}));
  EXPECT_EQ(covariates[0].abs().sum().item<float>(), 0.0f);  // first token zeroed
  for (int64_t t = 1; t < length; ++t) {
    EXPECT_TRUE(torch::equal(covariates[t].narrow(0, layout.lag_offset, dims), series[window_start + t - 2])) << t;
    EXPECT_EQ(covariates[t].narrow(0, layout.series_index_offset, dims).abs().sum().item<float>(), 0.0f);
  }
  // Lags before the series start and after observed_until read as zero.
  const torch::Tensor early = dt::build_window_covariates(series, start, 0, 4, layout, /*observed_until=*/2);
  EXPECT_EQ(early[1].narrow(0, 0, dims).abs().sum().item<float>(), 0.0f);  // index -1
  EXPECT_TRUE(torch::equal(early[2].narrow(0, 0, dims), series[0]));
  EXPECT_TRUE(torch::equal(early[3].narrow(0, 0, dims), series[1]));
  const torch::Tensor late = dt::build_window_covariates(series, start, 0, 5, layout, /*observed_until=*/2);
  EXPECT_EQ(late[4].narrow(0, 0, dims).abs().sum().item<float>(), 0.0f);  // index 2 is not observed

  // Day of week of index 11 = Tuesday 16 Jan 1990 -> v = 1 of period 5 (business days).
  const torch::Tensor day_of_week = covariates[1].narrow(0, layout.time_offset, 2);
  EXPECT_NEAR(day_of_week[0].item<float>(), std::cos(2 * M_PI * 1 / 5), 1e-6);
  EXPECT_NEAR(day_of_week[1].item<float>(), std::sin(2 * M_PI * 1 / 5), 1e-6);
  // Day of year of index 11 = 16.
  const torch::Tensor day_of_year = covariates[1].narrow(0, layout.time_offset + 2, 2);
  EXPECT_NEAR(day_of_year[0].item<float>(), std::cos(2 * M_PI * 16 / 367), 1e-6);
  EXPECT_NEAR(day_of_year[1].item<float>(), std::sin(2 * M_PI * 16 / 367), 1e-6);

  // A known date in daily data: 2024-02-29 is a Thursday (v = 3 of 7).
  const torch::Tensor daily = dt::time_feature_matrix(dt::make_timestamp(2024, 2, 28), dt::parse_frequency("D"), 1, 1,
                                                      {dt::TimeFeature::kDayOfWeek});
  EXPECT_NEAR(daily[0][0].item<float>(), std::cos(2 * M_PI * 3 / 7), 1e-6);
  EXPECT_NEAR(daily[0][1].item<float>(), std::sin(2 * M_PI * 3 / 7), 1e-6);
}

TEST(CovariatesTest, FrequencyTablesAndSwitches) {
  EXPECT_EQ(dt::lags_for_frequency(dt::parse_frequency("H")), (std::vector<int64_t>{1, 24, 168}));
  EXPECT_EQ(dt::lags_for_frequency(dt::parse_frequency("D")), (std::vector<int64_t>{1, 7, 14}));
  EXPECT_EQ(dt::lags_for_frequency(dt::parse_frequency("30min")), (std::vector<int64_t>{1, 4, 12, 24, 48}));
  EXPECT_EQ(dt::lags_for_frequency(dt::parse_frequency("M")), (std::vector<int64_t>{1, 12}));
  EXPECT_EQ(dt::time_features_for_frequency(dt::parse_frequency("30min")).size(), 3u);
  EXPECT_EQ(dt::time_feature_period(dt::TimeFeature::kMinute, dt::parse_frequency("30min")), 31.0);

  dt::CovariateOptions only_time;
  only_time.lags = false;
  only_time.series_index = false;
  const dt::CovariateLayout layout = dt::make_covariate_layout(dt::parse_frequency("H"), 5, only_time);
  EXPECT_EQ(layout.cond_dim, 4);
  EXPECT_EQ(layout.time_offset, 0);
  const torch::Tensor covariates =
      dt::build_window_covariates(torch::zeros({30, 5}), dt::make_timestamp(2021, 3, 1, 22), 0, 4, layout);
  // token 2 is 00:00 of 2 March (hour 0 -> cos 1, sin 0).
  EXPECT_NEAR(covariates[2][0].item<float>(), 1.0, 1e-6);
  EXPECT_NEAR(covariates[2][1].item<float>(), 0.0, 1e-6);
}

TEST(CovariatesTest, SeriesEmbeddingFillsItsSlotAfterTheFirstToken) {
  const dt::CovariateLayout layout = dt::make_covariate_layout(dt::parse_frequency("B"), 3);
  EXPECT_TRUE(torch::equal(dt::series_index(3), torch::tensor({0, 1, 2}, torch::kInt64)));
  const torch::Tensor covariates = dt::build_window_covariates(torch::ones({20, 3}), dt::make_timestamp(1990, 1, 1), 5, 4, layout);
  const torch::Tensor embedding = torch::tensor({0.5f, -1.0f, 2.0f}).unsqueeze(1).requires_grad_(true);  // [D, 1]
  const torch::Tensor filled = dt::fill_series_embedding(covariates.unsqueeze(0), embedding, layout);     // [1, T, C]
  EXPECT_EQ(filled[0][0].abs().sum().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(filled[0][2].narrow(0, layout.series_index_offset, 3), embedding.detach().flatten()));
  EXPECT_TRUE(torch::equal(filled[0][2].narrow(0, layout.lag_offset, layout.lag_dim), covariates[2].narrow(0, 0, layout.lag_dim)));
  filled.sum().backward();
  EXPECT_TRUE(torch::equal(embedding.grad().flatten(), torch::full({3}, 3.0f)));  // tokens 1..3
}
