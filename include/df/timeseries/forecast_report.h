// The outputs of a forecast evaluation (what df_forecast writes): arrays that reproduce every number,
// CRPS_sum with both quantile rules, a persistence reference, per-dimension CRPS, a results table and a
// Figure-6-like plot.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "df/timeseries/crps.h"
#include "df/timeseries/forecast.h"

namespace df::timeseries {

struct ForecastReportOptions {
  std::string dataset_name;   // for titles
  std::string command;        // the command line, recorded in results.md
  double sampling_seconds = 0;
  int64_t plot_dims = 8;      // series drawn in forecast.png
  int64_t plot_window = -1;   // test window drawn (-1 = the last)
  int64_t history_points = 0; // history drawn before the forecast (0 = 2P)
};

// forecasts [S, W, P, D] on the original scale for `tasks` (truth and context are taken from them).
// Writes forecasts.npy, truth.npy, context.npy, metrics.csv, crps_per_dim.csv, windows.csv, results.md,
// ARRAYS.md and (with OpenCV) forecast.png into `dir`; returns the metrics.
ForecastMetrics write_forecast_report(const std::string& dir, const TimeSeriesData& data,
                                      const std::vector<ForecastTask>& tasks, const torch::Tensor& forecasts,
                                      const ForecastReportOptions& options);

}  // namespace df::timeseries
