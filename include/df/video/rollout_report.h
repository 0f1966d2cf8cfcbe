// Comparison of video rollouts from their per-frame CSVs (VideoRolloutWriter's <label>_frames.csv): one curve
// per model and metric against the frame index, and a summary per model (within-L errors beside the trivial
// predictors' on the same clips, the prediction gate, the share of frames out of the training data's range,
// the first frame at which a model leaves it).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "df/video/prediction_gate.h"

namespace df::video {

// The columns of one per-frame CSV (every row a frame index; "nan" where a value is unknown).
struct RolloutCurves {
  std::string label;
  std::map<std::string, std::vector<double>> columns;
  const std::vector<double>& column(const std::string& name) const;  // throws naming the file's label
  bool has(const std::string& name) const { return columns.count(name) == 1; }
  size_t frames() const;
};
RolloutCurves read_rollout_csv(const std::string& path, const std::string& label);

// frames, context_frames, {mse, psnr, ssim}_within_L (generated frames with index < L) and _all (every
// generated frame), {psnr, ssim}_first_token (the frames of the first generated token), out_of_range_share and
// first_out_of_range_frame (first_frame_out_of_range over a window of L; -1 = never) of the generated frames,
// truth_out_of_range_share; for every trivial predictor P (column_name: black, last_frame, mean_frame)
// P_{mse,psnr,ssim}_within_L, P_{psnr,ssim}_all, P_{psnr,ssim}_first_token; the gate: gate_passes (1 / 0,
// NaN when unknown), gate_margin_db, best_trivial_psnr_within_L. NaN where the CSV lacks what a value needs
// (no ground truth; CSVs written before the trivial predictors). VideoRolloutWriter::finish returns the same.
std::map<std::string, double> summarize_rollout(const RolloutCurves& curves, int64_t training_frames);
// The prediction gate of a rollout (prediction_gate.h) from its per-frame CSV.
GateVerdict rollout_gate(const RolloutCurves& curves, int64_t training_frames);

// Writes into `dir`: psnr.png, ssim.png (when some run has ground truth; with the trivial predictors' curves
// in grey), out_of_range.png, blobs.png, sharpness.png (the training length L marked; curves averaged over
// `smooth` frames when > 1), summary.csv, summary.md (one row per run, then the trivial predictors on the
// runs' clips; the summary uses the raw per-frame values) and gate.md (the gate verdict of every run).
void write_rollout_comparison(const std::vector<RolloutCurves>& runs, const std::string& dir, int64_t training_frames,
                              int64_t smooth = 1);

}  // namespace df::video
