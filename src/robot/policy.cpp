#include "df/robot/policy.h"

#include <algorithm>
#include <chrono>

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::robot {
namespace {

// A CPU generator only drives CPU tensors; on an accelerator the device's default generator is used.
c10::optional<torch::Generator> generator_for(const torch::Device& device, torch::Generator& generator) {
  if (device.is_cpu()) return generator;
  return c10::nullopt;
}

// What the env executes for a commanded action: the target clamped into the workspace, grasp as 0 / 1.
torch::Tensor as_executed(torch::Tensor actions, const SceneSpec& spec) {
  for (int64_t k = 0; k < 3; ++k) {
    auto column = actions.select(-1, k);
    column.clamp_(spec.workspace_min[static_cast<size_t>(k)], spec.workspace_max[static_cast<size_t>(k)]);
  }
  auto grasp = actions.select(-1, 3);
  grasp.copy_((grasp > 0.5).to(torch::kFloat));
  return actions;
}

// [B] -> [B, 1, ...] to broadcast over tokens [B, ...token].
torch::Tensor per_token(const torch::Tensor& v, const torch::Tensor& tokens) {
  std::vector<int64_t> shape(static_cast<size_t>(tokens.dim()), 1);
  shape[0] = v.size(0);
  return v.reshape(shape);
}

}  // namespace

PolicyOutcome PolicyOutcome::for_batch(int batch) {
  PolicyOutcome outcome;
  outcome.success.assign(static_cast<size_t>(batch), false);
  outcome.success_step.assign(static_cast<size_t>(batch), -1);
  return outcome;
}

bool step_episodes(BatchedSwapEnv& envs, const std::vector<Action>& actions, std::vector<bool>& active,
                   const PolicyObserver& observer, PolicyOutcome& outcome) {
  envs.step(actions, active);
  bool any_active = false;
  for (int i = 0; i < envs.size(); ++i) {
    const auto b = static_cast<size_t>(i);
    if (!active[b]) continue;
    if (observer.on_step) observer.on_step(i, envs.env(i));
    if (envs.env(i).success()) {
      outcome.success[b] = true;
      outcome.success_step[b] = envs.env(i).steps();
      active[b] = false;
    }
    any_active = any_active || active[b];
  }
  return any_active;
}

RobotPolicy::RobotPolicy(DiffusionForcingModel& model, std::shared_ptr<const TokenCodec> codec, PolicyOptions options)
    : model_(&model), codec_(std::move(codec)), options_(std::move(options)) {
  check(codec_ != nullptr, "RobotPolicy: no token codec");
  check(model.denoiser().x_shape() == codec_->token_shape(),
        "RobotPolicy: the model's tokens are " + shape_str(model.denoiser().x_shape()) + ", " +
            to_string(codec_->kind()) + " observations need " + shape_str(codec_->token_shape()) +
            " (robot.observation, robot.resolution, robot.action_stack, robot.start_bit)");
  check(options_.max_tokens >= 1, "RobotPolicy: max_tokens must be >= 1");
  check_corruption_fits(options_.corruption.kind, codec_->kind());
  const int64_t K = model.schedule().timesteps();
  level_ = options_.corruption.level;
  check(level_ >= 0 && level_ < K,
        "robot.corrupt_level: expected a noise level in [0, " + std::to_string(K) + "), got " + std::to_string(level_));
  if (options_.corruption.kind == CorruptionKind::Noise && level_ > 0) {
    level_ = level_matching_noise(model.schedule(), options_.corruption.sigma);
    check(level_ > 0, "robot.corrupt_sigma: " + std::to_string(options_.corruption.sigma) +
                          " is below the noise of level 1; nothing to label");
  }
}

torch::Tensor labelled_input(const NoiseSchedule& schedule, const torch::Tensor& tokens, const torch::Tensor& levels,
                             const torch::Tensor& eps, const torch::Tensor& observed, double observation_noise) {
  const auto abar = per_token(NoiseSchedule::gather(schedule.alphas_cumprod, levels.to(tokens.device())), tokens);
  auto noise_std = (1.0 - abar).sqrt().expand_as(tokens);
  if (observation_noise > 0) {
    const auto extra = (1.0 - abar * (1.0 + observation_noise * observation_noise)).clamp_min(0.0).sqrt();
    const auto is_observed = observed.to(tokens.device()).unsqueeze(0).expand_as(tokens) > 0.5;
    noise_std = torch::where(is_observed, extra.expand_as(tokens), noise_std);
  }
  return abar.sqrt() * tokens + noise_std * eps;
}

torch::Tensor RobotPolicy::absorb(const torch::Tensor& z, const torch::Tensor& tokens, const torch::Tensor& levels,
                                  torch::Generator& generator, double observation_noise) {
  torch::NoGradGuard no_grad;
  const auto clean = Sampler(*model_, options_.sampler).absorb_context(z, tokens.unsqueeze(0));
  const auto levels_cpu = levels.to(torch::kCPU, torch::kLong);
  if (levels_cpu.max().item<int64_t>() == 0) return clean;
  const auto on_device = levels_cpu.to(tokens.device());
  const auto eps = sample_clamped_noise(tokens.sizes(), torch::TensorOptions(torch::kFloat),
                                        model_->options().clip_noise, generator)
                       .to(tokens.device());
  const auto noisy =
      labelled_input(model_->schedule(), tokens, on_device, eps, codec_->observation_mask(), observation_noise);
  const auto labelled = model_->predict(z, noisy, on_device).z;
  return torch::where(per_token(on_device > 0, labelled), labelled, clean);
}

PolicyOutcome RobotPolicy::run(BatchedSwapEnv& envs, SceneRenderer* renderer, const PolicyObserver& observer) {
  torch::NoGradGuard no_grad;
  const auto started = std::chrono::steady_clock::now();
  const int B = envs.size();
  const int64_t s = codec_->action_stack();
  const auto device = model_->device();
  const auto& spec = envs.env(0).spec();
  const auto& corruption = options_.corruption;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed);
  Sampler sampler(*model_, options_.sampler);
  const auto matrix = SchedulingMatrix::autoregressive(1, model_->grid().sampling_steps());
  CorruptionSchedule schedule(corruption, B);
  const double observation_noise = corruption.kind == CorruptionKind::Noise ? corruption.sigma : 0.0;

  auto outcome = PolicyOutcome::for_batch(B);
  std::vector<bool> active(static_cast<size_t>(B), true);
  std::vector<int64_t> starts;
  const auto z0 = model_->denoiser().initial_latent(B, {});
  auto z = z0;
  auto executed = torch::zeros({B, s, 4}, torch::kFloat);  // token 0: hold the start pose, gripper open
  for (int i = 0; i < B; ++i) {
    const Vec3 hand = envs.env(i).hand();
    for (int64_t k = 0; k < 3; ++k) executed[i].select(1, k).fill_(hand[static_cast<size_t>(k)]);
    starts.push_back(envs.env(i).start().apple_slot == Slot::A ? 0 : 1);
  }
  const auto apple_start = torch::tensor(starts, torch::kLong);

  for (int64_t j = 0; j < options_.max_tokens; ++j) {
    const auto& corrupted = schedule.begin_token(envs, j);
    std::vector<torch::Tensor> observations;
    for (int i = 0; i < B; ++i) observations.push_back(codec_->observe(envs.env(i), renderer));
    auto tokens = codec_->encode(torch::stack(observations), executed, apple_start);  // [B, ...token]
    corrupt_tokens(tokens, corrupted, corruption, *codec_, generator);
    if (observer.on_token) observer.on_token(j, tokens, corrupted);

    std::vector<int64_t> levels;
    for (int i = 0; i < B; ++i) levels.push_back(corrupted[static_cast<size_t>(i)] ? level_ : 0);
    if (options_.memory == PolicyMemory::Memoryless) z = z0;
    z = absorb(z, tokens.to(device), torch::tensor(levels, torch::kLong), generator, observation_noise);
    std::vector<int64_t> noise_shape{1, B};
    for (int64_t d : codec_->token_shape()) noise_shape.push_back(d);
    const auto noise =
        sample_clamped_noise(noise_shape, torch::TensorOptions(torch::kFloat), model_->options().clip_noise, generator)
            .to(device);
    const auto next = sampler.sample_chunk(z, matrix, noise, {}, nullptr, generator_for(device, generator)).x[0];
    executed = as_executed(codec_->decode_actions(next).to(torch::kCPU).contiguous(), spec);
    outcome.tokens = j + 1;

    const auto chunk = executed.accessor<float, 3>();
    std::vector<Action> actions(static_cast<size_t>(B));
    for (int64_t t = 0; t < s; ++t) {
      for (int i = 0; i < B; ++i)
        actions[static_cast<size_t>(i)] = {chunk[i][t][0], chunk[i][t][1], chunk[i][t][2], chunk[i][t][3]};
      step_episodes(envs, actions, active, observer, outcome);
    }
    if (std::none_of(active.begin(), active.end(), [](bool a) { return a; })) break;
  }
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return outcome;
}

}  // namespace df::robot
