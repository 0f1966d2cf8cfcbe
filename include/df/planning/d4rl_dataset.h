// The D4RL Maze2D dataset: its in-memory form, the generator that produced the published files
// (scripts/generation/generate_maze2d_datasets.py + relabel_maze2d_rewards.py) and summary statistics.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace df::planning {

// Row-major arrays with the published key names in comments. terminals/timeouts hold 0 or 1.
struct D4rlDataset {
  std::vector<float> observations;  // "observations" [N, 4] = qpos_x, qpos_y, qvel_x, qvel_y
  std::vector<float> actions;       // "actions"      [N, 2]
  std::vector<float> rewards;       // "rewards"      [N]    sparse, w.r.t. the fixed G goal
  std::vector<std::uint8_t> terminals;  // "terminals" [N]
  std::vector<std::uint8_t> timeouts;   // "timeouts"  [N]  (empty if the file has none)
  std::vector<float> goals;         // "infos/goal"   [N, 2] the navigation target of the step (empty if absent)
  std::vector<float> qpos;          // "infos/qpos"   [N, 2] simulator state when recorded (empty if absent)
  std::vector<float> qvel;          // "infos/qvel"   [N, 2]

  std::size_t size() const { return rewards.size(); }
  // Throws df::Error naming the array whose length disagrees with `rewards`.
  void check_consistent(const std::string& where) const;
};

struct DatasetGenerationOptions {
  std::string env_id = "maze2d-umaze-v1";
  std::int64_t num_samples = 1000000;
  bool noisy = true;  // add N(0, 0.5^2) to the expert action before clipping (as the published v1 files)
  std::uint64_t seed = 0;
  std::function<void(std::int64_t done)> progress;  // called every 100k samples when set
};

// One continuous run, never reset after the first reset: the expert chases random targets; when it reaches
// one (or max_episode_steps pass) a new target is drawn, the step is marked as a timeout, and - a quirk of
// the original kept here - the next record repeats the previous observation. Rewards are relabelled
// against the fixed G goal (sparse, <= 0.5). terminals are all 0: the published files have no true terminal
// states; `timeouts` carries the sub-trajectory cuts (what the original script stored as `terminals`).
D4rlDataset generate_maze2d_dataset(const DatasetGenerationOptions& options);

struct DatasetStatistics {
  std::array<double, 4> observation_mean{};
  std::array<double, 4> observation_std{};  // population std (numpy's default)
  std::array<double, 2> action_mean{};
  std::array<double, 2> action_std{};
  double reward_mean = 0.0;
  double timeout_fraction = 0.0;
};

DatasetStatistics compute_statistics(const D4rlDataset& dataset);

// Statistics of the real D4RL files as stored in the Diffusion Forcing configs (no action mean there:
// those entries are NaN). Throws for an env id without reference statistics.
DatasetStatistics reference_statistics(const std::string& env_id);

}  // namespace df::planning
