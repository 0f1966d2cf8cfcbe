// The trainer knows nothing about mazes or video: it draws batches from a SequenceDataset, samples
// per-token noise levels, minimises the Diffusion Forcing loss with AdamW, and calls hooks.
//
// Reproducibility: every random draw of step s comes from a generator seeded with f(seed, s), so a run
// resumed from a checkpoint at step s continues exactly as if it had never stopped (bit for bit on CPU).
//
// Data parallelism (df/training/distributed.h): with data_shards = S the global batch of each step is S
// shards of batch_size / S sequences, shard i drawn (data, noise levels, noise) from its own generator
// f(seed, s, i). Rank r of W processes trains on the shards i = r, r + W, ...; gradients are averaged over the
// ranks before the optimizer step, so every rank holds the same weights. One process with S shards and W
// processes with S shards see the same data; a run resumes with any W that divides S.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>

#include "df/data/sequence_dataset.h"
#include "df/diffusion/forward_process.h"
#include "df/models/diffusion_forcing_model.h"
#include "df/training/optimizer.h"

#include "df/core/enum_names.h"

namespace df {

// Auto: bf16 autocast where the device computes bf16 natively (a CUDA device; a CPU with AVX512-BF16, AMX or ARM
// BF16), fp32 elsewhere. It is resolved by each process (resolve_precision), so a run continued on another
// machine uses that machine's best: emulated bf16 is slower than fp32 (README, "bf16 on the CPU").
enum class Precision { Fp32, Fp16, Bf16, Auto };
template <>
struct EnumNames<Precision> {
  static constexpr const char* what = "precision";
  static constexpr EnumName<Precision> table[] = {
      {Precision::Fp32, "fp32"}, {Precision::Fp16, "fp16"}, {Precision::Bf16, "bf16"}, {Precision::Auto, "auto"}};
};

// The precision a process trains in on `device`: Auto resolved as above, any other value unchanged.
Precision resolve_precision(Precision precision, const torch::Device& device);

// One line for the log: the precision and, for bf16 on a CPU, whether the processor computes bf16 natively
// ("bf16 autocast on cpu, native (AVX512-BF16)"); `slower` is set when bf16 is emulated (expect it slower
// than fp32). Auto is noted as what it resolves to ("auto: fp32 (...)").
std::string precision_note(Precision precision, const torch::Device& device, bool* slower = nullptr);

struct TrainerOptions {
  int64_t steps = 1000;
  int64_t batch_size = 32;
  OptimizerOptions optimizer;
  double grad_clip = 0.0;   // max global grad norm; 0 = off
  double ema_decay = 0.0;   // 0 = off
  // Autocast of the forward pass: fp16 / bf16 on CUDA, bf16 on the CPU. Weights, gradients and the optimizer
  // stay fp32 (master weights); see precision_note().
  Precision precision = Precision::Fp32;
  TrainingLevelOptions levels;
  uint64_t seed = 0;
  int64_t log_every = 50;
  int64_t validate_every = 0;     // 0 = never
  int64_t checkpoint_every = 500;  // steps between checkpoint.pt writes; 0 = only at the end
  // Also write checkpoint.pt once this much wall time has passed since the last write (0 = off), so that a
  // job killed without warning (SIGKILL, node failure) loses at most this much work.
  double checkpoint_minutes = 0.0;
  std::string run_dir;            // checkpoint.pt, best.pt, metrics.csv, validation.csv
  std::string config_yaml;        // stored in checkpoints
  std::string best_metric;        // validation metric to minimise for best.pt / early stopping ("" = none)
  int64_t early_stopping_patience = 0;  // validations without improvement before stopping; 0 = off
  // Independent random streams the global batch is split into (see above). 1 = the whole batch from one
  // stream (f(seed, s)); must divide batch_size, and the number of processes must divide it.
  int64_t data_shards = 1;
  // CPU only: train the shards of one process on this many threads at once, each with an equal share of the
  // LibTorch intra-op threads (at least one), and average their gradients in shard order -- the arithmetic of
  // that many data-parallel processes (same bits), without their communication. Small convolutional steps
  // use a second core far better this way than through intra-op threads (docs/results/performance.md). Must
  // divide data_shards; 1 = off.
  int64_t shard_threads = 1;
};

struct TrainingProgress {
  int64_t step;          // optimizer steps completed
  int64_t total_steps;
  double loss;           // loss of the last step
  double steps_per_second;
  double eta_seconds;
};

struct TrainerHooks {
  // Returns metrics (lower is better for best_metric); called every validate_every steps and at the end.
  std::function<std::map<std::string, double>(DiffusionForcingModel&, int64_t step)> validate;
  // Called after every step; return false to stop (a checkpoint is written first). With several processes
  // the ranks agree on the stop at the start of the next step (a false on any rank stops all of them).
  std::function<bool(const TrainingProgress&)> on_step;
  // Polled before every step, so it must be cheap (e.g. StopSignalGuard::requested from
  // df/core/stop_signal.h, one flag read). When it returns true, the trainer writes checkpoint.pt at the
  // current step, skips the final validation and returns with TrainingSummary::interrupted set;
  // run(resume = true) later continues exactly. With several processes a request on any rank stops all ranks
  // at the same step.
  std::function<bool()> should_stop;
};

struct TrainingSummary {
  int64_t steps_done = 0;
  double last_loss = 0;
  double best_metric = 0;
  bool stopped_early = false;
  bool interrupted = false;    // stopped by hooks.should_stop before options.steps
  std::vector<double> losses;  // per step of this invocation
};

class ProcessGroup;  // df/training/distributed.h

class Trainer {
 public:
  // With a process group (several processes), this process is one rank of a data-parallel job: it trains on
  // its shards, averages gradients with the others, and only rank 0 writes run_dir (checkpoints, CSVs) and
  // runs hooks.validate; the outcome is shared with the other ranks. `group` must outlive the trainer.
  Trainer(DiffusionForcingModel& model, SequenceDataset& dataset, TrainerOptions options, TrainerHooks hooks = {},
          ProcessGroup* group = nullptr);

