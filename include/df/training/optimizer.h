// Optimisation pieces of the trainer: AdamW, the reference's linear warm-up (no decay afterwards),
// an exponential moving average of the weights, and a dynamic loss scaler for fp16.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

namespace df {

struct OptimizerOptions {
  double lr = 2e-4;
  double weight_decay = 1e-4;
  double beta1 = 0.9, beta2 = 0.999;
  int64_t warmup_steps = 0;
};

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& parameters,
                                                const OptimizerOptions& options);

// lr * min(1, (step + 1) / warmup) for 0-based `step`, as the reference (constant afterwards).
double warmup_lr(const OptimizerOptions& options, int64_t step);
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
