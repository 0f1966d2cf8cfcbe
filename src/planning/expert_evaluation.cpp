#include "df/planning/expert_evaluation.h"

#include <cmath>

#include "df/core/error.h"
#include "df/planning/maze_env.h"
#include "df/planning/waypoint_controller.h"

namespace df::planning {

ExpertEvaluation evaluate_waypoint_expert(const MazeEnvSpec& spec, int episodes, std::uint64_t seed,
                                          ControllerReuse reuse, bool damp_with_position_change) {
  check(episodes > 0, "evaluate_waypoint_expert: episodes must be positive, got " + std::to_string(episodes));
  MazeEnv env(spec, seed);
  WaypointController::Gains gains;
  gains.damp_with_position_change = damp_with_position_change;
  // A different stream than the env's, so that the waypoint jitter does not shift the start states.
  WaypointController controller(env.layout(), seed + 0x9E3779B97F4A7C15ULL, gains);

  ExpertEvaluation result;
  for (int episode = 0; episode < episodes; ++episode) {
    if (reuse == ControllerReuse::kFreshPerEpisode) controller.forget_plan();
    Observation obs = env.reset();
    double episode_return = 0.0;
    for (int t = 0; t < spec.max_episode_steps; ++t) {
      const WaypointDecision d = controller.act({obs[0], obs[1]}, {obs[2], obs[3]}, env.target());
      const MazeStep step = env.step(d.action);
      obs = step.observation;
      episode_return += step.reward;
    }
    result.returns.push_back(episode_return);
    if (episode_return > 0.0) ++result.episodes_reaching_goal;
  }
  double sum = 0.0;
  for (double r : result.returns) sum += r;
  result.mean = sum / episodes;
  double squares = 0.0;
  for (double r : result.returns) squares += (r - result.mean) * (r - result.mean);
  const double sample_std = episodes > 1 ? std::sqrt(squares / (episodes - 1)) : 0.0;
  result.standard_error = sample_std / std::sqrt(static_cast<double>(episodes));
  return result;
}

}  // namespace df::planning
