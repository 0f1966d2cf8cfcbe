// Video denoiser of Diffusion Forcing (the authors' `TransitionUnet` + conv GRU + `x_from_z` head):
//   u_t  = UNet(concat(z_{t-1}, x_t^noisy), k_t[, c_t])   [B, z_ch, H, W]
//   z_t  = ConvGRU(u_t, z_{t-1})   (or z_t = u_t when num_gru_layers = 0)
//   out_t = x_from_z(z_t)                                 [B, x_ch, H, W]
//   x_from_z = conv1x1(ResBlock2d(z_ch -> head_ch)), head_ch = x_ch as the authors' (see head_channels)
// Submodule and parameter names reproduce the authors' state dict ("model.downs.0.2.to_out.1.g",
// "x_from_z.0.shortcut.0.weight", ...), so their weights load by name. A per-token condition c_t (e.g.
// one-hot actions) is embedded by an MLP and appended to the level embedding that modulates every ResBlock,
// as the reference does for external_cond_dim > 0; with cond_dim 0 the network has no such parameters.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "df/models/denoiser.h"

namespace df {

struct UnetConvGruOptions {
  std::vector<int64_t> x_shape;  // C, H, W of one token (frames stacked into channels)
  std::vector<int64_t> z_shape;  // C, H, W of the latent; H, W must equal x_shape's
  int64_t network_size = 16;     // U-Net base width `dim` (the paper: DMLab 48, Minecraft 64)
  std::vector<int64_t> dim_mults = {1, 2, 4, 8};
  int64_t num_gru_layers = 1;  // 0: the U-Net output is z_t; 1: one ConvGRU cell
  bool learnable_init_z = false;
  int64_t cond_dim = 0;  // per-token condition size (0 = unconditional)
  int64_t attn_heads = 4, attn_dim_head = 32, num_mem_kv = 4, groups = 8;
  // Width of the x_from_z head's ResBlock (ReLU at its end), then a 1x1 conv to x channels. 0 = x channels,
  // the authors' head. With few token channels (grayscale frames: x_ch = frame_stack) that ReLU is a
  // bottleneck: one dead channel leaves the 1x1 conv too few inputs to produce every stacked frame.
  int64_t head_channels = 0;
};

class TransitionUnetImpl;  // defined in src/models/unet_conv_gru.cpp

class UnetConvGruDenoiser : public CausalDenoiser {
 public:
  explicit UnetConvGruDenoiser(UnetConvGruOptions options);

  DenoiserStep step(const torch::Tensor& z_prev, const torch::Tensor& x_noisy, const torch::Tensor& levels,
                    const torch::Tensor& cond) override;
  torch::Tensor initial_latent(int64_t batch_size, const torch::Tensor& first_observation) override;

  std::vector<int64_t> x_shape() const override { return options_.x_shape; }
  std::vector<int64_t> z_shape() const override { return options_.z_shape; }
  int64_t cond_dim() const override { return options_.cond_dim; }
  std::string kind() const override { return to_string(DenoiserKind::UnetConvGru); }
  const UnetConvGruOptions& options() const { return options_; }

 private:
  UnetConvGruOptions options_;
  std::shared_ptr<TransitionUnetImpl> model_;  // registered as "model"
  torch::nn::Sequential x_from_z_{nullptr};    // registered as "x_from_z"
  torch::Tensor init_z_;                       // [z_shape], registered as "init_z" when learnable
};

}  // namespace df
