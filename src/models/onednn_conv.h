// The U-Net's CPU bf16 convolutions called on oneDNN directly (private to src/models).
//
// Why: LibTorch 1.13 runs a CPU bf16 convolution on oneDNN too, but builds oneDNN's primitive descriptors anew at
// every call (forward, and backward data and weights: three per convolution and token), casts and reorders the
// weight at every call, and returns the weight gradient in bf16, summed over the tokens in bf16. At the CPU
// configs' sizes (batch 4-8, 16-64 channels, 8x8 to 32x32) that overhead costs about as much as the
// convolutions themselves. Here the descriptors and primitives are made once per shape and thread, the weight
// is converted to bf16 in oneDNN's blocked layout once per optimizer step (cached by tensor version), and the
// weight and bias gradients are written in fp32 by the backward-weights primitive.
//
// Built when CMake finds oneDNN 2.x (Debian: libdnnl-dev, the same libdnnl.so.2 that Debian's LibTorch runs on;
// DF_ONEDNN=AUTO|ON|OFF); elsewhere (PyTorch wheels, CUDA) the convolutions stay LibTorch's. DF_ONEDNN_CONV=0 in
// the environment turns the path off at run time (for comparisons on one build).
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace df::unet {

// Whether this build has the path and the environment has not turned it off.
bool onednn_conv_enabled();

// Whether onednn_conv2d takes these tensors: x a CPU bf16 [N, C, H, W] tensor in channels-last memory, weight a
// contiguous CPU fp32 [O, C, kh, kw] tensor (the master weight), bias undefined or fp32 [O].
bool onednn_conv_supports(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

// y = conv2d(x, weight, bias) with stride 1, dilation 1, one group and zero padding (pad_h, pad_w) on both sides,
// in bf16 with fp32 accumulation; channels-last bf16 output. Differentiable in x (bf16 gradient), weight and bias
// (fp32 gradients).
torch::Tensor onednn_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            int64_t pad_h, int64_t pad_w);

}  // namespace df::unet
