// Probabilistic forecasting on GluonTS multivariate data (paper appendix D.9 / E.1, reference spec §7):
// each token is the D-dim value of one time step, a training sequence is context + prediction tokens cut
// at random from the normalised training series, validation forecasts blocks of the training range chosen
// with a fixed seed.
#include "df/timeseries/forecast.h"

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>

#include "df/core/error.h"
#include "df/experiment/experiment_config.h"
#include "df/sampling/sampler.h"

namespace df::timeseries {

namespace {

// The learned series-index embedding of the reference is a constant D-vector per token; whatever it
// learns is absorbed by the bias of the condition MLP's first layer (only token 0, kept at 0, differs).
// We therefore feed the fixed index code (i + 1) / D instead of adding a parameter to the core model.
torch::Tensor series_index_code(int64_t target_dim) {
  return (torch::arange(target_dim, torch::kFloat) + 1) / static_cast<float>(target_dim);  // [D]
}

// Covariates [T, C] of a window of a normalised series, token 0 zero, series-index slots filled.
torch::Tensor window_covariates(const TimeSeriesData& d, const torch::Tensor& series, const Timestamp& start,
                                int64_t window_start, int64_t length, int64_t observed_until) {
  auto c = build_window_covariates(series, start, window_start, length, d.layout, observed_until);
  return fill_series_embedding(c, series_index_code(d.layout.target_dim), d.layout);
}

std::string resolved_freq(const Config& c, const GluonTSDataset& data,
                          const std::optional<TimeSeriesSpec>& spec) {
  if (!c.get_string("timeseries.freq").empty()) return c.get_string("timeseries.freq");
  if (!data.freq.empty()) return data.freq;
  check(spec.has_value(), "timeseries.freq: the dataset has no metadata frequency and \"" +
                              c.get_string("timeseries.dataset") + "\" is not a known GluonTS name; set it");
  return spec->freq;
}

TimeSeriesData build(const Config& c) {
  TimeSeriesData d;
  const auto path = c.get_string("timeseries.dataset_path");
  GluonTSReadOptions read;
  read.max_target_dim = c.get_int("timeseries.max_target_dim");
  d.dataset = read_gluonts_dataset(path, read);
  const auto spec = find_time_series_spec(c.get_string("timeseries.dataset"));
  d.freq = parse_frequency(resolved_freq(c, d.dataset, spec));
  d.prediction_length = c.get_int("timeseries.prediction_length");
  if (d.prediction_length == 0) d.prediction_length = d.dataset.prediction_length.value_or(spec ? spec->prediction_length : 0);
  check(d.prediction_length > 0, "timeseries.prediction_length: " + path +
                                     " has no metadata prediction_length and the dataset name is unknown; set it");
  d.rolling_windows = c.get_int("timeseries.rolling_windows");
  if (d.rolling_windows == 0) d.rolling_windows = d.dataset.num_test_windows();
  check(d.rolling_windows <= d.dataset.num_test_windows(),
        "timeseries.rolling_windows: " + path + " has only " + std::to_string(d.dataset.num_test_windows()) +
            " test windows");
  d.normalizer = Normalizer::fit(d.dataset.train);
  // Missing values enter the model as the mean (0 after z-scoring); metrics mask them in the truth.
  d.train_normalized = torch::nan_to_num(d.normalizer.normalize(d.dataset.train), 0.0);
  d.use_covariates = c.get_bool("timeseries.use_covariates");
  if (d.use_covariates) d.layout = make_covariate_layout(d.freq, d.dataset.target_dim);
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

bool anchored_to_last_context(const Config& c) {
  return c.get_enum<ForecastAnchor>("timeseries.anchor") == ForecastAnchor::LastContext;
}

std::unique_ptr<SequenceDataset> make_forecast_windows(const TimeSeriesData& data, bool anchored) {
  return std::make_unique<ForecastWindows>(data, anchored);
}

torch::Tensor random_training_context(const Config& c, int64_t batch, uint64_t seed) {
  const auto& d = load_time_series(c);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const int64_t P = d.prediction_length;
  const auto starts = torch::randint(0, d.train_normalized.size(0) - P + 1, {batch}, gen, torch::kLong);
  const auto index = (torch::arange(P, torch::kLong).unsqueeze(1) + starts.unsqueeze(0)).flatten();
  const auto context = d.train_normalized.index_select(0, index).view({P, batch, -1});
  // An anchored model reads values relative to the last context token (df_sample's output is too).
  return anchored_to_last_context(c) ? context - context[P - 1] : context;
}

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

}  // namespace df::timeseries
