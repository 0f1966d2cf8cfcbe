#include "df/robot/demo_dataset.h"

#include <algorithm>

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::robot {
namespace {

// Actions of every token [F, s, 4]: token 0 holds the start pose, token j >= 1 the steps before frame j.
torch::Tensor token_actions(const Demonstration& demo, const RobotTokenLayout& layout, const SceneSpec& spec) {
  const int64_t F = demo.frames.size(0), s = layout.action_stack();
  const auto hold = layout.hold_actions(spec.home).unsqueeze(0);
  return torch::cat({hold, demo.actions.reshape({F - 1, s, 4})});
}

}  // namespace

torch::Tensor demonstration_tokens(const Demonstration& demo, const RobotTokenLayout& layout, const SceneSpec& spec) {
  return layout.pack(demo.frames, token_actions(demo, layout, spec));
}

RobotDemoDataset::RobotDemoDataset(const DemoSet& set, const std::vector<int64_t>& indices,
                                   const RobotTokenLayout& layout, int64_t window)
    : layout_(layout), window_(window) {
  check(set.resolution == layout.resolution(),
        "robot.resolution is " + std::to_string(layout.resolution()) + " but the demonstrations were rendered at " +
            std::to_string(set.resolution) + " (format.txt); regenerate them or change robot.demo_dir");
  check(set.frame_every == layout.action_stack(), "robot.action_stack is " + std::to_string(layout.action_stack()) +
                                                      " but the demonstrations have a frame every " +
                                                      std::to_string(set.frame_every) +
                                                      " steps (format.txt); regenerate them or change robot.demo_dir");
  check(!indices.empty(), "RobotDemoDataset: no demonstrations selected");
  const SceneSpec spec;
  for (int64_t i : indices) {
    check(i >= 0 && i < static_cast<int64_t>(set.demos.size()), "RobotDemoDataset: demonstration index out of range");
    const auto& d = set.demos[static_cast<size_t>(i)];
    check(d.frames.size(0) >= window, d.name + ": " + std::to_string(d.frames.size(0)) + " frames, fewer than the " +
                                          std::to_string(window) + " tokens of a training sequence (robot.n_frames)");
    frames_.push_back(d.frames);
    actions_.push_back(token_actions(d, layout, spec));
  }
}

SequenceBatch RobotDemoDataset::sample(int64_t batch_size, torch::Generator& generator) {
  const auto picks = torch::randint(size(), {batch_size}, generator, torch::kLong);
  const auto offsets = torch::rand({batch_size}, generator, torch::kDouble);
  const auto pick = picks.accessor<int64_t, 1>();
  const auto offset = offsets.accessor<double, 1>();
  std::vector<torch::Tensor> frames, actions;
  for (int64_t b = 0; b < batch_size; ++b) {
    const auto i = static_cast<size_t>(pick[b]);
    const int64_t starts = frames_[i].size(0) - window_ + 1;
    const int64_t start = std::min(starts - 1, static_cast<int64_t>(offset[b] * static_cast<double>(starts)));
    frames.push_back(frames_[i].narrow(0, start, window_));
    actions.push_back(actions_[i].narrow(0, start, window_));
  }
  SequenceBatch batch;
  batch.x = layout_.pack(torch::stack(frames, 1), torch::stack(actions, 1));  // [T, B, 6 + s, R, R]
  return batch;
}

torch::Tensor RobotDemoDataset::all_sequences() const {
  std::vector<torch::Tensor> frames, actions;
  for (size_t i = 0; i < frames_.size(); ++i) {
    frames.push_back(frames_[i].narrow(0, 0, window_));
    actions.push_back(actions_[i].narrow(0, 0, window_));
  }
  return layout_.pack(torch::stack(frames, 1), torch::stack(actions, 1));
}

}  // namespace df::robot