  // Trains to options.steps. With resume = true, continues from run_dir/checkpoint.pt (every rank reads it).
  TrainingSummary run(bool resume = false);

  // One optimisation step s (0-based); returns the loss (the mean over the ranks). Throws df::Error on a
  // non-finite loss.
  double train_step(int64_t step);
  void save(const std::string& path, int64_t steps_done);

  static torch::Generator step_generator(uint64_t seed, int64_t step);
  // The stream of shard `shard` of step `step` when data_shards > 1.
  static torch::Generator shard_generator(uint64_t seed, int64_t step, int64_t shard);
  // Whether step `step` trains as teacher forcing: always in TeacherForcing mode, with probability
  // levels.teacher_forcing_prob otherwise (a stream of its own, the same on every rank; the step's data, levels
  // and noise do not depend on it).
  bool teacher_forcing_step(int64_t step) const;

 private:
  struct StepDraw;
  struct StepResult {
    double loss = 0;
    bool stop_requested = false;  // several processes: hooks.should_stop on some rank; the step was not taken
    bool stop_by_hook = false;    // several processes: hooks.on_step returned false on some rank last step
  };
  // The shards part, part + parts, ... of step `step` (parts: processes, or shard threads).
  StepDraw draw_step(int64_t step, int part, int parts);
  torch::Tensor draw_loss(const StepDraw& draw, bool teacher_forcing);
  // shard_threads > 1: every thread's loss and gradients; leaves their mean in the gradients, returns the mean loss.
  double shard_thread_gradients(int64_t step, bool teacher_forcing);
  StepResult step_impl(int64_t step, bool poll_stop);
  bool is_root() const;
  void restore(const std::string& path);
  std::map<std::string, double> run_validation(int64_t steps_done);
  void validate_and_share(int64_t steps_done);
  uint64_t weights_fingerprint();

  DiffusionForcingModel* model_;
  SequenceDataset* dataset_;
  TrainerOptions options_;
  TrainerHooks hooks_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  WeightEma ema_;
  LossScaler scaler_;
  int64_t steps_done_ = 0;
  double best_metric_ = std::numeric_limits<double>::infinity();
  int64_t validations_without_improvement_ = 0;
  ProcessGroup* group_ = nullptr;
  bool hook_stop_pending_ = false;  // on_step returned false (several processes: shared at the next step)
};

}  // namespace df
