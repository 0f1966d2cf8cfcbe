// The Diffusion Forcing robot policy (paper section 4.4) acting in batched fruit-swap environments:
//
//   z = z_0 (the learned initial latent)
//   token 0 = [frames at step 0 | hold the start pose]
//   for j = 0, 1, ...:
//     z = posterior(z, token j, level k_j)         k_j = 0, or corruption.level for a corrupted frame
//     x = sample token j+1 after z (S DDIM steps, one-token autoregressive matrix)
//     execute x's action chunk (action_stack control steps); stop an env at success
//     token j+1 = [frames now | the actions just executed]
//
// The latent carries the whole episode (memory). PolicyMemory::Memoryless resets z to z_0 before every
// token, so only the current token is seen: the behaviour of a Diffusion-Policy-style policy without
// history on the same network. Corruption: a distractor bag lies on the table, or cameras go black, for
// some tokens; DF absorbs those tokens at level k > 0 ("this observation is noisy") and leans on its
// prior, while k = 0 takes them as truth (what a teacher-forced next-frame model must do).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "df/models/diffusion_forcing_model.h"
#include "df/robot/cameras.h"
#include "df/robot/tokens.h"
#include "df/sampling/sampler.h"

namespace df::robot {
enum class PolicyMemory { Full, Memoryless };
enum class CorruptionKind { None, Distractor, Blackout };
enum class CameraSet { Both, Overview, Hand };
}  // namespace df::robot

namespace df {
template <>
struct EnumNames<robot::PolicyMemory> {
  static constexpr const char* what = "policy memory";
  static constexpr EnumName<robot::PolicyMemory> table[] = {{robot::PolicyMemory::Full, "memory"},
                                                            {robot::PolicyMemory::Memoryless, "memoryless"}};
};
template <>
struct EnumNames<robot::CorruptionKind> {
  static constexpr const char* what = "corruption";
  static constexpr EnumName<robot::CorruptionKind> table[] = {{robot::CorruptionKind::None, "none"},
                                                              {robot::CorruptionKind::Distractor, "distractor"},
                                                              {robot::CorruptionKind::Blackout, "blackout"}};
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
  int64_t start_token = 10;              // first corrupted observation (token index)
  int64_t tokens = 6;                    // corrupted observations in a row
  int64_t level = 600;                   // noise level the policy labels them with; 0 = taken as truth
  CameraSet blackout = CameraSet::Both;  // cameras that go black (kind = blackout)
  bool active(int64_t token) const {
    return kind != CorruptionKind::None && token >= start_token && token < start_token + tokens;
  }
};

struct PolicyOptions {
  PolicyMemory memory = PolicyMemory::Full;
  SamplerOptions sampler;
  CorruptionOptions corruption;
  int64_t max_tokens = 48;  // time limit: tokens of action_stack control steps
  uint64_t seed = 0;        // sampling noise and distractor placement
};

// Per env: its state after every control step (the env index, the env) and when a token begins.
struct PolicyObserver {
  std::function<void(int env, const SwapEnv&)> on_step;
  // token index, frames the policy saw [B, 2, R, R, 3] uint8 (after corruption), corrupted flag
  std::function<void(int64_t token, const torch::Tensor& frames, bool corrupted)> on_token;
};

struct PolicyOutcome {
  std::vector<bool> success;          // [B]
  std::vector<int64_t> success_step;  // [B] first control step with the swap done, -1 if never
  int64_t tokens = 0;                 // tokens sampled
  double seconds = 0;                 // wall time of the episode batch
};

class RobotPolicy {
 public:
  RobotPolicy(DiffusionForcingModel& model, RobotTokenLayout layout, PolicyOptions options);

  // Runs one episode in every env of `envs` (already reset), rendering the policy's cameras with
  // `renderer`.
  PolicyOutcome run(BatchedSwapEnv& envs, SceneRenderer& renderer, const PolicyObserver& observer = {});

  // z after absorbing tokens [B, C, R, R] at `level` (0: as given; k > 0: q-sampled to level k and
  // labelled k).
  torch::Tensor absorb(const torch::Tensor& z, const torch::Tensor& token, int64_t level, torch::Generator& generator);

  const PolicyOptions& options() const { return options_; }

 private:
  DiffusionForcingModel* model_;
  RobotTokenLayout layout_;
  PolicyOptions options_;
};

}  // namespace df::robot
