// Clips of a video dataset and the training set built from them. A ClipSource is one split (training or
// test) of a dataset -- Moving MNIST, TECO DMLab / Minecraft, a folder of the user's videos -- that yields
// random clips for training and numbered clips for evaluation (whose continuation is the ground truth).
// VideoClipDataset turns random clips into Diffusion Forcing tokens: frames scaled to [-1, 1] as the
// reference's (x - 0.5) / 0.5, frame_stack frames per token along the channels, one-hot actions as the
// per-token condition.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "df/data/sequence_dataset.h"

namespace df::video {

enum class VideoSplit { Train, Test };

struct VideoClip {
  torch::Tensor frames;   // [T, C, H, W] float32 in [0, 1]
  torch::Tensor actions;  // [T] int64 in [0, num_actions), or undefined when the data has none
};

class ClipSource {
 public:
  virtual ~ClipSource() = default;
  // A clip of n_frames frames at a random place; all randomness from `generator` (CPU).
  virtual VideoClip random_clip(int64_t n_frames, torch::Generator& generator) const = 0;
  // Frames [start, start + n_frames) of evaluation clip `index` (deterministic). Throws when the clip is
  // shorter (see clip_length).
  virtual VideoClip clip(int64_t index, int64_t start, int64_t n_frames) const = 0;
  // Frames of evaluation clip `index` in total; -1 = unbounded (a generator).
  virtual int64_t clip_length(int64_t index) const = 0;
  // Distinct evaluation clips; indices wrap around past it; -1 = unbounded.
  virtual int64_t num_clips() const = 0;
  virtual int64_t channels() const = 0;
  virtual int64_t resolution() const = 0;
  virtual int64_t num_actions() const { return 0; }  // 0: the data has no actions
  virtual std::string describe() const = 0;
};

// Frames [T, B, C, H, W] in [0, 1] -> tokens [T / fs, B, fs * C, H, W] in [-1, 1], and back.
torch::Tensor frames_to_tokens(const torch::Tensor& frames, int64_t frame_stack);
torch::Tensor tokens_to_frames(const torch::Tensor& tokens, int64_t frame_stack, int64_t channels);
// Actions [T, B] int64 -> per-token one-hot conditions [T / fs, B, fs * num_actions].
torch::Tensor actions_to_condition(const torch::Tensor& actions, int64_t frame_stack, int64_t num_actions);

// Evaluation clips [first, first + batch) stacked: frames [n_frames, B, C, H, W], actions [n_frames, B] or undefined.
VideoClip evaluation_clips(const ClipSource& source, int64_t first, int64_t batch, int64_t start, int64_t n_frames);

class VideoClipDataset : public SequenceDataset {
 public:
  // n_frames must be a multiple of frame_stack; with use_actions the source must have actions.
  VideoClipDataset(std::shared_ptr<const ClipSource> source, int64_t n_frames, int64_t frame_stack, bool use_actions);
  SequenceBatch sample(int64_t batch_size, torch::Generator& generator) override;
  std::vector<int64_t> token_shape() const override;
  int64_t num_tokens() const override { return n_frames_ / frame_stack_; }
  int64_t cond_dim() const override { return use_actions_ ? frame_stack_ * source_->num_actions() : 0; }

 private:
  std::shared_ptr<const ClipSource> source_;
  int64_t n_frames_, frame_stack_;
  bool use_actions_;
};

}  // namespace df::video
