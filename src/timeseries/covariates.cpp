#include "df/timeseries/covariates.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "df/core/error.h"

namespace df::timeseries {

using Unit = Frequency::Unit;

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

std::vector<int64_t> lags_for_frequency(const Frequency& freq) {
  switch (freq.unit) {
    case Unit::kBusinessDay: return {1, 2};
    case Unit::kDay: return {1, 7, 14};
    case Unit::kHour: return {1, 24, 168};
    case Unit::kMinute: return {1, 4, 12, 24, 48};
    case Unit::kMonth: return {1, 12};
    case Unit::kWeek: return {1};
  }
  return {1};
}

std::vector<TimeFeature> time_features_for_frequency(const Frequency& freq) {
  switch (freq.unit) {
    case Unit::kBusinessDay: return {TimeFeature::kDayOfWeek, TimeFeature::kDayOfYear};
    case Unit::kDay: return {TimeFeature::kDayOfWeek};
    case Unit::kHour: return {TimeFeature::kHour, TimeFeature::kDayOfWeek};
    case Unit::kMinute: return {TimeFeature::kMinute, TimeFeature::kHour, TimeFeature::kDayOfWeek};
    case Unit::kWeek:
    case Unit::kMonth: return {TimeFeature::kWeekOfYear};
  }
  return {};
}

double time_feature_value(TimeFeature feature, const CivilTime& time) {
  switch (feature) {
    case TimeFeature::kMinute: return time.minute;
    case TimeFeature::kHour: return time.hour;
    case TimeFeature::kDayOfWeek: return time.day_of_week;
    case TimeFeature::kDayOfYear: return time.day_of_year;
    case TimeFeature::kWeekOfYear: return time.week_of_year;
  }
  return 0.0;
}

double time_feature_period(TimeFeature feature, const Frequency& freq) {
  switch (feature) {
    case TimeFeature::kMinute: {
      if (freq.unit != Unit::kMinute) return 60.0;
      // Minutes visited by an m-minute grid starting on the hour: multiples of gcd(m, 60), max 60 - gcd.
      return 61.0 - static_cast<double>(std::gcd(freq.multiple, int64_t{60}));
    }
    case TimeFeature::kHour: return 24.0;
    case TimeFeature::kDayOfWeek: return freq.unit == Unit::kBusinessDay ? 5.0 : 7.0;
    case TimeFeature::kDayOfYear: return 367.0;
    case TimeFeature::kWeekOfYear: return 54.0;
  }
  return 1.0;
}

int64_t CovariateLayout::max_lag() const {
  int64_t largest = 0;
  for (int64_t lag : lags) largest = std::max(largest, lag);
  return largest;
}

CovariateLayout make_covariate_layout(const Frequency& freq, int64_t target_dim, const CovariateOptions& options) {
  check(target_dim >= 1, "make_covariate_layout: target_dim must be >= 1");
  CovariateLayout layout;
  layout.freq = freq;
  layout.target_dim = target_dim;
  layout.lags = lags_for_frequency(freq);
  layout.features = time_features_for_frequency(freq);
  int64_t offset = 0;
  layout.lag_offset = offset;
  layout.lag_dim = options.lags ? static_cast<int64_t>(layout.lags.size() - 1) * target_dim : 0;
  offset += layout.lag_dim;
  layout.series_index_offset = offset;
  layout.series_index_dim = options.series_index ? target_dim : 0;
  offset += layout.series_index_dim;
  layout.time_offset = offset;
  layout.time_dim = options.time_features ? 2 * static_cast<int64_t>(layout.features.size()) : 0;
  offset += layout.time_dim;
  layout.cond_dim = offset;
  return layout;
}

torch::Tensor time_feature_matrix(const Timestamp& series_start, const Frequency& freq, int64_t first_index,
                                  int64_t length, const std::vector<TimeFeature>& features) {
  check(length >= 0, "time_feature_matrix: negative length");
  const auto num_features = static_cast<int64_t>(features.size());
  // Calendar arithmetic is integer work per token (T values, not T*D), so it runs on the host; the
  // trigonometry is one tensor op.
  std::vector<double> phases(static_cast<size_t>(length * num_features));
  for (int64_t t = 0; t < length; ++t) {
    const CivilTime civil = to_civil(advance(series_start, freq, first_index + t));
    for (int64_t f = 0; f < num_features; ++f) {
      const TimeFeature feature = features[static_cast<size_t>(f)];
      phases[static_cast<size_t>(t * num_features + f)] =
          2.0 * kPi * time_feature_value(feature, civil) / time_feature_period(feature, freq);
    }
  }
  const torch::Tensor phase = torch::tensor(phases, torch::kFloat64).view({length, num_features, 1});
  // [T, F, 2] -> [T, 2F] ordered (cos f0, sin f0, cos f1, sin f1, ...) like GluonTS' vstack.
  return torch::cat({phase.cos(), phase.sin()}, 2).reshape({length, 2 * num_features}).to(torch::kFloat32);
}

torch::Tensor build_window_covariates(const torch::Tensor& normalized_series, const Timestamp& series_start,
                                      int64_t window_start, int64_t window_length, const CovariateLayout& layout,
                                      int64_t observed_until) {
  check(normalized_series.defined() && normalized_series.dim() == 2 && normalized_series.size(1) == layout.target_dim,
        "build_window_covariates: expected a series [N, " + std::to_string(layout.target_dim) + "]");
  check(window_start >= 0 && window_length >= 1, "build_window_covariates: bad window start/length");
  const int64_t length = normalized_series.size(0);
  const int64_t known = observed_until < 0 ? length : std::min(observed_until, length);
  const auto device = normalized_series.device();
  torch::Tensor covariates = torch::zeros({window_length, layout.cond_dim}, torch::TensorOptions().device(device));

  if (layout.lag_dim > 0) {
    // Gather rows s + t - l for every (t, lag); rows outside [0, known) read as 0 via a mask.
    const torch::Tensor lags = torch::tensor(std::vector<int64_t>(layout.lags.begin() + 1, layout.lags.end()),
                                             torch::TensorOptions().dtype(torch::kInt64).device(device));
    const torch::Tensor steps = torch::arange(window_length, torch::TensorOptions().dtype(torch::kInt64).device(device));
    const torch::Tensor rows = window_start + steps.unsqueeze(1) - lags.unsqueeze(0);   // [T, L-1]
    const torch::Tensor valid = (rows >= 0).logical_and(rows < known);                  // [T, L-1]
    const torch::Tensor gathered =
        normalized_series.to(torch::kFloat32).index_select(0, rows.clamp(0, std::max<int64_t>(length - 1, 0)).flatten())
            .view({window_length, lags.size(0), layout.target_dim});                    // [T, L-1, D]
    const torch::Tensor lagged = torch::nan_to_num(gathered, 0.0) * valid.unsqueeze(2).to(torch::kFloat32);
    covariates.narrow(1, layout.lag_offset, layout.lag_dim).copy_(lagged.reshape({window_length, layout.lag_dim}));
  }
  if (layout.time_dim > 0) {
    covariates.narrow(1, layout.time_offset, layout.time_dim)
        .copy_(time_feature_matrix(series_start, layout.freq, window_start, window_length, layout.features));
  }
  covariates[0].zero_();  // the first token carries no covariates
  return covariates;
}

torch::Tensor series_index(int64_t target_dim) { return torch::arange(target_dim, torch::kInt64); }

torch::Tensor fill_series_embedding(const torch::Tensor& covariates, const torch::Tensor& embedding,
                                    const CovariateLayout& layout) {
  check(covariates.defined() && covariates.dim() >= 2 && covariates.size(-1) == layout.cond_dim,
        "fill_series_embedding: expected covariates [..., T, " + std::to_string(layout.cond_dim) + "]");
  if (layout.series_index_dim == 0) return covariates.clone();
  const torch::Tensor values = embedding.reshape({-1});
  check(values.size(0) == layout.series_index_dim,
        "fill_series_embedding: expected an embedding of " + std::to_string(layout.series_index_dim) + " values");
  const int64_t tokens = covariates.size(-2);
  // token_mask [T, 1]: 0 for the first token, 1 after; slot [T, C] holds the embedding in its columns.
  const torch::Tensor token_mask = (torch::arange(tokens, covariates.options()) > 0).to(covariates.dtype()).unsqueeze(1);
  const torch::Tensor padded = torch::constant_pad_nd(values.to(covariates.device(), covariates.dtype()),
                                                      {layout.series_index_offset,
                                                       layout.cond_dim - layout.series_index_offset - layout.series_index_dim});
  return covariates + token_mask * padded.unsqueeze(0);
}

}  // namespace df::timeseries
