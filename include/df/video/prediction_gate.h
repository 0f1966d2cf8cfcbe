// The gate a video model must pass before its long rollouts are read as a result (issue: video models that
// predict). On unseen test clips, against the trivial predictors (trivial_predictors.h):
//   1. on the first generated token (its frame_stack frames) the model beats the last context frame repeated
//      in PSNR and in SSIM -- it predicts motion, not only the picture it was given;
//   2. within the training length its PSNR is at least `margin_db` (3 dB) above the best trivial predictor's
//      -- it is no blur of the mean frame or the last frame.
#pragma once
#include <map>
#include <string>

namespace df::video {

struct GateScores {
  double psnr_first_token = 0, ssim_first_token = 0;            // the model
  double last_frame_psnr_first_token = 0, last_frame_ssim_first_token = 0;  // the last context frame repeated
  double psnr_within_L = 0;                                     // the model
  std::map<std::string, double> trivial_psnr_within_L;          // every trivial predictor, by label
};

struct GateVerdict {
  bool known = false;  // every score finite: the rollout had ground truth and trivial predictors
  bool beats_last_frame_psnr = false, beats_last_frame_ssim = false, beats_trivial_within_L = false;
  std::string best_trivial;              // the trivial predictor with the highest PSNR within L
  double best_trivial_psnr_within_L = 0;
  double margin_db = 0;                  // model's PSNR within L - best_trivial_psnr_within_L
  double required_margin_db = 3.0;
  bool passes() const { return known && beats_last_frame_psnr && beats_last_frame_ssim && beats_trivial_within_L; }
  // "passes", "fails: ..." naming every failed condition with its numbers, or "unknown: ...".
  std::string explain() const;
};

GateVerdict judge_prediction_gate(const GateScores& scores, double required_margin_db = 3.0);

}  // namespace df::video
