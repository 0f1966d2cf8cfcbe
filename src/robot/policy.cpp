#include "df/robot/policy.h"

#include <algorithm>
#include <chrono>
#include <random>

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

}  // namespace

RobotPolicy::RobotPolicy(DiffusionForcingModel& model, RobotTokenLayout layout, PolicyOptions options)
    : model_(&model), layout_(std::move(layout)), options_(std::move(options)) {
  check(model.denoiser().x_shape() == layout_.token_shape(),
        "RobotPolicy: the model's tokens are " + shape_str(model.denoiser().x_shape()) + ", the robot layout needs " +
            shape_str(layout_.token_shape()) + " (robot.resolution / robot.action_stack)");
  check(options_.max_tokens >= 1, "RobotPolicy: max_tokens must be >= 1");
  const int64_t K = model.schedule().timesteps();
  check(options_.corruption.level >= 0 && options_.corruption.level < K,
        "robot.corrupt_level: expected a noise level in [0, " + std::to_string(K) + "), got " +
            std::to_string(options_.corruption.level));
}

torch::Tensor RobotPolicy::absorb(const torch::Tensor& z, const torch::Tensor& token, int64_t level,
                                  torch::Generator& generator) {
  torch::NoGradGuard no_grad;
  if (level == 0) return Sampler(*model_, options_.sampler).absorb_context(z, token.unsqueeze(0));
  const int64_t B = token.size(0);
  const auto levels = torch::full({1, B}, level, torch::TensorOptions().dtype(torch::kLong).device(token.device()));
  const auto eps =
      sample_clamped_noise(token.sizes(), torch::TensorOptions(torch::kFloat), model_->options().clip_noise, generator)
          .to(token.device());
  const auto noisy = model_->forward_process().noise(token.unsqueeze(0), levels, eps.unsqueeze(0))[0];
  return model_->predict(z, noisy, levels[0]).z;
}

PolicyOutcome RobotPolicy::run(BatchedSwapEnv& envs, SceneRenderer& renderer, const PolicyObserver& observer) {
  torch::NoGradGuard no_grad;
  const auto started = std::chrono::steady_clock::now();
  const int B = envs.size();
  const int64_t R = layout_.resolution(), s = layout_.action_stack();
  const auto device = model_->device();
  const auto& spec = envs.env(0).spec();
  const auto& corruption = options_.corruption;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed);
  Sampler sampler(*model_, options_.sampler);
  const auto matrix = SchedulingMatrix::autoregressive(1, model_->grid().sampling_steps());

  PolicyOutcome outcome;
  outcome.success.assign(static_cast<size_t>(B), false);
  outcome.success_step.assign(static_cast<size_t>(B), -1);
  std::vector<bool> active(static_cast<size_t>(B), true);
  const auto z0 = model_->denoiser().initial_latent(B, {});
  auto z = z0;
  std::vector<torch::Tensor> holds;
  for (int i = 0; i < B; ++i) holds.push_back(layout_.hold_actions(envs.env(i).hand()));
  auto executed = torch::stack(holds);  // [B, s, 4]

  for (int64_t j = 0; j < options_.max_tokens; ++j) {
    const bool corrupted = corruption.active(j);
    if (corruption.kind == CorruptionKind::Distractor && j == corruption.start_token) {
      // Drawn from each env's own generator: the same bag pose for every policy on an episode seed.
      for (int i = 0; i < B; ++i) {
        auto& rng = envs.env(i).rng();
        std::uniform_real_distribution<double> x(-0.2, 0.2), y(-0.08, 0.2), yaw(0.0, M_PI);
        const double px = x(rng), py = y(rng);
        envs.env(i).show_distractor({px, py}, yaw(rng));
      }
    }
    if (corruption.kind == CorruptionKind::Distractor && j == corruption.start_token + corruption.tokens)
      for (int i = 0; i < B; ++i) envs.env(i).hide_distractor();

    std::vector<torch::Tensor> pictures;
    for (int i = 0; i < B; ++i) pictures.push_back(renderer.observe(envs.env(i), static_cast<int>(R)));
    auto frames = torch::stack(pictures);  // [B, 2, R, R, 3]
    if (corrupted && corruption.kind == CorruptionKind::Blackout) {
      if (corruption.blackout != CameraSet::Hand) frames.select(1, 0).zero_();
      if (corruption.blackout != CameraSet::Overview) frames.select(1, 1).zero_();
    }
    if (observer.on_token) observer.on_token(j, frames, corrupted);

    const auto token = layout_.pack(frames, executed).to(device);
    if (options_.memory == PolicyMemory::Memoryless) z = z0;
    z = absorb(z, token, corrupted ? corruption.level : 0, generator);
    const auto noise = sample_clamped_noise({1, B, layout_.channels(), R, R}, torch::TensorOptions(torch::kFloat),
                                            model_->options().clip_noise, generator)
                           .to(device);
    const auto next = sampler.sample_chunk(z, matrix, noise, {}, nullptr, generator_for(device, generator)).x[0];
    executed = as_executed(layout_.actions_of(next).to(torch::kCPU).contiguous(), spec);
    outcome.tokens = j + 1;

    const auto chunk = executed.accessor<float, 3>();
    std::vector<Action> actions(static_cast<size_t>(B));
    for (int64_t t = 0; t < s; ++t) {
      for (int i = 0; i < B; ++i)
        actions[static_cast<size_t>(i)] = {chunk[i][t][0], chunk[i][t][1], chunk[i][t][2], chunk[i][t][3]};
      envs.step(actions, active);
      for (int i = 0; i < B; ++i) {
        if (!active[static_cast<size_t>(i)]) continue;
        if (observer.on_step) observer.on_step(i, envs.env(i));
        if (envs.env(i).success()) {
          outcome.success[static_cast<size_t>(i)] = true;
          outcome.success_step[static_cast<size_t>(i)] = envs.env(i).steps();
          active[static_cast<size_t>(i)] = false;
        }
      }
    }
    if (std::none_of(active.begin(), active.end(), [](bool a) { return a; })) break;
  }
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return outcome;
}

}  // namespace df::robot
