// A denoiser that knows the answer: its latent counts tokens, and its output is whatever the objective
// needs to yield exactly the stored clean token. Used to check that sampler walks end on the data.
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
    const int64_t t = z_prev.index({0, 0}).item<int64_t>() % data_.size(0);
    const auto x0 = data_[t];
    const auto eps = parameterization_->eps_from_x0(x_noisy, x0, levels);
    return {z_prev + 1, parameterization_->output_from(x0, eps, levels)};
  }
  torch::Tensor initial_latent(int64_t batch_size, const torch::Tensor&) override {
    return torch::zeros({batch_size, 1}, data_.options());
  }
  std::vector<int64_t> x_shape() const override { return {data_.size(2)}; }
  std::vector<int64_t> z_shape() const override { return {1}; }
  std::string kind() const override { return "oracle"; }
  void set_parameterization(const Parameterization* p) { parameterization_ = p; }

 private:
  torch::Tensor data_;
  const Parameterization* parameterization_;
};

}  // namespace df::test
