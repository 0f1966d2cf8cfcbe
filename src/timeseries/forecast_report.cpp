#include "df/timeseries/forecast_report.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "df/core/error.h"
#include "df/data/npy.h"
#include "df/plot/forecast_plot.h"
#include "df/plot/plot.h"

namespace df::timeseries {
namespace {

void write_plot(const std::string& path, const TimeSeriesData& data, const std::vector<ForecastTask>& tasks,
                const torch::Tensor& forecasts, const torch::Tensor& truth, double crps,
                const ForecastReportOptions& o) {
  const int64_t W = static_cast<int64_t>(tasks.size()), P = data.prediction_length;
  const int64_t w = o.plot_window < 0 ? W - 1 : o.plot_window;
  check(w < W, "--plot-window: there are only " + std::to_string(W) + " windows");
  const int64_t history_points = o.history_points > 0 ? o.history_points : 2 * P;
  const auto& task = tasks[static_cast<size_t>(w)];
  const int64_t from = std::max<int64_t>(0, task.forecast_start - history_points);
  auto history = task.raw.slice(0, from, task.forecast_start);  // [H, D]
  if (history.size(0) < history_points)  // short histories are padded with NaN (drawn as gaps)
    history = torch::cat({torch::full({history_points - history.size(0), history.size(1)}, NAN), history});
  std::vector<plot::ForecastPanel> panels;
  for (int64_t k = 0; k < std::min<int64_t>(o.plot_dims, truth.size(2)); ++k)
    panels.push_back({"dim " + std::to_string(k), history.select(1, k), truth[w].select(1, k),
                      forecasts.select(1, w).select(2, k)});
  plot::write_forecast_panels(path, panels,
                              o.dataset_name + ", test window " + std::to_string(w) + ", CRPS_sum " +
                                  std::to_string(crps));
}

}  // namespace

ForecastMetrics write_forecast_report(const std::string& dir, const TimeSeriesData& data,
                                      const std::vector<ForecastTask>& tasks, const torch::Tensor& forecasts,
                                      const ForecastReportOptions& o) {
  std::filesystem::create_directories(dir);
  const int64_t P = data.prediction_length, W = static_cast<int64_t>(tasks.size()), S = forecasts.size(0);
  const auto truth = task_truth(tasks, P);  // [W, P, D]
  std::vector<torch::Tensor> ctx;
  for (const auto& t : tasks) ctx.push_back(t.raw.slice(0, t.forecast_start - P, t.forecast_start));
  const auto context = torch::stack(ctx);  // [W, P, D]

  const auto m = forecast_metrics(forecasts, truth);
  const double crps_gluonts = crps_sum(forecasts, truth, QuantileRule::kGluonTS);
  // Reference point: the last context value held for P steps (one "sample": CRPS = weighted MAE).
  const auto persistence = context.slice(1, P - 1).expand({W, P, context.size(2)}).unsqueeze(0);
  const double crps_persistence = crps_sum(persistence, truth);
  write_npy(dir + "/forecasts.npy", forecasts);
  write_npy(dir + "/truth.npy", truth);
  write_npy(dir + "/context.npy", context);
  {
    std::ofstream f(dir + "/metrics.csv");
    f.precision(8);
    f << "metric,value\ncrps_sum," << m.crps_sum << "\ncrps_sum_gluonts," << crps_gluonts << "\ncrps_mean,"
      << m.crps_mean << "\ncrps_sum_persistence," << crps_persistence << "\nmse," << m.mse << "\nmse_sum," << m.mse_sum
      << "\nsamples," << S << "\nwindows," << W << "\nsampling_seconds," << o.sampling_seconds << "\n";
  }
  {
    std::ofstream f(dir + "/crps_per_dim.csv");
    f.precision(8);
    f << "dim,crps\n";
    for (int64_t k = 0; k < m.crps_per_dim.size(0); ++k) f << k << "," << m.crps_per_dim[k].item<double>() << "\n";
  }
  {
    std::ofstream f(dir + "/windows.csv");
    f << "window,series_start,forecast_start_index,forecast_start_time,length\n";
    for (int64_t w = 0; w < W; ++w) {
      const auto& t = tasks[static_cast<size_t>(w)];
      f << w << "," << format_timestamp(t.start) << "," << t.forecast_start << ","
        << format_timestamp(advance(t.start, data.freq, t.forecast_start)) << "," << t.raw.size(0) << "\n";
    }
  }
  {
    std::ofstream f(dir + "/results.md");
    f.precision(6);
    f << "# Forecast of " << o.dataset_name << "\n\n"
      << "| metric | value |\n|---|---|\n"
      << "| CRPS_sum (reference quantiles: k = int(q S)) | " << m.crps_sum << " |\n"
      << "| CRPS_sum (GluonTS quantiles: round((S-1) q)) | " << crps_gluonts << " |\n"
      << "| CRPS_sum of persistence (last context value, point forecast) | " << crps_persistence << " |\n"
      << "| CRPS (mean over dimensions) | " << m.crps_mean << " |\n"
      << "| MSE (sample mean) | " << m.mse << " |\n"
      << "| MSE of the dimension sum | " << m.mse_sum << " |\n"
      << "| windows x samples | " << W << " x " << S << " |\n"
      << "| sampling time | " << o.sampling_seconds << " s |\n\n"
      << "Covariates: " << (data.use_covariates ? "on" : "off") << "; command: `" << o.command << "`\n";
  }
  {
    std::ofstream f(dir + "/ARRAYS.md");
    f << "# Arrays written by df_forecast (NumPy .npy, float32, original data scale)\n\n"
      << "- forecasts.npy [S=" << S << ", W=" << W << ", P=" << P << ", D=" << data.dataset.target_dim
      << "]: sample s of the forecast of test window w, step t, series d.\n"
      << "- truth.npy [W, P, D]: the last P points of each test window as given in the test file (NaN = missing).\n"
      << "- context.npy [W, P, D]: the P points before them, which the model was conditioned on.\n"
      << "- windows.csv: each window's start timestamp and where its forecast starts.\n\n"
      << "Recompute CRPS_sum with numpy: s = forecasts.sum(-1) [S, W, P]; y = truth.sum(-1); for q in\n"
      << "i / 20 (i = 1..19): Q = np.sort(s, 0)[int(q * S) - 1]; loss_q = 2 * sum(|(Q - y) * ((y <= Q) - q)|);\n"
      << "CRPS_sum = mean_q(loss_q) / sum(|y|). GluonTS' quantile rule uses index round((S - 1) * q).\n";
  }
  if (plot::plotting_available()) {
    write_plot(dir + "/forecast.png", data, tasks, forecasts, truth, m.crps_sum, o);
  } else {
    spdlog::warn("built without OpenCV: no forecast.png");
  }
  spdlog::info("CRPS_sum {:.6f} (GluonTS quantiles {:.6f}), CRPS {:.6f}, MSE {:.6g}; wrote {}", m.crps_sum,
               crps_gluonts, m.crps_mean, m.mse, dir);
  return m;
}

}  // namespace df::timeseries
