// Probabilistic forecasting (paper appendix D.9 / E.1) as a domain of the tools: training windows of a
// GluonTS dataset, validation CRPS_sum on blocks of the training range, context for df_sample.
#include "df/timeseries/timeseries_domain.h"

#include "df/core/error.h"
#include "df/core/timing.h"
#include "df/timeseries/crps.h"
#include "df/timeseries/forecast.h"
#include "df/timeseries/forecast_report.h"

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
  std::vector<FingerprintRun> fingerprint_runs(const FingerprintPaths& paths) const override {
    // configs/timeseries_exchange_cpu.yaml in miniature (the keys it sets, at tiny sizes; the others stay at
    // their defaults), on the Exchange data shipped in data/timeseries. Three runs cover the settings of
    // scripts/timeseries_table.sh: covariates off / on, absolute / anchored, DF / teacher-forcing noise.
    auto run = [&](const std::string& name, bool covariates, const std::string& anchor, const std::string& noise) {
      return FingerprintRun{name, R"(
experiment: {name: fingerprint_timeseries, domain: timeseries, seed: 0}
model: {kind: resmlp_gru, z_dim: 16, network_size: 4, num_mlp_layers: 1, num_gru_layers: 2, initial_latent: zeros}
diffusion: {schedule: cosine, timesteps: 1000, objective: v, loss_weighting: constant, frame_stack: 1,
            sampling_steps: 4, eta: 1.0, training_noise: )" + noise + R"(}
training: {steps: 6, batch_size: 4, lr: 0.001, weight_decay: 0.001, warmup_steps: 2, lr_schedule: cosine,
           min_lr_ratio: 0.02, grad_clip: 10.0, log_every: 3, validate_every: 3, checkpoint_every: 3,
           best_metric: crps_sum, early_stopping_patience: 6}
sampling: {matrix: autoregressive, chunk_size: 1}
timeseries: {dataset: exchange_rate_nips, prediction_length: 5, rolling_windows: 2, num_samples: 3,
             validation_samples: 3, validation_blocks: 2, validation_seed: 0,
             use_covariates: )" + (covariates ? "true" : "false") + ", anchor: " + anchor + R"(,
             dataset_path: ")" + paths.source_dir + R"(/data/timeseries/exchange_rate_nips.tar.gz"}
)"};
    };
    return {run("absolute", false, "none", "independent"),
            run("anchored_covariates", true, "last_context", "independent"),
            run("anchored_teacher_forcing", false, "last_context", "teacher_forcing")};
  }
  void fingerprint_evaluation(DiffusionForcingModel& model, const Config& c, const FingerprintPaths& paths,
                              NumericsDigest& digest) const override {
    // df_forecast: the rolling test windows forecast in one batched pass, then its report's metrics.
    const auto& data = load_time_series(c);
    const auto tasks = test_tasks(c);
    const auto forecasts =
        data.normalizer.denormalize(sample_forecasts(model, c, tasks, c.get_int("timeseries.num_samples"), 0));
    digest.add("forecast.samples", forecasts);
    const auto m = write_forecast_report(paths.work_dir + "/forecast", data, tasks, forecasts, {});
    digest.add("forecast.metrics", std::vector<double>{m.crps_sum, m.crps_mean, m.mse, m.mse_sum});
    digest.add("forecast.crps_per_dim", m.crps_per_dim);
  }
};

}  // namespace

std::unique_ptr<Domain> make_timeseries_domain() { return std::make_unique<TimeSeriesDomain>(); }

}  // namespace df::timeseries
