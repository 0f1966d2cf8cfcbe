// Probabilistic forecasting on GluonTS multivariate data (paper appendix D.9 / E.1, reference spec §7)
// as a domain of the tools: each token is the D-dim value of one time step, a training sequence is
// context + prediction tokens cut at random from the normalised training series, validation is CRPS_sum
// of sampled forecasts on blocks of the training range chosen with a fixed seed.
#include "timeseries_domain.h"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

#include "df/core/error.h"
#include "df/sampling/sampler.h"
#include "df/timeseries/crps.h"
#include "domain.h"

namespace df::app {
namespace ts {
namespace tsl = df::timeseries;

namespace {

// The learned series-index embedding of the reference is a constant D-vector per token; whatever it
// learns is absorbed by the bias of the condition MLP's first layer (only token 0, kept at 0, differs).
// We therefore feed the fixed index code (i + 1) / D instead of adding a parameter to the core model.
torch::Tensor series_index_code(int64_t target_dim) {
  return (torch::arange(target_dim, torch::kFloat) + 1) / static_cast<float>(target_dim);  // [D]
}

// Covariates [T, C] of a window of a normalised series, token 0 zero, series-index slots filled.
torch::Tensor window_covariates(const TimeSeriesData& d, const torch::Tensor& series, const tsl::Timestamp& start,
                                int64_t window_start, int64_t length, int64_t observed_until) {
  auto c = tsl::build_window_covariates(series, start, window_start, length, d.layout, observed_until);
  return tsl::fill_series_embedding(c, series_index_code(d.layout.target_dim), d.layout);
}

std::string resolved_freq(const Config& c, const tsl::GluonTSDataset& data,
                          const std::optional<tsl::TimeSeriesSpec>& spec) {
  if (!c.get_string("timeseries.freq").empty()) return c.get_string("timeseries.freq");
  if (!data.freq.empty()) return data.freq;
  check(spec.has_value(), "timeseries.freq: the dataset has no metadata frequency and \"" +
                              c.get_string("timeseries.dataset") + "\" is not a known GluonTS name; set it");
  return spec->freq;
}

TimeSeriesData build(const Config& c) {
  TimeSeriesData d;
  const auto path = c.get_string("timeseries.dataset_path");
  tsl::GluonTSReadOptions read;
  read.max_target_dim = c.get_int("timeseries.max_target_dim");
  d.dataset = tsl::read_gluonts_dataset(path, read);
  const auto spec = tsl::find_time_series_spec(c.get_string("timeseries.dataset"));
  d.freq = tsl::parse_frequency(resolved_freq(c, d.dataset, spec));
  d.prediction_length = c.get_int("timeseries.prediction_length");
  if (d.prediction_length == 0) d.prediction_length = d.dataset.prediction_length.value_or(spec ? spec->prediction_length : 0);
  check(d.prediction_length > 0, "timeseries.prediction_length: " + path +
                                     " has no metadata prediction_length and the dataset name is unknown; set it");
  d.rolling_windows = c.get_int("timeseries.rolling_windows");
  if (d.rolling_windows == 0) d.rolling_windows = d.dataset.num_test_windows();
  check(d.rolling_windows <= d.dataset.num_test_windows(),
        "timeseries.rolling_windows: " + path + " has only " + std::to_string(d.dataset.num_test_windows()) +
            " test windows");
  d.normalizer = tsl::Normalizer::fit(d.dataset.train);
  // Missing values enter the model as the mean (0 after z-scoring); metrics mask them in the truth.
  d.train_normalized = torch::nan_to_num(d.normalizer.normalize(d.dataset.train), 0.0);
  d.use_covariates = c.get_bool("timeseries.use_covariates");
  if (d.use_covariates) d.layout = tsl::make_covariate_layout(d.freq, d.dataset.target_dim);
  check(d.train_normalized.size(0) >= 2 * d.prediction_length + (d.use_covariates ? d.layout.max_lag() : 0) + 1,
        "timeseries.prediction_length: the training series of " + path + " is too short for windows of 2 x " +
            std::to_string(d.prediction_length));
  spdlog::info("{}: {} series, {} training steps, freq {}, prediction length {}, {} test windows, covariates {}",
               path, d.dataset.target_dim, d.dataset.train.size(0), d.freq.text, d.prediction_length,
               d.rolling_windows, d.use_covariates ? std::to_string(d.layout.cond_dim) + " per token" : "off");
  return d;
}

// Earliest window start: with covariates every lag of token 1 must exist (history = pred + max lag).
int64_t first_window_start(const TimeSeriesData& d) { return d.use_covariates ? d.layout.max_lag() : 0; }

// Random training windows of 2P tokens: x [T, B, D], cond [T, B, C] with covariates.
class ForecastWindows : public SequenceDataset {
 public:
  ForecastWindows(const TimeSeriesData& d, bool anchored) : d_(d), anchored_(anchored) {
    if (d_.use_covariates)  // lags and time features do not depend on the window: computed once
      covariates_ = window_covariates(d_, d_.train_normalized, d_.dataset.train_start, 0,
                                      d_.train_normalized.size(0), -1);  // [N, C]
  }
  SequenceBatch sample(int64_t batch_size, torch::Generator& gen) override {
    const int64_t T = num_tokens(), lo = first_window_start(d_), hi = d_.train_normalized.size(0) - T;
    const auto starts = torch::randint(lo, hi + 1, {batch_size}, gen, torch::kLong);
    const auto index = (torch::arange(T, torch::kLong).unsqueeze(1) + starts.unsqueeze(0)).flatten();  // [T*B]
    SequenceBatch b;
    b.x = d_.train_normalized.index_select(0, index).view({T, batch_size, -1});
    if (d_.use_covariates) {
      b.cond = covariates_.index_select(0, index).view({T, batch_size, -1}).clone();
    }
    if (anchored_) {  // values relative to the last context token; lagged values move with them
      const auto anchor = b.x[d_.prediction_length - 1].clone();  // [B, D]
      b.x -= anchor;
      if (d_.use_covariates && d_.layout.lag_dim > 0)
        b.cond.narrow(-1, d_.layout.lag_offset, d_.layout.lag_dim).view({T, batch_size, -1, anchor.size(1)}) -=
            anchor.unsqueeze(1);
    }
    if (d_.use_covariates) b.cond[0].zero_();  // the first token of a window has no covariates (reference)
    return b;
  }
  std::vector<int64_t> token_shape() const override { return {d_.dataset.target_dim}; }
  int64_t num_tokens() const override { return 2 * d_.prediction_length; }
  int64_t cond_dim() const override { return d_.use_covariates ? d_.layout.cond_dim : 0; }

