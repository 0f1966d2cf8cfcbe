// df_forecast: evaluate a trained time-series model on the rolling test windows of its dataset.
//   df_forecast --checkpoint runs/x/best.pt [--out DIR] [--samples 100] [--seed 0] [--set key=value ...]
// Every test window is read as given: the model reads the P points before its last P points (context)
// and samples the last P points; all windows x samples are drawn in one batched sampler pass.
// Writes forecasts.npy [S, W, P, D], truth.npy [W, P, D], context.npy [W, P, D] (original scale),
// metrics.csv, crps_per_dim.csv, results.md, ARRAYS.md and forecast.png (a Figure-6-like plot).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "../common/tool_main.h"
#include "df/core/blas_kernels.h"
#include "df/core/error.h"
#include "df/experiment/registry.h"
#include "df/timeseries/forecast.h"
#include "df/timeseries/forecast_report.h"

int main(int argc, char** argv) {
  df::select_blas_kernels(argv);  // first: may start this program again (df/core/blas_kernels.h)
  CLI::App cli{"Forecast the rolling test windows with a trained time-series model and score CRPS_sum"};
  std::string checkpoint, out_dir;
  std::vector<std::string> overrides;
  int64_t samples = 0;
  uint64_t seed = 0;
  bool no_ema = false;
  df::timeseries::ForecastReportOptions report;
  cli.add_option("--checkpoint", checkpoint, "best.pt / checkpoint.pt written by df_train")->required();
  cli.add_option("--out", out_dir, "output directory (default: <checkpoint dir>/forecast)");
  cli.add_option("--samples", samples, "samples per window (default: timeseries.num_samples)");
  cli.add_option("--seed", seed, "sampling seed");
  cli.add_option("--set", overrides, "override a key, e.g. --set diffusion.eta=0");
  cli.add_option("--plot-dims", report.plot_dims, "dimensions drawn in forecast.png");
  cli.add_option("--plot-window", report.plot_window, "test window drawn (-1 = the last)");
  cli.add_option("--history", report.history_points, "history points drawn before the forecast (default 2P)");
  cli.add_flag("--no-ema", no_ema, "use the training weights even if EMA weights exist");
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    namespace ts = df::timeseries;
    auto trained = df::load_trained_model(checkpoint, {"", overrides, !no_ema});
    const auto& config = trained.config;
    df::check(trained.domain->name() == "timeseries",
              checkpoint + ": experiment.domain is \"" + trained.domain->name() + "\", not timeseries");
    if (samples <= 0) samples = config.get_int("timeseries.num_samples");
    if (out_dir.empty()) out_dir = (std::filesystem::path(checkpoint).parent_path() / "forecast").string();
    std::filesystem::create_directories(out_dir);
    config.write(out_dir + "/config.yaml");
    df::app::write_command(out_dir + "/command.txt", argc, argv);
    for (int i = 0; i < argc; ++i) report.command += (i ? " " : "") + std::string(argv[i]);

    const auto& data = ts::load_time_series(config);
    const auto tasks = ts::test_tasks(config);
    spdlog::info("forecasting {} windows x {} samples ({} steps after {} context steps, {} DDIM steps, eta {})",
                 tasks.size(), samples, data.prediction_length, data.prediction_length,
                 trained.model->grid().sampling_steps(), config.get_double("diffusion.eta"));
    const auto t0 = std::chrono::steady_clock::now();
    const auto normalized = ts::sample_forecasts(*trained.model, config, tasks, samples, seed);
    report.sampling_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report.dataset_name = config.get_string("timeseries.dataset");
    ts::write_forecast_report(out_dir, data, tasks, data.normalizer.denormalize(normalized), report);
    return 0;
  });
}
