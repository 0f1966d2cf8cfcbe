// The trainer knows nothing about mazes or video: it draws batches from a SequenceDataset, samples
// per-token noise levels, minimises the Diffusion Forcing loss with AdamW, and calls hooks.
//
// Reproducibility: every random draw of step s comes from a generator seeded with f(seed, s), so a run
// resumed from a checkpoint at step s continues exactly as if it had never stopped (bit for bit on CPU).
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

enum class Precision { Fp32, Fp16, Bf16 };
template <>
struct EnumNames<Precision> {
  static constexpr const char* what = "precision";
  static constexpr EnumName<Precision> table[] = {
      {Precision::Fp32, "fp32"}, {Precision::Fp16, "fp16"}, {Precision::Bf16, "bf16"}};
};

struct TrainerOptions {
  int64_t steps = 1000;
  int64_t batch_size = 32;
  OptimizerOptions optimizer;
  double grad_clip = 0.0;   // max global grad norm; 0 = off
  double ema_decay = 0.0;   // 0 = off
  Precision precision = Precision::Fp32;  // fp16 / bf16 autocast on CUDA only
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
  // Called after every step; return false to stop (a checkpoint is written first).
  std::function<bool(const TrainingProgress&)> on_step;
  // Polled before every step, so it must be cheap (e.g. StopSignalGuard::requested from
  // df/core/stop_signal.h, one flag read). When it returns true, the trainer writes checkpoint.pt at the
  // current step, skips the final validation and returns with TrainingSummary::interrupted set;
  // run(resume = true) later continues exactly.
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

class Trainer {
 public:
  Trainer(DiffusionForcingModel& model, SequenceDataset& dataset, TrainerOptions options, TrainerHooks hooks = {});

  // Trains to options.steps. With resume = true, continues from run_dir/checkpoint.pt.
  TrainingSummary run(bool resume = false);

  // One optimisation step s (0-based); returns the loss. Throws df::Error on a non-finite loss.
  double train_step(int64_t step);
  void save(const std::string& path, int64_t steps_done);

  static torch::Generator step_generator(uint64_t seed, int64_t step);

 private:
  void restore(const std::string& path);
  std::map<std::string, double> run_validation(int64_t steps_done);

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
};

}  // namespace df
