// Building blocks of the video U-Net (private to src/models). They follow lucidrains'
// denoising-diffusion-pytorch layers that the authors use, with the same child names, so that a state dict
// written by the reference loads by name. Defined inline: only unet_conv_gru.cpp includes this header.
#pragma once
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "df/core/compat.h"
#include "df/core/error.h"
#include "group_norm_film_silu.h"
#include "onednn_conv.h"
#include "rms_norm_channels.h"

namespace df::unet {

namespace F = torch::nn::functional;

// The CPU fp32 path of a build with oneDNN (onednn_conv.h; DF_ONEDNN_CONV=0 turns it off): activations kept in
// channels-last memory, the convolutions on oneDNN directly, and each block's GroupNorm + FiLM + SiLU and the
// attention's RMSNorm as the fused nodes of the bf16 path (fp32 in, fp32 out). LibTorch 1.13's fp32 convolution
// reorders NCHW activations and the weight to oneDNN's blocked layouts at every call; this path makes the video
// training step 1.2-1.4x faster (docs/results/cpu_fp32_path.md). Its numerics differ from LibTorch's ops only by
// fp32 summation order.
inline bool cpu_fp32_channels_last_path(const torch::Tensor& x) {
  return x.is_cpu() && x.scalar_type() == torch::kFloat && !autocast_enabled_for(x) && onednn_conv_enabled();
}
inline bool is_channels_last(const torch::Tensor& x) {
  return x.dim() == 4 && !x.is_contiguous() && x.is_contiguous(torch::MemoryFormat::ChannelsLast);
}
// Whether x is an fp32 activation of that path (the blocks' fused nodes take it; NCHW fp32 keeps LibTorch's ops).
inline bool cpu_fp32_channels_last(const torch::Tensor& x) {
  return x.is_cpu() && x.scalar_type() == torch::kFloat && is_channels_last(x);
}

// A convolution's input. Under CPU bf16 autocast it is cast to bf16 in channels-last layout here, in one copy
// (none when it already is): oneDNN's bf16 kernels (AMX / AVX512-BF16) run 3x3 convolutions at these sizes
// about 2x faster in channels-last than in NCHW (forward and backward, batch 4-8, 16-64 channels), and the
// output stays channels-last for the next block. On the CPU fp32 path above it is made channels-last (a no-op
// after the first convolution). Elsewhere (CUDA, builds without oneDNN) it is returned as it is.
inline torch::Tensor conv_input(const torch::Tensor& x) {
  if (x.dim() == 4 && cpu_fp32_channels_last_path(x)) return x.contiguous(torch::MemoryFormat::ChannelsLast);
  if (!x.is_cpu() || !autocast_enabled_for(x)) return x;
  return x.to(x.options().dtype(torch::kBFloat16), /*non_blocking=*/false, /*copy=*/false,
              torch::MemoryFormat::ChannelsLast);
}
// A parameter in bf16 under CPU autocast, through autocast's per-step cache of the casts of its fp32 leaves
// (so that ops autocast does not cover, e.g. cat with bf16 activations, stay in bf16, and a view of the
// parameter is not cast again at every call); unchanged elsewhere.
inline torch::Tensor cpu_autocast_parameter(const torch::Tensor& p) {
  if (!p.is_cpu() || !autocast_enabled_for(p)) return p;
  return at::autocast::cached_cast(torch::kBFloat16, p, c10::DeviceType::CPU);
}
// A Conv2d (same parameters, names and initialisation) whose input goes through conv_input(). On the CPU bf16
// and fp32 paths its convolution runs on oneDNN directly where the build has it (onednn_conv.h: primitives made
// once per shape, fp32 weight gradients), LibTorch's convolution elsewhere.
class Conv2dImpl : public torch::nn::Conv2dImpl {
 public:
  using torch::nn::Conv2dImpl::Conv2dImpl;
  torch::Tensor forward(const torch::Tensor& x) {
    const auto input = conv_input(x);
    const auto& pad = _reversed_padding_repeated_twice;  // [left W, right W, top H, bottom H]
    if (onednn_conv_enabled() && plain_zero_padded() && onednn_conv_supports(input, weight, bias))
      return onednn_conv2d(input, weight, bias, pad[2], pad[0]);
    return torch::nn::Conv2dImpl::forward(input);
  }

