#include "df/planning/maze_tokens.h"

#include <cmath>

#include "df/core/compat.h"
#include "df/core/error.h"
#include "df/data/frame_stack.h"

namespace df::planning {

MazeNormalization reference_normalization(const std::string& env_id, double action_std) {
  MazeNormalization n;
  // Constants of the reference's dataset configs (official_implementation.md section 5); umaze has no
  // action mean there (0).
  if (env_id.find("umaze") != std::string::npos) {
    n.observation_mean = {1.9327888, 2.3744664, 2.06e-4, -1.02e-3};
    n.observation_std = {0.89972174, 0.7093159, 2.2128615, 2.468173};
    n.action_std = {0.7043469, 0.7506248};
  } else if (env_id.find("medium") != std::string::npos) {
    n.observation_mean = {3.5092521, 3.4765592, 4.10e-5, 3.85e-5};
    n.observation_std = {1.3371079, 1.52102, 2.3407657, 2.3693702};
    n.action_mean = {0.00123821, 0.00124745};
    n.action_std = {0.73977315, 0.7459419};
  } else if (env_id.find("large") != std::string::npos) {
    n.observation_mean = {3.7296331, 5.3047247, 4.73e-5, 2.92e-5};
    n.observation_std = {1.8070312, 2.5687592, 2.4368455, 2.6493697};
    n.action_mean = {0.00100675, 0.00078245};
    n.action_std = {0.72493, 0.7394606};
  } else {
    throw Error("maze.env: no reference normalisation for \"" + env_id + "\" (umaze, medium or large)");
  }
  if (action_std > 0) n.action_std = {action_std, action_std};
  return n;
}

MazeNormalization dataset_normalization(const D4rlDataset& dataset, double action_std) {
  const auto s = compute_statistics(dataset);
  MazeNormalization n;
  n.observation_mean = s.observation_mean;
  n.observation_std = s.observation_std;
  n.action_mean = s.action_mean;
  n.action_std = s.action_std;
  if (action_std > 0) n.action_std = {action_std, action_std};
  return n;
}

MazeTokenLayout::MazeTokenLayout(int64_t frame_stack, MazeNormalization normalization)
    : frame_stack_(frame_stack), norm_(normalization) {
  check(frame_stack >= 1, "maze tokens: frame_stack must be >= 1");
  for (double s : norm_.observation_std) check(s > 0, "maze tokens: observation std must be > 0");
  for (double s : norm_.action_std) check(s > 0, "maze tokens: action std must be > 0");
}

torch::Tensor MazeTokenLayout::scale(const torch::TensorOptions& options) const {
  const auto& o = norm_.observation_std;
  const auto& a = norm_.action_std;
  return torch::tensor({o[0], o[1], o[2], o[3], a[0], a[1]}, torch::kDouble).to(options);
}

torch::Tensor MazeTokenLayout::offset(const torch::TensorOptions& options) const {
  const auto& o = norm_.observation_mean;
  const auto& a = norm_.action_mean;
  return torch::tensor({o[0], o[1], o[2], o[3], a[0], a[1]}, torch::kDouble).to(options);
}

torch::Tensor MazeTokenLayout::encode(const torch::Tensor& next_observations, const torch::Tensor& actions) const {
  check(next_observations.dim() == 3 && next_observations.size(2) == 4 && actions.dim() == 3 && actions.size(2) == 2 &&
            next_observations.size(0) == actions.size(0) && next_observations.size(1) == actions.size(1),
        "maze tokens: expected observations [L, B, 4] and actions [L, B, 2], got " + shape_str(next_observations) +
            " and " + shape_str(actions));
  const auto frames = torch::cat({next_observations, actions.to(next_observations.dtype())}, 2);  // [L, B, 6]
  const auto normalised = (frames - offset(frames.options())) / scale(frames.options());
  return stack_frames(normalised, frame_stack_);
}

torch::Tensor MazeTokenLayout::decode(const torch::Tensor& tokens) const {
  check(tokens.dim() >= 1 && tokens.size(-1) == token_dim(),
        "maze tokens: expected [..., " + std::to_string(token_dim()) + "], got " + shape_str(tokens));
  auto sizes = tokens.sizes().vec();
  sizes.back() = frame_stack_;
  sizes.push_back(kFrameDim);
  // stack_frames puts frame f of a token at features [f*6, f*6+6).
  return tokens.reshape(sizes) * scale(tokens.options()) + offset(tokens.options());
}

torch::Tensor MazeTokenLayout::normalize_observation(const torch::Tensor& observations) const {
  check(observations.size(-1) == 4, "maze tokens: expected observations [..., 4], got " + shape_str(observations));
  return (observations - offset(observations.options()).slice(0, 0, 4)) / scale(observations.options()).slice(0, 0, 4);
}

torch::Tensor MazeTokenLayout::normalize_position(const torch::Tensor& positions) const {
  check(positions.size(-1) == 2, "maze tokens: expected positions [..., 2], got " + shape_str(positions));
  return (positions - offset(positions.options()).slice(0, 0, 2)) / scale(positions.options()).slice(0, 0, 2);
}

MazeWindowDataset::MazeWindowDataset(const D4rlDataset& data, MazeTokenLayout layout, int64_t episode_len)
    : layout_(std::move(layout)), episode_len_(episode_len) {
  data.check_consistent("maze dataset");
  const int64_t n = static_cast<int64_t>(data.size());
  check(episode_len >= 1 && episode_len % layout_.frame_stack() == 0,
        "maze.episode_len: " + std::to_string(episode_len) + " must be a positive multiple of diffusion.frame_stack " +
            std::to_string(layout_.frame_stack()));
  check(n > episode_len, "maze dataset: " + std::to_string(n) + " steps, need more than maze.episode_len = " +
                             std::to_string(episode_len));
  observations_ = torch::from_blob(const_cast<float*>(data.observations.data()), {n, 4}, torch::kFloat).clone();
  actions_ = torch::from_blob(const_cast<float*>(data.actions.data()), {n, 2}, torch::kFloat).clone();
}

SequenceBatch MazeWindowDataset::sample(int64_t batch_size, torch::Generator& generator) {
  const auto start = torch::randint(num_windows(), {batch_size}, generator, torch::kLong);  // [B]
  const auto idx = start.unsqueeze(0) + torch::arange(episode_len_, torch::kLong).unsqueeze(1);  // [L, B]
  SequenceBatch b;
  b.x = layout_.encode(observations_.index({idx + 1}), actions_.index({idx}));  // [L/fs, B, fs*6]
  b.first_observation = layout_.normalize_observation(observations_.index({start}));  // [B, 4]
  return b;
}

}  // namespace df::planning
