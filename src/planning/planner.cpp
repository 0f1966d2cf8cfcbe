#include "df/planning/planner.h"

#include <chrono>
#include <cmath>

#include "df/core/compat.h"
#include "df/core/device.h"
#include "df/core/error.h"
#include "df/diffusion/ddim.h"
#include "df/diffusion/forward_process.h"

namespace df::planning {



Vec2 pd_tracking_action(const Observation& s, const Observation& next) {
  return {(next[0] - s[0]) + (next[2] - s[2]), (next[1] - s[1]) + (next[3] - s[3])};
}

namespace {

// A CPU generator only drives CPU tensors; on an accelerator the device's default generator is used.
c10::optional<torch::Generator> generator_for(const torch::Device& device, torch::Generator& generator) {
  if (device.is_cpu()) return generator;
  return c10::nullopt;
}

}  // namespace

MazePlanner::MazePlanner(DiffusionForcingModel& model, MazeTokenLayout layout, PlannerOptions options)
    : model_(&model), layout_(std::move(layout)), options_(std::move(options)) {
  check(model.denoiser().x_shape() == std::vector<int64_t>{layout_.token_dim()},
        "planner: the model's tokens are " + shape_str(model.denoiser().x_shape()) + ", the maze layout needs [" +
            std::to_string(layout_.token_dim()) + "]");
  check(options_.open_loop_steps >= 0, "planner: open_loop_steps must be >= 0");
  if (options_.method == PlanMethod::kDiffusionForcingNoMcg) options_.sampler.mcg_samples = 1;
  options_.sampler.overwrite_finished = false;  // planning keeps finished tokens (as the reference)
}

Plan MazePlanner::to_plan(const torch::Tensor& tokens) const {
  const int64_t H = tokens.size(0), B = tokens.size(1), fs = layout_.frame_stack();
  Plan p;
  p.tokens = tokens;
  // [H, B, fs, 6] -> [H, fs, B, 6] -> [H*fs, B, 6]
  p.frames = layout_.decode(tokens.detach().to(torch::kCPU, torch::kDouble)).permute({0, 2, 1, 3}).reshape({H * fs, B, 6});
  return p;
}

GuidanceCost MazePlanner::goal_cost(const torch::Tensor& goals, int64_t horizon, int64_t weighted_frames) const {
  const int64_t fs = layout_.frame_stack(), B = goals.size(0);
  // Appendix D.5: every frame is rewarded for being near the goal, up to the episode end.
  auto weight = torch::ones({horizon * fs}, goals.options());
  if (weighted_frames >= 0 && weighted_frames < horizon * fs)
    weight.narrow(0, weighted_frames, horizon * fs - weighted_frames).zero_();
  weight = weight.view({horizon, fs});
  const double n_frames = static_cast<double>(horizon * fs);
  const auto goal = goals.view({1, 1, B, 1, 2});
  return [this, weight, goal, n_frames](const torch::Tensor& x0) {  // x0 [R, H, B, fs*6]
    const auto pos = layout_.decode(x0).narrow(-1, 0, 2);          // [R, H, B, fs, 2]
    const auto d = ((pos - goal).pow(2).sum(-1) + 1e-12).sqrt();    // [R, H, B, fs]
    const auto w = weight.view({1, weight.size(0), 1, weight.size(1)});
    return (d * w).mean(std::vector<int64_t>{0, 1, 3}).sum() * n_frames;
  };
}

Plan MazePlanner::plan_pyramid(const torch::Tensor& observations, const torch::Tensor& goals, int64_t horizon,
                               torch::Generator& generator, int64_t weighted_frames) {
  const auto device = model_->device();
  const int64_t B = observations.size(0), S = model_->grid().sampling_steps();
  IntraOpThreadsGuard threads(device.is_cpu() && B < options_.single_thread_below_batch ? 1 : 0);
  torch::Tensor z;
  {
    torch::NoGradGuard no_grad;
    z = model_->denoiser().initial_latent(B, layout_.normalize_observation(observations.to(torch::kFloat)).to(device));
  }
  const auto x_init = sample_clamped_noise({horizon, B, layout_.token_dim()}, torch::TensorOptions(torch::kFloat),
                                           model_->options().clip_noise, generator)
                          .to(device);
  Sampler sampler(*model_, options_.sampler);
  const auto matrix = SchedulingMatrix::pyramid(horizon, S, options_.uncertainty_scale);
  const auto cost = goal_cost(goals.to(device, torch::kFloat), horizon, weighted_frames);
  const auto r = sampler.sample_chunk(z, matrix, x_init, {}, cost, generator_for(device, generator));
  return to_plan(r.x);
}

Plan MazePlanner::plan_full_sequence(const torch::Tensor& observations, const torch::Tensor& goals, int64_t horizon,
                                     torch::Generator& generator) {
  torch::NoGradGuard no_grad;
  const auto device = model_->device();
  const int64_t B = observations.size(0), S = model_->grid().sampling_steps(), fs = layout_.frame_stack();
  IntraOpThreadsGuard threads(device.is_cpu() && B < options_.single_thread_below_batch ? 1 : 0);
  const double clip = model_->options().clip_noise, eta = options_.sampler.eta;
  const auto z0 = model_->denoiser().initial_latent(
      B, layout_.normalize_observation(observations.to(torch::kFloat)).to(device));
  // Diffuser's conditioning by replacement: the last planned observation is [goal, 0, 0] (the goal at rest)
  // at every level; the start is fixed by z_0 = encoder(o_0).
  const auto goal_state = torch::cat({goals.to(torch::kFloat), torch::zeros({B, 2})}, 1);  // [B, 4] raw
  const auto goal = layout_.normalize_observation(goal_state).to(device);
  const auto float_opts = torch::TensorOptions(torch::kFloat);
  auto x = sample_clamped_noise({horizon, B, layout_.token_dim()}, float_opts, clip, generator).to(device);
  const auto inpaint = [&](torch::Tensor tokens) {
    tokens.select(0, horizon - 1).narrow(-1, (fs - 1) * MazeTokenLayout::kFrameDim, 4).copy_(goal);
    return tokens;
  };
  x = inpaint(x);
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  const auto& grid = model_->grid();
  for (int64_t v = S; v >= 1; --v) {  // one shared level per step: full-sequence diffusion
    const auto from = torch::full({B}, grid.level(v), long_opts);
    const auto to = torch::full({B}, grid.level(v - 1), long_opts);
    auto z = z0;
    std::vector<torch::Tensor> next;
    for (int64_t t = 0; t < horizon; ++t) {
      const auto input = v == S ? x[t].clamp(-clip, clip) : x[t];
      const auto pred = model_->predict(z, input, from);
      z = pred.z;
      torch::Tensor noise;
      if (eta != 0.0 && grid.level(v - 1) >= 0)
        noise = sample_clamped_noise(input.sizes(), float_opts, clip, generator).to(device);
      next.push_back(ddim_update(model_->schedule(), pred.prediction, from, to, eta, noise));
    }
    x = inpaint(torch::stack(next));
  }
  return to_plan(x);
}

EpisodeBatchResult MazePlanner::run_episodes(BatchedMazeEnv& envs, int max_episode_steps) {
  const int N = envs.size();
  const int64_t fs = layout_.frame_stack();
  const bool diffuser = options_.method == PlanMethod::kDiffuser || options_.method == PlanMethod::kDiffuserActions;
  const bool pd = options_.method == PlanMethod::kDiffuser || (!diffuser && options_.pd_tracking);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options_.seed);

