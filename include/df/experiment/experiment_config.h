// The core sections of an experiment configuration (experiment, model, diffusion, training, sampling):
// their defaults (which are also the schema), range rules, and typed readers that build the model,
// the trainer options and the sampler options. Domains add their own sections on top.
#pragma once
#include <functional>
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
  // Sliding window W in tokens; 0 = none (one latent carries the whole history). With W > 0 the latent is
  // reset before every chunk and the last W - chunk_size tokens are absorbed again: a model that only knows
  // sequences of W tokens (the full-sequence baseline) rolls out past its training length.
  int64_t window = 0;
};
ChunkPlan read_chunk_plan(const Config& config);

// Samples num_tokens tokens after `context` [Tc, B, ...] (may be undefined) as the plan says, chunk by chunk.
// cond [Tc + N, B, C] (optional) covers the context and the new tokens. Each chunk [h, B, ...] goes to
// `on_chunk` when given (nothing is kept; the result is undefined), else the tokens [N, B, ...] are returned.
torch::Tensor rollout_after_context(Sampler& sampler, const ChunkPlan& plan, const torch::Tensor& context,
                                    int64_t batch, int64_t num_tokens, const torch::Tensor& cond,
                                    torch::Generator& generator,
                                    const std::function<void(const torch::Tensor&)>& on_chunk = nullptr);

}  // namespace df
