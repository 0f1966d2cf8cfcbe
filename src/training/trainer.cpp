#include "df/training/trainer.h"

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "df/core/atomic_file.h"
#include "df/core/compat.h"
#include "df/core/device.h"
#include "df/core/error.h"
#include "df/core/progress.h"
#include "df/models/cpu_convolutions.h"
#include "df/training/checkpoint.h"
#include "df/training/distributed.h"

namespace df {


namespace {

// Rewrites a CSV keeping the header and the complete rows whose first column (step) is <= max_step, so that a
// resumed run neither duplicates rows logged after its last checkpoint nor keeps a row torn by a kill in the
// middle of a write (text after the last newline, e.g. "13" of a half-written "130,..."). The rewrite is
// atomic: a kill during it leaves the old file.
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
  write_text_atomically(path, kept);
}


uint64_t splitmix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

}  // namespace

// The inputs of one step on this rank, on the model's device.
struct Trainer::StepDraw {
  SequenceBatch batch;  // [T, B_rank, ...]
  torch::Tensor levels;  // [T, B_rank]
  torch::Tensor eps;     // like batch.x
};

Trainer::Trainer(DiffusionForcingModel& model, SequenceDataset& dataset, TrainerOptions options, TrainerHooks hooks,
                 ProcessGroup* group)
    : model_(&model), dataset_(&dataset), options_(std::move(options)), hooks_(std::move(hooks)), group_(group) {
  check(options_.batch_size >= 1, "training.batch_size must be >= 1");
  check(options_.steps >= 0, "training.steps must be >= 0");
  check(options_.levels.teacher_forcing_prob >= 0 && options_.levels.teacher_forcing_prob <= 1,
        "diffusion.teacher_forcing_prob must be in [0, 1], got " + std::to_string(options_.levels.teacher_forcing_prob));
  check(options_.levels.teacher_forcing_prob == 0 || options_.levels.mode == TrainingNoise::Independent,
        "diffusion.teacher_forcing_prob: only with diffusion.training_noise independent (teacher forcing steps mix "
        "into DF training), got " + std::to_string(options_.levels.teacher_forcing_prob));
  check(options_.data_shards >= 1 && options_.batch_size % options_.data_shards == 0,
        "training.data_shards (" + std::to_string(options_.data_shards) + ") must divide training.batch_size (" +
            std::to_string(options_.batch_size) + ")");
  if (group_) {
    const int world = group_->world_size();
    check(options_.data_shards % world == 0,
          "training.data_shards (" + std::to_string(options_.data_shards) + ") must be a multiple of the number of "
          "processes (" + std::to_string(world) + "): each process trains on data_shards / processes shards; set "
          "training.data_shards to " + std::to_string(world) + " or a multiple");
  }
  check(options_.shard_threads >= 1 && options_.data_shards % options_.shard_threads == 0,
        "training.shard_threads (" + std::to_string(options_.shard_threads) + ") must divide training.data_shards (" +
            std::to_string(options_.data_shards) + ")");
  if (options_.shard_threads > 1) {
    check(model.device().is_cpu(), "training.shard_threads > 1 is for CPU training; on " + model.device().str() +
                                       " use processes (df_train --nproc) and keep shard_threads at 1");
    check(!group_, "training.shard_threads > 1 with several processes: use one or the other (set shard_threads to 1, "
                   "or run one process)");
  }
  options_.precision = resolve_precision(options_.precision, model.device());
  const bool cuda = model.device().is_cuda();
  check(options_.precision != Precision::Fp16 || cuda,
        "training.precision: fp16 autocast needs a CUDA device (LibTorch's CPU autocast has bf16 only); use bf16 "
        "or fp32 on " + model.device().str());
  optimizer_ = make_adamw(model.parameters(), options_.optimizer);
  ema_ = WeightEma(model, options_.ema_decay);
  scaler_ = LossScaler(options_.precision == Precision::Fp16);
}

