// The U-Net's CPU bf16 convolution on oneDNN (src/models/onednn_conv.h) against LibTorch's convolution in double
// precision on the same bf16-rounded input and weights: output, input gradient (bf16: within bf16 rounding) and
// weight and bias gradients (fp32: within fp32 accumulation), for 3x3 / 7x7 / 1x1 kernels with and without bias
// and padding, one input channel, a weight updated in place between calls (the cached bf16 copy must follow),
// and the module path (unet::Conv2d under CPU bf16 autocast).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>

#include "../../src/models/onednn_conv.h"
#include "../../src/models/unet_blocks.h"
#include "df/core/compat.h"
#include "df/models/cpu_convolutions.h"
#include "df/training/step_profile.h"

namespace df {
namespace {

namespace F = torch::nn::functional;

struct Case {
  int64_t n, c, h, w, o, k, pad;
  bool bias;
};

// max |a - b| / max |b|: the error against the reference's scale.
double scaled_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto ref = b.to(torch::kDouble);
  return (a.to(torch::kDouble) - ref).abs().max().item<double>() / std::max(ref.abs().max().item<double>(), 1e-30);
}

void check_case(const Case& t) {
  SCOPED_TRACE("c " + std::to_string(t.c) + " -> " + std::to_string(t.o) + ", k " + std::to_string(t.k) + ", pad " +
               std::to_string(t.pad) + (t.bias ? ", bias" : ""));
  torch::manual_seed(3);
  const auto x = torch::randn({t.n, t.c, t.h, t.w})
                     .to(torch::kBFloat16)
                     .contiguous(torch::MemoryFormat::ChannelsLast)
                     .requires_grad_(true);
  const auto weight = (torch::randn({t.o, t.c, t.k, t.k}) * 0.3).requires_grad_(true);
  const auto bias = t.bias ? (torch::randn({t.o}) * 0.2).requires_grad_(true) : torch::Tensor();
  const auto y = unet::onednn_conv2d(x, weight, bias, t.pad, t.pad);
  ASSERT_EQ(y.scalar_type(), torch::kBFloat16);
  ASSERT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  const auto gy = torch::randn(y.sizes()).to(torch::kBFloat16);
  y.backward(gy);

  // The reference: double precision on the values the bf16 kernel sees (input and weight rounded to bf16).
  const auto xd = x.detach().to(torch::kDouble).contiguous().requires_grad_(true);
  const auto wd = weight.detach().to(torch::kBFloat16).to(torch::kDouble).requires_grad_(true);
  const auto bd = t.bias ? bias.detach().to(torch::kDouble).requires_grad_(true) : torch::Tensor();
  const auto yd = F::conv2d(xd, wd, F::Conv2dFuncOptions().bias(bd).padding(t.pad));
  yd.backward(gy.to(torch::kDouble));

  ASSERT_EQ(y.sizes(), yd.sizes());
  // bf16 output and input gradient: one rounding to bf16 (relative 2^-8) on fp32 accumulation.
  EXPECT_LT(scaled_error(y, yd), 1.0 / 128);
  EXPECT_LT(scaled_error(x.grad(), xd.grad()), 1.0 / 128);
  EXPECT_EQ(x.grad().scalar_type(), torch::kBFloat16);
  // fp32 weight and bias gradients: exact bf16 products summed in fp32.
  ASSERT_EQ(weight.grad().scalar_type(), torch::kFloat);
  EXPECT_LT(scaled_error(weight.grad(), wd.grad()), 1e-5);
  if (t.bias) {
    EXPECT_LT(scaled_error(bias.grad(), bd.grad()), 1e-5);
  }
}

bool have_onednn() { return unet::onednn_conv_enabled(); }

TEST(OneDnnConv, MatchesDoublePrecisionReference) {
  if (!have_onednn()) GTEST_SKIP() << "this build has no oneDNN path (DF_ONEDNN; Debian: libdnnl-dev)";
  for (const Case& t : {Case{2, 5, 7, 6, 4, 3, 1, true}, Case{3, 16, 8, 8, 16, 3, 1, false},
                        Case{2, 12, 9, 9, 16, 7, 3, true}, Case{2, 8, 5, 5, 24, 1, 0, true},
                        Case{2, 1, 6, 6, 3, 3, 0, true}})
    check_case(t);
}

TEST(OneDnnConv, FollowsAWeightUpdatedInPlace) {
  if (!have_onednn()) GTEST_SKIP() << "this build has no oneDNN path (DF_ONEDNN; Debian: libdnnl-dev)";
  torch::manual_seed(5);
  const auto x = torch::randn({2, 4, 6, 6}).to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast);
  auto weight = torch::randn({4, 4, 3, 3});
  const auto reference = [&] {
    return F::conv2d(x.to(torch::kDouble), weight.to(torch::kBFloat16).to(torch::kDouble),
                     F::Conv2dFuncOptions().padding(1));
  };
  for (int update = 0; update < 3; ++update) {
    const auto y = unet::onednn_conv2d(x, weight, torch::Tensor(), 1, 1);
    EXPECT_LT(scaled_error(y, reference()), 1.0 / 128) << "after " << update << " in-place updates";
    weight.mul_(-0.5).add_(0.25);  // as an optimizer step does: same tensor, new values
  }
}

