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
#include <fstream>

#include "../common/domain.h"
#include "../common/tool_main.h"
#include "../common/timeseries_domain.h"
#include "df/core/device.h"
#include "df/core/error.h"
#include "df/data/npy.h"
#include "df/models/state_dict.h"
#include "df/timeseries/crps.h"
#include "df/tools/plot.h"
#include "df/training/checkpoint.h"

namespace {

namespace tsl = df::timeseries;
using df::tools::Canvas;
using df::tools::Color;

// One panel per dimension: history, 90% and 50% bands (filled column by column), median, truth.
// history [H] and truth [P] of one dimension, samples [S, P].
void draw_panel(Canvas& canvas, int left, int top, int width, int height, const torch::Tensor& history,
                const torch::Tensor& truth, const torch::Tensor& samples, const std::string& title) {
  const int64_t H = history.size(0), P = truth.size(0);
  const auto q = torch::quantile(samples.to(torch::kDouble),
                                 torch::tensor({0.05, 0.25, 0.5, 0.75, 0.95}, torch::kDouble), 0);  // [5, P]
  const auto all = torch::cat({history.to(torch::kDouble), truth.to(torch::kDouble), q.flatten()});
  const auto finite = all.masked_select(torch::isfinite(all));
  double lo = finite.numel() ? finite.min().item<double>() : 0.0, hi = finite.numel() ? finite.max().item<double>() : 1.0;
  if (hi - lo < 1e-12) hi = lo + 1.0;
  const double pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const int l = left + 8, r = left + width - 8, t = top + 22, b = top + height - 8;
  auto px = [&](double i) { return static_cast<int>(l + (i + H) / static_cast<double>(H + P - 1) * (r - l)); };
  auto py = [&](double v) { return static_cast<int>(b - (v - lo) / (hi - lo) * (b - t)); };
  auto band = [&](int64_t qlo, int64_t qhi, Color color) {
    // Column fill: interpolate the band edges between forecast steps at every pixel.
    for (int x = px(0); x <= px(static_cast<double>(P - 1)); ++x) {
      const double i = (x - l) / static_cast<double>(r - l) * (H + P - 1) - H;
      const int64_t i0 = std::clamp<int64_t>(static_cast<int64_t>(std::floor(i)), 0, P - 1), i1 = std::min(i0 + 1, P - 1);
      const double a = std::clamp(i - i0, 0.0, 1.0);
      const double y0 = (1 - a) * q[qlo][i0].item<double>() + a * q[qlo][i1].item<double>();
      const double y1 = (1 - a) * q[qhi][i0].item<double>() + a * q[qhi][i1].item<double>();
      canvas.draw_pixel_line(x, py(y0), x, py(y1), color);
    }
  };
  auto line = [&](const torch::Tensor& y, int64_t offset, Color color, int thickness) {
    for (int64_t i = 0; i + 1 < y.size(0); ++i) {
      const double a = y[i].item<double>(), c = y[i + 1].item<double>();
      if (!std::isfinite(a) || !std::isfinite(c)) continue;
      canvas.draw_pixel_line(px(static_cast<double>(offset + i)), py(a), px(static_cast<double>(offset + i + 1)), py(c),
                             color, thickness);
    }
  };
  band(0, 4, Color{198, 219, 239});  // 90% interval
  band(1, 3, Color{107, 174, 214});  // 50% interval
  line(torch::cat({history.slice(0, H - 1), truth}).to(torch::kDouble), -1, df::tools::colors::kBlack, 1);
  line(history.to(torch::kDouble), -H, df::tools::colors::kBlack, 1);
  line(torch::cat({history.slice(0, H - 1).to(torch::kDouble), q[2]}), -1, Color{8, 48, 107}, 2);
  canvas.draw_pixel_line(px(-0.5), t, px(-0.5), b, df::tools::colors::kGray);
  canvas.draw_pixel_line(l, b, r, b, df::tools::colors::kGray);
  canvas.draw_text(title, left + 8, top + 16, df::tools::colors::kBlack, 0.42);
}

// forecasts [S, W, P, D], history [W, H, D], truth [W, P, D] (original scale); plots window `w`.
void write_forecast_plot(const std::string& path, const torch::Tensor& forecasts, const torch::Tensor& history,
                         const torch::Tensor& truth, int64_t w, int64_t dims, const std::string& title) {
  const int64_t D = std::min<int64_t>(dims, truth.size(2));
  const int cols = D > 1 ? 2 : 1, rows = static_cast<int>((D + cols - 1) / cols), pw = 480, ph = 200;
  Canvas canvas(cols * pw, rows * ph + 52, {0, 1, 0, 1}, Canvas::Margins{0, 0, 28, 24});
  canvas.draw_title(title);
  for (int64_t k = 0; k < D; ++k) {
    const int left = static_cast<int>(k % cols) * pw, top = 28 + static_cast<int>(k / cols) * ph;
    draw_panel(canvas, left, top, pw, ph, history[w].select(1, k), truth[w].select(1, k),
               forecasts.select(1, w).select(2, k), "dim " + std::to_string(k));
  }
  const int y = rows * ph + 44;
  canvas.draw_text("black: history + truth   dark blue: median   bands: 50% / 90% intervals", 10, y,
                   df::tools::colors::kBlack, 0.45);
  canvas.write_png(path);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Forecast the rolling test windows with a trained time-series model and score CRPS_sum"};
  std::string checkpoint, out_dir;
  std::vector<std::string> overrides;
  int64_t samples = 0, plot_dims = 8, plot_window = -1, history_points = 0;
  uint64_t seed = 0;
  bool no_ema = false;
  cli.add_option("--checkpoint", checkpoint, "best.pt / checkpoint.pt written by df_train")->required();
  cli.add_option("--out", out_dir, "output directory (default: <checkpoint dir>/forecast)");
  cli.add_option("--samples", samples, "samples per window (default: timeseries.num_samples)");
  cli.add_option("--seed", seed, "sampling seed");
  cli.add_option("--set", overrides, "override a key, e.g. --set diffusion.eta=0");
  cli.add_option("--plot-dims", plot_dims, "dimensions drawn in forecast.png");
  cli.add_option("--plot-window", plot_window, "test window drawn (-1 = the last)");
  cli.add_option("--history", history_points, "history points drawn before the forecast (default 2P)");
  cli.add_flag("--no-ema", no_ema, "use the training weights even if EMA weights exist");
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    const auto ckpt = df::load_checkpoint(checkpoint);
    auto config = df::app::load_config("", overrides, ckpt.config_yaml, checkpoint + " (stored config)");
    df::app::require_as_trained(config, ckpt.config_yaml, checkpoint);
    df::check(config.get_string("experiment.domain") == "timeseries",
              checkpoint + ": experiment.domain is \"" + config.get_string("experiment.domain") + "\", not timeseries");
    if (samples <= 0) samples = config.get_int("timeseries.num_samples");
    if (out_dir.empty()) out_dir = (std::filesystem::path(checkpoint).parent_path() / "forecast").string();
    std::filesystem::create_directories(out_dir);
    config.write(out_dir + "/config.yaml");
    std::string command;
    for (int i = 0; i < argc; ++i) command += (i ? " " : "") + std::string(argv[i]);
    df::app::write_command(out_dir + "/command.txt", argc, argv);

    const auto device = df::resolve_device(config.get_string("experiment.device"));
    const auto& domain = df::app::find_domain("timeseries");
    auto dataset = domain.make_dataset(config);
    auto model = df::make_model(config, domain.model_shape(config, *dataset), device);
    df::load_inference_weights(*model, ckpt, checkpoint, !no_ema);
    model->eval();

    const auto& data = df::app::ts::load_time_series(config);
    const int64_t P = data.prediction_length;
    const auto tasks = df::app::ts::test_tasks(config);
    const int64_t W = static_cast<int64_t>(tasks.size());
    spdlog::info("forecasting {} windows x {} samples ({} steps after {} context steps, {} DDIM steps, eta {})", W,
                 samples, P, P, model->grid().sampling_steps(), config.get_double("diffusion.eta"));
    const auto t0 = std::chrono::steady_clock::now();
    const auto normalized = df::app::ts::sample_forecasts(*model, config, tasks, samples, seed);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto forecasts = data.normalizer.denormalize(normalized);  // [S, W, P, D]
    const auto truth = df::app::ts::task_truth(tasks, P);             // [W, P, D]
    std::vector<torch::Tensor> ctx;
    for (const auto& t : tasks) ctx.push_back(t.raw.slice(0, t.forecast_start - P, t.forecast_start));
    const auto context = torch::stack(ctx);  // [W, P, D]

    const auto m = tsl::forecast_metrics(forecasts, truth);
    const double crps_gluonts = tsl::crps_sum(forecasts, truth, tsl::QuantileRule::kGluonTS);
    // Reference point: the last context value held for P steps (one "sample": CRPS = weighted MAE).
    const auto persistence = context.slice(1, P - 1).expand({W, P, context.size(2)}).unsqueeze(0);
    const double crps_persistence = tsl::crps_sum(persistence, truth);
    df::write_npy(out_dir + "/forecasts.npy", forecasts);
    df::write_npy(out_dir + "/truth.npy", truth);
    df::write_npy(out_dir + "/context.npy", context);
    {
      std::ofstream f(out_dir + "/metrics.csv");
      f.precision(8);
      f << "metric,value\ncrps_sum," << m.crps_sum << "\ncrps_sum_gluonts," << crps_gluonts << "\ncrps_mean,"
        << m.crps_mean << "\ncrps_sum_persistence," << crps_persistence << "\nmse," << m.mse << "\nmse_sum," << m.mse_sum << "\nsamples," << samples << "\nwindows," << W
        << "\nsampling_seconds," << seconds << "\n";
    }
    {
      std::ofstream f(out_dir + "/crps_per_dim.csv");
      f.precision(8);
      f << "dim,crps\n";
      for (int64_t k = 0; k < m.crps_per_dim.size(0); ++k) f << k << "," << m.crps_per_dim[k].item<double>() << "\n";
    }
    {
      std::ofstream f(out_dir + "/windows.csv");
      f << "window,series_start,forecast_start_index,forecast_start_time,length\n";
      for (int64_t w = 0; w < W; ++w) {
        const auto& t = tasks[static_cast<size_t>(w)];
        f << w << "," << tsl::format_timestamp(t.start) << "," << t.forecast_start << ","
          << tsl::format_timestamp(tsl::advance(t.start, data.freq, t.forecast_start)) << "," << t.raw.size(0) << "\n";
      }
    }
    {
      std::ofstream f(out_dir + "/results.md");
      f.precision(6);
      f << "# Forecast of " << config.get_string("timeseries.dataset") << " (" << checkpoint << ")\n\n"
        << "| metric | value |\n|---|---|\n"
        << "| CRPS_sum (reference quantiles: k = int(q S)) | " << m.crps_sum << " |\n"
        << "| CRPS_sum (GluonTS quantiles: round((S-1) q)) | " << crps_gluonts << " |\n"
        << "| CRPS_sum of persistence (last context value, point forecast) | " << crps_persistence << " |\n"
        << "| CRPS (mean over dimensions) | " << m.crps_mean << " |\n"
        << "| MSE (sample mean) | " << m.mse << " |\n"
        << "| MSE of the dimension sum | " << m.mse_sum << " |\n"
        << "| windows x samples | " << W << " x " << samples << " |\n"
        << "| sampling time | " << seconds << " s |\n\n"
        << "Covariates: " << (data.use_covariates ? "on" : "off") << "; command: `" << command << "`\n";
    }
    {
      std::ofstream f(out_dir + "/ARRAYS.md");
      f << "# Arrays written by df_forecast (NumPy .npy, float32, original data scale)\n\n"
        << "- forecasts.npy [S=" << samples << ", W=" << W << ", P=" << P << ", D=" << data.dataset.target_dim
        << "]: sample s of the forecast of test window w, step t, series d.\n"
        << "- truth.npy [W, P, D]: the last P points of each test window as given in the test file (NaN = missing).\n"
        << "- context.npy [W, P, D]: the P points before them, which the model was conditioned on.\n"
        << "- windows.csv: each window's start timestamp and where its forecast starts.\n\n"
        << "Recompute CRPS_sum with numpy: s = forecasts.sum(-1) [S, W, P]; y = truth.sum(-1); for q in\n"
        << "i / 20 (i = 1..19): Q = np.sort(s, 0)[int(q * S) - 1]; loss_q = 2 * sum(|(Q - y) * ((y <= Q) - q)|);\n"
        << "CRPS_sum = mean_q(loss_q) / sum(|y|). GluonTS' quantile rule uses index round((S - 1) * q).\n";
    }
    if (df::tools::plotting_available()) {
      if (history_points <= 0) history_points = 2 * P;
      const int64_t w = plot_window < 0 ? W - 1 : plot_window;
      df::check(w < W, "--plot-window: there are only " + std::to_string(W) + " windows");
      std::vector<torch::Tensor> hist;
      for (const auto& t : tasks) {
        const int64_t from = std::max<int64_t>(0, t.forecast_start - history_points);
        auto h = t.raw.slice(0, from, t.forecast_start);
        if (h.size(0) < history_points)  // pad short histories with NaN (drawn as gaps)
          h = torch::cat({torch::full({history_points - h.size(0), h.size(1)}, NAN), h});
        hist.push_back(h);
      }
      write_forecast_plot(out_dir + "/forecast.png", forecasts, torch::stack(hist), truth, w, plot_dims,
                          config.get_string("timeseries.dataset") + ", test window " + std::to_string(w) +
                              ", CRPS_sum " + std::to_string(m.crps_sum));
    } else {
      spdlog::warn("built without OpenCV: no forecast.png");
    }
    spdlog::info("CRPS_sum {:.6f} (GluonTS quantiles {:.6f}), CRPS {:.6f}, MSE {:.6g}; sampling {:.1f} s; wrote {}",
                 m.crps_sum, crps_gluonts, m.crps_mean, m.mse, seconds, out_dir);
    return 0;
  });
}
