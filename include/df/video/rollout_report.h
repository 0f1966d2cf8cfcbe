// Comparison of video rollouts from their per-frame CSVs (VideoRolloutWriter's <label>_frames.csv): one curve
// per model and metric against the frame index, and a summary per model (within-L errors, the share of
// frames out of the training data's range, the first frame at which a model leaves it).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace df::video {

// The columns of one per-frame CSV (every row a frame index; "nan" where a value is unknown).
struct RolloutCurves {
  std::string label;
  std::map<std::string, std::vector<double>> columns;
  const std::vector<double>& column(const std::string& name) const;  // throws naming the file's label
  size_t frames() const;
};
RolloutCurves read_rollout_csv(const std::string& path, const std::string& label);

// frames, context_frames, {mse, psnr, ssim}_within_L (generated frames with index < L), psnr_all,
// out_of_range_share and first_out_of_range_frame (first_frame_out_of_range over a window of L; -1 = never)
// of the generated frames, truth_out_of_range_share. The same definitions as VideoRolloutWriter::finish.
std::map<std::string, double> summarize_rollout(const RolloutCurves& curves, int64_t training_frames);

// Writes into `dir`: psnr.png, ssim.png (when some run has ground truth), out_of_range.png, blobs.png,
// sharpness.png (the training length L marked; curves averaged over `smooth` frames when > 1), summary.csv
// and summary.md (one row per run; the summary uses the raw per-frame values).
void write_rollout_comparison(const std::vector<RolloutCurves>& runs, const std::string& dir, int64_t training_frames,
                              int64_t smooth = 1);

}  // namespace df::video
