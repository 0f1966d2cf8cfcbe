// The forward (noising) process with an independent noise level for every token, the training-level
// samplers (Diffusion Forcing's independent levels and the two baselines), and padding masks.
#pragma once
#include <torch/torch.h>

#include <string>

#include "df/diffusion/noise_schedule.h"

#include "df/core/enum_names.h"

namespace df {

// Gaussian noise clamped to +-clip_noise, as the reference clamps every draw.
torch::Tensor sample_clamped_noise(torch::IntArrayRef shape, const torch::TensorOptions& options, double clip_noise,
                                   c10::optional<torch::Generator> generator = c10::nullopt);

class ForwardProcess {
 public:
  ForwardProcess(const NoiseSchedule& schedule, double clip_noise) : schedule_(&schedule), clip_noise_(clip_noise) {}

  // x_k = sqrt(abar_k) x0 + sqrt(1 - abar_k) clamp(eps). x0 [T,B,...], levels [T,B] (one level per token:
  // there is deliberately no overload taking one level per sequence), eps like x0.
  torch::Tensor noise(const torch::Tensor& x0, const torch::Tensor& levels, const torch::Tensor& eps) const;

  double clip_noise() const { return clip_noise_; }
  const NoiseSchedule& schedule() const { return *schedule_; }

 private:
  const NoiseSchedule* schedule_;
  double clip_noise_;
};

// Reshapes a per-token coefficient [T,B] (or [B]) so that it broadcasts over x [T,B,...] (or [B,...]).
torch::Tensor broadcast_to_tokens(const torch::Tensor& coefficient, const torch::Tensor& x);

// How training noise levels are drawn.
enum class TrainingNoise {
  Independent,     // Diffusion Forcing (Algorithm 1): k ~ U{0..K-1} i.i.d. per (token, sequence)
  TeacherForcing,  // next-token diffusion: history clean (level 0), only the predicted token noised
  FullSequence,    // full-sequence diffusion: one level shared by all tokens of a sequence
};
template <>
struct EnumNames<TrainingNoise> {
  static constexpr const char* what = "training noise";
  static constexpr EnumName<TrainingNoise> table[] = {{TrainingNoise::Independent, "independent"},
                                                      {TrainingNoise::TeacherForcing, "teacher_forcing"},
                                                      {TrainingNoise::FullSequence, "full_sequence"}};
};

struct TrainingLevelOptions {
  TrainingNoise mode = TrainingNoise::Independent;
  double first_token_clean_prob = 0.0;  // reference's gt_first_frame: token 0 forced to level 0 with this probability
  // Reference's gt_cond_prob (Independent only): every token forced to level 0 with this probability, so that
  // clean histories, which a policy conditions on at test time, are not rare in training (all levels i.i.d.).
  double token_clean_prob = 0.0;
  // Independent only: the share of training steps taken as teacher forcing (every token denoised from the
  // clean history, as TeacherForcing above), chosen per step by a stream of its own (Trainer::teacher_forcing_step).
  // A DF model keeps its noisy-history training on the other steps; a policy, which conditions on clean
  // observations, sees clean histories on every token of these.
  double teacher_forcing_prob = 0.0;
};

// Levels [T,B] int64 on `device`. For TeacherForcing the returned levels are those of the predicted
// tokens; the clean history is handled by the training loss (see DiffusionForcingModel).
torch::Tensor sample_training_levels(const TrainingLevelOptions& options, int64_t num_tokens, int64_t batch_size,
                                     int64_t timesteps, torch::Device device,
                                     c10::optional<torch::Generator> generator = c10::nullopt);

// Padding mask [T,B] (1 = real token, 0 = padding) from per-sequence lengths [B].
torch::Tensor padding_mask(const torch::Tensor& lengths, int64_t num_tokens);

}  // namespace df
