// Forecasting with a trained Diffusion Forcing model on a GluonTS dataset (paper appendix D.9 / E.1):
// the data of a config, the validation and test forecast tasks, and batched sampling of forecasts. Used by
// the time-series domain (training windows, validation), df_forecast and the tests.
//
// A forecast task is a normalised series [L, D] with a forecast start f: the model reads the context
// tokens [f - P, f) at level 0 and samples the P tokens [f, f + P) autoregressively (P = prediction
// length = context length). With covariates, token j's condition holds lagged values x[j - l] (l > 1),
// the series index and time features; lags that fall inside the forecast are taken from the model's own
// samples, as TimeGrad does at inference (training sees the true values there).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "df/core/config.h"
#include "df/core/enum_names.h"
#include "df/data/sequence_dataset.h"
#include "df/models/diffusion_forcing_model.h"
#include "df/timeseries/covariates.h"
#include "df/timeseries/gluonts_dataset.h"
#include "df/timeseries/normalizer.h"

namespace df::timeseries {
enum class ForecastAnchor { None, LastContext };
}  // namespace df::timeseries

namespace df {
template <>
struct EnumNames<timeseries::ForecastAnchor> {
  static constexpr const char* what = "timeseries.anchor";
  static constexpr EnumName<timeseries::ForecastAnchor> table[] = {{timeseries::ForecastAnchor::None, "none"},
                                                                   {timeseries::ForecastAnchor::LastContext,
                                                                    "last_context"}};
};
}  // namespace df

namespace df::timeseries {

// The dataset of a config: read once per (path, max_target_dim) and kept for the process.
struct TimeSeriesData {
  GluonTSDataset dataset;
  Normalizer normalizer{torch::zeros({1}), torch::ones({1})};
  torch::Tensor train_normalized;  // [N, D] float32
  Frequency freq;
  int64_t prediction_length = 0;   // P (= context length)
  int64_t rolling_windows = 0;     // test windows used by df_forecast
  bool use_covariates = false;
  CovariateLayout layout;  // cond_dim 0 when covariates are off
};
const TimeSeriesData& load_time_series(const Config& config);

// One forecast task: normalised series [L, D] (float32, NaN -> 0), the same on the original scale (NaN
// kept), its first timestamp, and the forecast start f (P <= f, f + P <= L).
struct ForecastTask {
  torch::Tensor series;
  torch::Tensor raw;
  Timestamp start;
  int64_t forecast_start = 0;
};

// timeseries.anchor: "none" feeds the z-scored values as they are (reference); "last_context" subtracts
// each window's last context value (per dimension) from the whole window and its lagged covariates, and
// adds it back to the forecasts, so the model sees changes from the forecast origin and a level outside
// the training range looks like any other.
bool anchored_to_last_context(const Config& config);

// Training sequences: random windows of 2P tokens (context + prediction) of the normalised training
// series, with covariates [T, B, C] when they are on. `data` must outlive the dataset.
std::unique_ptr<SequenceDataset> make_forecast_windows(const TimeSeriesData& data, bool anchored);

// P consecutive steps of the normalised training series at random offsets: [P, B, D] (relative to the last
// one when anchored), the context df_sample uses by default.
torch::Tensor random_training_context(const Config& config, int64_t batch, uint64_t seed);

// Validation blocks cut from the training range with the fixed seed timeseries.validation_seed.
std::vector<ForecastTask> validation_tasks(const Config& config);
// The rolling test windows read as given: forecast the last P points of each.
std::vector<ForecastTask> test_tasks(const Config& config);

// Samples S forecasts of every task in one batched sampler pass (B = W * S).
// Returns normalised samples [S, W, P, D] (float32, CPU).
torch::Tensor sample_forecasts(DiffusionForcingModel& model, const Config& config,
                               const std::vector<ForecastTask>& tasks, int64_t num_samples, uint64_t seed);

// Normalised context [W, P, D] and original-scale truth [W, P, D] of the tasks.
torch::Tensor task_context(const std::vector<ForecastTask>& tasks, int64_t prediction_length);
torch::Tensor task_truth(const std::vector<ForecastTask>& tasks, int64_t prediction_length);

// The validation forecasts and truth on the original scale (what validate() scores):
// samples [S, W, P, D], truth [W, P, D].
struct ValidationForecasts {
  torch::Tensor samples, truth;
};
ValidationForecasts validation_forecasts(DiffusionForcingModel& model, const Config& config);

}  // namespace df::timeseries
