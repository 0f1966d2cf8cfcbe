// A U-Net + ConvGRU denoiser small enough for unit tests: 8x8 tokens of x_channels, a 4-channel latent, two
// levels (8 and 16 channels), 4 groups, 2 attention heads of 8.
#pragma once
#include "df/models/unet_conv_gru.h"

namespace df {

inline UnetConvGruOptions tiny_unet_options(int64_t x_channels) {
  UnetConvGruOptions o;
  o.x_shape = {x_channels, 8, 8};
  o.z_shape = {4, 8, 8};
  o.network_size = 8;
  o.dim_mults = {1, 2};
  o.groups = 4;
  o.attn_heads = 2;
  o.attn_dim_head = 8;
  return o;
}

}  // namespace df
