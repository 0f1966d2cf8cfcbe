// The core sections of an experiment configuration (experiment, model, diffusion, training, sampling):
// their defaults (which are also the schema), range rules, and typed readers that build the model,
// the trainer options and the sampler options. Domains add their own sections on top.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "df/core/config.h"
#include "df/diffusion/scheduling_matrix.h"
#include "df/models/diffusion_forcing_model.h"
#include "df/sampling/sampler.h"
#include "df/training/distributed.h"
#include "df/training/trainer.h"

namespace df {

// YAML text of the core sections with their defaults.
const std::string& core_config_defaults();
// Builds the schema: core defaults + the given domain sections (YAML text), with all range rules.
Config make_experiment_config(const std::string& domain_defaults_yaml = "");

struct ModelShape {
  std::vector<int64_t> x_shape;  // one token (frames stacked)
  int64_t cond_dim = 0;
  int64_t observation_dim = 0;   // for an observation-encoded z_0
};

std::shared_ptr<CausalDenoiser> make_denoiser(const Config& config, const ModelShape& shape);
DiffusionOptions read_diffusion_options(const Config& config);
std::shared_ptr<DiffusionForcingModel> make_model(const Config& config, const ModelShape& shape, torch::Device device);
TrainerOptions read_trainer_options(const Config& config, const std::string& run_dir);
DistributedOptions read_distributed_options(const Config& config);
SamplerOptions read_sampler_options(const Config& config);

struct ChunkPlan {
  ScheduleMatrixKind matrix = ScheduleMatrixKind::Pyramid;
  double uncertainty_scale = 1.0;
  int64_t chunk_size = 1;
};
ChunkPlan read_chunk_plan(const Config& config);

}  // namespace df