 private:
  const TimeSeriesData& d_;
  bool anchored_ = false;
  torch::Tensor covariates_;
};

// Writes the lag slots of token `r` (window coordinates) whose source r - lag lies in the forecast
// (>= forecast_from) from the tokens sampled so far, `generated` [r - forecast_from] x [B, D].
void fill_lags(const TimeSeriesData& d, torch::Tensor& cond_r, const std::vector<torch::Tensor>& generated,
               int64_t r, int64_t forecast_from) {
  int64_t k = 0;
  for (const auto lag : d.layout.lags) {
    if (lag <= 1) continue;
    const int64_t source = r - lag;
    if (source >= forecast_from)  // inside the forecast: the model's own sample
      cond_r.narrow(-1, d.layout.lag_offset + k * d.layout.target_dim, d.layout.target_dim)
          .copy_(generated[static_cast<size_t>(source - forecast_from)]);
    ++k;
  }
}

}  // namespace

const TimeSeriesData& load_time_series(const Config& c) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<TimeSeriesData>> cache;
  const std::string key = c.get_string("timeseries.dataset_path") + "|" + c.get_string("timeseries.dataset") + "|" +
                          std::to_string(c.get_int("timeseries.max_target_dim")) + "|" +
                          c.get_string("timeseries.freq") + "|" + std::to_string(c.get_int("timeseries.prediction_length")) +
                          "|" + std::to_string(c.get_int("timeseries.rolling_windows")) + "|" +
                          (c.get_bool("timeseries.use_covariates") ? "cov" : "nocov");
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[key];
  if (!slot) slot = std::make_unique<TimeSeriesData>(build(c));
  return *slot;
}

std::vector<ForecastTask> validation_tasks(const Config& c) {
  const auto& d = load_time_series(c);
  int64_t blocks = c.get_int("timeseries.validation_blocks");
  if (blocks == 0) blocks = d.rolling_windows;
  const int64_t P = d.prediction_length, lo = first_window_start(d), hi = d.train_normalized.size(0) - 2 * P;
  // Fixed seed: the reference draws these blocks unseeded, so its early stopping differs between runs.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(c.get_int("timeseries.validation_seed")));
  const auto starts = torch::randint(lo, hi + 1, {blocks}, gen, torch::kLong);
  std::vector<ForecastTask> tasks;
  for (int64_t i = 0; i < blocks; ++i) {
    const int64_t s = starts[i].item<int64_t>();
    // The block keeps the history before it (lags) and ends where its forecast ends.
    tasks.push_back({d.train_normalized.slice(0, 0, s + 2 * P), d.dataset.train.slice(0, 0, s + 2 * P),
                     d.dataset.train_start, s + P});
  }
  return tasks;
}

std::vector<ForecastTask> test_tasks(const Config& c) {
  const auto& d = load_time_series(c);
  const int64_t P = d.prediction_length;
  std::vector<ForecastTask> tasks;
  for (int64_t w = 0; w < d.rolling_windows; ++w) {
    const auto& raw = d.dataset.test_windows[static_cast<size_t>(w)];
    check(raw.size(0) >= 2 * P, c.get_string("timeseries.dataset_path") + ": test window " + std::to_string(w) +
                                    " is shorter than context + prediction (" + std::to_string(2 * P) + ")");
    tasks.push_back({torch::nan_to_num(d.normalizer.normalize(raw), 0.0), raw,
                     d.dataset.test_starts[static_cast<size_t>(w)], raw.size(0) - P});
  }
  return tasks;
}

torch::Tensor task_context(const std::vector<ForecastTask>& tasks, int64_t P) {
  std::vector<torch::Tensor> parts;
  for (const auto& t : tasks) parts.push_back(t.series.slice(0, t.forecast_start - P, t.forecast_start));
  return torch::stack(parts);  // [W, P, D]
}

torch::Tensor task_truth(const std::vector<ForecastTask>& tasks, int64_t P) {
  std::vector<torch::Tensor> parts;
  for (const auto& t : tasks) parts.push_back(t.raw.slice(0, t.forecast_start, t.forecast_start + P));
  return torch::stack(parts);  // [W, P, D]
}

// The value itself is validated when the config is loaded (add_rules: require_choice).
bool anchored_to_last_context(const Config& c) { return c.get_string("timeseries.anchor") == "last_context"; }

torch::Tensor sample_forecasts(DiffusionForcingModel& model, const Config& c, const std::vector<ForecastTask>& given,
                               int64_t S, uint64_t seed) {
  const auto& d = load_time_series(c);
  const int64_t P = d.prediction_length, W = static_cast<int64_t>(given.size()), B = S * W;
  // With an anchor the model sees each series minus its last context value (lags included) and the
  // anchor is added back to the samples.
  const bool anchored = anchored_to_last_context(c);
  auto tasks = given;
  torch::Tensor anchors = torch::zeros({W, d.dataset.target_dim});  // [W, D]
  for (int64_t w = 0; anchored && w < W; ++w) {
    auto& t = tasks[static_cast<size_t>(w)];
    anchors[w] = t.series[t.forecast_start - 1];
    t.series = t.series - anchors[w];
  }
  torch::NoGradGuard no_grad;
  const auto dev = model.device();
  // Batch element b = s * W + w: sample s of task w.
  const auto context = task_context(tasks, P).transpose(0, 1).repeat({1, S, 1}).to(dev);  // [P, B, D]
  torch::Tensor cond;                                                                       // [2P, B, C]
  if (d.use_covariates) {
    std::vector<torch::Tensor> per_task;
    for (const auto& t : tasks) {
      auto w = window_covariates(d, t.series, t.start, t.forecast_start - P, 2 * P, t.forecast_start);
      w[0].zero_();
      per_task.push_back(w);
    }
    cond = torch::stack(per_task, 1).repeat({1, S, 1}).to(dev);
  }
  Sampler sampler(model, read_sampler_options(c));
  const auto plan = read_chunk_plan(c);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto z = model.denoiser().initial_latent(B, {});
  z = sampler.absorb_context(z, context, d.use_covariates ? cond.slice(0, 0, P) : torch::Tensor(), gen);
  torch::Tensor forecast;  // [P, B, D]
  if (!d.use_covariates) {
    forecast = sampler.rollout(z, P, plan.chunk_size, plan.matrix, plan.uncertainty_scale, {}, gen);
  } else {
    // Lags inside the forecast come from earlier samples, so tokens are drawn one at a time.
    check(plan.chunk_size == 1, "sampling.chunk_size: forecasting with covariates samples token by token (use 1)");
    const auto matrix = SchedulingMatrix::make(plan.matrix, 1, model.grid().sampling_steps(), plan.uncertainty_scale);
    std::vector<torch::Tensor> generated;
    for (int64_t t = 0; t < P; ++t) {
      auto cond_t = cond[P + t].clone();  // [B, C]
      fill_lags(d, cond_t, generated, P + t, P);
      auto r = sampler.sample_chunk(z, matrix, {}, cond_t.unsqueeze(0), nullptr, gen);
      generated.push_back(r.x[0]);
      z = r.z;
    }
    forecast = torch::stack(generated);
  }
  // [P, S*W, D] -> [S, W, P, D]
  return (forecast.to(torch::kCPU).view({P, S, W, -1}).permute({1, 2, 0, 3}) + anchors.unsqueeze(1)).contiguous();
}

ValidationForecasts validation_forecasts(DiffusionForcingModel& model, const Config& c) {
  const auto& d = load_time_series(c);
  const auto tasks = validation_tasks(c);
  const auto samples = sample_forecasts(model, c, tasks, c.get_int("timeseries.validation_samples"),
                                        static_cast<uint64_t>(c.get_int("timeseries.validation_seed")));
  return {d.normalizer.denormalize(samples), task_truth(tasks, d.prediction_length)};
}

}  // namespace ts

