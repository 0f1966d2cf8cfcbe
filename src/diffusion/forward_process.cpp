#include "df/diffusion/forward_process.h"

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df {

torch::Tensor sample_clamped_noise(torch::IntArrayRef shape, const torch::TensorOptions& options, double clip_noise,
                                   c10::optional<torch::Generator> generator) {
  // A CPU generator (the library's explicit seeds) cannot draw on another device: draw on the CPU and move,
  // so results do not depend on the device either.
  if (generator.has_value() && options.device().type() != generator->device().type())
    return torch::randn(shape, generator, options.device(torch::kCPU)).clamp_(-clip_noise, clip_noise).to(options.device());
  return torch::randn(shape, generator, options).clamp_(-clip_noise, clip_noise);
}

torch::Tensor broadcast_to_tokens(const torch::Tensor& coefficient, const torch::Tensor& x) {
  auto sizes = coefficient.sizes().vec();
  check(x.dim() >= coefficient.dim(), "broadcast_to_tokens: x " + shape_str(x) + " has fewer dims than coefficient " +
                                          shape_str(coefficient));
  sizes.resize(static_cast<size_t>(x.dim()), 1);
  return coefficient.view(sizes);
}

torch::Tensor ForwardProcess::noise(const torch::Tensor& x0, const torch::Tensor& levels, const torch::Tensor& eps) const {
  check(levels.dim() == 2 && x0.dim() >= 2 && x0.size(0) == levels.size(0) && x0.size(1) == levels.size(1),
        "ForwardProcess::noise: levels must be [T,B] matching x0's leading dims, got levels " + shape_str(levels) +
            " and x0 " + shape_str(x0));
  check(eps.sizes() == x0.sizes(), "ForwardProcess::noise: eps " + shape_str(eps) + " must match x0 " + shape_str(x0));
  const auto a = broadcast_to_tokens(NoiseSchedule::gather(schedule_->sqrt_alphas_cumprod, levels), x0);
  const auto s = broadcast_to_tokens(NoiseSchedule::gather(schedule_->sqrt_one_minus_alphas_cumprod, levels), x0);
  return a * x0 + s * eps.clamp(-clip_noise_, clip_noise_);
}



torch::Tensor sample_training_levels(const TrainingLevelOptions& options, int64_t num_tokens, int64_t batch_size,
                                     int64_t timesteps, torch::Device device, c10::optional<torch::Generator> generator) {
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  torch::Tensor levels;
  if (options.mode == TrainingNoise::FullSequence) {
    levels = torch::randint(timesteps, {1, batch_size}, generator, long_opts).expand({num_tokens, batch_size}).contiguous();
  } else {
    levels = torch::randint(timesteps, {num_tokens, batch_size}, generator, long_opts);
  }
  if (options.first_token_clean_prob > 0) {
    const auto coin = torch::rand({batch_size}, generator, torch::TensorOptions().device(device));
    levels[0] = torch::where(coin < options.first_token_clean_prob, torch::zeros_like(levels[0]), levels[0]);
  }
  if (options.token_clean_prob > 0) {
    check(options.mode == TrainingNoise::Independent, "token_clean_prob: only with independent training noise");
    const auto coin = torch::rand({num_tokens, batch_size}, generator, torch::TensorOptions().device(device));
    levels = torch::where(coin < options.token_clean_prob, torch::zeros_like(levels), levels);
  }
  return levels;
}

torch::Tensor padding_mask(const torch::Tensor& lengths, int64_t num_tokens) {
  const auto steps = torch::arange(num_tokens, lengths.options().dtype(torch::kLong)).unsqueeze(1);
  return (steps < lengths.to(torch::kLong).unsqueeze(0)).to(torch::kFloat);
}

}  // namespace df
