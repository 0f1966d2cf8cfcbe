// Maze2D tokens of the paper's planner (reference spec section 5): unstacked frame j holds
// (o_{j+1}, a_j) = 4 observation + 2 action values, normalised per maze, and frame_stack consecutive frames
// form one token ([fs * 6] features). o_0 is not a token: it feeds the observation encoder (z_0).
// Training windows are every contiguous slice of episode_len steps over the concatenated D4RL dataset.
#pragma once
#include <torch/torch.h>

#include <array>
#include <string>

#include "df/data/sequence_dataset.h"
#include "df/planning/d4rl_dataset.h"

namespace df::planning {

// Normalisation x' = (x - mean) / std of observations (x, y, vx, vy) and actions (ax, ay).
struct MazeNormalization {
  std::array<double, 4> observation_mean{};
  std::array<double, 4> observation_std{1, 1, 1, 1};
  std::array<double, 2> action_mean{};
  std::array<double, 2> action_std{1, 1};
};

// The constants of the reference configs for the maze of `env_id` (umaze / medium / large, "-multi"
// included). action_std > 0 replaces both action stds (the maintainer's planning fix uses 2). Throws
// df::Error naming the id for an unknown maze.
MazeNormalization reference_normalization(const std::string& env_id, double action_std = 0.0);
// Mean / population std of a dataset (for user files of other mazes).
MazeNormalization dataset_normalization(const D4rlDataset& dataset, double action_std = 0.0);

class MazeTokenLayout {
 public:
  static constexpr int64_t kFrameDim = 6;  // x, y, vx, vy, ax, ay

  MazeTokenLayout(int64_t frame_stack, MazeNormalization normalization);

  int64_t frame_stack() const { return frame_stack_; }
  int64_t token_dim() const { return frame_stack_ * kFrameDim; }
  const MazeNormalization& normalization() const { return norm_; }

  // Raw next observations [L, B, 4] and actions [L, B, 2] (L divisible by fs) -> tokens [L/fs, B, fs*6].
  torch::Tensor encode(const torch::Tensor& next_observations, const torch::Tensor& actions) const;
  // Tokens [..., fs*6] -> raw frames [..., fs, 6] (differentiable; for guidance on x0 [R, H, B, fs*6]).
  torch::Tensor decode(const torch::Tensor& tokens) const;
  // Raw observations [..., 4] <-> normalised (the observation encoder's input).
  torch::Tensor normalize_observation(const torch::Tensor& observations) const;
  // Normalised value of a raw position [..., 2] (for replacement of the goal in a plan).
  torch::Tensor normalize_position(const torch::Tensor& positions) const;

 private:
  torch::Tensor scale(const torch::TensorOptions& options) const;   // [6] stds
  torch::Tensor offset(const torch::TensorOptions& options) const;  // [6] means
  int64_t frame_stack_;
  MazeNormalization norm_;
};

// Sliding windows of `episode_len` steps: x [episode_len/fs, B, fs*6], first_observation [B, 4] = o_0
// (normalised). A window starting at s uses o_s .. o_{s+L} and a_s .. a_{s+L-1}, so the last frame holds a
// real observation (the reference zero-pads it and masks it out of the loss; a real one needs no mask).
class MazeWindowDataset : public SequenceDataset {
 public:
  MazeWindowDataset(const D4rlDataset& data, MazeTokenLayout layout, int64_t episode_len);

  SequenceBatch sample(int64_t batch_size, torch::Generator& generator) override;
  std::vector<int64_t> token_shape() const override { return {layout_.token_dim()}; }
  int64_t num_tokens() const override { return episode_len_ / layout_.frame_stack(); }
  int64_t observation_dim() const override { return 4; }
  int64_t num_windows() const { return observations_.size(0) - episode_len_; }
  const MazeTokenLayout& layout() const { return layout_; }

 private:
  MazeTokenLayout layout_;
  int64_t episode_len_;
  torch::Tensor observations_;  // [N, 4] raw
  torch::Tensor actions_;       // [N, 2] raw
};

}  // namespace df::planning
