// The causal denoiser cell of Diffusion Forcing: one step of the recurrence
//   z_t = f(z_{t-1}, x_t^{k_t}, k_t, c_t),   out_t = head(z_t)
// where out_t is the model output for the objective in use (x0, eps or v). Everything that loops over
// time (training over a sequence, the scheduling-matrix sampler) lives outside the cell, so the trainer
// and the sampler share it.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "df/core/enum_names.h"

namespace df {

// The denoiser architectures of the library.
enum class DenoiserKind { ResMlpGru, UnetConvGru };
template <>
struct EnumNames<DenoiserKind> {
  static constexpr const char* what = "model kind";
  static constexpr EnumName<DenoiserKind> table[] = {{DenoiserKind::ResMlpGru, "resmlp_gru"},
                                                     {DenoiserKind::UnetConvGru, "unet_conv_gru"}};
};

// Where z_0 comes from: zeros, a learned parameter, or an encoder of the first observation (planning).
enum class InitialLatent { Zeros, Learned, ObservationEncoder };
template <>
struct EnumNames<InitialLatent> {
  static constexpr const char* what = "initial latent";
  static constexpr EnumName<InitialLatent> table[] = {{InitialLatent::Zeros, "zeros"},
                                                      {InitialLatent::Learned, "learned"},
                                                      {InitialLatent::ObservationEncoder, "observation_encoder"}};
};

struct SequenceSteps {
  torch::Tensor z;    // [T, B, ...z_shape] latent after each token
  torch::Tensor out;  // [T, B, ...x_shape] model output of each token
};

struct DenoiserStep {
  torch::Tensor z;    // [B, ...z_shape] next latent
  torch::Tensor out;  // [B, ...x_shape] model output (x0 / eps / v, see Parameterization)
};

class CausalDenoiser : public torch::nn::Module {
 public:
  // z_prev [B, ...z_shape]; x_noisy [B, ...x_shape]; levels [B] integer noise levels in [0, K);
  // cond [B, cond_dim] or an undefined tensor when the model is unconditional.
  virtual DenoiserStep step(const torch::Tensor& z_prev, const torch::Tensor& x_noisy, const torch::Tensor& levels,
                            const torch::Tensor& cond) = 0;

  // The recurrence over a whole sequence: x_noisy [T, B, ...x], levels [T, B], cond [T, B, C] or undefined;
  // returns the latents z_t and outputs out_t for every token ([T, B, ...]). The default loops over step();
  // models override it to do the latent-independent work (input projections, the level embedding, the
  // output head) for all tokens at once, around a recurrence that only does the rest.
  virtual SequenceSteps forward_sequence(const torch::Tensor& z0, const torch::Tensor& x_noisy,
                                         const torch::Tensor& levels, const torch::Tensor& cond);

  // Initial latent z_0 [B, ...z_shape]. `first_observation` is used by models whose z_0 is encoded from
  // an observation (maze planning); others ignore it and return zeros or a learned z_0.
  virtual torch::Tensor initial_latent(int64_t batch_size, const torch::Tensor& first_observation) = 0;

  virtual std::vector<int64_t> x_shape() const = 0;  // shape of one token (frames stacked)
  virtual std::vector<int64_t> z_shape() const = 0;
  virtual int64_t cond_dim() const { return 0; }
  virtual std::string kind() const = 0;  // a name for logs, e.g. to_string(DenoiserKind::ResMlpGru)
};

}  // namespace df
