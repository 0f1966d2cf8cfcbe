// The time-series tools end to end on configs/tiny_timeseries.yaml: df_train trains and early-stops on
// validation CRPS_sum, df_forecast writes arrays that reproduce its reported CRPS_sum, and the domain's
// validation metric is the CRPS function applied to the validation samples.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "df/experiment/registry.h"
#include "df/timeseries/forecast.h"
#include "df/data/npy.h"
#include "df/timeseries/crps.h"

namespace fs = std::filesystem;
namespace tsl = df::timeseries;

namespace {

std::string source(const std::string& path) { return std::string(DF_SOURCE_DIR) + "/" + path; }
std::string archive_override() {
  return "timeseries.dataset_path=" + source("data/timeseries/exchange_rate_nips.tar.gz");
}

int run(const std::string& command, std::string* output = nullptr) {
  std::string text;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return -1;
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe)) text += buffer.data();
  const int raw = pclose(pipe);
  if (output) *output = text;
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

std::map<std::string, double> read_metrics(const std::string& path) {
  std::ifstream f(path);
  std::map<std::string, double> m;
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    const auto comma = line.find(',');
    m[line.substr(0, comma)] = std::stod(line.substr(comma + 1));
  }
  return m;
}

df::Config tiny_config(bool covariates) {
  return df::load_config(source("configs/tiny_timeseries.yaml"),
                              {archive_override(), std::string("timeseries.use_covariates=") + (covariates ? "true" : "false")});
}

}  // namespace

TEST(ForecastTool, TrainThenForecastWritesArraysThatReproduceTheMetric) {
  const auto dir = fs::temp_directory_path() / ("df_ts_tool_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string bin = DF_BINARY_DIR;
  std::string log;
  ASSERT_EQ(run(bin + "/apps/tools/df_train --config " + source("configs/tiny_timeseries.yaml") + " --set " +
                    archive_override() + " --run-dir " + (dir / "run").string(),
                &log),
            0)
      << log;
  ASSERT_TRUE(fs::exists(dir / "run" / "best.pt")) << log;
  ASSERT_TRUE(fs::exists(dir / "run" / "validation.csv"));
  ASSERT_EQ(run(bin + "/apps/timeseries/df_forecast --checkpoint " + (dir / "run" / "best.pt").string() + " --out " +
                    (dir / "forecast").string() + " --seed 3",
                &log),
            0)
      << log;
  const auto forecasts = df::read_npy((dir / "forecast" / "forecasts.npy").string());
  const auto truth = df::read_npy((dir / "forecast" / "truth.npy").string());
  const auto context = df::read_npy((dir / "forecast" / "context.npy").string());
  EXPECT_EQ(forecasts.sizes(), (std::vector<int64_t>{8, 5, 6, 8}));  // S, W, P, D
  EXPECT_EQ(truth.sizes(), (std::vector<int64_t>{5, 6, 8}));
  EXPECT_EQ(context.sizes(), (std::vector<int64_t>{5, 6, 8}));
  const auto metrics = read_metrics((dir / "forecast" / "metrics.csv").string());
  EXPECT_NEAR(tsl::crps_sum(forecasts, truth), metrics.at("crps_sum"), 1e-6 * (1 + metrics.at("crps_sum")));
  EXPECT_NEAR(tsl::crps_sum(forecasts, truth, tsl::QuantileRule::kGluonTS), metrics.at("crps_sum_gluonts"), 1e-6);
  EXPECT_TRUE(fs::exists(dir / "forecast" / "results.md"));
  EXPECT_TRUE(fs::exists(dir / "forecast" / "ARRAYS.md"));
  EXPECT_TRUE(fs::exists(dir / "forecast" / "forecast.png"));

  // Truth and context are the test file's windows as given (last P points and the P before them).
  const auto config = tiny_config(false);
  const auto& data = df::timeseries::load_time_series(config);
  for (int64_t w = 0; w < 5; ++w) {
    const auto& raw = data.dataset.test_windows[static_cast<size_t>(w)];
    const int64_t L = raw.size(0);
    EXPECT_TRUE(torch::equal(truth[w], raw.slice(0, L - 6))) << w;
    EXPECT_TRUE(torch::equal(context[w], raw.slice(0, L - 12, L - 6))) << w;
  }
  fs::remove_all(dir);
}

TEST(ForecastTool, ValidationMetricIsCrpsSumOfTheValidationSamples) {
  for (const bool covariates : {false, true}) {
    const auto config = tiny_config(covariates);
    const auto& domain = df::find_domain("timeseries");
    auto dataset = domain.make_dataset(config);
    EXPECT_EQ(dataset->cond_dim() > 0, covariates);
    torch::manual_seed(0);
    auto model = df::make_model(config, domain.model_shape(config), torch::kCPU);
    model->eval();
    const auto metrics = domain.validate(*model, config, 0);
    const auto f = df::timeseries::validation_forecasts(*model, config);
    EXPECT_EQ(f.samples.sizes(), (std::vector<int64_t>{8, 2, 6, 8}));
    EXPECT_DOUBLE_EQ(metrics.at("crps_sum"), tsl::crps_sum(f.samples, f.truth)) << covariates;
    EXPECT_DOUBLE_EQ(metrics.at("crps_sum_gluonts"), tsl::crps_sum(f.samples, f.truth, tsl::QuantileRule::kGluonTS));
    // Fixed validation blocks: the same blocks every call, cut from the training range.
    const auto a = df::timeseries::validation_tasks(config), b = df::timeseries::validation_tasks(config);
    ASSERT_EQ(a.size(), 2u);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].forecast_start, b[i].forecast_start);
      EXPECT_LE(a[i].forecast_start + 6, df::timeseries::load_time_series(config).dataset.train.size(0));
    }
    // A training batch: 2P tokens of D = 8, with covariates when enabled.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
    const auto batch = dataset->sample(4, gen);
    EXPECT_EQ(batch.x.sizes(), (std::vector<int64_t>{12, 4, 8}));
    EXPECT_EQ(batch.cond.defined(), covariates);
    if (covariates) {
      EXPECT_EQ(batch.cond[0].abs().sum().item<double>(), 0.0);
    }
  }
}

