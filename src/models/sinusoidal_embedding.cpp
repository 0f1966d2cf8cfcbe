#include "sinusoidal_embedding.h"

#include <cmath>

#include "df/core/error.h"

namespace df {

SinusoidalEmbeddingImpl::SinusoidalEmbeddingImpl(int64_t dim, double theta) : dim_(dim), theta_(theta) {
  check(dim >= 4 && dim % 2 == 0, "SinusoidalEmbedding: dim must be even and >= 4, got " + std::to_string(dim));
}

torch::Tensor SinusoidalEmbeddingImpl::forward(const torch::Tensor& levels) {
  const int64_t half = dim_ / 2;
  const double step = std::log(theta_) / static_cast<double>(half - 1);
  const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(levels.device());
  const auto freqs = torch::exp(torch::arange(half, opts) * -step);
  const auto args = levels.to(torch::kFloat).unsqueeze(-1) * freqs.unsqueeze(0);
  return torch::cat({args.sin(), args.cos()}, -1);
}

}  // namespace df