 private:
  // Stride 1, dilation 1, one group, the same zero padding on both sides of each axis.
  bool plain_zero_padded() const {
    const auto& o = options;
    const auto& pad = _reversed_padding_repeated_twice;  // [left W, right W, top H, bottom H]
    return (*o.stride())[0] == 1 && (*o.stride())[1] == 1 && (*o.dilation())[0] == 1 && (*o.dilation())[1] == 1 &&
           o.groups() == 1 && torch::enumtype::get_enum_name(o.padding_mode()) == "kZeros" && pad.size() == 4 &&
           pad[0] == pad[1] && pad[2] == pad[3];
  }
};
TORCH_MODULE(Conv2d);

inline Conv2d conv2d(int64_t in, int64_t out, int64_t kernel, bool bias = true) {
  // "same" padding for odd kernels, as the reference uses everywhere
  return Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding(kernel / 2).bias(bias));
}

// A 1x1 convolution. LibTorch 1.13's CPU convolution runs 1x1 kernels at batch < 16 on one thread through its
// slow non-oneDNN path (about 30 GFLOP/s here); there it is computed as a batched matrix product over the
// pixels instead, elsewhere (more threads, larger batches, CUDA) as the convolution it is; on the CPU bf16 and
// fp32 paths as oneDNN's 1x1 convolution where the build has it (onednn_conv.h), else (bf16) as one bf16 product
// over the pixels.
// A Conv2d underneath (same parameters, names and initialisation), so state dicts and the authors' weights load
// unchanged.
class PointwiseConv2dImpl : public torch::nn::Conv2dImpl {
 public:
  PointwiseConv2dImpl(int64_t in, int64_t out, bool bias = true)
      : torch::nn::Conv2dImpl(torch::nn::Conv2dOptions(in, out, 1).bias(bias)) {}
  torch::Tensor forward(const torch::Tensor& x_in) {  // [B, C, H, W] -> [B, O, H, W]
    const auto x = conv_input(x_in);
    const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
    if (onednn_conv_enabled() && onednn_conv_supports(x, weight, bias))
      return onednn_conv2d(x, weight, bias, 0, 0);  // oneDNN's 1x1 kernels beat the product below here
    if (is_channels_last(x) && autocast_enabled_for(x)) {
      // The bf16 path's channels-last memory is [B, H, W, C]: one matrix product over all pixels, output
      // channels-last too (fp32 keeps the paths below, and its numerics, for any layout).
      const auto rows = x.permute({0, 2, 3, 1}).reshape({-1, x.size(1)});  // a view
      const auto w2t = cpu_autocast_parameter(weight).flatten(1).t();      // [C, O]
      auto y = bias.defined() ? torch::addmm(cpu_autocast_parameter(bias), rows, w2t) : torch::mm(rows, w2t);
      return y.view({b, h, w, weight.size(0)}).permute({0, 3, 1, 2});
    }
    if (!(x.is_cpu() && b < 16 && at::get_num_threads() == 1)) return torch::nn::Conv2dImpl::forward(x);
    const auto w2 = weight.flatten(1);  // [O, C]
    // [B, O, C] x [B, C, HW] -> [B, O, HW]; bmm on the expanded (not copied) weight: matmul would transpose
    // and copy the activations.
    const auto w3 = w2.unsqueeze(0).expand({b, w2.size(0), w2.size(1)});
    auto y = bias.defined() ? torch::baddbmm(bias.view({1, -1, 1}), w3, x.flatten(2)) : torch::bmm(w3, x.flatten(2));
    return y.view({b, weight.size(0), h, w});
  }
};
TORCH_MODULE(PointwiseConv2d);

