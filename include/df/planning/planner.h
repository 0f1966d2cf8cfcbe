// Maze2D planners on one trained Diffusion Forcing network (paper section 4.2, appendix D.5):
//  * Diffusion Forcing MPC: every `open_loop_steps` steps (default one token), plan from the
//    current observation (z_0 = encoder(o_t)) to the end of the episode (flexible horizon
//    H = ceil(remaining / fs)) with the pyramid matrix, goal guidance on every token (cost = n_frames *
//    mean ||pos(x0) - goal||, the D.5 reward) and Monte Carlo guidance over `mcg_samples` futures;
//    execute the plan's own actions (clamped to [-1, 1]) or track its observations with Diffuser's PD
//    rule.
//  * Diffuser-style: one full-sequence plan (all tokens at one shared noise level) over Diffuser's plan
//    length, start fixed by z_0 = encoder(o_0) and the last planned observation replaced by the goal at
//    rest ([goal, 0, 0], Diffuser's condition) at every step (inpainting); plan once, then PD tracking or
//    its diffused actions. On a model trained with full-sequence noise this is the trained Diffuser
//    stand-in; on a Diffusion Forcing model, the same network sampled Diffuser's way.
// Everything is batched over the envs of a BatchedMazeEnv; tensors live on the model's device.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "df/models/diffusion_forcing_model.h"
#include "df/planning/maze_env.h"
#include "df/planning/maze_tokens.h"
#include "df/sampling/sampler.h"

#include "df/core/enum_names.h"

namespace df::planning {
enum class PlanMethod { kDiffusionForcing, kDiffusionForcingNoMcg, kDiffuser, kDiffuserActions };
}  // namespace df::planning

namespace df {
template <>
struct EnumNames<planning::PlanMethod> {
  using M = planning::PlanMethod;
  static constexpr const char* what = "plan method";
  static constexpr EnumName<M> table[] = {
      {M::kDiffusionForcing, "df"}, {M::kDiffusionForcingNoMcg, "df_no_mcg"}, {M::kDiffuser, "diffuser"},
      {M::kDiffuserActions, "diffuser_actions"}};
};
}  // namespace df

namespace df::planning {

struct PlannerOptions {
  PlanMethod method = PlanMethod::kDiffusionForcing;
  SamplerOptions sampler;          // guidance_scale, mcg_samples (forced to 1 for df_no_mcg), eta, ...
  double uncertainty_scale = 1.0;  // pyramid slope
  // Steps executed between DF plans (the reference's open_loop_horizon); 0 = one token (the paper). Less
  // than a token replans from a mid-token observation: z_0 = encoder(o_t) needs no token boundary.
  int64_t open_loop_steps = 0;
  bool pd_tracking = false;        // DF only: track planned observations instead of executing actions
  int64_t max_horizon = 0;         // tokens; 0 = to the end of the episode (flexible horizon)
  // Diffuser's fixed plan length in steps (its maze2d configs: 128 / 256 / 384 for U-Maze / Medium /
  // Large), rounded up to whole tokens; 0 = to the episode end. Past the plan, PD tracking holds the
  // plan's last position at zero velocity (as Diffuser) and diffused-action execution applies no force.
  int64_t diffuser_horizon_steps = 0;
  uint64_t seed = 0;
  // On a CPU, plans of fewer episodes than this run on one intra-op thread: a batch-1 guided plan of the
  // maze-medium network takes 2.9 s on one thread and 3.7 s on two (2-core machine; crossover between
  // batch 8 and 32: docs/results/performance.md, section 2). 0: keep the process's threads.
  int64_t single_thread_below_batch = 16;
};

struct Plan {
  torch::Tensor tokens;  // [H, B, fs*6] normalised
  torch::Tensor frames;  // [H*fs, B, 6] raw (o_{j+1}, a_j), CPU double
};

struct EpisodeBatchResult {
  std::vector<double> returns;             // [N] summed sparse reward
  std::vector<int> first_arrival;          // [N] first step with reward, -1 if never
  std::vector<std::vector<Vec2>> paths;    // [N][steps+1] executed positions
  std::vector<std::vector<Vec2>> first_plans;  // [N][frames] positions of the first plan
  std::vector<Vec2> goals;                 // [N]
  std::vector<double> plan_seconds;        // wall time of every planning call (one per replan)
  std::vector<int64_t> plan_horizons;      // tokens of every planning call
};

class MazePlanner {
 public:
  MazePlanner(DiffusionForcingModel& model, MazeTokenLayout layout, PlannerOptions options);

  // Observations [B, 4] and goals [B, 2] raw (CPU double); horizon in tokens. The goal cost counts the
  // first `weighted_frames` frames (< 0: all of them); frames at or past the episode end are left out.
  Plan plan_pyramid(const torch::Tensor& observations, const torch::Tensor& goals, int64_t horizon,
                    torch::Generator& generator, int64_t weighted_frames = -1);
  Plan plan_full_sequence(const torch::Tensor& observations, const torch::Tensor& goals, int64_t horizon,
                          torch::Generator& generator);

  // Runs one episode of max_episode_steps in every env (already constructed with its seed): reset, plan,
  // act. The goal of env i is its target after reset (fixed G cell, or random for "-multi").
  EpisodeBatchResult run_episodes(BatchedMazeEnv& envs, int max_episode_steps);

  const PlannerOptions& options() const { return options_; }

  // The guidance cost of appendix D.5 for goals [B, 2] (raw, on the model's device): for x0 [R, H, B,
  // fs*6], the sum over the batch of n_frames * mean over (samples, frames) of w_f * ||pos_f - goal||,
  // n_frames = H * fs. w_f = 1 for the first `weighted_frames` frames (< 0: all), else 0. A plan that
  // reaches the episode end weights the frames before its last observation (the reference drops the last
  // frame of such a plan).
  GuidanceCost goal_cost(const torch::Tensor& goals, int64_t horizon, int64_t weighted_frames = -1) const;

 private:
  Plan to_plan(const torch::Tensor& tokens) const;

  DiffusionForcingModel* model_;
  MazeTokenLayout layout_;
  PlannerOptions options_;
};

// Diffuser's tracking rule: a = (p_plan - p) + (v_plan - v) toward the planned next observation.
Vec2 pd_tracking_action(const Observation& state, const Observation& planned_next);

}  // namespace df::planning
