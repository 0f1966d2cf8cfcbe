#include "df/training/experiment.h"

#include "df/core/error.h"
#include "df/models/resmlp_gru.h"
#include "df/models/unet_conv_gru.h"

namespace df {

const std::string& core_config_defaults() {
  static const std::string text = R"(# Core sections of every experiment (defaults; also the schema).
experiment:
  name: experiment
  domain: compositional       # which data / evaluation this run uses
  seed: 0
  device: auto                # auto | cpu | cuda | cuda:N
  run_dir: runs/experiment
model:
  kind: resmlp_gru            # resmlp_gru | unet_conv_gru
  network_size: 16            # ResMLP width 32*ns, embedding ns / U-Net base width
  z_dim: 128                  # resmlp_gru latent size
  z_channels: 16              # unet_conv_gru latent channels (same H, W as the token)
  num_mlp_layers: 4
  num_gru_layers: 1
  dim_mults: [1, 2, 4, 8]
  initial_latent: zeros       # zeros | learned | observation_encoder
diffusion:
  schedule: cosine            # linear | cosine | sigmoid
  timesteps: 1000
  objective: x0               # x0 | eps | v
  loss_weighting: constant    # constant | min_snr | fused_min_snr
  snr_clip: 5.0
  cum_snr_decay: 0.9          # per frame; raised to the power frame_stack
  frame_stack: 1
  clip_noise: 20.0
  loss_scale: 1.0
  sampling_steps: 50
  eta: 0.0
  training_noise: independent # independent | teacher_forcing | full_sequence
  first_token_clean_prob: 0.0
training:
  steps: 1000
  batch_size: 32
  lr: 0.0002
  weight_decay: 0.0001
  betas: [0.9, 0.999]
  warmup_steps: 100
  lr_schedule: constant       # constant (reference) | cosine (decay to lr * min_lr_ratio at training.steps)
  min_lr_ratio: 0.0
  grad_clip: 0.0
  ema_decay: 0.0
  precision: fp32             # fp32 | fp16 | bf16 (CUDA only)
  log_every: 50
  validate_every: 0
  checkpoint_every: 500
  checkpoint_minutes: 0.0     # also write checkpoint.pt after this much wall time since the last one (0 = off)
  best_metric: ""
  early_stopping_patience: 0
sampling:
  matrix: pyramid             # autoregressive | full_sequence | pyramid | trapezoid
  uncertainty_scale: 1.0
  chunk_size: 1
  reference_walk: true        # the authors' walk; false = Algorithm 2 with stabilization (B.4)
  overwrite_finished: true
  stabilization_level: -1     # -1 = grid level 1
  stabilization_input: clean  # clean | scaled | noised
  guidance_scale: 0.0
  mcg_samples: 1
  context_q_sample: false
)";
  return text;
}

Config make_experiment_config(const std::string& domain_defaults_yaml) {
  auto c = Config::from_defaults(core_config_defaults() + "\n" + domain_defaults_yaml);
  c.require_choice("model.kind", {"resmlp_gru", "unet_conv_gru"});
  c.require_choice("model.initial_latent", {"zeros", "learned", "observation_encoder"});
  for (const auto* key : {"model.network_size", "model.z_dim", "model.z_channels", "model.num_mlp_layers",
                          "diffusion.timesteps", "diffusion.snr_clip", "diffusion.frame_stack", "diffusion.clip_noise",
                          "diffusion.loss_scale", "diffusion.sampling_steps", "training.batch_size", "training.lr",
                          "sampling.chunk_size", "sampling.mcg_samples"})
    c.require_positive(key);
  for (const auto* key : {"model.num_gru_layers", "diffusion.eta", "training.steps", "training.weight_decay",
                          "training.warmup_steps", "training.grad_clip", "training.log_every", "training.validate_every",
                          "training.checkpoint_every", "training.checkpoint_minutes",
                          "training.early_stopping_patience", "sampling.uncertainty_scale"})
    c.require_non_negative(key);
  c.require_range("diffusion.cum_snr_decay", 0.0, 1.0);
  c.require_range("diffusion.first_token_clean_prob", 0.0, 1.0);
  c.require_range("training.ema_decay", 0.0, 0.999999);
  c.require_choice("diffusion.schedule", {"linear", "cosine", "sigmoid"});
  c.require_choice("diffusion.objective", {"x0", "eps", "v"});
  c.require_choice("diffusion.loss_weighting", {"constant", "min_snr", "fused_min_snr"});
  c.require_choice("diffusion.training_noise", {"independent", "teacher_forcing", "full_sequence"});
  c.require_choice("training.precision", {"fp32", "fp16", "bf16"});
  c.require_choice("training.lr_schedule", {"constant", "cosine"});
  c.require_range("training.min_lr_ratio", 0.0, 1.0);
  c.require_choice("sampling.matrix", {"autoregressive", "full_sequence", "pyramid", "trapezoid"});
  c.require_choice("sampling.stabilization_input", {"clean", "scaled", "noised"});
  return c;
}