namespace {

class TimeSeriesDomain : public Domain {
 public:
  std::string name() const override { return "timeseries"; }
  std::string defaults_yaml() const override {
    return R"(timeseries:
  dataset_path: data/timeseries/exchange_rate_nips.tar.gz  # GluonTS archive or extracted directory
  dataset: exchange_rate_nips # GluonTS name: freq / prediction length / windows from the spec table
  freq: ""                    # "" = metadata, else the spec; e.g. B, H, 30min
  prediction_length: 0        # 0 = metadata, else the spec (= context length)
  rolling_windows: 0          # test windows evaluated; 0 = every window of the test file
  max_target_dim: 2000        # MultivariateGrouper keeps the first min(2000, N) series
  use_covariates: false       # false = the released code (covariates computed but never fed)
  num_samples: 100            # forecast samples per test window (df_forecast)
  validation_samples: 100     # samples per validation block
  validation_blocks: 0        # blocks of the training range; 0 = as many as test windows
  validation_seed: 0          # fixed (the reference's choice is unseeded)
  anchor: none                # none (reference) | last_context: model each window relative to its last context value
)";
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
    c.require_choice("timeseries.anchor", {"none", "last_context"});
  }
  std::unique_ptr<SequenceDataset> make_dataset(const Config& c) const override {
    check(c.get_int("diffusion.frame_stack") == 1, "diffusion.frame_stack: time series use one step per token (1)");
    return std::make_unique<ts::ForecastWindows>(ts::load_time_series(c), ts::anchored_to_last_context(c));
  }
  std::map<std::string, double> validate(DiffusionForcingModel& model, const Config& c, int64_t) const override {
    const auto f = ts::validation_forecasts(model, c);
    const auto m = timeseries::forecast_metrics(f.samples, f.truth);
    return {{"crps_sum", m.crps_sum},
            {"crps_sum_gluonts", timeseries::crps_sum(f.samples, f.truth, timeseries::QuantileRule::kGluonTS)},
            {"crps_mean", m.crps_mean},
            {"mse", m.mse}};
  }
  torch::Tensor default_context(const Config& c, int64_t batch, uint64_t seed) const override {
    // P consecutive steps of the normalised training series at random offsets: [P, B, D].
    const auto& d = ts::load_time_series(c);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    const int64_t P = d.prediction_length;
    const auto starts = torch::randint(0, d.train_normalized.size(0) - P + 1, {batch}, gen, torch::kLong);
    const auto index = (torch::arange(P, torch::kLong).unsqueeze(1) + starts.unsqueeze(0)).flatten();
    const auto context = d.train_normalized.index_select(0, index).view({P, batch, -1});
    // An anchored model reads values relative to the last context token (df_sample's output is too).
    return ts::anchored_to_last_context(c) ? context - context[P - 1] : context;
  }
};

}  // namespace

std::unique_ptr<Domain> make_timeseries_domain() { return std::make_unique<TimeSeriesDomain>(); }

}  // namespace df::app
