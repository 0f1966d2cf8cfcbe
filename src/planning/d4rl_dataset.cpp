#include "df/planning/d4rl_dataset.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "df/core/error.h"
#include "df/planning/maze_env.h"
#include "df/planning/maze_layout.h"
#include "df/planning/waypoint_controller.h"

namespace df::planning {

void D4rlDataset::check_consistent(const std::string& where) const {
  const std::size_t n = rewards.size();
  auto expect = [&](std::size_t actual, std::size_t per_row, const char* key, bool optional) {
    if (optional && actual == 0) return;
    check(actual == n * per_row, where + ": '" + key + "' has " + std::to_string(actual) + " values, expected " +
                                     std::to_string(n) + " x " + std::to_string(per_row));
  };
  expect(observations.size(), 4, "observations", false);
  expect(actions.size(), 2, "actions", false);
  expect(terminals.size(), 1, "terminals", false);
  expect(timeouts.size(), 1, "timeouts", true);
  expect(goals.size(), 2, "infos/goal", true);
  expect(qpos.size(), 2, "infos/qpos", true);
  expect(qvel.size(), 2, "infos/qvel", true);
}

D4rlDataset generate_maze2d_dataset(const DatasetGenerationOptions& options) {
  check(options.num_samples >= 0, "generate_maze2d_dataset: num_samples must be >= 0");
  const MazeEnvSpec spec = maze_env_spec(options.env_id);
  // The original builds a plain MazeEnv (reset_target False) and draws targets itself.
  auto model = std::make_shared<const MazeModel>(MazeLayout::parse(spec.layout_text));
  MazeEnv env(model, /*random_goal=*/false, options.seed);
  WaypointController controller(model->layout(), options.seed + 0x9E3779B97F4A7C15ULL);
  std::mt19937_64 action_noise_rng(options.seed + 0xD1B54A32D192ED03ULL);
  std::normal_distribution<double> action_noise(0.0, 0.5);

  const auto n = static_cast<std::size_t>(options.num_samples);
  D4rlDataset data;
  data.observations.reserve(4 * n);
  data.actions.reserve(2 * n);
  data.rewards.reserve(n);
  data.terminals.reserve(n);
  data.timeouts.reserve(n);
  data.goals.reserve(2 * n);
  data.qpos.reserve(2 * n);
  data.qvel.reserve(2 * n);

  env.set_random_target();
  Observation obs = env.reset();
  int steps_since_new_target = 0;
  const Vec2 fixed_goal = env.goal();
  for (std::size_t i = 0; i < n; ++i) {
    const WaypointDecision decision = controller.act({obs[0], obs[1]}, {obs[2], obs[3]}, env.target());
    Vec2 action = decision.action;
    if (options.noisy) {
      for (double& a : action) a += action_noise(action_noise_rng);
    }
    for (double& a : action) a = std::clamp(a, -1.0, 1.0);
    const bool done = decision.solved || steps_since_new_target >= spec.max_episode_steps;

    for (double v : obs) data.observations.push_back(static_cast<float>(v));
    for (double a : action) data.actions.push_back(static_cast<float>(a));
    for (double g : env.target()) data.goals.push_back(static_cast<float>(g));
    for (double q : env.qpos()) data.qpos.push_back(static_cast<float>(q));  // the simulator's state, which
    for (double v : env.qvel()) data.qvel.push_back(static_cast<float>(v));  // differs from obs after a cut
    data.terminals.push_back(0);
    data.timeouts.push_back(done ? 1 : 0);
    // relabel_maze2d_rewards.py: sparse reward of the recorded (float32) observation w.r.t. the G goal.
    const double dx = static_cast<double>(data.observations[4 * i]) - fixed_goal[0];
    const double dy = static_cast<double>(data.observations[4 * i + 1]) - fixed_goal[1];
    data.rewards.push_back(std::sqrt(dx * dx + dy * dy) <= PointMassConstants::kGoalRadius ? 1.0F : 0.0F);

    const MazeStep next = env.step(action);
    ++steps_since_new_target;
    if (done) {
      env.set_random_target();
      steps_since_new_target = 0;  // obs is deliberately not advanced (quirk of the original)
    } else {
      obs = next.observation;
    }
    if (options.progress && (i + 1) % 100000 == 0) options.progress(static_cast<std::int64_t>(i + 1));
  }
  return data;
}

DatasetStatistics compute_statistics(const D4rlDataset& dataset) {
  dataset.check_consistent("compute_statistics");
  const std::size_t n = dataset.size();
  check(n > 0, "compute_statistics: empty dataset");
  DatasetStatistics stats;
  auto mean_std = [n](const std::vector<float>& values, std::size_t width, std::size_t column, double& mean,
                      double& std_dev) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += values[i * width + column];
    mean = sum / static_cast<double>(n);
    double squares = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double d = values[i * width + column] - mean;
      squares += d * d;
    }
    std_dev = std::sqrt(squares / static_cast<double>(n));
  };
  for (std::size_t k = 0; k < 4; ++k) {
    mean_std(dataset.observations, 4, k, stats.observation_mean[k], stats.observation_std[k]);
  }
  for (std::size_t k = 0; k < 2; ++k) mean_std(dataset.actions, 2, k, stats.action_mean[k], stats.action_std[k]);
  double reward_std = 0.0;
  mean_std(dataset.rewards, 1, 0, stats.reward_mean, reward_std);
  if (!dataset.timeouts.empty()) {
    std::size_t cuts = 0;
    for (std::uint8_t t : dataset.timeouts) cuts += t;
    stats.timeout_fraction = static_cast<double>(cuts) / static_cast<double>(n);
  }
  return stats;
}

DatasetStatistics reference_statistics(const std::string& env_id) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  DatasetStatistics s;
  s.action_mean = {nan, nan};
  s.timeout_fraction = nan;
  const std::string layout = maze_env_spec(env_id).layout_text;
  if (layout == umaze_layout_text()) {
    s.observation_mean = {1.9328, 2.3745, 2.06e-4, -1.02e-3};
    s.observation_std = {0.8997, 0.7093, 2.2129, 2.4682};
    s.action_std = {0.7043, 0.7506};
    s.reward_mean = 0.081254;
  } else if (layout == medium_layout_text()) {
    s.observation_mean = {3.5093, 3.4766, 4e-5, 4e-5};
    s.observation_std = {1.3371, 1.5210, 2.3408, 2.3694};
    s.action_std = {0.7398, 0.7459};
    s.reward_mean = 0.0236665;
  } else {
    s.observation_mean = {3.7296, 5.3047, 5e-5, 3e-5};
    s.observation_std = {1.8070, 2.5688, 2.4368, 2.6494};
    s.action_std = {0.7249, 0.7395};
    s.reward_mean = 0.0089225;
  }
  return s;
}

}  // namespace df::planning
