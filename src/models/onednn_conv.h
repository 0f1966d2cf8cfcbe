// The U-Net's CPU convolutions (bf16 under autocast, and fp32) called on oneDNN directly, on channels-last
// activations (private to src/models).
//
// Why: LibTorch 1.13 runs a CPU convolution on oneDNN too, but builds oneDNN's primitive descriptors anew at
// every call (forward, and backward data and weights: three per convolution and token), casts and reorders the
// weight at every call (fp32 NCHW activations too, to and from a blocked layout), and in bf16 returns the weight
// gradient in bf16, summed over the tokens in bf16. At the CPU configs' sizes (batch 4-8, 16-64 channels, 8x8
// to 32x32) that overhead costs about as much as the convolutions themselves. Here the descriptors and
// primitives are made once per shape, type and thread, the weight is converted to oneDNN's blocked layout (and
// to bf16) once per optimizer step (cached by tensor version), and the weight and bias gradients are written in
// fp32 by the backward-weights primitive.
//
// Built when CMake finds oneDNN 2.x (Debian: libdnnl-dev, the same libdnnl.so.2 that Debian's LibTorch runs on;
// DF_ONEDNN=AUTO|ON|OFF); elsewhere (PyTorch wheels, CUDA) the convolutions stay LibTorch's. DF_ONEDNN_CONV=0 in
// the environment turns the path off at run time (for comparisons on one build).
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace df::unet {

// Whether this build has the path and the environment (or set_onednn_conv_enabled) has not turned it off.
bool onednn_conv_enabled();
// Turns the path on or off for the whole process (no effect in a build without it), e.g. to compare it with
// LibTorch's ops in one process. Not while a model runs: a step would mix the two.
void set_onednn_conv_enabled(bool enabled);

// Whether onednn_conv2d takes these tensors: x a CPU bf16 or fp32 [N, C, H, W] tensor in channels-last memory,
// weight a contiguous CPU fp32 [O, C, kh, kw] tensor (the master weight), bias undefined or fp32 [O].
bool onednn_conv_supports(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

// y = conv2d(x, weight, bias) with stride 1, dilation 1, one group and zero padding (pad_h, pad_w) on both sides,
// in x's type (bf16 products with fp32 accumulation, or fp32); channels-last output of x's type. Differentiable
// in x (gradient of x's type), weight and bias (fp32 gradients).
torch::Tensor onednn_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            int64_t pad_h, int64_t pad_w);

}  // namespace df::unet
