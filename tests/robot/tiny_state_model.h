// A tiny ResMLP-GRU DF model for state tokens of `dim` entries (robot tests): z 16, width 128, 2 MLP layers,
// learned initial latent, cosine schedule, 2 DDIM steps, in eval mode.
#pragma once
#include <memory>

#include "df/models/diffusion_forcing_model.h"
#include "df/models/resmlp_gru.h"

namespace df::robot {

inline std::shared_ptr<DiffusionForcingModel> tiny_state_model(int64_t dim) {
  torch::manual_seed(0);
  ResMlpGruOptions o;
  o.x_dim = dim;
  o.z_dim = 16;
  o.network_size = 4;
  o.num_mlp_layers = 2;
  o.initial_latent = InitialLatent::Learned;
  DiffusionOptions d;
  d.schedule.kind = ScheduleKind::Cosine;
  d.sampling_steps = 2;
  auto model = std::make_shared<DiffusionForcingModel>(std::make_shared<ResMlpGruDenoiser>(o), d, torch::kCPU);
  model->eval();
  return model;
}

}  // namespace df::robot
