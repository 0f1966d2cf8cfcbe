// TimeGrad-style per-token covariates ("external conditions") for Diffusion Forcing's time-series model.
//
// A window of T tokens starting at index s of a normalised series x [N, D] gets covariates [T, C], with
// blocks concatenated in the reference's order (each block can be switched off):
//   1. lags:        for each lag l in lags_for_frequency(freq) with l > 1: x[s + t - l, :]  ((L-1)*D values).
//                   Lag 1 is the token's predecessor, which the sequence model already sees.
//                   Indices < 0 or >= `observed_until` (unknown / future values) and NaN give 0.
//   2. series index: D slots for a learned 1-d embedding of the series index 0..D-1. The embedding is a
//                   model parameter, so the builder leaves these slots 0; the model fills them with
//                   fill_series_embedding() (token 0 stays 0).
//   3. time features: for each feature f of time_features_for_frequency(freq), value v_f of the token's
//                   timestamp and period P_f: (cos(2 pi v_f / P_f), sin(2 pi v_f / P_f))  (2F values).
// The first token's covariates are all zero (as in the reference).
//
// Time features, value v and period P (the reference divides by max(v) + 1 over the whole series; we
// fix P to the value that takes on any series long enough to contain every value, i.e. all paper sets):
//   minute       v = minute (0..59)             P = 61 - gcd(m, 60) for an m-minute frequency
//                                                  (30min -> 31, 1min -> 60), 60 otherwise
//   hour         v = hour (0..23)               P = 24
//   day_of_week  v = Monday 0 .. Sunday 6       P = 5 for "B" (weekends never occur), 7 otherwise
//   day_of_year  v = 1..366 (pandas dayofyear)  P = 367
//   week_of_year v = ISO week 1..53             P = 54
// Features per frequency: B: day_of_week, day_of_year; D: day_of_week; H: hour, day_of_week;
// T/min: minute, hour, day_of_week; W: week_of_year; M: week_of_year.
// Lags per frequency (pytorch-ts lags_for_fourier_time_features_from_frequency; the multiple is
// ignored): B [1, 2]; D [1, 7, 14]; H [1, 24, 168]; T/min [1, 4, 12, 24, 48]; W [1];
// M [1, 12].
// Timestamps of index i are advance(series_start, freq, i): "B" skips weekends.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "df/timeseries/timestamp.h"

namespace df::timeseries {

enum class TimeFeature { kMinute, kHour, kDayOfWeek, kDayOfYear, kWeekOfYear };

std::vector<int64_t> lags_for_frequency(const Frequency& freq);
std::vector<TimeFeature> time_features_for_frequency(const Frequency& freq);
// Value v and period P of one feature at one timestamp (see the table above).
double time_feature_value(TimeFeature feature, const CivilTime& time);
double time_feature_period(TimeFeature feature, const Frequency& freq);

struct CovariateOptions {
  bool lags = true;
  bool series_index = true;
  bool time_features = true;
};

// Where each block lives inside the C covariate columns. Empty blocks have dim 0.
struct CovariateLayout {
  Frequency freq;
  int64_t target_dim = 0;              // D
  std::vector<int64_t> lags;           // all lags, including 1 (history_length = pred + max lag)
  std::vector<TimeFeature> features;
  int64_t lag_offset = 0, lag_dim = 0;                   // (L-1)*D
  int64_t series_index_offset = 0, series_index_dim = 0; // D
  int64_t time_offset = 0, time_dim = 0;                 // 2F
  int64_t cond_dim = 0;                                  // total C = L*D + 2F with everything on
  int64_t max_lag() const;
};

CovariateLayout make_covariate_layout(const Frequency& freq, int64_t target_dim, const CovariateOptions& options = {});

// [length, 2F] float32 time features of indices first_index .. first_index + length - 1 of a series
// starting at `series_start`.
torch::Tensor time_feature_matrix(const Timestamp& series_start, const Frequency& freq, int64_t first_index,
                                  int64_t length, const std::vector<TimeFeature>& features);

// [T, C] float32 covariates of the window [window_start, window_start + T) of `normalized_series` [N, D]
// (float, CPU or any device). `observed_until` (default N) marks where known values end: lagged values at
// or after it are zeroed, so a forecast window's covariates never contain its own targets. The window
// may extend past N (time features are defined everywhere).
torch::Tensor build_window_covariates(const torch::Tensor& normalized_series, const Timestamp& series_start,
                                      int64_t window_start, int64_t window_length, const CovariateLayout& layout,
                                      int64_t observed_until = -1);

// The series index 0..D-1 [D] int64, the input of the model's nn::Embedding(D, 1).
torch::Tensor series_index(int64_t target_dim);

// Adds `embedding` [D] (or [D, 1], the embedding of series_index) into the (zero) series-index slots of
// `covariates` [..., T, C] for tokens 1..T-1, keeping token 0 zero. Returns a new tensor (differentiable
// in `embedding`). A no-op copy when the layout has no series-index block.
torch::Tensor fill_series_embedding(const torch::Tensor& covariates, const torch::Tensor& embedding,
                                    const CovariateLayout& layout);

}  // namespace df::timeseries
