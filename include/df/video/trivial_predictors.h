// Trivial video predictors: the floor a video model has to clear before its rollouts say anything. Each one
// predicts every generated frame of a test clip without looking at it:
//   black        the all-black frame (zeros)
//   last_frame   the last context frame, repeated
//   mean_frame   the mean training frame (pixel-wise mean of frames of training clips)
// They are scored against the clip's true continuation with the models' own metrics (video_metrics.h), so a
// model's PSNR / SSIM and theirs are comparable frame by frame.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "df/video/video_clips.h"
#include "df/video/video_metrics.h"

namespace df::video {

enum class TrivialPredictor { Black, LastFrame, MeanFrame };

const std::vector<TrivialPredictor>& trivial_predictors();
// "black", "last_frame", "mean_frame": the suffix of their per-frame CSV columns (psnr_black, ...).
std::string column_name(TrivialPredictor predictor);
// "all-black frame", "last context frame repeated", "mean training frame": their labels in tables.
std::string describe(TrivialPredictor predictor);

// The mean training frame [C, H, W] in [0, 1] and how many frames were averaged for it.
struct MeanFrame {
  torch::Tensor frame;
  int64_t frames = 0;
};
// Pixel-wise mean of the frames of `clips` random training clips of `n_frames` frames each.
MeanFrame mean_training_frame(const ClipSource& train, int64_t clips, int64_t n_frames, torch::Generator& generator);

// The predictor's frames for a continuation of `n` frames, [n, B, C, H, W]: `last_context` [B, C, H, W] is
// every sequence's last context frame, `mean_frame` [C, H, W] the mean training frame (each needed only by
// its predictor).
torch::Tensor trivial_prediction(TrivialPredictor predictor, const torch::Tensor& last_context,
                                 const torch::Tensor& mean_frame, int64_t n);

// Per-frame errors [n, B] of the predictor against the true continuation `truth` [n, B, C, H, W].
FrameErrors score_trivial_predictor(TrivialPredictor predictor, const torch::Tensor& truth,
                                    const torch::Tensor& last_context, const torch::Tensor& mean_frame);

}  // namespace df::video