Precision resolve_precision(Precision precision, const torch::Device& device) {
  if (precision != Precision::Auto) return precision;
  // Every CUDA device LibTorch 2.x supports runs bf16 autocast; Ampere and later natively.
  if (device.is_cuda()) return Precision::Bf16;
  return device.is_cpu() && cpu_computes_bf16_natively() ? Precision::Bf16 : Precision::Fp32;
}

std::string precision_note(Precision precision, const torch::Device& device, bool* slower) {
  if (slower) *slower = false;
  if (precision == Precision::Auto) {
    const auto resolved = resolve_precision(precision, device);
    if (resolved == Precision::Bf16) return "auto: " + precision_note(resolved, device, slower);
    return device.is_cpu() ? "auto: fp32 (this CPU has no AVX512-BF16 / AMX / ARM BF16: emulated bf16 is slower)"
                           : "auto: fp32 on " + device.str();
  }
  if (precision == Precision::Fp32) return "fp32";
  const std::string name = precision == Precision::Bf16 ? "bf16" : "fp16";
  if (!device.is_cpu()) return name + " autocast on " + device.str();
  std::string isa;
  if (cpu_computes_bf16_natively(&isa))
    return name + " autocast on cpu, native (" + isa + "), convolutions: " + cpu_convolutions();
  if (slower) *slower = true;
  return name + " autocast on cpu, NOT native (no AVX512-BF16 / AMX / ARM BF16): emulated, expect it slower than fp32";
}

torch::Generator Trainer::step_generator(uint64_t seed, int64_t step) {
  // splitmix64 of (seed, step): independent streams per step.
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(step) + 0x632BE59BD9B4E019ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return at::make_generator<at::CPUGeneratorImpl>(x);
}

torch::Generator Trainer::shard_generator(uint64_t seed, int64_t step, int64_t shard) {
  // A second splitmix64 round over (step stream, shard): independent of every step_generator stream.
  const uint64_t step_stream =
      splitmix64(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(step) + 0x632BE59BD9B4E019ULL);
  return at::make_generator<at::CPUGeneratorImpl>(
      splitmix64(step_stream ^ ((static_cast<uint64_t>(shard) + 1) * 0xD1B54A32D192ED03ULL)));
}

bool Trainer::teacher_forcing_step(int64_t step) const {
  if (options_.levels.mode == TrainingNoise::TeacherForcing) return true;
  if (options_.levels.teacher_forcing_prob <= 0) return false;
  auto gen = shard_generator(options_.seed ^ 0x7EAC4E2F0A5C1D93ULL, step, 0);
  return torch::rand({1}, gen).item<double>() < options_.levels.teacher_forcing_prob;
}

bool Trainer::is_root() const { return !group_ || group_->is_root(); }

Trainer::StepDraw Trainer::draw_step(int64_t step, int part, int parts) {
  const auto device = model_->device();
  const auto float_options = torch::TensorOptions().dtype(torch::kFloat);
  StepDraw draw;
  if (options_.data_shards == 1) {  // the whole batch from the step's stream
    auto gen = step_generator(options_.seed, step);
    draw.batch = dataset_->sample(options_.batch_size, gen).to(device);
    const int64_t T = draw.batch.x.size(0), B = draw.batch.x.size(1);
    // Levels and noise are drawn on the CPU from the step's generator, then moved: identical on any device.
    draw.levels =
        sample_training_levels(options_.levels, T, B, model_->schedule().timesteps(), torch::kCPU, gen).to(device);
    draw.eps = torch::randn(draw.batch.x.sizes(), gen, float_options).to(device);
    return draw;
  }
  const int64_t shard_batch = options_.batch_size / options_.data_shards;
  std::vector<SequenceBatch> batches;
  std::vector<torch::Tensor> levels, eps;
  for (int64_t shard = part; shard < options_.data_shards; shard += parts) {
    auto gen = shard_generator(options_.seed, step, shard);
    batches.push_back(dataset_->sample(shard_batch, gen));
    const auto& x = batches.back().x;
    levels.push_back(
        sample_training_levels(options_.levels, x.size(0), x.size(1), model_->schedule().timesteps(), torch::kCPU, gen));
    eps.push_back(torch::randn(x.sizes(), gen, float_options));
  }
  draw.batch = SequenceBatch::concat(batches).to(device);
  draw.levels = torch::cat(levels, 1).to(device);
  draw.eps = torch::cat(eps, 1).to(device);
  return draw;
}