TEST(OneDnnConv, ThreadsGetTheSameResult) {
  if (!have_onednn()) GTEST_SKIP() << "this build has no oneDNN path (DF_ONEDNN; Debian: libdnnl-dev)";
  torch::manual_seed(6);
  const auto x = torch::randn({2, 8, 8, 8}).to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto weight = torch::randn({8, 8, 3, 3}), bias = torch::randn({8});
  const auto here = unet::onednn_conv2d(x, weight, bias, 1, 1);
  torch::Tensor there;
  std::thread([&] { there = unet::onednn_conv2d(x, weight, bias, 1, 1); }).join();  // its own primitive cache
  EXPECT_TRUE(torch::equal(here, there));
}

TEST(OneDnnConv, ProfileCountsItsFlopsAsConvolution) {
  if (!have_onednn()) GTEST_SKIP() << "this build has no oneDNN path (DF_ONEDNN; Debian: libdnnl-dev)";
  // N=2, C=3 -> O=5, 7x6 input, 3x3 kernel, padding 1: 7x6 output.
  const auto x = torch::randn({2, 3, 7, 6}).to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto xg = x.clone().requires_grad_(true);
  const auto weight = torch::randn({5, 3, 3, 3}, torch::requires_grad());
  const double forward = 2.0 * 2 * (7 * 6) * (5 * 3 * 3 * 3);
  // Input without gradient: the backward computes the weight gradient only.
  auto p = df::profile_ops([&] { unet::onednn_conv2d(x, weight, torch::Tensor(), 1, 1).sum().backward(); }, 1);
  EXPECT_DOUBLE_EQ(p.flops[static_cast<int>(df::OpClass::Convolution)], 2 * forward);
  p = df::profile_ops([&] { unet::onednn_conv2d(xg, weight, torch::Tensor(), 1, 1).sum().backward(); }, 1);
  EXPECT_DOUBLE_EQ(p.op_flops.at("df::onednn_conv2d"), forward);
  EXPECT_DOUBLE_EQ(p.op_flops.at("df::onednn_conv2d_backward"), 2 * forward);
  EXPECT_GT(p.seconds[static_cast<int>(df::OpClass::Convolution)], 0.0);
}

TEST(OneDnnConv, ModuleUnderCpuAutocastTakesThePath) {
  if (!have_onednn()) GTEST_SKIP() << "this build has no oneDNN path (DF_ONEDNN; Debian: libdnnl-dev)";
  torch::manual_seed(8);
  auto conv = unet::conv2d(6, 10, 3);
  const auto x = torch::randn({2, 6, 8, 8});
  torch::Tensor y;
  {
    AutocastGuard autocast(torch::kCPU, torch::kBFloat16, true);
    y = conv(x);
  }
  y.to(torch::kFloat).square().sum().backward();
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(cpu_bf16_convolutions(), "oneDNN direct");  // what the training log names
  // fp32 gradients written by oneDNN directly (LibTorch's path returns bf16 gradients cast to fp32, which round
  // to bf16's 8 bits: a weight gradient with more significant bits shows the path was taken).
  ASSERT_TRUE(conv->weight.grad().defined());
  const auto g = conv->weight.grad();
  EXPECT_FALSE(torch::equal(g, g.to(torch::kBFloat16).to(torch::kFloat)));
  const auto ref = F::conv2d(x.to(torch::kBFloat16).to(torch::kDouble),
                             conv->weight.detach().to(torch::kBFloat16).to(torch::kDouble),
                             F::Conv2dFuncOptions().bias(conv->bias.detach().to(torch::kDouble)).padding(1));
  EXPECT_LT(scaled_error(y, ref), 1.0 / 128);
}

}  // namespace
}  // namespace df