// RMSNorm over channels: normalize(x, dim=1) * g * sqrt(C). Parameter "g" [1, C, 1, 1]. Written as
// x * rsqrt(max(sum_c x^2, eps^2)), which is normalize's x / max(||x||, eps): LibTorch's norm over the
// strided channel axis cost more than the rest of the block on the CPU.
// On the CPU bf16 and fp32 channels-last paths one fused node (rms_norm_channels.h); output_feeds_conv: the output
// is only a convolution's input (the attention's norm before to_qkv), handed over in bf16 under bf16 autocast.
class RMSNormImpl : public torch::nn::Module {
 public:
  explicit RMSNormImpl(int64_t channels, bool output_feeds_conv = false)
      : scale_(std::sqrt(static_cast<double>(channels))),
        output_feeds_conv_(output_feeds_conv),
        g_(register_parameter("g", torch::ones({1, channels, 1, 1}))) {}
  torch::Tensor forward(const torch::Tensor& x) {  // [B, C, H, W]
    if (x.is_cpu() && x.dim() == 4 && autocast_enabled_for(x)) return rms_norm_channels(x, g_, output_feeds_conv_);
    if (cpu_fp32_channels_last(x)) return rms_norm_channels(x, g_);
    const auto inverse_norm = (x * x).sum(1, /*keepdim=*/true).clamp_min(1e-24).rsqrt();  // [B, 1, H, W]
    return x * inverse_norm * (g_ * scale_);
  }

 private:
  double scale_;
  bool output_feeds_conv_;
  torch::Tensor g_;
};
TORCH_MODULE(RMSNorm);

// GroupNorm of an input that may be in a lower precision than its parameters (CUDA autocast; the CPU's bf16
// path takes the fused node in BlockImpl instead): the kernel wants the affine parameters in the input's dtype
// and autocast has no rule for group_norm, so they are cast (the fp32 parameters stay the masters; the
// statistics are accumulated in fp32 by the kernel).
inline torch::Tensor group_norm(torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  if (x.scalar_type() == norm->weight.scalar_type()) return norm(x);
  const auto dtype = x.scalar_type();
  return F::group_norm(x, F::GroupNormFuncOptions(norm->options.num_groups())
                              .weight(norm->weight.to(dtype))
                              .bias(norm->bias.to(dtype))
                              .eps(norm->options.eps()));
}

// conv3x3 -> GroupNorm -> optional FiLM (x * (scale + 1) + shift) -> SiLU.
class BlockImpl : public torch::nn::Module {
 public:
  // output_feeds_conv: the output is only a convolution's input (ResnetBlock's block1), so the CPU bf16 path
  // can hand it over in bf16, the same bits the convolution's own cast would give.
  BlockImpl(int64_t dim, int64_t dim_out, int64_t groups, bool output_feeds_conv = false)
      : output_feeds_conv_(output_feeds_conv),
        proj_(register_module("proj", conv2d(dim, dim_out, 3))),
        norm_(register_module("norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, dim_out)))) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& scale = {}, const torch::Tensor& shift = {}) {
    auto h = proj_(x);
    // CPU bf16 autocast: one fused node with fp32 arithmetic (group_norm_film_silu.h), as LibTorch 1.13's bf16
    // group norm and SiLU kernels are not vectorised (video_mnist_cpu, one thread: group norm 124 ms per step in
    // bf16 against 10 in fp32); the CPU fp32 channels-last path likewise (LibTorch's channels-last fp32 group
    // norm cost 4x its NCHW one); NCHW fp32 keeps LibTorch's ops (and their numerics).
    if (h.is_cpu() && h.scalar_type() == torch::kBFloat16)
      return group_norm_film_silu(h, norm_->weight, norm_->bias, scale, shift, norm_->options.num_groups(),
                                  norm_->options.eps(), output_feeds_conv_);
    if (cpu_fp32_channels_last(h))
      return group_norm_film_silu(h, norm_->weight, norm_->bias, scale, shift, norm_->options.num_groups(),
                                  norm_->options.eps());
    h = group_norm(norm_, h);
    if (scale.defined()) h = torch::addcmul(shift, h, scale + 1);  // FiLM in one pass
    return torch::silu(h);
  }

 private:
  bool output_feeds_conv_;
  Conv2d proj_;
  torch::nn::GroupNorm norm_;
};
TORCH_MODULE(Block);

// The per-sample MLPs of the level embedding (a few rows: the batch) in fp32 under CPU autocast: products of 4-8
// rows cost far more as oneDNN bf16 calls than as fp32 BLAS calls, and the fused GroupNorm node takes its FiLM
// scale and shift in fp32 anyway. Elsewhere (fp32, CUDA) the MLP runs as it is.
inline torch::Tensor small_mlp_forward(torch::nn::Sequential& mlp, const torch::Tensor& x) {
  if (!(x.is_cpu() && autocast_enabled_for(x))) return mlp->forward(x);
  c10::impl::ExcludeDispatchKeyGuard no_cpu_autocast(c10::DispatchKey::AutocastCPU);
  return mlp->forward(x.to(torch::kFloat));
}

// ResnetBlock with FiLM from the level embedding: mlp = Sequential(SiLU, Linear(time_dim, 2*dim_out)),
// res_conv is a 1x1 conv only when the channel count changes (the reference's Identity has no parameters).
class ResnetBlockImpl : public torch::nn::Module {
 public:
  ResnetBlockImpl(int64_t dim, int64_t dim_out, int64_t time_dim, int64_t groups)
      : mlp_(
            register_module("mlp", torch::nn::Sequential(torch::nn::SiLU(), torch::nn::Linear(time_dim, 2 * dim_out)))),
        block1_(register_module("block1", Block(dim, dim_out, groups, /*output_feeds_conv=*/true))),
        block2_(register_module("block2", Block(dim_out, dim_out, groups))) {
    check(dim % groups == 0 && dim_out % groups == 0,
          "ResnetBlock: channels " + std::to_string(dim) + "->" + std::to_string(dim_out) +
              " must be divisible by GroupNorm groups " + std::to_string(groups));
    if (dim != dim_out) res_conv_ = register_module("res_conv", PointwiseConv2d(dim, dim_out));
  }
  // x [B, dim, H, W], t [B, time_dim] -> [B, dim_out, H, W]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t) {
    const auto ss = small_mlp_forward(mlp_, t).unsqueeze(-1).unsqueeze(-1).chunk(2, 1);  // 2 x [B, dim_out, 1, 1]
    // With a 1x1 res_conv, x feeds two convolutions: cast once for both on the CPU bf16 path (a no-op elsewhere).
    const auto x_conv = res_conv_ ? conv_input(x) : x;
    auto h = block1_(x_conv, ss[0], ss[1]);
    h = block2_(h);
    return h + (res_conv_ ? res_conv_(x_conv) : x);
  }