double Trainer::train_step(int64_t step) { return step_impl(step, /*poll_stop=*/false).loss; }

// The loss of one draw under the configured autocast (thread-local: each shard thread opens its own).
torch::Tensor Trainer::draw_loss(const StepDraw& draw, bool teacher_forcing) {
  AutocastGuard autocast(model_->device(), options_.precision == Precision::Bf16 ? torch::kBFloat16 : torch::kHalf,
                         options_.precision != Precision::Fp32);
  const auto& batch = draw.batch;
  const auto z0 = model_->denoiser().initial_latent(batch.x.size(1), batch.first_observation);
  return model_->training_loss(batch.x, z0, draw.levels, draw.eps, batch.mask, batch.cond, teacher_forcing).loss;
}

double Trainer::shard_thread_gradients(int64_t step, bool teacher_forcing) {
  const int parts = static_cast<int>(options_.shard_threads);
  std::vector<StepDraw> draws;  // drawn here, in order: datasets need not be thread-safe
  for (int i = 0; i < parts; ++i) draws.push_back(draw_step(step, i, parts));
  const auto params = model_->parameters();
  std::vector<std::vector<torch::Tensor>> grads(parts);
  std::vector<double> losses(parts);
  std::vector<std::exception_ptr> errors(parts);
  const int threads = at::get_num_threads(), per_part = std::max(1, threads / parts);
  auto work = [&](int i) {
    try {
      at::set_num_threads(per_part);  // also this thread's OpenMP teams (oneDNN, OpenBLAS)
      const auto loss = draw_loss(draws[i], teacher_forcing);
      losses[i] = loss.item<double>();
      // Gradients returned, not accumulated into .grad: the threads never write the same tensor.
      grads[i] = torch::autograd::grad({loss}, params, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                       /*allow_unused=*/true);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  std::vector<std::thread> workers;
  for (int i = 1; i < parts; ++i) workers.emplace_back(work, i);
  work(0);
  for (auto& w : workers) w.join();
  at::set_num_threads(threads);
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  // The mean in part order, as the all-reduce of that many processes computes it (sum, then divide).
  torch::NoGradGuard no_grad;
  for (size_t k = 0; k < params.size(); ++k) {
    torch::Tensor sum;
    for (int i = 0; i < parts; ++i) {
      const auto& g = grads[i][k];
      if (g.defined()) sum = sum.defined() ? sum + g : g.clone();
    }
    if (!sum.defined()) continue;
    sum.div_(parts);
    auto p = params[k];
    p.mutable_grad() = sum;
  }
  double total = 0;
  for (const double l : losses) total += l;
  return total / parts;
}

Trainer::StepResult Trainer::step_impl(int64_t step, bool poll_stop) {
  model_->train();
  set_lr(*optimizer_, scheduled_lr(options_.optimizer, step));
  optimizer_->zero_grad();
  const bool teacher_forcing = teacher_forcing_step(step);
  torch::Tensor loss;  // shard threads: their gradients are already in the parameters
  double value = 0;
  if (options_.shard_threads > 1) {
    value = shard_thread_gradients(step, teacher_forcing);
  } else {
    loss = draw_loss(draw_step(step, group_ ? group_->rank() : 0, group_ ? group_->world_size() : 1), teacher_forcing);
    value = loss.item<double>();
  }
  StepResult result;
  if (group_) {
    // One small all-reduce per step: the mean loss (so that a non-finite loss stops every rank) and the stop
    // requests, before any rank changes its weights.
    const auto totals = group_->sum({value, poll_stop && hooks_.should_stop && hooks_.should_stop() ? 1.0 : 0.0,
                                     hook_stop_pending_ ? 1.0 : 0.0},
                                    "loss and stop requests of step " + std::to_string(step + 1));
    value = totals[0] / group_->world_size();
    result.stop_requested = totals[1] > 0;
    result.stop_by_hook = totals[2] > 0;
    if (result.stop_requested || result.stop_by_hook) return result;
  }
  if (!std::isfinite(value))
    throw Error("training: non-finite loss (" + std::to_string(value) + ") at step " + std::to_string(step + 1) +
                "; stopping. The last good checkpoint is kept in " + options_.run_dir);
  if (loss.defined()) (loss * scaler_.scale()).backward();
  const auto params = model_->parameters();
  // The loss scaler and the clipping see the averaged gradients, so every rank takes the same step.
  if (group_) group_->average_gradients(params, "gradients of step " + std::to_string(step + 1));
  if (scaler_.unscale_and_check(params)) {
    if (options_.grad_clip > 0) torch::nn::utils::clip_grad_norm_(params, options_.grad_clip);
    optimizer_->step();
    ema_.update(*model_);
  }
  result.loss = value;
  return result;
}

uint64_t Trainer::weights_fingerprint() {
  std::vector<torch::Tensor> tensors;
  for (const auto& [name, t] : state_dict(*model_)) tensors.push_back(t);
  for (const auto& [name, t] : ema_.shadow()) tensors.push_back(t);
  return tensor_fingerprint(tensors);
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
  check(c.scalars.count("weights_only") == 0,
        path + ": holds inference weights only (df_export_weights), no optimizer state: training cannot resume from it");
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

void Trainer::validate_and_share(int64_t steps_done) {
  if (is_root()) run_validation(steps_done);
  if (!group_) return;
  // Rank 0 validated; every rank takes its outcome, so early stopping ends them all at the same step.
  const auto outcome = group_->broadcast({best_metric_, static_cast<double>(validations_without_improvement_)}, 0,
                                         "validation outcome at step " + std::to_string(steps_done) +
                                             " (rank 0 validates while the others wait; raise "
                                             "distributed.timeout_seconds if validation takes longer)");
  best_metric_ = outcome[0];
  validations_without_improvement_ = static_cast<int64_t>(outcome[1]);
}

TrainingSummary Trainer::run(bool resume) {
  TrainingSummary summary;
  const bool root = is_root();  // with several processes, only rank 0 writes run_dir and logs progress
  std::string metrics_path;
  if (!options_.run_dir.empty() && root) {
    std::filesystem::create_directories(options_.run_dir);
    metrics_path = options_.run_dir + "/metrics.csv";
  }
  if (resume) {
    check(!options_.run_dir.empty(), "resume: no run directory");
    restore(options_.run_dir + "/checkpoint.pt");
    if (root) {
      truncate_csv(metrics_path, steps_done_);
      truncate_csv(options_.run_dir + "/validation.csv", steps_done_);
      spdlog::info("resumed from {}/checkpoint.pt at step {}", options_.run_dir, steps_done_);
    }
  } else if (!metrics_path.empty()) {
    std::ofstream(metrics_path) << "step,loss,lr,steps_per_s\n";
    std::filesystem::remove(options_.run_dir + "/validation.csv");
  }
  if (group_) group_->require_equal(weights_fingerprint(), "weights at step " + std::to_string(steps_done_) +
                                                              " (initialise every rank with the same seed)");
  std::ofstream metrics;
  if (!metrics_path.empty()) metrics.open(metrics_path, std::ios::app);
  if (options_.shard_threads > 1)
    spdlog::info("training: the {} shards of each step on {} threads at once ({} intra-op thread(s) each)",
                 options_.data_shards, options_.shard_threads,
                 std::max<int64_t>(1, at::get_num_threads() / options_.shard_threads));

  using clock = std::chrono::steady_clock;
  auto last_checkpoint_time = clock::now();
  const std::chrono::duration<double> checkpoint_interval(options_.checkpoint_minutes * 60.0);
  int64_t checkpointed_step = -1;  // step of the last checkpoint.pt written by this call; -1 = none (or stale)
  // metrics.csv is flushed before every checkpoint write: a resume drops the rows past the checkpoint's step,
  // so every row up to it must already be on disk.
  const auto write_checkpoint = [&] {
    if (options_.run_dir.empty() || !root) return;
    if (metrics.is_open()) metrics.flush();
    save(options_.run_dir + "/checkpoint.pt", steps_done_);
    checkpointed_step = steps_done_;
    last_checkpoint_time = clock::now();
  };
  auto window_start = clock::now();
  int64_t window_steps = 0;
  double rate = 0;
  hook_stop_pending_ = false;
  while (steps_done_ < options_.steps) {
    if (!group_ && hooks_.should_stop && hooks_.should_stop()) {
      summary.interrupted = true;
      break;
    }
    const int64_t step = steps_done_;
    const auto result = step_impl(step, /*poll_stop=*/true);
    if (result.stop_requested) {  // several processes: the ranks agreed before taking the step
      summary.interrupted = true;
      break;
    }
    if (result.stop_by_hook) break;
    const double loss = result.loss;
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
    if (root && options_.log_every > 0 &&
        (steps_done_ % options_.log_every == 0 || steps_done_ == options_.steps)) {
      spdlog::info("step {}/{}  loss {:.5f}  {:.2f} steps/s  ETA {}", steps_done_, options_.steps, loss, rate,
                   format_duration(eta));
      metrics.flush();
    }
    bool stop = false;
    if (options_.validate_every > 0 && steps_done_ % options_.validate_every == 0 && steps_done_ < options_.steps) {
      validate_and_share(steps_done_);
      if (options_.early_stopping_patience > 0 &&
          validations_without_improvement_ >= options_.early_stopping_patience) {
        if (root)
          spdlog::info("early stopping: {} validations without improvement of {}", validations_without_improvement_,
                       options_.best_metric);
        summary.stopped_early = stop = true;
      }
    }
    if (hooks_.on_step && !hooks_.on_step({steps_done_, options_.steps, loss, rate, eta})) {
      // Several processes: the others learn it at the start of the next step, and all stop there.
      if (group_) hook_stop_pending_ = true;
      else stop = true;
    }
    if (stop) break;  // the checkpoint is written below
    const bool periodic = options_.checkpoint_every > 0 && steps_done_ % options_.checkpoint_every == 0;
    const bool timed = options_.checkpoint_minutes > 0 && clock::now() - last_checkpoint_time >= checkpoint_interval;
    if (periodic || timed) write_checkpoint();
  }
  if (summary.interrupted) {
    if (root) spdlog::info("stop requested at step {}/{}", steps_done_, options_.steps);
  } else if (!summary.stopped_early && steps_done_ >= options_.steps) {
    validate_and_share(steps_done_);
    checkpointed_step = -1;  // validation may have changed the best metric and the patience count
  }
  if (checkpointed_step != steps_done_) write_checkpoint();
  // Every rank took the same optimizer steps on the same averaged gradients: their weights must be identical.
  // This is also the barrier that keeps the other ranks until rank 0 has written its checkpoint.
  if (group_) group_->require_equal(weights_fingerprint(), "weights after step " + std::to_string(steps_done_));
  summary.steps_done = steps_done_;
  summary.best_metric = best_metric_;
  return summary;
}

}  // namespace df
