// Diffusion Forcing as an algorithm: a causal denoiser cell + noise schedule + parameterization + loss
// weighting. Provides the training loss over a sequence with per-token levels (Algorithm 1), one
// prediction step, and the reference's DDIM step. The scheduling-matrix walk is in sampling/sampler.h.
#pragma once
#include <torch/torch.h>

#include <memory>

#include "df/diffusion/ddim.h"
#include "df/diffusion/forward_process.h"
#include "df/diffusion/loss_weighting.h"
#include "df/diffusion/noise_schedule.h"
#include "df/diffusion/parameterization.h"
#include "df/models/denoiser.h"

namespace df {

struct DiffusionOptions {
  NoiseScheduleOptions schedule;        // kind, K, snr_clip
  Objective objective = Objective::X0;
  LossWeightingOptions weighting;       // snr_clip is taken from schedule.snr_clip
  double clip_noise = 20.0;
  double loss_scale = 1.0;              // extra factor (the reference multiplies the maze loss by 10)
  int64_t sampling_steps = 50;          // S (DDIM)
  double eta = 0.0;
  InputScale input_scale = InputScale::None;  // what the network is fed for x_k (parameterization.h)
};

struct TrainingOutput {
  torch::Tensor loss;          // scalar: plain mean over all tokens and elements of w * err^2 * mask
  torch::Tensor token_loss;    // [T,B,...] weighted, unreduced
  torch::Tensor x0_pred;       // [T,B,...]
  torch::Tensor z;             // [T,B,...z] latents after each token
  torch::Tensor cum_snr;       // [T,B]
};

struct StepPrediction {
  torch::Tensor z;
  torch::Tensor out;
  Prediction prediction;
};

class DiffusionForcingModel : public torch::nn::Module {
 public:
  DiffusionForcingModel(std::shared_ptr<CausalDenoiser> denoiser, const DiffusionOptions& options,
                        torch::Device device);

  // One recurrent step at per-token levels [B] (entries in [0, K)).
  StepPrediction predict(const torch::Tensor& z_prev, const torch::Tensor& x_noisy, const torch::Tensor& levels,
                         const torch::Tensor& cond = {});

  // Training loss of Algorithm 1 for clean tokens x0 [T,B,...] with levels [T,B] and noise eps [T,B,...].
  // z0 [B,...] (initial latent), mask [T,B] (optional, 0 = padding), cond [T,B,C] (optional).
  // teacher_forcing: the latent is carried by a second, clean pass (level 0) over every token, so each
  // token is denoised given a clean history (next-token diffusion baseline).
  TrainingOutput training_loss(const torch::Tensor& x0, const torch::Tensor& z0, const torch::Tensor& levels,
                               const torch::Tensor& eps, const torch::Tensor& mask = {},
                               const torch::Tensor& cond = {}, bool teacher_forcing = false);

  // The reference's DDIM step at paper index i in [0, S-1] (input clamped to +-clip_noise at i = 0).
  std::pair<torch::Tensor, torch::Tensor> ddim_step(const torch::Tensor& x, const torch::Tensor& z, int64_t index,
                                                    double eta, const torch::Tensor& noise,
                                                    const torch::Tensor& cond = {});

  // The network's input for noisy tokens x_k [..., token] at levels [...] (options().input_scale).
  torch::Tensor network_input(const torch::Tensor& x_noisy, const torch::Tensor& levels) const;

  CausalDenoiser& denoiser() { return *denoiser_; }
  std::shared_ptr<CausalDenoiser> denoiser_ptr() { return denoiser_; }
  const NoiseSchedule& schedule() const { return schedule_; }
  const Parameterization& parameterization() const { return parameterization_; }
  const LossWeighting& loss_weighting() const { return weighting_; }
  const ForwardProcess& forward_process() const { return forward_; }
  const DdimGrid& grid() const { return grid_; }
  const DiffusionOptions& options() const { return options_; }
  torch::Device device() const { return device_; }

 private:
  std::shared_ptr<CausalDenoiser> denoiser_;
  DiffusionOptions options_;
  torch::Device device_;
  NoiseSchedule schedule_;
  Parameterization parameterization_;
  LossWeighting weighting_;
  ForwardProcess forward_;
  DdimGrid grid_;
};

}  // namespace df
