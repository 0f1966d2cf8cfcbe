// Optimisation pieces of the trainer: AdamW, the reference's linear warm-up (constant afterwards, or an
// optional cosine decay for short reduced-budget runs),
// an exponential moving average of the weights, and a dynamic loss scaler for fp16.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

#include "df/core/enum_names.h"

namespace df {

// The learning rate after the warm-up: constant (the reference) or a cosine decay (OptimizerOptions).
enum class LrSchedule { Constant, Cosine };
template <>
struct EnumNames<LrSchedule> {
  static constexpr const char* what = "learning-rate schedule";
  static constexpr EnumName<LrSchedule> table[] = {{LrSchedule::Constant, "constant"}, {LrSchedule::Cosine, "cosine"}};
};

struct OptimizerOptions {
  double lr = 2e-4;
  double weight_decay = 1e-4;
  double beta1 = 0.9, beta2 = 0.999;
  int64_t warmup_steps = 100;  // linear warm-up (the reference: lr * min(1, (step + 1) / warmup))
  // Cosine decay after the warm-up, from lr down to lr * min_lr_ratio at `decay_steps` (0 = no decay,
  // the reference's behaviour). Short CPU runs end far from a minimum with a constant rate; decaying
  // it makes the final weights (the ones that get evaluated) much less noisy.
  int64_t decay_steps = 0;
  double min_lr_ratio = 0.0;
  // First step of the cosine (0 = right after the warm-up): a constant rate until then, a warm-up-stable-
  // decay schedule. It lets a run of many sessions be decayed once its loss flattens, by a config whose
  // schedule equals the one it has run so far.
  int64_t decay_start = 0;
};

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& parameters,
                                                const OptimizerOptions& options);

// Learning rate at 0-based `step`: lr * min(1, (step + 1) / warmup) as the reference, times the cosine
// factor from max(warmup_steps, decay_start) to decay_steps when decay_steps > 0.
double scheduled_lr(const OptimizerOptions& options, int64_t step);
void set_lr(torch::optim::Optimizer& optimizer, double lr);

// Shadow weights w_ema = d w_ema + (1 - d) w after every optimiser step.
class WeightEma {
 public:
  WeightEma() = default;
  WeightEma(const torch::nn::Module& module, double decay);
  bool enabled() const { return decay_ > 0; }
  void update(const torch::nn::Module& module);
  // Copies the shadow weights into the module (for validation / sampling).
  void copy_to(torch::nn::Module& module) const;
  std::map<std::string, torch::Tensor>& shadow() { return shadow_; }
  const std::map<std::string, torch::Tensor>& shadow() const { return shadow_; }

 private:
  double decay_ = 0;
  std::map<std::string, torch::Tensor> shadow_;
};

// fp16 loss scaling: scale the loss, skip steps whose gradients overflow and halve the scale, double
// it after `growth_interval` clean steps.
class LossScaler {
 public:
  explicit LossScaler(bool enabled = false, double initial_scale = 65536.0, int64_t growth_interval = 2000)
      : enabled_(enabled), scale_(initial_scale), growth_interval_(growth_interval) {}
  bool enabled() const { return enabled_; }
  double scale() const { return enabled_ ? scale_ : 1.0; }
  // Unscales gradients in place; returns false (and shrinks the scale) if any is not finite.
  bool unscale_and_check(const std::vector<torch::Tensor>& parameters);
  void set_state(double scale, int64_t good_steps) { scale_ = scale, good_steps_ = good_steps; }
  int64_t good_steps() const { return good_steps_; }

 private:
  bool enabled_;
  double scale_;
  int64_t growth_interval_;
  int64_t good_steps_ = 0;
};

}  // namespace df
