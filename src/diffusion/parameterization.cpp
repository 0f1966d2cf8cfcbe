#include "df/diffusion/parameterization.h"

#include "df/core/error.h"
#include "df/diffusion/forward_process.h"

namespace df {



torch::Tensor Parameterization::coef(const torch::Tensor& buffer, const torch::Tensor& levels,
                                     const torch::Tensor& x) const {
  return broadcast_to_tokens(NoiseSchedule::gather(buffer, levels), x);
}

torch::Tensor Parameterization::x0_from_eps(const torch::Tensor& x_k, const torch::Tensor& eps,
                                            const torch::Tensor& levels) const {
  return coef(schedule_->sqrt_recip_alphas_cumprod, levels, x_k) * x_k -
         coef(schedule_->sqrt_recipm1_alphas_cumprod, levels, x_k) * eps;
}

torch::Tensor Parameterization::eps_from_x0(const torch::Tensor& x_k, const torch::Tensor& x0,
                                            const torch::Tensor& levels) const {
  return (coef(schedule_->sqrt_recip_alphas_cumprod, levels, x_k) * x_k - x0) /
         coef(schedule_->sqrt_recipm1_alphas_cumprod, levels, x_k);
}

torch::Tensor Parameterization::x0_from_v(const torch::Tensor& x_k, const torch::Tensor& v,
                                          const torch::Tensor& levels) const {
  return coef(schedule_->sqrt_alphas_cumprod, levels, x_k) * x_k -
         coef(schedule_->sqrt_one_minus_alphas_cumprod, levels, x_k) * v;
}

torch::Tensor Parameterization::v_from(const torch::Tensor& x0, const torch::Tensor& eps,
                                       const torch::Tensor& levels) const {
  return coef(schedule_->sqrt_alphas_cumprod, levels, x0) * eps -
         coef(schedule_->sqrt_one_minus_alphas_cumprod, levels, x0) * x0;
}

Prediction Parameterization::from_output(const torch::Tensor& out, const torch::Tensor& x_k,
                                         const torch::Tensor& levels) const {
  switch (objective_) {
    case Objective::Eps: {
      const auto eps = out.clamp(-clip_noise_, clip_noise_);
      return {x0_from_eps(x_k, eps, levels), eps};
    }
    case Objective::X0: return {out, eps_from_x0(x_k, out, levels)};
    case Objective::V: {
      const auto x0 = x0_from_v(x_k, out, levels);
      return {x0, eps_from_x0(x_k, x0, levels)};
    }
  }
  throw Error("Parameterization: unknown objective");
}

torch::Tensor Parameterization::target(const torch::Tensor& x0, const torch::Tensor& eps,
                                       const torch::Tensor& levels) const {
  switch (objective_) {
    case Objective::Eps: return eps;
    case Objective::X0: return x0;
    case Objective::V: return v_from(x0, eps, levels);
  }
  throw Error("Parameterization: unknown objective");
}

torch::Tensor Parameterization::output_from(const torch::Tensor& x0, const torch::Tensor& eps,
                                            const torch::Tensor& levels) const {
  return target(x0, eps, levels);
}

}  // namespace df
