// The scheduling-matrix sampler of Algorithm 2 for a causal (RNN) Diffusion Forcing model.
//
// Every row transition m -> m+1 re-runs the latent over the whole chunk from the committed latent z
// (as the reference does), moving token t from matrix entry K[m,t] to K[m+1,t] with a DDIM update.
// After the last row a commit pass re-reads the finished chunk to produce the latent carried forward.
//
// Tokens whose entry does not change in a row ("stay" tokens) are where implementations differ:
//  * reference_walk = true reproduces the authors' paper branch exactly: a not-yet-started token
//    (entry S) takes the first DDIM step (index 0) every row; a finished token (entry 0) is re-read with
//    the last DDIM step (clean input labelled at grid level 1) and, if overwrite_finished, replaced by
//    the fresh x0 estimate (video / time series; planning keeps it).
//  * reference_walk = false is Algorithm 2 with the stabilization of appendix B.4: not-started tokens
//    are fed as pure noise and left alone, finished and context tokens are fed at the small
//    stabilization level k (clean, scaled by sqrt(abar_k), or q-sampled) and left unchanged.
// Guidance (Algorithm 2 line 10) differentiates a user cost of the predicted x0 of the whole chunk with
// respect to every token's noisy input of the row (through the model and the latent chain) and moves
// each token by -scale * g * grad, with the reference's DDIM guidance constant g. Monte Carlo guidance
// averages the cost over several x0 samples of each token (re-noised to its level and re-denoised).
#pragma once
#include <torch/torch.h>

#include <deque>
#include <functional>
#include <map>
#include <utility>

#include "df/diffusion/scheduling_matrix.h"
#include "df/models/diffusion_forcing_model.h"

#include "df/core/enum_names.h"

namespace df {

enum class StabilizationInput { Clean, Scaled, Noised };
template <>
struct EnumNames<StabilizationInput> {
  static constexpr const char* what = "stabilization input";
  static constexpr EnumName<StabilizationInput> table[] = {{StabilizationInput::Clean, "clean"},
                                                           {StabilizationInput::Scaled, "scaled"},
                                                           {StabilizationInput::Noised, "noised"}};
};

// The order in which an unguided chunk's cells (row m, token t) are computed. Cell (m, t) needs only
// (m-1, t) (the token's value) and (m, t-1) (the latent), so every anti-diagonal m + t = d is one batched
// model call: M + H - 1 calls instead of M * H. Both orders give the same samples (same noise per cell).
// Guided chunks need a whole row before the next one and always walk rows.
enum class SamplerWalk { Wavefront, Rows };
template <>
struct EnumNames<SamplerWalk> {
  static constexpr const char* what = "sampler walk";
  static constexpr EnumName<SamplerWalk> table[] = {{SamplerWalk::Wavefront, "wavefront"}, {SamplerWalk::Rows, "rows"}};
};

struct SamplerOptions {
  double eta = 0.0;
  bool reference_walk = true;
  bool overwrite_finished = true;
  int64_t stabilization_level = -1;  // in [0, K); -1 = grid level 1 (the reference's implicit level)
  StabilizationInput stabilization_input = StabilizationInput::Clean;
  double guidance_scale = 0.0;
  int64_t mcg_samples = 1;            // Monte Carlo guidance: x0 samples per token (1 = plain guidance)
  bool context_q_sample = false;      // context tokens q-sampled at level 0 (reference) instead of fed clean
  SamplerWalk walk = SamplerWalk::Wavefront;
  // Algorithm 2 walk (reference_walk = false) with deterministic stabilization (clean / scaled): a row runs
  // only the tokens from the first one not yet in the finished prefix to the last one that moves; the
  // latent after the finished prefix is computed once and reused (an autoregressive chunk then costs one
  // model call per token and DDIM step). x0 of tokens not run keeps its last estimate.
  bool skip_idle_tokens = true;
};

// Cost to minimise, from the predicted clean chunk x0 [R, H, B, ...] (R = mcg_samples); returns a scalar.
using GuidanceCost = std::function<torch::Tensor(const torch::Tensor& x0)>;
// Called after every row (row index, number of rows incl. the commit pass); return false to abort.
using RowCallback = std::function<bool(int64_t row, int64_t rows)>;

struct ChunkResult {
  torch::Tensor x;   // [H, B, ...] sampled tokens
  torch::Tensor z;   // [B, ...z] latent after the commit pass
  torch::Tensor x0;  // [H, B, ...] last x0 estimates (useful for plotting plans)
};

class Sampler {
 public:
  Sampler(DiffusionForcingModel& model, const SamplerOptions& options);