  EpisodeBatchResult result;
  result.returns.assign(static_cast<size_t>(N), 0.0);
  result.first_arrival.assign(static_cast<size_t>(N), -1);
  result.paths.resize(static_cast<size_t>(N));
  result.first_plans.resize(static_cast<size_t>(N));
  std::vector<double> obs = envs.reset(), rewards;
  auto goals = torch::empty({N, 2}, torch::kDouble);
  for (int i = 0; i < N; ++i) {
    const auto g = envs.env(i).target();
    result.goals.push_back(g);
    goals[i][0] = g[0];
    goals[i][1] = g[1];
    result.paths[static_cast<size_t>(i)].push_back({obs[4 * i], obs[4 * i + 1]});
  }

  Plan plan;
  int plan_start = 0;
  std::vector<double> actions(static_cast<size_t>(2 * N));
  const int64_t open_loop = options_.open_loop_steps > 0 ? options_.open_loop_steps : fs;
  for (int t = 0; t < max_episode_steps; ++t) {
    if (t == 0 || (!diffuser && t - plan_start >= open_loop)) {
      const int64_t to_end = (max_episode_steps - t + fs - 1) / fs;  // flexible horizon: to the episode end
      const int64_t cap = diffuser ? (options_.diffuser_horizon_steps + fs - 1) / fs : options_.max_horizon;
      const int64_t horizon = cap > 0 ? std::min(to_end, cap) : to_end;
      const auto observations = torch::tensor(obs, torch::kDouble).view({N, 4});
      const auto start = std::chrono::steady_clock::now();
      // Frame f holds o_{t+f+1}; frames from the episode's last observation on are not rewarded.
      const int64_t remaining = max_episode_steps - t;
      const int64_t weighted = horizon * fs >= remaining ? remaining - 1 : -1;
      plan = diffuser ? plan_full_sequence(observations, goals, horizon, generator)
                      : plan_pyramid(observations, goals, horizon, generator, weighted);
      result.plan_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      result.plan_horizons.push_back(horizon);
      plan_start = t;
      if (t == 0) {
        const auto a = plan.frames.accessor<double, 3>();
        for (int i = 0; i < N; ++i)
          for (int64_t f = 0; f < plan.frames.size(0); ++f)
            result.first_plans[static_cast<size_t>(i)].push_back({a[f][i][0], a[f][i][1]});
      }
    }
    const auto frames = plan.frames.accessor<double, 3>();  // [F, N, 6]
    const int64_t F = plan.frames.size(0), k = t - plan_start;
    for (int i = 0; i < N; ++i) {
      Vec2 a;
      if (pd) {
        // Frame k holds the planned o_{plan_start + k + 1}; past the plan, hold its last position.
        const int64_t f = std::min<int64_t>(k, F - 1);
        Observation next{frames[f][i][0], frames[f][i][1], frames[f][i][2], frames[f][i][3]};
        if (k >= F) next[2] = next[3] = 0.0;
        a = pd_tracking_action({obs[4 * i], obs[4 * i + 1], obs[4 * i + 2], obs[4 * i + 3]}, next);
      } else if (k < F) {
        a = {frames[k][i][4], frames[k][i][5]};
      } else {
        a = {0.0, 0.0};  // a finished Diffuser plan has no actions left
      }
      for (int c = 0; c < 2; ++c) {
        const double v = std::isfinite(a[static_cast<size_t>(c)]) ? a[static_cast<size_t>(c)] : 0.0;
        actions[static_cast<size_t>(2 * i + c)] = std::clamp(v, -1.0, 1.0);
      }
    }
    obs = envs.step(actions, rewards);
    for (int i = 0; i < N; ++i) {
      const auto u = static_cast<size_t>(i);
      result.returns[u] += rewards[u];
      if (rewards[u] > 0 && result.first_arrival[u] < 0) result.first_arrival[u] = t + 1;
      result.paths[u].push_back({obs[4 * i], obs[4 * i + 1]});
    }
  }
  return result;
}

}  // namespace df::planning