std::shared_ptr<CausalDenoiser> make_denoiser(const Config& c, const ModelShape& shape) {
  const auto kind = c.get_string("model.kind");
  const auto init = c.get_string("model.initial_latent");
  if (kind == "resmlp_gru") {
    check(shape.x_shape.size() == 1, "model.kind: resmlp_gru needs vector tokens, the data has tokens of rank " +
                                         std::to_string(shape.x_shape.size()) + " (use unet_conv_gru)");
    ResMlpGruOptions o;
    o.x_dim = shape.x_shape[0];
    o.z_dim = c.get_int("model.z_dim");
    o.network_size = c.get_int("model.network_size");
    o.num_mlp_layers = c.get_int("model.num_mlp_layers");
    o.num_gru_layers = c.get_int("model.num_gru_layers");
    check(o.num_gru_layers >= 1, "model.num_gru_layers: resmlp_gru needs at least 1 GRU layer");
    o.cond_dim = shape.cond_dim;
    o.observation_dim = shape.observation_dim;
    o.initial_latent = init == "learned"               ? InitialLatent::Learned
                       : init == "observation_encoder" ? InitialLatent::ObservationEncoder
                                                       : InitialLatent::Zeros;
    return std::make_shared<ResMlpGruDenoiser>(o);
  }
  check(shape.x_shape.size() == 3, "model.kind: unet_conv_gru needs image tokens [C,H,W]");
  check(shape.cond_dim == 0, "model.kind: unet_conv_gru takes no external condition");
  check(init != "observation_encoder", "model.initial_latent: observation_encoder is only for resmlp_gru");
  UnetConvGruOptions o;
  o.x_shape = shape.x_shape;
  o.z_shape = {c.get_int("model.z_channels"), shape.x_shape[1], shape.x_shape[2]};
  o.network_size = c.get_int("model.network_size");
  o.dim_mults = c.get_int_list("model.dim_mults");
  o.num_gru_layers = c.get_int("model.num_gru_layers");
  o.learnable_init_z = init == "learned";
  return std::make_shared<UnetConvGruDenoiser>(o);
}

DiffusionOptions read_diffusion_options(const Config& c) {
  DiffusionOptions d;
  d.schedule.kind = parse_schedule_kind(c.get_string("diffusion.schedule"));
  d.schedule.timesteps = c.get_int("diffusion.timesteps");
  d.schedule.snr_clip = c.get_double("diffusion.snr_clip");
  d.objective = parse_objective(c.get_string("diffusion.objective"));
  d.weighting.kind = parse_loss_weighting(c.get_string("diffusion.loss_weighting"));
  d.weighting.snr_clip = d.schedule.snr_clip;
  d.weighting.cum_snr_decay = c.get_double("diffusion.cum_snr_decay");
  d.weighting.frame_stack = c.get_int("diffusion.frame_stack");
  d.clip_noise = c.get_double("diffusion.clip_noise");
  d.loss_scale = c.get_double("diffusion.loss_scale");
  d.sampling_steps = c.get_int("diffusion.sampling_steps");
  check(d.sampling_steps <= d.schedule.timesteps, "diffusion.sampling_steps: must be <= diffusion.timesteps");
  d.eta = c.get_double("diffusion.eta");
  return d;
}

std::shared_ptr<DiffusionForcingModel> make_model(const Config& c, const ModelShape& shape, torch::Device device) {
  return std::make_shared<DiffusionForcingModel>(make_denoiser(c, shape), read_diffusion_options(c), device);
}

TrainerOptions read_trainer_options(const Config& c, const std::string& run_dir) {
  TrainerOptions t;
  t.steps = c.get_int("training.steps");
  t.batch_size = c.get_int("training.batch_size");
  t.optimizer.lr = c.get_double("training.lr");
  t.optimizer.weight_decay = c.get_double("training.weight_decay");
  const auto betas = c.get_double_list("training.betas");
  check(betas.size() == 2 && betas[0] >= 0 && betas[0] < 1 && betas[1] >= 0 && betas[1] < 1,
        "training.betas: expected two numbers in [0, 1)");
  t.optimizer.beta1 = betas[0];
  t.optimizer.beta2 = betas[1];
  t.optimizer.warmup_steps = c.get_int("training.warmup_steps");
  if (c.get_string("training.lr_schedule") == "cosine") t.optimizer.decay_steps = t.steps;
  t.optimizer.min_lr_ratio = c.get_double("training.min_lr_ratio");
  t.grad_clip = c.get_double("training.grad_clip");
  t.ema_decay = c.get_double("training.ema_decay");
  t.precision = parse_precision(c.get_string("training.precision"));
  t.levels.mode = parse_training_noise(c.get_string("diffusion.training_noise"));
  t.levels.first_token_clean_prob = c.get_double("diffusion.first_token_clean_prob");
  t.seed = static_cast<uint64_t>(c.get_int("experiment.seed"));
  t.log_every = c.get_int("training.log_every");
  t.validate_every = c.get_int("training.validate_every");
  t.checkpoint_every = c.get_int("training.checkpoint_every");
  t.checkpoint_minutes = c.get_double("training.checkpoint_minutes");
  t.run_dir = run_dir;
  t.config_yaml = c.to_yaml();
  t.best_metric = c.get_string("training.best_metric");
  t.early_stopping_patience = c.get_int("training.early_stopping_patience");
  return t;
}

SamplerOptions read_sampler_options(const Config& c) {
  SamplerOptions s;
  s.eta = c.get_double("diffusion.eta");
  s.reference_walk = c.get_bool("sampling.reference_walk");
  s.overwrite_finished = c.get_bool("sampling.overwrite_finished");
  s.stabilization_level = c.get_int("sampling.stabilization_level");
  s.stabilization_input = parse_stabilization_input(c.get_string("sampling.stabilization_input"));
  s.guidance_scale = c.get_double("sampling.guidance_scale");
  s.mcg_samples = c.get_int("sampling.mcg_samples");
  s.context_q_sample = c.get_bool("sampling.context_q_sample");
  return s;
}

ChunkPlan read_chunk_plan(const Config& c) {
  ChunkPlan p;
  p.matrix = parse_schedule_matrix_kind(c.get_string("sampling.matrix"));
  p.uncertainty_scale = c.get_double("sampling.uncertainty_scale");
  p.chunk_size = c.get_int("sampling.chunk_size");
  return p;
}

}  // namespace df
