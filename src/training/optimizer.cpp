#include "df/training/optimizer.h"

#include <algorithm>
#include <cmath>

#include "df/core/error.h"

namespace df {

std::unique_ptr<torch::optim::AdamW> make_adamw(const std::vector<torch::Tensor>& parameters,
                                                const OptimizerOptions& o) {
  auto options = torch::optim::AdamWOptions(o.lr).betas({o.beta1, o.beta2}).weight_decay(o.weight_decay);
  return std::make_unique<torch::optim::AdamW>(parameters, options);
}

double scheduled_lr(const OptimizerOptions& o, int64_t step) {
  double lr = o.lr;
  if (o.warmup_steps > 0) lr *= std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(o.warmup_steps));
  const int64_t start = std::max(o.warmup_steps, o.decay_start);
  if (o.decay_steps > start && step >= start) {
    const double progress =
        std::min(1.0, static_cast<double>(step - start) / static_cast<double>(o.decay_steps - start));
    const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
    lr *= o.min_lr_ratio + (1.0 - o.min_lr_ratio) * cosine;
  }
  return lr;
}

void set_lr(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

WeightEma::WeightEma(const torch::nn::Module& module, double decay) : decay_(decay) {
  if (decay <= 0) return;
  torch::NoGradGuard no_grad;
  for (const auto& p : module.named_parameters(true)) shadow_[p.key()] = p.value().detach().clone();
}

void WeightEma::update(const torch::nn::Module& module) {
  if (!enabled()) return;
  torch::NoGradGuard no_grad;
  for (const auto& p : module.named_parameters(true)) shadow_.at(p.key()).mul_(decay_).add_(p.value().detach(), 1 - decay_);
}

void WeightEma::copy_to(torch::nn::Module& module) const {
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters(true)) p.value().copy_(shadow_.at(p.key()));
}

bool LossScaler::unscale_and_check(const std::vector<torch::Tensor>& parameters) {
  if (!enabled_) return true;
  std::vector<torch::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  bool finite = true;
  if (!grads.empty()) {
    std::vector<torch::Tensor> flags;
    for (auto& g : grads) flags.push_back(torch::isfinite(g).all());
    finite = torch::stack(flags).all().item<bool>();
  }
  if (!finite) {
    scale_ = std::max(scale_ * 0.5, 1.0);
    good_steps_ = 0;
    return false;
  }
  for (auto& g : grads) g.div_(scale_);
  if (++good_steps_ >= growth_interval_) {
    scale_ *= 2;
    good_steps_ = 0;
  }
  return true;
}

}  // namespace df