  // Feeds ground-truth context tokens [Tc,B,...] at level 0 and returns the latent after them.
  torch::Tensor absorb_context(torch::Tensor z, const torch::Tensor& context, const torch::Tensor& cond = {},
                               c10::optional<torch::Generator> generator = c10::nullopt);

  // Samples one chunk of matrix.horizon() tokens after latent z. x_init [H,B,...] (optional: clamped
  // Gaussian noise otherwise), cond [H,B,C] (optional), cost (optional guidance).
  ChunkResult sample_chunk(const torch::Tensor& z, const SchedulingMatrix& matrix, const torch::Tensor& x_init = {},
                           const torch::Tensor& cond = {}, const GuidanceCost& cost = nullptr,
                           c10::optional<torch::Generator> generator = c10::nullopt);

  // Rolls out num_tokens tokens after latent z in chunks (any length, no sliding window: the latent
  // carries the history). cond [N, B, C] (optional). Returns [N, B, ...]; with `on_chunk` every finished
  // chunk [h, B, ...] is handed to it instead and nothing is kept (memory does not grow with N), and the
  // result is undefined.
  torch::Tensor rollout(torch::Tensor z, int64_t num_tokens, int64_t chunk_size, ScheduleMatrixKind kind,
                        double uncertainty_scale = 1.0, const torch::Tensor& cond = {},
                        c10::optional<torch::Generator> generator = c10::nullopt,
                        const std::function<void(const torch::Tensor&)>& on_chunk = nullptr);

  // Sampling with a memory of at most `memory` tokens: before every `replan_every` new tokens the latent is
  // reset to z_0 and only the last `memory` tokens (context [Tc, B, ...] included, may be undefined) are
  // absorbed again. With memory = W - h and replan_every = chunk_size = h this is a sliding window of W tokens
  // (the full-sequence baseline past its training length) and planning's model-predictive sampling.
  // cond [Tc + N, B, C] (optional) covers the context and the new tokens. Returns the num_tokens new tokens
  // [N, B, ...]; with `on_chunk` every chunk is handed to it instead, the result is undefined, and only the
  // last `memory` tokens are kept (memory does not grow with N).
  torch::Tensor rollout_with_limited_memory(const torch::Tensor& context, int64_t batch, int64_t num_tokens,
                                            int64_t memory, int64_t replan_every, int64_t chunk_size,
                                            ScheduleMatrixKind kind, double uncertainty_scale = 1.0,
                                            c10::optional<torch::Generator> generator = c10::nullopt,
                                            const torch::Tensor& cond = {},
                                            const std::function<void(const torch::Tensor&)>& on_chunk = nullptr);

  void set_row_callback(RowCallback callback) { row_callback_ = std::move(callback); }
  const SamplerOptions& options() const { return options_; }
  DiffusionForcingModel& model() { return *model_; }

 private:
  struct TokenUpdate;
  struct WalkPlan;
  struct CellNoise;
  TokenUpdate plan_token(int64_t from_entry, int64_t to_entry) const;
  WalkPlan plan_walk(const SchedulingMatrix& matrix, bool guided) const;
  // Draws a cell's noise (stabilization, DDIM, MCG re-noising) in the fixed order of the row walk.
  CellNoise draw_cell_noise(const TokenUpdate& u, const torch::Tensor& like, bool guided,
                            c10::optional<torch::Generator> generator) const;
  // The value the network reads for a cell: clamped (first DDIM step) or stabilized (held clean token).
  torch::Tensor cell_input(const TokenUpdate& u, const torch::Tensor& x, const torch::Tensor& label,
                           const torch::Tensor& stabilization_noise) const;
  ChunkResult walk_rows(const torch::Tensor& z, torch::Tensor x, const WalkPlan& plan, const torch::Tensor& cond,
                        const GuidanceCost& cost, c10::optional<torch::Generator> generator);
  ChunkResult walk_wavefront(const torch::Tensor& z, torch::Tensor x, const WalkPlan& plan, const torch::Tensor& cond,
                             c10::optional<torch::Generator> generator);
  // A [B] tensor filled with `level` on the model's device (cached: no allocation per cell).
  const torch::Tensor& level_tensor(int64_t level, int64_t batch);

  DiffusionForcingModel* model_;
  SamplerOptions options_;
  RowCallback row_callback_;
  std::map<std::pair<int64_t, int64_t>, torch::Tensor> level_tensors_;
};

}  // namespace df
