#include "df/training/trainer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "df/core/compat.h"
#include "df/core/error.h"
#include "df/core/progress.h"
#include "df/training/checkpoint.h"

namespace df {


namespace {

// Rewrites a CSV keeping the header and the complete rows whose first column (step) is <= max_step, so that a
// resumed run neither duplicates rows logged after its last checkpoint nor keeps a row torn by a kill in the
// middle of a write (text after the last newline, e.g. "13" of a half-written "130,..."). The rewrite goes
// through a temp file and a rename: a kill during it leaves the old file.
void truncate_csv(const std::string& path, int64_t max_step) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) return;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  in.close();
  const std::string text = buffer.str();
  std::string kept;
  bool header = true;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = text.substr(start, end - start);
    if (header) {
      kept += line + "\n";
      header = false;
      continue;
    }
    int64_t step = 0;
    const char* first = line.data();
    const char* comma = first + std::min(line.find(','), line.size());
    const auto parsed = std::from_chars(first, comma, step);
    if (parsed.ec == std::errc() && parsed.ptr == comma && comma != first && step <= max_step) kept += line + "\n";
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << kept;
    check(out.good(), tmp + ": cannot write while truncating " + path + " to step " + std::to_string(max_step));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  check(!ec, path + ": cannot replace it with the truncated copy: " + ec.message());
}


}  // namespace

Trainer::Trainer(DiffusionForcingModel& model, SequenceDataset& dataset, TrainerOptions options, TrainerHooks hooks)
    : model_(&model), dataset_(&dataset), options_(std::move(options)), hooks_(std::move(hooks)) {
  check(options_.batch_size >= 1, "training.batch_size must be >= 1");
  check(options_.steps >= 0, "training.steps must be >= 0");
  const bool cuda = model.device().is_cuda();
  check(options_.precision == Precision::Fp32 || cuda,
        "training.precision: fp16 and bf16 autocast need a CUDA device; use fp32 on " + model.device().str());
  optimizer_ = make_adamw(model.parameters(), options_.optimizer);
  ema_ = WeightEma(model, options_.ema_decay);
  scaler_ = LossScaler(options_.precision == Precision::Fp16);
}

torch::Generator Trainer::step_generator(uint64_t seed, int64_t step) {
  // splitmix64 of (seed, step): independent streams per step.
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(step) + 0x632BE59BD9B4E019ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return at::make_generator<at::CPUGeneratorImpl>(x);
}

double Trainer::train_step(int64_t step) {
  model_->train();
  auto gen = step_generator(options_.seed, step);
  const auto device = model_->device();
  const auto batch = dataset_->sample(options_.batch_size, gen).to(device);
  const int64_t T = batch.x.size(0), B = batch.x.size(1);
  // Levels and noise are drawn on the CPU from the step's generator, then moved: identical on any device.
  const auto levels =
      sample_training_levels(options_.levels, T, B, model_->schedule().timesteps(), torch::kCPU, gen).to(device);
  const auto eps = torch::randn(batch.x.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat)).to(device);
  const auto z0 = model_->denoiser().initial_latent(B, batch.first_observation);

  set_lr(*optimizer_, scheduled_lr(options_.optimizer, step));
  optimizer_->zero_grad();
  torch::Tensor loss;
  {
    AutocastGuard autocast(device, options_.precision == Precision::Bf16 ? torch::kBFloat16 : torch::kHalf,
                           options_.precision != Precision::Fp32);
    const bool teacher_forcing = options_.levels.mode == TrainingNoise::TeacherForcing;
    loss = model_->training_loss(batch.x, z0, levels, eps, batch.mask, batch.cond, teacher_forcing).loss;
  }
  const double value = loss.item<double>();
  if (!std::isfinite(value))
    throw Error("training: non-finite loss (" + std::to_string(value) + ") at step " + std::to_string(step + 1) +
                "; stopping. The last good checkpoint is kept in " + options_.run_dir);
  (loss * scaler_.scale()).backward();
  const auto params = model_->parameters();
  if (scaler_.unscale_and_check(params)) {
    if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, options_.grad_clip);
    optimizer_->step();
    ema_.update(*model_);
  }
  return value;
}

