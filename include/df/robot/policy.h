// The Diffusion Forcing robot policy (paper section 4.4) acting in batched fruit-swap environments, on state
// or pixel tokens (TokenCodec):
//
//   z = z_0 (the learned initial latent)
//   token 0 = [observation at step 0 | hold the start pose]
//   for j = 0, 1, ...:
//     z = posterior(z, token j, level k_j)         k_j = 0, or corruption.level for a corrupted observation
//     x = sample token j+1 after z (S DDIM steps, one-token autoregressive matrix)
//     execute x's action chunk (action_stack control steps); stop an env at success
//     token j+1 = [observation now | the actions just executed]
//
// The latent carries the whole episode (memory). PolicyMemory::Memoryless resets z to z_0 before every
// token, so only the current token is seen: the behaviour of a Diffusion-Policy-style policy without
// history on the same network. Corruption (corruption.h): DF absorbs corrupted tokens at level k > 0 ("this
// observation is noisy") and leans on its prior, while k = 0 takes them as truth (what a teacher-forced
// next-token model must do). Sensor noise of std sigma is labelled with the level whose forward noise
// matches sigma and scaled, not noised again: the corruption is then exactly the diffusion noise.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <vector>

#include "df/models/diffusion_forcing_model.h"
#include "df/robot/cameras.h"
#include "df/robot/corruption.h"
#include "df/robot/token_codec.h"
#include "df/sampling/sampler.h"

namespace df::robot {
enum class PolicyMemory { Full, Memoryless };
}  // namespace df::robot

namespace df {
template <>
struct EnumNames<robot::PolicyMemory> {
  static constexpr const char* what = "policy memory";
  static constexpr EnumName<robot::PolicyMemory> table[] = {{robot::PolicyMemory::Full, "memory"},
                                                            {robot::PolicyMemory::Memoryless, "memoryless"}};
};
}  // namespace df

namespace df::robot {

struct PolicyOptions {
  PolicyMemory memory = PolicyMemory::Full;
  SamplerOptions sampler;
  CorruptionOptions corruption;
  int64_t max_tokens = 36;  // time limit: tokens of action_stack control steps
  uint64_t seed = 0;        // sampling noise and corruption noise
};

// Per env: its state after every control step (the env index, the env) and when a token begins.
struct PolicyObserver {
  std::function<void(int env, const SwapEnv&)> on_step;
  // token index, the tokens the policy absorbs [B, ...token] (after corruption), which envs were corrupted
  std::function<void(int64_t token, const torch::Tensor& tokens, const std::vector<bool>& corrupted)> on_token;
};

struct PolicyOutcome {
  std::vector<bool> success;          // [B]
  std::vector<int64_t> success_step;  // [B] first control step with the swap done, -1 if never
  int64_t tokens = 0;                 // tokens sampled
  double seconds = 0;                 // wall time of the episode batch

  // The outcome of B episodes before their first step: none succeeded.
  static PolicyOutcome for_batch(int batch);
};

// One control step of a batch of episodes, the success rule shared by the policy and the scripted expert:
// steps every active environment with its action, reports the step to the observer, and retires the
// environments that have just swapped the fruits (outcome records their step). Returns whether any is active.
bool step_episodes(BatchedSwapEnv& envs, const std::vector<Action>& actions, std::vector<bool>& active,
                   const PolicyObserver& observer, PolicyOutcome& outcome);

// The model input for tokens [B, ...token] labelled with levels [B] (> 0): sqrt(abar_k) x + std eps with
// std = sqrt(1 - abar_k), except at the entries where `observed` ([token], 1 = observation) is set when
// observation_noise > 0: they already carry Gaussian noise of that std, and sqrt(abar_k) (x + sigma eps')
// needs only sqrt(max(0, 1 - abar_k (1 + sigma^2))) more (none when sigma is the level's own noise).
torch::Tensor labelled_input(const NoiseSchedule& schedule, const torch::Tensor& tokens, const torch::Tensor& levels,
                             const torch::Tensor& eps, const torch::Tensor& observed, double observation_noise);

class RobotPolicy {
 public:
  RobotPolicy(DiffusionForcingModel& model, std::shared_ptr<const TokenCodec> codec, PolicyOptions options);

  // Runs one episode in every env of `envs` (already reset). Pixel policies render their cameras with
  // `renderer`; state policies need none (nullptr).
  PolicyOutcome run(BatchedSwapEnv& envs, SceneRenderer* renderer, const PolicyObserver& observer = {});

  // z after absorbing tokens [B, ...token] at per-env levels [B] (0: as given; k > 0: labelled k, q-sampled to
  // level k). observation_noise > 0: the observation entries already carry Gaussian noise of that std, so
  // they get only the noise that level k adds beyond it (none at the matching level).
  torch::Tensor absorb(const torch::Tensor& z, const torch::Tensor& tokens, const torch::Tensor& levels,
                       torch::Generator& generator, double observation_noise = 0.0);

  const PolicyOptions& options() const { return options_; }
  // The level corrupted observations are labelled with (corruption.level, or the noise-matching level).
  int64_t corruption_level() const { return level_; }

 private:
  DiffusionForcingModel* model_;
  std::shared_ptr<const TokenCodec> codec_;
  PolicyOptions options_;
  int64_t level_ = 0;
};

}  // namespace df::robot
