#include "df/video/prediction_gate.h"

#include <cmath>
#include <sstream>

namespace df::video {
namespace {

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(digits);
  s << v;
  return s.str();
}

}  // namespace

GateVerdict judge_prediction_gate(const GateScores& s, double required_margin_db) {
  GateVerdict v;
  v.required_margin_db = required_margin_db;
  v.known = std::isfinite(s.psnr_first_token) && std::isfinite(s.ssim_first_token) &&
            std::isfinite(s.last_frame_psnr_first_token) && std::isfinite(s.last_frame_ssim_first_token) &&
            std::isfinite(s.psnr_within_L) && !s.trivial_psnr_within_L.empty();
  for (const auto& [label, psnr] : s.trivial_psnr_within_L) {
    v.known = v.known && std::isfinite(psnr);
    if (v.best_trivial.empty() || psnr > v.best_trivial_psnr_within_L) {
      v.best_trivial = label;
      v.best_trivial_psnr_within_L = psnr;
    }
  }
  if (!v.known) return v;
  v.beats_last_frame_psnr = s.psnr_first_token > s.last_frame_psnr_first_token;
  v.beats_last_frame_ssim = s.ssim_first_token > s.last_frame_ssim_first_token;
  v.margin_db = s.psnr_within_L - v.best_trivial_psnr_within_L;
  v.beats_trivial_within_L = v.margin_db >= required_margin_db;
  return v;
}

std::string GateVerdict::explain() const {
  if (!known) return "unknown: no ground truth or no trivial predictors for these frames";
  if (passes()) return "passes";
  std::string why;
  auto add = [&](const std::string& reason) { why += (why.empty() ? "" : "; ") + reason; };
  if (!beats_last_frame_psnr) add("first token PSNR not above the last frame's");
  if (!beats_last_frame_ssim) add("first token SSIM not above the last frame's");
  if (!beats_trivial_within_L)
    add("within L " + std::string(margin_db >= 0 ? "+" : "") + fixed(margin_db, 2) + " dB over the " + best_trivial +
        ", needs +" + fixed(required_margin_db, 0) + " dB");
  return "fails: " + why;
}

}  // namespace df::video