 private:
  torch::nn::Sequential mlp_;
  Block block1_, block2_;
  PointwiseConv2d res_conv_{nullptr};
};
TORCH_MODULE(ResnetBlock);

// Common interface of the two attention flavours, so a U-Net level can hold either.
class AttentionBase : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;  // [B, C, H, W] -> [B, C, H, W]
};

// Linear attention with memory key/values: softmax over the feature axis for q, over positions for k.
// Children: norm (RMSNorm), to_qkv (1x1, no bias), to_out = Sequential(1x1 conv, RMSNorm);
// mem_kv [2, heads, dim_head, num_mem_kv].
class LinearAttention : public AttentionBase {
 public:
  LinearAttention(int64_t dim, int64_t heads, int64_t dim_head, int64_t num_mem_kv)
      : heads_(heads), scale_(1.0 / std::sqrt(static_cast<double>(dim_head))) {
    const int64_t hidden = heads * dim_head;
    norm_ = register_module("norm", RMSNorm(dim, /*output_feeds_conv=*/true));
    mem_kv_ = register_parameter("mem_kv", torch::randn({2, heads, dim_head, num_mem_kv}));
    to_qkv_ = register_module("to_qkv", PointwiseConv2d(dim, 3 * hidden, /*bias=*/false));
    to_out_ = register_module("to_out", torch::nn::Sequential(PointwiseConv2d(hidden, dim), RMSNorm(dim)));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
    const auto qkv = to_qkv_(norm_(x)).chunk(3, 1);
    // 'b (h c) x y -> b h c (x y)'
    auto q = qkv[0].reshape({b, heads_, -1, h * w});  // [B, heads, d, N]
    auto k = qkv[1].reshape({b, heads_, -1, h * w});
    auto v = qkv[2].reshape({b, heads_, -1, h * w});
    const auto mem_kv = cpu_autocast_parameter(mem_kv_);  // bf16 with bf16 k, v: cat would promote to fp32
    k = torch::cat({mem_kv[0].unsqueeze(0).expand({b, -1, -1, -1}), k}, -1);  // [B, heads, d, M+N]
    v = torch::cat({mem_kv[1].unsqueeze(0).expand({b, -1, -1, -1}), v}, -1);
    q = q.softmax(-2) * scale_;
    k = k.softmax(-1);
    const auto context = torch::matmul(k, v.transpose(-1, -2));    // [B, heads, d, e]
    const auto out = torch::matmul(context.transpose(-1, -2), q);  // [B, heads, e, N]
    return to_out_->forward(out.reshape({b, -1, h, w}));
  }

