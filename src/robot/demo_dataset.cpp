#include "df/robot/demo_dataset.h"

#include <algorithm>

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::robot {
namespace {

// Actions of every token [F, s, 4]: token 0 holds the start pose, token j >= 1 the steps before frame j.
torch::Tensor token_actions(const Demonstration& demo, int64_t action_stack, const SceneSpec& spec) {
  const int64_t F = demo.states.size(0), s = action_stack;
  auto hold = torch::zeros({1, s, 4}, torch::kFloat);
  for (int64_t k = 0; k < 3; ++k) hold.select(2, k).fill_(spec.home[static_cast<size_t>(k)]);
  return torch::cat({hold, demo.actions.reshape({F - 1, s, 4})});
}

int64_t start_index(const Demonstration& demo) { return demo.start.apple_slot == Slot::A ? 0 : 1; }

}  // namespace

torch::Tensor demonstration_tokens(const Demonstration& demo, const TokenCodec& codec, const SceneSpec& spec) {
  const auto actions = token_actions(demo, codec.action_stack(), spec);
  const auto start = torch::full({actions.size(0)}, start_index(demo), torch::kLong);
  return codec.encode(codec.demonstration_observations(demo), actions, start);
}

int64_t usable_tokens(const Demonstration& demo, int64_t action_stack, WindowRange range) {
  const int64_t F = demo.states.size(0);
  if (range == WindowRange::Anywhere) return F;
  // Token j holds the actions of steps s (j - 1) .. s j - 1: the done step's last move is in token ceil(done / s).
  const int64_t done = expert_done_step(demo.actions);
  return std::min(F, (done + action_stack - 1) / action_stack + 1);
}

RobotDemoDataset::RobotDemoDataset(const DemoSet& set, const std::vector<int64_t>& indices,
                                   std::shared_ptr<const TokenCodec> codec, int64_t window, WindowRange range)
    : codec_(std::move(codec)), window_(window) {
  check(codec_ != nullptr, "RobotDemoDataset: no token codec");
  if (codec_->kind() == ObservationKind::Pixels) {
    const auto& layout = static_cast<const PixelTokenCodec&>(*codec_).layout();
    check(set.pixels, "robot.observation is pixels but the demonstrations hold states only (format.txt); delete "
                      "robot.demo_dir to regenerate them with cameras, or change robot.demo_dir");
    check(set.resolution == layout.resolution(),
          "robot.resolution is " + std::to_string(layout.resolution()) + " but the demonstrations were rendered at " +
              std::to_string(set.resolution) + " (format.txt); regenerate them or change robot.demo_dir");
  }
  check(set.frame_every == codec_->action_stack(),
        "robot.action_stack is " + std::to_string(codec_->action_stack()) + " but the demonstrations have a frame every " +
            std::to_string(set.frame_every) + " steps (format.txt); regenerate them or change robot.demo_dir");
  check(window >= 2, "robot.window: a training sequence needs at least 2 tokens, got " + std::to_string(window));
  check(!indices.empty(), "RobotDemoDataset: no demonstrations selected");
  const SceneSpec spec;
  for (int64_t i : indices) {
    check(i >= 0 && i < static_cast<int64_t>(set.demos.size()), "RobotDemoDataset: demonstration index out of range");
    const auto& d = set.demos[static_cast<size_t>(i)];
    const int64_t usable = usable_tokens(d, codec_->action_stack(), range);
    check(usable >= window,
          d.name + ": " + std::to_string(usable) + " tokens" +
              (range == WindowRange::BeforeExpertDone ? " before the expert is done" : "") + ", fewer than the " +
              std::to_string(window) + " tokens of a training sequence (robot.window / robot.n_frames)");
    observations_.push_back(codec_->demonstration_observations(d));
    actions_.push_back(token_actions(d, codec_->action_stack(), spec));
    apple_start_.push_back(start_index(d));
    usable_.push_back(usable);
  }
}

SequenceBatch RobotDemoDataset::sample(int64_t batch_size, torch::Generator& generator) {
  const auto picks = torch::randint(size(), {batch_size}, generator, torch::kLong);
  const auto offsets = torch::rand({batch_size}, generator, torch::kDouble);
  const auto pick = picks.accessor<int64_t, 1>();
  const auto offset = offsets.accessor<double, 1>();
  std::vector<torch::Tensor> observations, actions;
  std::vector<int64_t> starts;
  for (int64_t b = 0; b < batch_size; ++b) {
    const auto i = static_cast<size_t>(pick[b]);
    const int64_t count = usable_[i] - window_ + 1;
    const int64_t start = std::min(count - 1, static_cast<int64_t>(offset[b] * static_cast<double>(count)));
    observations.push_back(observations_[i].narrow(0, start, window_));
    actions.push_back(actions_[i].narrow(0, start, window_));
    starts.push_back(apple_start_[i]);
  }
  const auto apple_start = torch::tensor(starts, torch::kLong).unsqueeze(0).expand({window_, batch_size});
  SequenceBatch batch;
  batch.x = codec_->encode(torch::stack(observations, 1), torch::stack(actions, 1), apple_start);  // [T, B, ...]
  return batch;
}

torch::Tensor RobotDemoDataset::all_sequences() const {
  std::vector<torch::Tensor> observations, actions;
  for (size_t i = 0; i < observations_.size(); ++i) {
    observations.push_back(observations_[i].narrow(0, 0, window_));
    actions.push_back(actions_[i].narrow(0, 0, window_));
  }
  const auto apple_start =
      torch::tensor(apple_start_, torch::kLong).unsqueeze(0).expand({window_, static_cast<int64_t>(size())});
  return codec_->encode(torch::stack(observations, 1), torch::stack(actions, 1), apple_start);
}

}  // namespace df::robot
