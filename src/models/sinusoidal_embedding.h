// Sinusoidal embedding of the integer noise level, as in the reference: half sines, half cosines with
// frequencies exp(-log(10000) * i / (half - 1)).
#pragma once
#include <torch/torch.h>

namespace df {

class SinusoidalEmbeddingImpl : public torch::nn::Module {
 public:
  explicit SinusoidalEmbeddingImpl(int64_t dim, double theta = 10000.0);
  torch::Tensor forward(const torch::Tensor& levels);  // [B] -> [B, dim]

 private:
  int64_t dim_;
  double theta_;
};
TORCH_MODULE(SinusoidalEmbedding);

}  // namespace df