 private:
  int64_t heads_;
  double scale_;
  RMSNorm norm_{nullptr};
  torch::Tensor mem_kv_;
  PointwiseConv2d to_qkv_{nullptr};
  torch::nn::Sequential to_out_{nullptr};
};

// Full softmax attention with memory key/values (no SDPA in LibTorch 1.13: matmul + softmax).
// Children: norm, to_qkv (1x1, no bias), to_out (1x1); mem_kv [2, heads, num_mem_kv, dim_head].
class FullAttention : public AttentionBase {
 public:
  FullAttention(int64_t dim, int64_t heads, int64_t dim_head, int64_t num_mem_kv)
      : heads_(heads), scale_(1.0 / std::sqrt(static_cast<double>(dim_head))) {
    const int64_t hidden = heads * dim_head;
    norm_ = register_module("norm", RMSNorm(dim, /*output_feeds_conv=*/true));
    mem_kv_ = register_parameter("mem_kv", torch::randn({2, heads, num_mem_kv, dim_head}));
    to_qkv_ = register_module("to_qkv", PointwiseConv2d(dim, 3 * hidden, /*bias=*/false));
    to_out_ = register_module("to_out", PointwiseConv2d(hidden, dim));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
    const auto qkv = to_qkv_(norm_(x)).chunk(3, 1);
    // 'b (h d) x y -> b h (x y) d'
    auto q = qkv[0].reshape({b, heads_, -1, h * w}).transpose(-1, -2);  // [B, heads, N, d]
    auto k = qkv[1].reshape({b, heads_, -1, h * w}).transpose(-1, -2);
    auto v = qkv[2].reshape({b, heads_, -1, h * w}).transpose(-1, -2);
    const auto mem_kv = cpu_autocast_parameter(mem_kv_);  // bf16 with bf16 k, v: cat would promote to fp32
    k = torch::cat({mem_kv[0].unsqueeze(0).expand({b, -1, -1, -1}), k}, -2);  // [B, heads, M+N, d]
    v = torch::cat({mem_kv[1].unsqueeze(0).expand({b, -1, -1, -1}), v}, -2);
    const auto attn = (torch::matmul(q, k.transpose(-1, -2)) * scale_).softmax(-1);  // [B, heads, N, M+N]
    const auto out = torch::matmul(attn, v);                                         // [B, heads, N, d]
    return to_out_(out.transpose(-1, -2).reshape({b, -1, h, w}));
  }

 private:
  int64_t heads_;
  double scale_;
  RMSNorm norm_{nullptr};
  torch::Tensor mem_kv_;
  PointwiseConv2d to_qkv_{nullptr}, to_out_{nullptr};
};

// Parameter-free 'b c (h p1) (w p2) -> b (c p1 p2) h w' with p1 = p2 = 2 (index 0 of the Downsample).
class PixelUnshuffleImpl : public torch::nn::Module {
 public:
  torch::Tensor forward(const torch::Tensor& x) { return F::pixel_unshuffle(x, 2); }  // [B,C,H,W]->[B,4C,H/2,W/2]
};
TORCH_MODULE(PixelUnshuffle);

// Downsample = Sequential(pixel-unshuffle, 1x1 conv): names "<i>.3.1.weight".
inline torch::nn::Sequential downsample(int64_t dim, int64_t dim_out) {
  return torch::nn::Sequential(PixelUnshuffle(), PointwiseConv2d(4 * dim, dim_out));
}

// Upsample = Sequential(nearest x2, 3x3 conv): names "<i>.3.1.weight".
inline torch::nn::Sequential upsample(int64_t dim, int64_t dim_out) {
  auto up = torch::nn::Upsample(
      torch::nn::UpsampleOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
  return torch::nn::Sequential(up, conv2d(dim, dim_out, 3));
}

}  // namespace df::unet
