// Mean return of the waypoint expert, the quantity D4RL publishes as REF_MAX_SCORE
// (scripts/reference_scores/maze2d_controller.py: 100 episodes of max_episode_steps, seed 0).
#pragma once
#include <cstdint>
#include <vector>

#include "df/planning/maze_layout.h"

namespace df::planning {

enum class ControllerReuse {
  // D4RL's script: ONE controller for all episodes. With a fixed goal it plans only once, so later
  // episodes keep the finished plan and steer straight at the goal (and can stick behind walls). This
  // is what REF_MAX measures.
  kSharedAcrossEpisodes,
  // A fresh plan at the start of every episode: the expert as a data collector behaves.
  kFreshPerEpisode,
};

struct ExpertEvaluation {
  std::vector<double> returns;
  double mean = 0.0;
  double standard_error = 0.0;  // sample std / sqrt(episodes)
  int episodes_reaching_goal = 0;  // episodes with at least one reward
};

// Replays maze2d_controller.py exactly: the env's resets draw from NumPy's legacy RandomState seeded the
// way gym (<= 0.21) seeds env.seed(seed), the waypoint jitter from one seeded like np.random.seed(seed)
// (numpy_legacy_random.h). seed 0 reproduces REF_MAX. `seed` must be below 2^32.
ExpertEvaluation evaluate_waypoint_expert(const MazeEnvSpec& spec, int episodes, std::uint64_t seed,
                                          ControllerReuse reuse, bool damp_with_position_change = false);

}  // namespace df::planning
