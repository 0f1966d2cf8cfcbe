// The building blocks of ResMlpGruDenoiser (the reference's TransitionMlp), private to the library.
#pragma once
#include <torch/torch.h>

#include "df/models/resmlp_gru.h"
#include "sinusoidal_embedding.h"

namespace df {

// ResBlock1d(a, b): act(shortcut(x) + Linear(b,b)(act(Linear(a,b)(x)))), GELU, linear shortcut iff a != b.
class ResBlock1dImpl : public torch::nn::Module {
 public:
  ResBlock1dImpl(int64_t in_dim, int64_t out_dim);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Sequential mlp{nullptr};
  torch::nn::Linear shortcut{nullptr};
};
TORCH_MODULE(ResBlock1d);

class TransitionMlpImpl : public torch::nn::Module {
 public:
  explicit TransitionMlpImpl(const ResMlpGruOptions& options);
  // Returns z_t [B, z_dim].
  torch::Tensor forward(const torch::Tensor& z_prev, const torch::Tensor& x_noisy, const torch::Tensor& levels,
                        const torch::Tensor& cond);

 private:
  ResMlpGruOptions options_;
  torch::nn::Sequential time_mlp{nullptr};
  torch::nn::Sequential cond_mlp{nullptr};
  torch::nn::AnyModule mlp_before_gru, mlp_after_gru;
  torch::nn::ModuleList gru_stack{nullptr};
};
TORCH_MODULE(TransitionMlp);

}  // namespace df
