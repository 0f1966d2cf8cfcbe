#include "df/planning/expert_evaluation.h"

#include <cmath>
#include <memory>

#include "df/core/error.h"
#include "df/planning/maze_env.h"
#include "df/planning/numpy_legacy_random.h"
#include "df/planning/waypoint_controller.h"

namespace df::planning {

namespace {

// d4rl MazeEnv.reset_model() on the env's gym-seeded stream: choice over the sorted free cells + G,
// uniform(-.1, .1, 2), randn(2) * .1, then set_target() for random-goal envs.
Observation d4rl_reset(MazeEnv& env, NumpyLegacyRandom& rng) {
  const std::vector<Cell> cells = env.layout().start_cells();
  auto jittered_cell = [&]() {
    const Cell cell = cells[static_cast<size_t>(rng.randint(static_cast<std::int64_t>(cells.size())))];
    const double dx = rng.uniform(-0.1, 0.1);
    const double dy = rng.uniform(-0.1, 0.1);
    return Vec2{cell.row + dx, cell.col + dy};
  };
  const Vec2 qpos = jittered_cell();
  const double vx = 0.1 * rng.standard_normal();
  const double vy = 0.1 * rng.standard_normal();
  const Observation obs = env.reset_to(qpos, {vx, vy});
  if (env.random_goal()) env.set_target(jittered_cell());
  return obs;
}

}  // namespace

ExpertEvaluation evaluate_waypoint_expert(const MazeEnvSpec& spec, int episodes, std::uint64_t seed,
                                          ControllerReuse reuse, bool damp_with_position_change) {
  check(episodes > 0, "evaluate_waypoint_expert: episodes must be positive, got " + std::to_string(episodes));
  check(seed <= 0xFFFFFFFFULL, "evaluate_waypoint_expert: np.random.seed needs a seed below 2^32, got " +
                                   std::to_string(seed));
  // maze2d_controller.py: env.seed(seed) (gym's hashed seeding of the env's RandomState), then
  // np.random.seed(seed) for the global RNG that jitters the waypoints.
  MazeEnv env(spec, seed);
  NumpyLegacyRandom env_rng = NumpyLegacyRandom::gym_seeded(seed);
  auto global_rng = std::make_shared<NumpyLegacyRandom>(static_cast<std::uint32_t>(seed));
  WaypointController::Gains gains;
  gains.damp_with_position_change = damp_with_position_change;
  WaypointController controller(env.layout(), [global_rng]() { return global_rng->random_sample(); }, gains);

  ExpertEvaluation result;
  for (int episode = 0; episode < episodes; ++episode) {
    if (reuse == ControllerReuse::kFreshPerEpisode) controller.forget_plan();
    Observation obs = d4rl_reset(env, env_rng);
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
