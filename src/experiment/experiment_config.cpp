#include "df/experiment/experiment_config.h"

#include "df/core/error.h"
#include "df/models/resmlp_gru.h"
#include "df/models/unet_conv_gru.h"
#include "df/training/distributed.h"

namespace df {

const std::string& core_config_defaults() {
  // Every value comes from the default-constructed option struct that consumes it.
  static const std::string text = [] {
    const ResMlpGruOptions mlp;
    const UnetConvGruOptions unet;
    const DiffusionOptions diffusion;
    const TrainerOptions trainer;
    const OptimizerOptions& opt = trainer.optimizer;
    const SamplerOptions sampler;
    const ChunkPlan chunk;
    const DistributedOptions distributed;
    ConfigDefaults d;
    d.section("experiment")
        .key("name", "experiment")
        .key("domain", "compositional", "which data / evaluation this run uses")
        .key("seed", trainer.seed)
        .key("device", "auto", "auto | cpu | cuda | cuda:N")
        .key("threads", int64_t{0}, "CPU threads for LibTorch; 0 = the cores this process may use")
        .key("run_dir", "runs/experiment");
    d.section("model")
        .key("kind", DenoiserKind::ResMlpGru)
        .key("network_size", mlp.network_size, "ResMLP width 32*ns, embedding ns / U-Net base width")
        .key("z_dim", mlp.z_dim, "resmlp_gru latent size")
        .key("z_channels", int64_t{16}, "unet_conv_gru latent channels (same H, W as the token)")
        .key("num_mlp_layers", mlp.num_mlp_layers)
        .key("num_gru_layers", mlp.num_gru_layers)
        .key("level_embedding_dim", mlp.level_embedding_dim,
             "resmlp_gru noise-level embedding width; 0 = network_size (the reference). Wider (e.g. 32) when "
             "network_size is small: at 4 it can hardly tell a clean token from a noisy one (df/models/resmlp_gru.h)")
        .key("level_film", mlp.level_film,
             "resmlp_gru: the noise level also scales and shifts the first block's hidden units (FiLM; off in the "
             "reference; df/models/resmlp_gru.h)")
        .key("dim_mults", unet.dim_mults)
        .key("attn_heads", unet.attn_heads, "unet_conv_gru attention heads (the reference: 4)")
        .key("attn_dim_head", unet.attn_dim_head, "unet_conv_gru attention width per head (the reference: 32)")
        .key("head_channels", unet.head_channels,
             "unet_conv_gru x_from_z head width; 0 = token channels (the reference). Set it (e.g. 16) for grayscale "
             "frames: a 4-channel head can lose a frame of the stack to one dead ReLU")
        .key("initial_latent", mlp.initial_latent);
    d.section("diffusion")
        .key("schedule", diffusion.schedule.kind)
        .key("timesteps", diffusion.schedule.timesteps)
        .key("objective", diffusion.objective)
        .key("loss_weighting", diffusion.weighting.kind)
        .key("snr_clip", diffusion.schedule.snr_clip)
        .key("cum_snr_decay", diffusion.weighting.cum_snr_decay, "per frame; raised to the power frame_stack")
        .key("frame_stack", diffusion.weighting.frame_stack)
        .key("clip_noise", diffusion.clip_noise)
        .key("loss_scale", diffusion.loss_scale)
        .key("sampling_steps", diffusion.sampling_steps)
        .key("eta", diffusion.eta)
        .key("input_scale", diffusion.input_scale,
             "what the network is fed for a noisy token: none (x_k, the reference) or sqrt_alpha_bar "
             "(parameterization.h)")
        .key("training_noise", trainer.levels.mode)
        .key("first_token_clean_prob", trainer.levels.first_token_clean_prob)
        .key("token_clean_prob", trainer.levels.token_clean_prob,
             "reference's gt_cond_prob: any token clean with this probability (independent noise only)")
        .key("teacher_forcing_prob", trainer.levels.teacher_forcing_prob,
             "share of training steps taken as teacher forcing (clean history; independent noise only)");
    d.section("training")
        .key("steps", trainer.steps)
        .key("batch_size", trainer.batch_size)
        .key("lr", opt.lr)
        .key("weight_decay", opt.weight_decay)
        .key("betas", std::vector<double>{opt.beta1, opt.beta2})
        .key("warmup_steps", opt.warmup_steps)
        .key("lr_schedule", opt.decay_steps > 0 ? LrSchedule::Cosine : LrSchedule::Constant,
             "cosine: decay to lr * min_lr_ratio at training.steps")
        .key("min_lr_ratio", opt.min_lr_ratio)
        .key("decay_start", opt.decay_start,
             "cosine: first step of the decay (0 = after the warm-up); the rate is constant until then")
        .key("grad_clip", trainer.grad_clip)
        .key("ema_decay", trainer.ema_decay)
        .key("precision", trainer.precision,
             "fp32, bf16 (CUDA or CPU autocast), fp16 (CUDA), auto (bf16 where the device computes it natively, "
             "else fp32; each process chooses, also one continuing a run on another machine)")
        .key("log_every", trainer.log_every)
        .key("validate_every", trainer.validate_every)
        .key("checkpoint_every", trainer.checkpoint_every)
        .key("checkpoint_minutes", trainer.checkpoint_minutes,
             "also write checkpoint.pt after this much wall time (0 = off)")
        .key("best_metric", trainer.best_metric)
        .key("early_stopping_patience", trainer.early_stopping_patience)
        .key("data_shards", trainer.data_shards,
             "independent random streams per batch; the number of processes must divide it (1 = one stream)")
        .key("shard_threads", trainer.shard_threads,
             "CPU: the shards of a step trained on this many threads at once, gradients averaged in shard order "
             "(the numbers of as many processes); must divide data_shards (1 = off)");
    d.section("sampling")
        .key("matrix", chunk.matrix)
        .key("uncertainty_scale", chunk.uncertainty_scale)
        .key("chunk_size", chunk.chunk_size)
        .key("window", chunk.window,
             "sliding window in tokens (0 = none); W > chunk_size: reset the latent before every chunk and "
             "re-absorb the last W - chunk_size tokens")
        .key("reference_walk", sampler.reference_walk, "the authors' walk; false = Algorithm 2 with stabilization")
        .key("overwrite_finished", sampler.overwrite_finished)
        .key("stabilization_level", sampler.stabilization_level, "-1 = grid level 1")
        .key("stabilization_input", sampler.stabilization_input)
        .key("guidance_scale", sampler.guidance_scale)
        .key("mcg_samples", sampler.mcg_samples)
        .key("context_q_sample", sampler.context_q_sample)
        .key("walk", sampler.walk, "order of the model calls of unguided chunks (same samples)")
        .key("skip_idle_tokens", sampler.skip_idle_tokens, "Algorithm 2 walk: run only tokens that move or feed one");
    d.section("distributed")  // several processes (df_train --nproc N, or torchrun-style RANK / WORLD_SIZE / ...)
        .key("backend", distributed.backend, "auto = nccl on CUDA, gloo on CPU")
        .key("timeout_seconds", distributed.timeout_seconds,
             "rendezvous and collectives fail after this; must exceed a validation on rank 0")
        .key("bucket_mb", distributed.bucket_mb, "gradient all-reduce bucket size");
    return "# Core sections of every experiment (defaults; also the schema).\n" + d.yaml();
  }();
  return text;
}

Config make_experiment_config(const std::string& domain_defaults_yaml) {
  auto c = Config::from_defaults(core_config_defaults() + "\n" + domain_defaults_yaml);
  c.require_enum<DenoiserKind>("model.kind");
  c.require_enum<InitialLatent>("model.initial_latent");
  for (const auto* key :
       {"model.network_size", "model.z_dim", "model.z_channels", "model.num_mlp_layers", "model.attn_heads",
        "model.attn_dim_head", "diffusion.timesteps", "diffusion.snr_clip", "diffusion.frame_stack",
        "diffusion.clip_noise", "diffusion.loss_scale", "diffusion.sampling_steps", "training.batch_size",
        "training.lr", "sampling.chunk_size", "sampling.mcg_samples", "training.data_shards", "training.shard_threads",
        "distributed.timeout_seconds", "distributed.bucket_mb"})
    c.require_positive(key);
  for (const auto* key :
       {"experiment.threads", "model.num_gru_layers", "model.head_channels", "model.level_embedding_dim",
        "diffusion.eta", "training.steps", "training.weight_decay", "training.warmup_steps", "training.grad_clip",
        "training.log_every", "training.validate_every", "training.checkpoint_every", "training.checkpoint_minutes",
        "training.early_stopping_patience", "training.decay_start", "sampling.uncertainty_scale", "sampling.window"})
    c.require_non_negative(key);
  c.require_range("diffusion.cum_snr_decay", 0.0, 1.0);
  c.require_range("diffusion.first_token_clean_prob", 0.0, 1.0);
  c.require_range("diffusion.token_clean_prob", 0.0, 1.0);
  c.require_range("diffusion.teacher_forcing_prob", 0.0, 1.0);
  c.require_range("training.ema_decay", 0.0, 0.999999);
  c.require_enum<ScheduleKind>("diffusion.schedule");
  c.require_enum<Objective>("diffusion.objective");
  c.require_enum<InputScale>("diffusion.input_scale");
  c.require_enum<LossWeightingKind>("diffusion.loss_weighting");
  c.require_enum<TrainingNoise>("diffusion.training_noise");
  c.require_enum<Precision>("training.precision");
  c.require_enum<LrSchedule>("training.lr_schedule");
  c.require_range("training.min_lr_ratio", 0.0, 1.0);
  c.require_enum<ScheduleMatrixKind>("sampling.matrix");
  c.require_enum<StabilizationInput>("sampling.stabilization_input");
  c.require_enum<SamplerWalk>("sampling.walk");
  c.require_enum<DistributedBackend>("distributed.backend");
  return c;
}

std::shared_ptr<CausalDenoiser> make_denoiser(const Config& c, const ModelShape& shape) {
  const auto init = c.get_enum<InitialLatent>("model.initial_latent");
  if (c.get_enum<DenoiserKind>("model.kind") == DenoiserKind::ResMlpGru) {
    check(shape.x_shape.size() == 1, "model.kind: resmlp_gru needs vector tokens, the data has tokens of rank " +
                                         std::to_string(shape.x_shape.size()) + " (use unet_conv_gru)");
    ResMlpGruOptions o;
    o.x_dim = shape.x_shape[0];
    o.z_dim = c.get_int("model.z_dim");
    o.network_size = c.get_int("model.network_size");
    o.num_mlp_layers = c.get_int("model.num_mlp_layers");
    o.num_gru_layers = c.get_int("model.num_gru_layers");
    o.level_embedding_dim = c.get_int("model.level_embedding_dim");
    o.level_film = c.get_bool("model.level_film");
    check(o.level_embedding_dim == 0 || (o.level_embedding_dim >= 4 && o.level_embedding_dim % 2 == 0),
          "model.level_embedding_dim: expected 0 (= network_size) or an even width >= 4, got " +
              std::to_string(o.level_embedding_dim));
    check(o.num_gru_layers >= 1, "model.num_gru_layers: resmlp_gru needs at least 1 GRU layer");
    o.cond_dim = shape.cond_dim;
    o.observation_dim = shape.observation_dim;
    o.initial_latent = init;
    return std::make_shared<ResMlpGruDenoiser>(o);
  }
  check(shape.x_shape.size() == 3, "model.kind: unet_conv_gru needs image tokens [C,H,W]");
  check(init != InitialLatent::ObservationEncoder, "model.initial_latent: observation_encoder is only for resmlp_gru");
  UnetConvGruOptions o;
  o.x_shape = shape.x_shape;
  o.z_shape = {c.get_int("model.z_channels"), shape.x_shape[1], shape.x_shape[2]};
  o.network_size = c.get_int("model.network_size");
  o.dim_mults = c.get_int_list("model.dim_mults");
  o.attn_heads = c.get_int("model.attn_heads");
  o.attn_dim_head = c.get_int("model.attn_dim_head");
  o.head_channels = c.get_int("model.head_channels");
  o.num_gru_layers = c.get_int("model.num_gru_layers");
  o.learnable_init_z = init == InitialLatent::Learned;
  o.cond_dim = shape.cond_dim;
  return std::make_shared<UnetConvGruDenoiser>(o);
}

DiffusionOptions read_diffusion_options(const Config& c) {
  DiffusionOptions d;
  d.schedule.kind = c.get_enum<ScheduleKind>("diffusion.schedule");
  d.schedule.timesteps = c.get_int("diffusion.timesteps");
  d.schedule.snr_clip = c.get_double("diffusion.snr_clip");
  d.objective = c.get_enum<Objective>("diffusion.objective");
  d.weighting.kind = c.get_enum<LossWeightingKind>("diffusion.loss_weighting");
  d.weighting.snr_clip = d.schedule.snr_clip;
  d.weighting.cum_snr_decay = c.get_double("diffusion.cum_snr_decay");
  d.weighting.frame_stack = c.get_int("diffusion.frame_stack");
  d.clip_noise = c.get_double("diffusion.clip_noise");
  d.loss_scale = c.get_double("diffusion.loss_scale");
  d.sampling_steps = c.get_int("diffusion.sampling_steps");
  check(d.sampling_steps <= d.schedule.timesteps, "diffusion.sampling_steps: must be <= diffusion.timesteps");
  d.eta = c.get_double("diffusion.eta");
  d.input_scale = c.get_enum<InputScale>("diffusion.input_scale");
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
  if (c.get_enum<LrSchedule>("training.lr_schedule") == LrSchedule::Cosine) t.optimizer.decay_steps = t.steps;
  t.optimizer.min_lr_ratio = c.get_double("training.min_lr_ratio");
  t.optimizer.decay_start = c.get_int("training.decay_start");
  check(t.optimizer.decay_start == 0 || (t.optimizer.decay_steps > 0 && t.optimizer.decay_start < t.steps),
        "training.decay_start: " + std::to_string(t.optimizer.decay_start) +
            " needs training.lr_schedule cosine and a step before training.steps (" + std::to_string(t.steps) + ")");
  t.grad_clip = c.get_double("training.grad_clip");
  t.ema_decay = c.get_double("training.ema_decay");
  t.precision = c.get_enum<Precision>("training.precision");
  t.levels.mode = c.get_enum<TrainingNoise>("diffusion.training_noise");
  t.levels.first_token_clean_prob = c.get_double("diffusion.first_token_clean_prob");
  t.levels.token_clean_prob = c.get_double("diffusion.token_clean_prob");
  check(t.levels.token_clean_prob == 0 || t.levels.mode == TrainingNoise::Independent,
        "diffusion.token_clean_prob: only with diffusion.training_noise independent, got " +
            std::to_string(t.levels.token_clean_prob));
  t.levels.teacher_forcing_prob = c.get_double("diffusion.teacher_forcing_prob");  // checked by the Trainer
  t.seed = static_cast<uint64_t>(c.get_int("experiment.seed"));
  t.log_every = c.get_int("training.log_every");
  t.validate_every = c.get_int("training.validate_every");
  t.checkpoint_every = c.get_int("training.checkpoint_every");
  t.checkpoint_minutes = c.get_double("training.checkpoint_minutes");
  t.run_dir = run_dir;
  t.config_yaml = c.to_yaml();
  t.best_metric = c.get_string("training.best_metric");
  t.early_stopping_patience = c.get_int("training.early_stopping_patience");
  t.data_shards = c.get_int("training.data_shards");
  t.shard_threads = c.get_int("training.shard_threads");
  check(t.batch_size % t.data_shards == 0, "training.data_shards: " + std::to_string(t.data_shards) +
                                               " does not divide training.batch_size (" + std::to_string(t.batch_size) +
                                               ")");
  return t;
}

DistributedOptions read_distributed_options(const Config& c) {
  DistributedOptions d;
  d.backend = c.get_enum<DistributedBackend>("distributed.backend");
  d.timeout_seconds = c.get_double("distributed.timeout_seconds");
  d.bucket_mb = c.get_double("distributed.bucket_mb");
  return d;
}

SamplerOptions read_sampler_options(const Config& c) {
  SamplerOptions s;
  s.eta = c.get_double("diffusion.eta");
  s.reference_walk = c.get_bool("sampling.reference_walk");
  s.overwrite_finished = c.get_bool("sampling.overwrite_finished");
  s.stabilization_level = c.get_int("sampling.stabilization_level");
  s.stabilization_input = c.get_enum<StabilizationInput>("sampling.stabilization_input");
  s.guidance_scale = c.get_double("sampling.guidance_scale");
  s.mcg_samples = c.get_int("sampling.mcg_samples");
  s.context_q_sample = c.get_bool("sampling.context_q_sample");
  s.walk = c.get_enum<SamplerWalk>("sampling.walk");
  s.skip_idle_tokens = c.get_bool("sampling.skip_idle_tokens");
  return s;
}

ChunkPlan read_chunk_plan(const Config& c) {
  ChunkPlan p;
  p.matrix = c.get_enum<ScheduleMatrixKind>("sampling.matrix");
  p.uncertainty_scale = c.get_double("sampling.uncertainty_scale");
  p.chunk_size = c.get_int("sampling.chunk_size");
  p.window = c.get_int("sampling.window");
  check(p.window == 0 || p.window > p.chunk_size,
        "sampling.window: must be 0 (no window) or larger than sampling.chunk_size (" + std::to_string(p.chunk_size) +
            "), got " + std::to_string(p.window));
  return p;
}

torch::Tensor rollout_after_context(Sampler& sampler, const ChunkPlan& plan, const torch::Tensor& context,
                                    int64_t batch, int64_t num_tokens, const torch::Tensor& cond,
                                    torch::Generator& generator,
                                    const std::function<void(const torch::Tensor&)>& on_chunk) {
  const int64_t n_context = context.defined() ? context.size(0) : 0;
  if (plan.window > 0)
    return sampler.rollout_with_limited_memory(context, batch, num_tokens, plan.window - plan.chunk_size,
                                               plan.chunk_size, plan.chunk_size, plan.matrix, plan.uncertainty_scale,
                                               generator, cond, on_chunk);
  auto& model = sampler.model();
  auto z = model.denoiser().initial_latent(batch, {});
  if (n_context > 0)
    z = sampler.absorb_context(z, context, cond.defined() ? cond.slice(0, 0, n_context) : torch::Tensor(), generator);
  return sampler.rollout(z, num_tokens, plan.chunk_size, plan.matrix, plan.uncertainty_scale,
                         cond.defined() ? cond.slice(0, n_context) : torch::Tensor(), generator, on_chunk);
}

}  // namespace df