// timeseries.anchor = last_context: training windows are relative to their last context token, and the
// forecasts are equivariant to a level shift of the series (same seed: shifted by exactly the shift),
// which the absolute (reference) setting is not.
TEST(ForecastTool, LastContextAnchorMakesForecastsShiftEquivariant) {
  for (const bool covariates : {false, true}) {
    const auto config = df::load_config(
        source("configs/tiny_timeseries.yaml"),
        {archive_override(), std::string("timeseries.use_covariates=") + (covariates ? "true" : "false"),
         "timeseries.anchor=last_context"});
    const auto& domain = df::find_domain("timeseries");
    auto dataset = domain.make_dataset(config);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
    const auto batch = dataset->sample(5, gen);
    EXPECT_EQ(batch.x[5].abs().max().item<double>(), 0.0);  // P = 6: token 5 is the anchor
    EXPECT_GT(batch.x.abs().max().item<double>(), 0.0);

    torch::manual_seed(0);
    auto model = df::make_model(config, domain.model_shape(config), torch::kCPU);
    model->eval();
    const auto tasks = df::timeseries::validation_tasks(config);
    auto shifted = tasks;
    const auto shift = torch::linspace(-3.0, 4.0, 8);  // per dimension, in z-score units
    for (auto& t : shifted) t.series = t.series + shift;
    const auto a = df::timeseries::sample_forecasts(*model, config, tasks, 4, 11);
    const auto b = df::timeseries::sample_forecasts(*model, config, shifted, 4, 11);
    EXPECT_LT((b - a - shift).abs().max().item<double>(), 1e-4) << covariates;

    auto absolute = config;
    absolute.set("timeseries.anchor=none");
    const auto c = df::timeseries::sample_forecasts(*model, absolute, tasks, 4, 11);
    const auto e = df::timeseries::sample_forecasts(*model, absolute, shifted, 4, 11);
    EXPECT_GT((e - c - shift).abs().max().item<double>(), 1e-2) << covariates;
  }
}

TEST(ForecastTool, UnknownAnchorIsAConfigError) {
  try {
    df::load_config(source("configs/tiny_timeseries.yaml"), {archive_override(), "timeseries.anchor=mean"});
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("timeseries.anchor"), std::string::npos) << e.what();
  }
}
