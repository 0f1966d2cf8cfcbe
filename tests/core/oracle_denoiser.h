// A denoiser that knows the answer: its latent holds (tokens seen, batch index), and its output is whatever
// the objective needs to yield exactly the stored clean token. Every element is handled on its own, so
// samplers may batch cells of different tokens into one call. Used to check that walks end on the data.
#pragma once
#include "df/diffusion/parameterization.h"
#include "df/models/denoiser.h"

namespace df::test {

class OracleDenoiser : public CausalDenoiser {
 public:
  // data [H,B,D]: token t of the chunk is data[t].
  OracleDenoiser(torch::Tensor data, const Parameterization* parameterization)
      : data_(std::move(data)), parameterization_(parameterization) {}

  DenoiserStep step(const torch::Tensor& z_prev, const torch::Tensor& x_noisy, const torch::Tensor& levels,
                    const torch::Tensor&) override {
    const auto t = z_prev.select(1, 0).to(torch::kLong) % data_.size(0);  // [N]
    const auto b = z_prev.select(1, 1).to(torch::kLong);                  // [N]
    const auto x0 = data_.index({t, b});                                  // [N, D]
    const auto eps = parameterization_->eps_from_x0(x_noisy, x0, levels);
    auto z = z_prev.clone();
    z.select(1, 0).add_(1);
    return {z, parameterization_->output_from(x0, eps, levels)};
  }
  torch::Tensor initial_latent(int64_t batch_size, const torch::Tensor&) override {
    return torch::stack({torch::zeros({batch_size}), torch::arange(batch_size)}, 1).to(data_.options());
  }
  std::vector<int64_t> x_shape() const override { return {data_.size(2)}; }
  std::vector<int64_t> z_shape() const override { return {2}; }
  std::string kind() const override { return "oracle"; }
  void set_parameterization(const Parameterization* p) { parameterization_ = p; }

 private:
  torch::Tensor data_;
  const Parameterization* parameterization_;
};

}  // namespace df::test
