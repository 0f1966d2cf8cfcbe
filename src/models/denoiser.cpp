#include "df/models/denoiser.h"

namespace df {

SequenceSteps CausalDenoiser::forward_sequence(const torch::Tensor& z0, const torch::Tensor& x_noisy,
                                               const torch::Tensor& levels, const torch::Tensor& cond) {
  std::vector<torch::Tensor> zs, outs;
  // unbind, not x[t]: the backward of T selects would write T full-size zero gradients.
  const auto x_t = x_noisy.unbind(0), levels_t = levels.unbind(0);
  const auto cond_t = cond.defined() ? cond.unbind(0) : std::vector<torch::Tensor>();
  auto z = z0;
  for (int64_t t = 0; t < x_noisy.size(0); ++t) {
    const auto u = static_cast<size_t>(t);
    auto s = step(z, x_t[u], levels_t[u], cond.defined() ? cond_t[u] : torch::Tensor());
    z = s.z;
    zs.push_back(s.z);
    outs.push_back(s.out);
  }
  return {torch::stack(zs), torch::stack(outs)};
}

}  // namespace df
