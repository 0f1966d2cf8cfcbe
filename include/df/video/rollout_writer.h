// Where df_sample's video rollouts go, frame by frame as they are sampled, so memory does not grow with
// the rollout length (only a few numbers per frame and the frames of the strip are kept):
//   <label>.mp4         the first `mp4_rows` sequences side by side (ground truth below them when known),
//                       context frames outlined in red, the frame number on top
//   <label>_strip.png   the first `strip_rows` sequences (each above its ground truth when known): the context
//                       frames, then generated frames at a uniform stride over the whole rollout (at most
//                       `strip_columns`, the last frame included), like the paper's figures 8-11 (context
//                       outlined in red)
//   <label>_frames.csv  per frame index (batch means): MSE, PSNR, PSNR with the reference's data range 2,
//                       SSIM (when the ground truth is known), the no-ground-truth statistics, the share
//                       of sequences whose frame is out of the training data's range (also for the truth),
//                       the token the frame belongs to, and, on generated frames with ground truth, MSE /
//                       PSNR / SSIM of the trivial predictors (trivial_predictors.h: {mse,psnr,ssim}_black,
//                       _last_frame, _mean_frame), then, with ground truth, the distance between the
//                       frames' centroids in pixels (centroid_error) and the PSNR once the prediction is moved
//                       onto the truth's centroid (psnr_aligned; video_metrics.h compare_aligned)
//   <label>_range.png   the out-of-range share against the frame index (the training length marked), and
//   <label>_psnr.png    PSNR against the frame index, when the ground truth is known
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "df/experiment/domain.h"
#include "df/video/video_metrics.h"

namespace df::video {

struct RolloutWriterOptions {
  std::string dir, label;
  int64_t frame_stack = 1;
  int64_t channels = 3;
  int64_t training_frames = 0;  // L: within-L metrics cover generated frames with index < L; marked in plots
  double fps = 10.0;
  int64_t strip_columns = 12;        // generated frames in the strip
  int64_t strip_rows = 4;            // sequences in the strip
  int64_t mp4_rows = 4;              // sequences in the MP4
  int64_t min_tile_pixels = 64;      // smaller frames are enlarged (nearest neighbour) in the strip
  int64_t min_mp4_tile_pixels = 64;  // ... and in the MP4
  int64_t min_blob_pixels = 2;       // frame_statistics' blob size
  // The mean training frame [C, H, W] in [0, 1] and the frames averaged for it (trivial_predictors.h);
  // undefined: no trivial predictors are scored.
  torch::Tensor mean_frame;
  int64_t mean_frame_count = 0;
};

// (first frame, n) -> ground-truth frames [n, B, C, H, W] in [0, 1] of the sequences being sampled, or an
// undefined tensor where the truth has ended.
using GroundTruthFrames = std::function<torch::Tensor(int64_t first_frame, int64_t n)>;

class VideoRolloutWriter : public SampleWriter {
 public:
  // `data_range`: the statistics' range on training frames. `truth` (optional) is used when the context
  // written matches its first frames (it is the context df_sample took from the test split).
  VideoRolloutWriter(RolloutWriterOptions options, StatisticRange data_range, GroundTruthFrames truth = nullptr);
  ~VideoRolloutWriter() override;

  void write_context(const torch::Tensor& tokens) override;
  void write(const torch::Tensor& tokens) override;
  // Closes the files and returns summarize_rollout of the per-frame CSV (rollout_report.h) without the values
  // that are unknown (no ground truth: no errors, no trivial predictors, no gate), plus
  // mean_frame_training_frames; logs the prediction gate's verdict when it is known.
  std::map<std::string, double> finish() override;

 private:
  struct State;
  void add(const torch::Tensor& tokens, bool context);
  std::unique_ptr<State> state_;
};

}  // namespace df::video
