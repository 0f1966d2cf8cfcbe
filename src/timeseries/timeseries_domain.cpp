// Probabilistic forecasting (paper appendix D.9 / E.1) as a domain of the tools: training windows of a
// GluonTS dataset, validation CRPS_sum on blocks of the training range, context for df_sample.
#include "df/timeseries/timeseries_domain.h"

#include "df/core/error.h"
#include "df/core/timing.h"
#include "df/timeseries/crps.h"
#include "df/timeseries/forecast.h"

namespace df::timeseries {

namespace {

class TimeSeriesDomain : public Domain {
 public:
  std::string name() const override { return "timeseries"; }
  std::string defaults_yaml() const override {
    return ConfigDefaults()
        .section("timeseries")
        .key("dataset_path", "data/timeseries/exchange_rate_nips.tar.gz", "GluonTS archive or extracted directory")
        .key("dataset", "exchange_rate_nips", "GluonTS name: freq / prediction length / windows from the spec table")
        .key("freq", "", "\"\" = metadata, else the spec; e.g. B, H, 30min")
        .key("prediction_length", int64_t{0}, "0 = metadata, else the spec (= context length)")
        .key("rolling_windows", int64_t{0}, "test windows evaluated; 0 = every window of the test file")
        .key("max_target_dim", GluonTSReadOptions{}.max_target_dim, "MultivariateGrouper keeps min(this, N) series")
        .key("use_covariates", false, "false = the released code (covariates computed but never fed)")
        .key("num_samples", int64_t{100}, "forecast samples per test window (df_forecast)")
        .key("validation_samples", int64_t{100}, "samples per validation block")
        .key("validation_blocks", int64_t{0}, "blocks of the training range; 0 = as many as test windows")
        .key("validation_seed", int64_t{0}, "fixed (the reference's choice is unseeded)")
        .key("anchor", ForecastAnchor::None, "model each window relative to its last context value")
        .yaml();
  }
  std::vector<std::string> trained_keys() const override {
    return {"timeseries.anchor", "timeseries.use_covariates"};
  }
  void add_rules(Config& c) const override {
    for (const auto* key : {"timeseries.max_target_dim", "timeseries.num_samples", "timeseries.validation_samples"})
      c.require_positive(key);
    for (const auto* key : {"timeseries.prediction_length", "timeseries.rolling_windows",
                            "timeseries.validation_blocks", "timeseries.validation_seed"})
      c.require_non_negative(key);
    c.require_enum<ForecastAnchor>("timeseries.anchor");
  }
  std::unique_ptr<SequenceDataset> make_dataset(const Config& c) const override {
    check(c.get_int("diffusion.frame_stack") == 1, "diffusion.frame_stack: time series use one step per token (1)");
    return make_forecast_windows(load_time_series(c), anchored_to_last_context(c));
  }
  ModelShape model_shape(const Config& c) const override {
    const auto& d = load_time_series(c);
    ModelShape s;
    s.x_shape = {d.dataset.target_dim};
    s.cond_dim = d.use_covariates ? d.layout.cond_dim : 0;
    return s;
  }
  std::map<std::string, double> validate(DiffusionForcingModel& model, const Config& c, int64_t) const override {
    const auto f = validation_forecasts(model, c);
    const auto m = forecast_metrics(f.samples, f.truth);
    return {{"crps_sum", m.crps_sum},
            {"crps_sum_gluonts", crps_sum(f.samples, f.truth, QuantileRule::kGluonTS)},
            {"crps_mean", m.crps_mean},
            {"mse", m.mse}};
  }
  std::map<std::string, double> benchmark_sampling(DiffusionForcingModel& model, const Config& c,
                                                   int repeats) const override {
    // df_forecast's work: every rolling test window forecast with 100 samples in one batched pass.
    const auto tasks = test_tasks(c);
    return {{"forecast_" + std::to_string(tasks.size()) + "_windows_100_samples_s",
             median_seconds([&] { sample_forecasts(model, c, tasks, 100, 0); }, repeats, 1, model.device())}};
  }
  torch::Tensor default_context(const Config& c, int64_t batch, uint64_t seed) const override {
    return random_training_context(c, batch, seed);
  }
};

}  // namespace

std::unique_ptr<Domain> make_timeseries_domain() { return std::make_unique<TimeSeriesDomain>(); }

}  // namespace df::timeseries
