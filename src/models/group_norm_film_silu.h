// silu(FiLM(GroupNorm(x))) as one CPU autograd node, for the U-Net blocks under CPU bf16 autocast (private to
// src/models). LibTorch 1.13 computes the same as five ops (a bf16->fp32 cast, group norm, addcmul, silu and
// their backwards), each a pass over the activations; this reads x once for the statistics and once for the
// output, and its backward reads x and the gradient twice. Arithmetic in fp32 throughout; x may be bf16 or
// fp32; the output is fp32 (the next convolution casts it, as in the unfused path).
#pragma once
#include <torch/torch.h>

namespace df::unet {

// x [B, C, H, W] on the CPU (bf16 or fp32; NCHW or channels-last memory), weight and bias [C] (the GroupNorm's
// affine parameters), scale and shift [B, C] (FiLM: y = h * (scale + 1) + shift; both undefined for no FiLM).
// Returns silu(FiLM(GroupNorm(x))) [B, C, H, W] in x's memory layout (channels-last stays channels-last: the
// U-Net's bf16 path keeps its activations so), fp32, or bf16 with bf16_output (rounded to nearest even, the
// bits a cast of the fp32 output gives: for an output that only feeds a bf16 convolution); differentiable in
// x, weight, bias, scale and shift.
torch::Tensor group_norm_film_silu(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                   const torch::Tensor& scale, const torch::Tensor& shift, int64_t groups,
                                   double eps, bool bf16_output = false);

}  // namespace df::unet
