#include "df/models/denoiser.h"

namespace df {

SequenceSteps CausalDenoiser::forward_sequence(const torch::Tensor& z0, const torch::Tensor& x_noisy,
                                               const torch::Tensor& levels, const torch::Tensor& cond) {
  std::vector<torch::Tensor> zs, outs;
  auto z = z0;
  for (int64_t t = 0; t < x_noisy.size(0); ++t) {
    auto s = step(z, x_noisy[t], levels[t], cond.defined() ? cond[t] : torch::Tensor());
    z = s.z;
    zs.push_back(s.z);
    outs.push_back(s.out);
  }
  return {torch::stack(zs), torch::stack(outs)};
}

}  // namespace df
