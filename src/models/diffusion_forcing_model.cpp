#include "df/models/diffusion_forcing_model.h"

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df {

namespace {
LossWeightingOptions with_clip(LossWeightingOptions w, double snr_clip) {
  w.snr_clip = snr_clip;
  return w;
}
}  // namespace

DiffusionForcingModel::DiffusionForcingModel(std::shared_ptr<CausalDenoiser> denoiser, const DiffusionOptions& options,
                                             torch::Device device)
    : denoiser_(std::move(denoiser)),
      options_(options),
      device_(device),
      schedule_(options.schedule, device),
      parameterization_(options.objective, schedule_, options.clip_noise),
      weighting_(with_clip(options.weighting, options.schedule.snr_clip), options.objective, schedule_),
      forward_(schedule_, options.clip_noise),
      grid_(options.schedule.timesteps, options.sampling_steps) {
  check(denoiser_ != nullptr, "DiffusionForcingModel: denoiser is null");
  register_module("denoiser", denoiser_);
  denoiser_->to(device);
}

torch::Tensor DiffusionForcingModel::network_input(const torch::Tensor& x_noisy, const torch::Tensor& levels) const {
  if (options_.input_scale == InputScale::None) return x_noisy;
  const auto scale = schedule_.sqrt_alphas_cumprod.index_select(0, levels.flatten()).view(levels.sizes());
  return x_noisy * broadcast_to_tokens(scale.to(x_noisy.dtype()), x_noisy);
}

StepPrediction DiffusionForcingModel::predict(const torch::Tensor& z_prev, const torch::Tensor& x_noisy,
                                              const torch::Tensor& levels, const torch::Tensor& cond) {
  auto step = denoiser_->step(z_prev, network_input(x_noisy, levels), levels, cond);
  auto prediction = parameterization_.from_output(step.out, x_noisy, levels);
  return {step.z, step.out, prediction};
}

TrainingOutput DiffusionForcingModel::training_loss(const torch::Tensor& x0, const torch::Tensor& z0,
                                                    const torch::Tensor& levels, const torch::Tensor& eps,
                                                    const torch::Tensor& mask, const torch::Tensor& cond,
                                                    bool teacher_forcing) {
  const int64_t T = x0.size(0), B = x0.size(1);
  check(levels.sizes() == torch::IntArrayRef({T, B}),
        "training_loss: levels must be [T,B] = [" + std::to_string(T) + "," + std::to_string(B) + "], got " +
            shape_str(levels));
  const auto clean_eps = eps.clamp(-options_.clip_noise, options_.clip_noise);
  const auto x_noisy = forward_.noise(x0, levels, clean_eps);
  const auto targets = parameterization_.target(x0, clean_eps, levels);
  const auto weights = weighting_.compute(levels);
  SequenceSteps steps;
  if (teacher_forcing) {
    // Next-token diffusion: the history is carried by a clean pass (level 0) over every token, and token t
    // is denoised from the clean latent after tokens < t; with that latent known, all T predictions are
    // one batched step.
    const auto zero = torch::zeros_like(levels);
    const auto clean = denoiser_->forward_sequence(z0, network_input(x0, zero), zero, cond);
    const auto z_prev = torch::cat({z0.unsqueeze(0), clean.z.slice(0, 0, T - 1)});  // [T, B, ...z]
    const auto flat = denoiser_->step(z_prev.flatten(0, 1), network_input(x_noisy, levels).flatten(0, 1),
                                      levels.flatten(), cond.defined() ? cond.flatten(0, 1) : torch::Tensor());
    steps.z = clean.z;
    steps.out = flat.out.reshape(x0.sizes());
  } else {
    steps = denoiser_->forward_sequence(z0, network_input(x_noisy, levels), levels, cond);
  }
  const auto err = (steps.out - targets).pow(2);
  TrainingOutput result;
  result.token_loss = err * broadcast_to_tokens(weights.weight, err);
  if (mask.defined()) result.token_loss = result.token_loss * broadcast_to_tokens(mask, result.token_loss);
  result.loss = result.token_loss.mean() * options_.loss_scale;
  result.x0_pred = parameterization_.from_output(steps.out, x_noisy, levels).x0;
  result.z = steps.z;
  result.cum_snr = weights.cum_snr;
  return result;
}

std::pair<torch::Tensor, torch::Tensor> DiffusionForcingModel::ddim_step(const torch::Tensor& x, const torch::Tensor& z,
                                                                         int64_t index, double eta,
                                                                         const torch::Tensor& noise,
                                                                         const torch::Tensor& cond) {
  const int64_t B = x.size(0);
  const auto x_in = index == 0 ? x.clamp(-options_.clip_noise, options_.clip_noise) : x;
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  const auto k_from = torch::full({B}, grid_.step_from(index), long_opts);
  const auto k_to = torch::full({B}, grid_.step_to(index), long_opts);
  auto step = predict(z, x_in, k_from, cond);
  check(noise.defined() || eta == 0.0 || grid_.step_to(index) < 0,
        "ddim_step: eta > 0 needs a noise tensor except at the final step");
  const auto clamped = noise.defined() ? noise.clamp(-options_.clip_noise, options_.clip_noise) : noise;
  return {ddim_update(schedule_, step.prediction, k_from, k_to, eta, clamped), step.z};
}

}  // namespace df