void Trainer::save(const std::string& path, int64_t steps_done) {
  Checkpoint c;
  c.step = steps_done;
  c.config_yaml = options_.config_yaml;
  c.model = state_dict(*model_);
  if (ema_.enabled()) c.ema = ema_.shadow();
  c.optimizer_state = serialize_optimizer(*optimizer_);
  c.scalars["loss_scale"] = scaler_.scale();
  c.scalars["loss_scale_good_steps"] = static_cast<double>(scaler_.good_steps());
  c.scalars["best_metric"] = best_metric_;
  c.scalars["validations_without_improvement"] = static_cast<double>(validations_without_improvement_);
  save_checkpoint(path, c);
}

void Trainer::restore(const std::string& path) {
  const auto c = load_checkpoint(path);
  load_state_dict(*model_, c.model, path);
  deserialize_optimizer(*optimizer_, c.optimizer_state, path);
  if (ema_.enabled()) {
    check(!c.ema.empty(), path + ": EMA is enabled but the checkpoint has no EMA weights");
    for (auto& [name, t] : ema_.shadow()) t.copy_(c.ema.at(name));
  }
  steps_done_ = c.step;
  if (c.scalars.count("loss_scale"))
    scaler_.set_state(c.scalars.at("loss_scale"), static_cast<int64_t>(c.scalars.at("loss_scale_good_steps")));
  if (c.scalars.count("best_metric")) best_metric_ = c.scalars.at("best_metric");
  if (c.scalars.count("validations_without_improvement"))
    validations_without_improvement_ = static_cast<int64_t>(c.scalars.at("validations_without_improvement"));
}

std::map<std::string, double> Trainer::run_validation(int64_t steps_done) {
  if (!hooks_.validate) return {};
  model_->eval();
  std::map<std::string, double> metrics;
  if (ema_.enabled()) {
    // Validate the EMA weights, then put the training weights back.
    const auto training_weights = state_dict(*model_);
    TensorMap saved;
    for (const auto& [k, v] : training_weights) saved[k] = v.detach().clone();
    ema_.copy_to(*model_);
    metrics = hooks_.validate(*model_, steps_done);
    load_state_dict(*model_, saved, "training weights");
  } else {
    metrics = hooks_.validate(*model_, steps_done);
  }
  model_->train();
  if (!options_.run_dir.empty() && !metrics.empty()) {
    const auto path = options_.run_dir + "/validation.csv";
    const bool fresh = !std::filesystem::exists(path);
    std::ofstream out(path, std::ios::app);
    if (fresh) {
      out << "step";
      for (const auto& [k, v] : metrics) out << "," << k;
      out << "\n";
    }
    out << steps_done;
    for (const auto& [k, v] : metrics) out << "," << v;
    out << "\n";
  }
  std::string line;
  for (const auto& [k, v] : metrics) line += fmt::format(" {}={:.6g}", k, v);
  spdlog::info("validation at step {}:{}", steps_done, line);
  if (!options_.best_metric.empty()) {
    check(metrics.count(options_.best_metric), "training.best_metric: validation did not report \"" +
                                                   options_.best_metric + "\"");
    const double value = metrics.at(options_.best_metric);
    if (value < best_metric_) {
      best_metric_ = value;
      validations_without_improvement_ = 0;
      if (!options_.run_dir.empty()) save(options_.run_dir + "/best.pt", steps_done);
    } else {
      ++validations_without_improvement_;
    }
  }
  return metrics;
}

