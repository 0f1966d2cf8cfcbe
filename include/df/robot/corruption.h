// Corrupted observations while a policy acts (paper section 4.4: robustness to noisy or missing
// observations). Diffusion Forcing labels a corrupted observation with a noise level k > 0 ("this token is
// noisy") and leans on its prior; k = 0, or a teacher-forced model, takes it as truth.
//   pixels: distractor (a blue bag lies on the table), blackout (cameras black);
//   state:  glitch (the tracker reports the fruits mirrored left-right: plausible slots, wrong fruit
//           positions), dropout (the sensors read zero), noise (Gaussian noise of std sigma on the
//           normalised state; DF labels it with the level whose forward noise matches sigma).
// When: from token start_token for `tokens` tokens (trigger token), or starting start_token tokens after the
// apple first rests in C, per episode (trigger ambiguous: around the state where memory decides).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "df/core/enum_names.h"
#include "df/diffusion/noise_schedule.h"
#include "df/robot/env.h"
#include "df/robot/token_codec.h"

namespace df::robot {
enum class CorruptionKind { None, Distractor, Blackout, Glitch, Dropout, Noise };
enum class CorruptionTrigger { Token, Ambiguous };
enum class CameraSet { Both, Overview, Hand };
}  // namespace df::robot

namespace df {
template <>
struct EnumNames<robot::CorruptionKind> {
  static constexpr const char* what = "corruption";
  static constexpr EnumName<robot::CorruptionKind> table[] = {
      {robot::CorruptionKind::None, "none"},       {robot::CorruptionKind::Distractor, "distractor"},
      {robot::CorruptionKind::Blackout, "blackout"}, {robot::CorruptionKind::Glitch, "glitch"},
      {robot::CorruptionKind::Dropout, "dropout"}, {robot::CorruptionKind::Noise, "noise"}};
};
template <>
struct EnumNames<robot::CorruptionTrigger> {
  static constexpr const char* what = "corruption trigger";
  static constexpr EnumName<robot::CorruptionTrigger> table[] = {{robot::CorruptionTrigger::Token, "token"},
                                                                 {robot::CorruptionTrigger::Ambiguous, "ambiguous"}};
};
template <>
struct EnumNames<robot::CameraSet> {
  static constexpr const char* what = "camera set";
  static constexpr EnumName<robot::CameraSet> table[] = {
      {robot::CameraSet::Both, "both"}, {robot::CameraSet::Overview, "overview"}, {robot::CameraSet::Hand, "hand"}};
};
}  // namespace df

namespace df::robot {

struct CorruptionOptions {
  CorruptionKind kind = CorruptionKind::None;
  CorruptionTrigger trigger = CorruptionTrigger::Token;
  int64_t start_token = 10;              // token: first corrupted token; ambiguous: tokens after the apple is in C
  int64_t tokens = 6;                    // corrupted observations in a row
  int64_t level = 600;                   // noise level the policy labels them with; 0 = taken as truth
  CameraSet blackout = CameraSet::Both;  // cameras that go black (kind = blackout)
  double sigma = 0.3;                    // kind = noise: std on the normalised state
};

// Whether a corruption kind applies to an observation kind (None fits both); the error names robot.corruption.
void check_corruption_fits(CorruptionKind kind, ObservationKind observation);

// Which envs of a batch see a corrupted observation at each token.
class CorruptionSchedule {
 public:
  CorruptionSchedule(const CorruptionOptions& options, int envs);
  // At the start of token j, before observing: the envs whose observation is corrupted now. Shows the
  // distractor on an env whose corruption begins (its pose from the env's own generator: the same for every
  // policy on an episode seed) and hides it when it ends.
  const std::vector<bool>& begin_token(BatchedSwapEnv& envs, int64_t j);

 private:
  CorruptionOptions options_;
  std::vector<int64_t> first_;  // per env: the first corrupted token (-1: not yet triggered)
  std::vector<bool> now_;
};

// Corrupts the observation entries of tokens [B, ...token] of the envs in `mask`, in place (every kind but the
// distractor, which acts on the scene before the cameras see it).
void corrupt_tokens(torch::Tensor& tokens, const std::vector<bool>& mask, const CorruptionOptions& options,
                    const TokenCodec& codec, torch::Generator& generator);

// The level k whose forward-process noise, seen on the signal's scale, sqrt((1 - abar_k) / abar_k), is
// closest to sigma: x_k / sqrt(abar_k) = x_0 + sigma_k eps.
int64_t level_matching_noise(const NoiseSchedule& schedule, double sigma);

}  // namespace df::robot
