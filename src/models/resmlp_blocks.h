// The building blocks of ResMlpGruDenoiser (the reference's TransitionMlp), private to the library.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "df/models/resmlp_gru.h"
#include "sinusoidal_embedding.h"
#include "token_shared_linear.h"

namespace df {

// ResBlock1d(a, b): act(shortcut(x) + Linear(b,b)(act(Linear(a,b)(x)))), GELU, linear shortcut iff a != b.
class ResBlock1dImpl : public torch::nn::Module {
 public:
  ResBlock1dImpl(int64_t in_dim, int64_t out_dim);
  torch::Tensor forward(const torch::Tensor& x);
  // The same with the layers applied through `linears` (one sequence's per-token layers in training).
  torch::Tensor apply(const torch::Tensor& x, TokenLinears& linears);
  // The block given its two input projections already computed: first = Linear(a,b)(x) and residual
  // (= shortcut(x), or x itself when a == b).
  torch::Tensor forward_projected(const torch::Tensor& first, const torch::Tensor& residual);
  torch::Tensor forward_projected(const torch::Tensor& first, const torch::Tensor& residual, TokenLinears& linears);

  torch::nn::Linear fc1{nullptr}, fc2{nullptr};  // mlp.0 and mlp.2 (registered through `mlp`)
  torch::nn::Linear shortcut{nullptr};          // Linear(a, b) when a != b

 private:
  torch::nn::Sequential mlp{nullptr};  // kept for the reference's parameter names
};
TORCH_MODULE(ResBlock1d);

class TransitionMlpImpl : public torch::nn::Module {
 public:
  explicit TransitionMlpImpl(const ResMlpGruOptions& options);
  // Returns z_t [B, z_dim].
  torch::Tensor forward(const torch::Tensor& z_prev, const torch::Tensor& x_noisy, const torch::Tensor& levels,
                        const torch::Tensor& cond);

  // The same recurrence over a sequence (x_noisy [T, B, x], levels [T, B], cond [T, B, C] or undefined),
  // returning every z_t [T, B, z]. The first layer is linear in concat(z, x, emb(k), cond_emb): its
  // x / level / condition part is computed for all tokens in one product before the loop, so each step
  // only multiplies z_{t-1}.
  torch::Tensor forward_sequence(const torch::Tensor& z0, const torch::Tensor& x_noisy, const torch::Tensor& levels,
                                 const torch::Tensor& cond);

 private:
  // concat(x, emb(k)[, cond_emb(c)]) for tokens of any leading shape: the latent-independent inputs.
  torch::Tensor latent_free_inputs(const torch::Tensor& x_noisy, const torch::Tensor& emb, const torch::Tensor& cond);
  // emb(k) [..., level_width] for levels of any shape.
  torch::Tensor level_features(const torch::Tensor& levels);
  // The first block's fc1 output modulated by the level (level_film), or as it is.
  torch::Tensor modulate(const torch::Tensor& first, const torch::Tensor& film) const;
  // Everything after the first block: the rest of the ResMLP before the GRU, the GRU stack, the ResMLP after.
  torch::Tensor after_first_block(const torch::Tensor& h, const torch::Tensor& z_prev, TokenLinears& linears);
  // The noise-level embedding's width: level_embedding_dim, or network_size when that is 0.
  int64_t level_width() const {
    return options_.level_embedding_dim > 0 ? options_.level_embedding_dim : options_.network_size;
  }

  ResMlpGruOptions options_;
  torch::nn::Sequential time_mlp{nullptr};
  torch::nn::Sequential cond_mlp{nullptr};
  torch::nn::Linear level_film{nullptr};  // emb(k) -> [gamma | beta] of the first block's width
  torch::nn::AnyModule mlp_before_gru, mlp_after_gru;
  torch::nn::ModuleList gru_stack{nullptr};
  // A ResBlock or a Linear of the ResMLPs, seen through its type (views into the registered modules).
  struct Stage {
    std::shared_ptr<ResBlock1dImpl> block;
    torch::nn::Linear linear{nullptr};
  };
  static std::vector<Stage> stages_of(const torch::nn::AnyModule& mlp);
  static torch::Tensor run(const std::vector<Stage>& stages, torch::Tensor h, TokenLinears& linears);
  // Views into mlp_before_gru (not registered again): its first ResBlock and the modules after it; and
  // mlp_after_gru's modules.
  std::shared_ptr<ResBlock1dImpl> first_block_;
  std::vector<Stage> rest_before_, after_gru_;
};
TORCH_MODULE(TransitionMlp);

}  // namespace df