TrainingSummary Trainer::run(bool resume) {
  TrainingSummary summary;
  std::string metrics_path;
  if (!options_.run_dir.empty()) {
    std::filesystem::create_directories(options_.run_dir);
    metrics_path = options_.run_dir + "/metrics.csv";
  }
  if (resume) {
    check(!options_.run_dir.empty(), "resume: no run directory");
    restore(options_.run_dir + "/checkpoint.pt");
    truncate_csv(metrics_path, steps_done_);
    truncate_csv(options_.run_dir + "/validation.csv", steps_done_);
    spdlog::info("resumed from {}/checkpoint.pt at step {}", options_.run_dir, steps_done_);
  } else if (!metrics_path.empty()) {
    std::ofstream(metrics_path) << "step,loss,lr,steps_per_s\n";
    std::filesystem::remove(options_.run_dir + "/validation.csv");
  }
  std::ofstream metrics;
  if (!metrics_path.empty()) metrics.open(metrics_path, std::ios::app);

  using clock = std::chrono::steady_clock;
  auto last_checkpoint_time = clock::now();
  const std::chrono::duration<double> checkpoint_interval(options_.checkpoint_minutes * 60.0);
  int64_t checkpointed_step = -1;  // step of the last checkpoint.pt written by this call; -1 = none (or stale)
  // metrics.csv is flushed before every checkpoint write: a resume drops the rows past the checkpoint's step,
  // so every row up to it must already be on disk.
  const auto write_checkpoint = [&] {
    if (options_.run_dir.empty()) return;
    if (metrics.is_open()) metrics.flush();
    save(options_.run_dir + "/checkpoint.pt", steps_done_);
    checkpointed_step = steps_done_;
    last_checkpoint_time = clock::now();
  };
  auto window_start = clock::now();
  int64_t window_steps = 0;
  double rate = 0;
  while (steps_done_ < options_.steps) {
    if (hooks_.should_stop && hooks_.should_stop()) {
      summary.interrupted = true;
      break;
    }
    const int64_t step = steps_done_;
    const double loss = train_step(step);
    ++steps_done_;
    ++window_steps;
    summary.losses.push_back(loss);
    summary.last_loss = loss;
    const double elapsed = std::chrono::duration<double>(clock::now() - window_start).count();
    if (elapsed > 0) rate = window_steps / elapsed;
    if (metrics.is_open())
      metrics << steps_done_ << "," << fmt::format("{:.9g}", loss) << "," << scheduled_lr(options_.optimizer, step) << ","
              << rate << "\n";
    const double eta = rate > 0 ? (options_.steps - steps_done_) / rate : INFINITY;
    if (options_.log_every > 0 && (steps_done_ % options_.log_every == 0 || steps_done_ == options_.steps)) {
      spdlog::info("step {}/{}  loss {:.5f}  {:.2f} steps/s  ETA {}", steps_done_, options_.steps, loss, rate,
                   format_duration(eta));
      metrics.flush();
    }
    bool stop = false;
    if (options_.validate_every > 0 && steps_done_ % options_.validate_every == 0 && steps_done_ < options_.steps) {
      run_validation(steps_done_);
      if (options_.early_stopping_patience > 0 &&
          validations_without_improvement_ >= options_.early_stopping_patience) {
        spdlog::info("early stopping: {} validations without improvement of {}", validations_without_improvement_,
                     options_.best_metric);
        summary.stopped_early = stop = true;
      }
    }
    if (hooks_.on_step && !hooks_.on_step({steps_done_, options_.steps, loss, rate, eta})) stop = true;
    if (stop) break;  // the checkpoint is written below
    const bool periodic = options_.checkpoint_every > 0 && steps_done_ % options_.checkpoint_every == 0;
    const bool timed = options_.checkpoint_minutes > 0 && clock::now() - last_checkpoint_time >= checkpoint_interval;
    if (periodic || timed) write_checkpoint();
  }
  if (summary.interrupted) {
    spdlog::info("stop requested at step {}/{}", steps_done_, options_.steps);
  } else if (!summary.stopped_early && steps_done_ >= options_.steps) {
    run_validation(steps_done_);
    checkpointed_step = -1;  // validation may have changed the best metric and the patience count
  }
  if (checkpointed_step != steps_done_) write_checkpoint();
  summary.steps_done = steps_done_;
  summary.best_metric = best_metric_;
  return summary;
}

}  // namespace df
