#include "df/video/video_clips.h"

#include "df/core/compat.h"
#include "df/core/error.h"
#include "df/data/frame_stack.h"

namespace df::video {

torch::Tensor frames_to_tokens(const torch::Tensor& frames, int64_t frame_stack) {
  check(frames.dim() == 5 && frames.size(0) % frame_stack == 0,
        "frames_to_tokens: frames must be [T, B, C, H, W] with T a multiple of frame_stack " +
            std::to_string(frame_stack) + ", got " + shape_str(frames));
  return stack_frames((frames - 0.5) / 0.5, frame_stack);
}

torch::Tensor tokens_to_frames(const torch::Tensor& tokens, int64_t frame_stack, int64_t channels) {
  check(tokens.dim() == 5 && tokens.size(2) == frame_stack * channels, "tokens_to_frames: tokens must be [T, B, " +
                                                                           std::to_string(frame_stack * channels) +
                                                                           ", H, W], got " + shape_str(tokens));
  return unstack_frames(tokens, frame_stack) * 0.5 + 0.5;
}

torch::Tensor actions_to_condition(const torch::Tensor& actions, int64_t frame_stack, int64_t num_actions) {
  check(actions.dim() == 2 && actions.size(0) % frame_stack == 0 && num_actions > 0,
        "actions_to_condition: actions must be [T, B] with T a multiple of frame_stack, got " + shape_str(actions));
  const auto one_hot = torch::one_hot(actions.to(torch::kLong), num_actions).to(torch::kFloat32);  // [T, B, A]
  return stack_frames(one_hot, frame_stack);
}

VideoClip evaluation_clips(const ClipSource& source, int64_t first, int64_t batch, int64_t start, int64_t n_frames) {
  std::vector<torch::Tensor> frames, actions;
  for (int64_t b = 0; b < batch; ++b) {
    auto c = source.clip(first + b, start, n_frames);
    frames.push_back(c.frames);
    if (c.actions.defined()) actions.push_back(c.actions);
  }
  VideoClip out;
  out.frames = torch::stack(frames, 1);
  if (!actions.empty()) out.actions = torch::stack(actions, 1);
  return out;
}

VideoClipDataset::VideoClipDataset(std::shared_ptr<const ClipSource> source, int64_t n_frames, int64_t frame_stack,
                                   bool use_actions)
    : source_(std::move(source)), n_frames_(n_frames), frame_stack_(frame_stack), use_actions_(use_actions) {
  check(source_ != nullptr, "VideoClipDataset: no clip source");
  check(frame_stack_ >= 1 && n_frames_ >= frame_stack_ && n_frames_ % frame_stack_ == 0,
        "video.n_frames: " + std::to_string(n_frames_) + " must be a positive multiple of diffusion.frame_stack " +
            std::to_string(frame_stack_));
  check(!use_actions_ || source_->num_actions() > 0,
        "video.use_actions: " + source_->describe() + " has no actions to condition on");
}

SequenceBatch VideoClipDataset::sample(int64_t batch_size, torch::Generator& generator) {
  std::vector<torch::Tensor> frames, actions;
  for (int64_t b = 0; b < batch_size; ++b) {
    auto c = source_->random_clip(n_frames_, generator);
    frames.push_back(c.frames);
    if (use_actions_) actions.push_back(c.actions);
  }
  SequenceBatch batch;
  batch.x = frames_to_tokens(torch::stack(frames, 1), frame_stack_);  // [T/fs, B, fs*C, H, W]
  if (use_actions_) batch.cond = actions_to_condition(torch::stack(actions, 1), frame_stack_, source_->num_actions());
  return batch;
}

std::vector<int64_t> VideoClipDataset::token_shape() const {
  return {frame_stack_ * source_->channels(), source_->resolution(), source_->resolution()};
}

}  // namespace df::video
