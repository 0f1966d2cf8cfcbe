// The U-Net's RMSNorm over channels, y = x / max(||x||_C, 1e-12) * g * sqrt(C) per pixel, as one CPU autograd
// node for the channels-last activations of the CPU bf16 path (private to src/models). LibTorch computes it
// as six ops and their backwards (square, channel sum, clamp, rsqrt, two broadcast products), whose backward
// reduces over the strided channel axis; here each pixel's channels are one contiguous row, read once forward
// and twice backward, with fp32 arithmetic.
#pragma once
#include <torch/torch.h>

namespace df::unet {

// x [B, C, H, W] on the CPU, fp32 or bf16 (channels-last memory; other layouts are copied), g [C] (or any
// shape of C elements). Returns the norm as [B, C, H, W] channels-last, fp32, or bf16 with bf16_output (the
// bits of a cast of the fp32 output, for an output that only feeds a bf16 convolution); differentiable in x
// and g.
torch::Tensor rms_norm_channels(const torch::Tensor& x, const torch::Tensor& g, bool bf16_output = false);

}  // namespace df::unet
