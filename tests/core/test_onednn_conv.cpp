// The U-Net's CPU convolution on oneDNN (src/models/onednn_conv.h) against LibTorch's convolution in double
// precision on the same input and weights (bf16-rounded for bf16): output, input gradient (bf16: within bf16
// rounding; fp32: within fp32 accumulation) and weight and bias gradients (fp32: within fp32 accumulation), for
// 3x3 / 7x7 / 1x1 kernels with and without bias and padding, one input channel, in bf16 and fp32, a weight
// updated in place between calls (the cached copy must follow), the module path (unet::Conv2d under CPU bf16
// autocast and in fp32), and the whole U-Net step on the fp32 channels-last path against the same network in
// double precision (LibTorch's ops).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <thread>

#include "../../src/models/onednn_conv.h"
#include "../../src/models/unet_blocks.h"
#include "df/core/compat.h"
#include "df/models/cpu_convolutions.h"
#include "df/models/unet_conv_gru.h"
#include "tiny_unet.h"
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

void check_case(const Case& t, torch::ScalarType type = torch::kBFloat16) {
  const bool bf16 = type == torch::kBFloat16;
  SCOPED_TRACE("c " + std::to_string(t.c) + " -> " + std::to_string(t.o) + ", k " + std::to_string(t.k) + ", pad " +
               std::to_string(t.pad) + (t.bias ? ", bias" : "") + (bf16 ? ", bf16" : ", fp32"));
  torch::manual_seed(3);
  const auto x = torch::randn({t.n, t.c, t.h, t.w})
                     .to(type)
                     .contiguous(torch::MemoryFormat::ChannelsLast)
                     .requires_grad_(true);
  const auto weight = (torch::randn({t.o, t.c, t.k, t.k}) * 0.3).requires_grad_(true);
  const auto bias = t.bias ? (torch::randn({t.o}) * 0.2).requires_grad_(true) : torch::Tensor();
  const auto y = unet::onednn_conv2d(x, weight, bias, t.pad, t.pad);
  ASSERT_EQ(y.scalar_type(), type);
  ASSERT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  const auto gy = torch::randn(y.sizes()).to(type);
  y.backward(gy);

  // The reference: double precision on the values the kernel sees (bf16: input and weight rounded to bf16).
  const auto xd = x.detach().to(torch::kDouble).contiguous().requires_grad_(true);
  const auto wd = weight.detach().to(type).to(torch::kDouble).requires_grad_(true);
  const auto bd = t.bias ? bias.detach().to(torch::kDouble).requires_grad_(true) : torch::Tensor();
  const auto yd = F::conv2d(xd, wd, F::Conv2dFuncOptions().bias(bd).padding(t.pad));
  yd.backward(gy.to(torch::kDouble));

  ASSERT_EQ(y.sizes(), yd.sizes());
  // bf16 output and input gradient: one rounding to bf16 (relative 2^-8) on fp32 accumulation; fp32: fp32 sums
  // of at most a few hundred products.
  const double tolerance = bf16 ? 1.0 / 128 : 1e-5;
  EXPECT_LT(scaled_error(y, yd), tolerance);
  EXPECT_LT(scaled_error(x.grad(), xd.grad()), tolerance);
  EXPECT_EQ(x.grad().scalar_type(), type);
  // fp32 weight and bias gradients: exact bf16 (or fp32) products summed in fp32.
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
    for (auto type : {torch::kBFloat16, torch::kFloat}) check_case(t, type);
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
  EXPECT_EQ(cpu_convolutions(), "oneDNN direct");  // what the training log names
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

TEST(OneDnnConv, Fp32ModuleTakesThePathInChannelsLast) {
  if (!have_onednn()) GTEST_SKIP() << "this build has no oneDNN path (DF_ONEDNN; Debian: libdnnl-dev)";
  torch::manual_seed(9);
  auto conv = unet::conv2d(6, 10, 3);
  const auto x = torch::randn({2, 6, 8, 8}, torch::requires_grad());  // NCHW, as the model's first input
  const auto p = df::profile_ops([&] { conv(x.detach()); }, 1);
  EXPECT_EQ(p.op_flops.count("df::onednn_conv2d"), 1u) << "the fp32 convolution did not run on oneDNN directly";
  const auto y = conv(x);
  y.square().sum().backward();
  EXPECT_EQ(y.scalar_type(), torch::kFloat);
  EXPECT_TRUE(y.is_contiguous(torch::MemoryFormat::ChannelsLast));  // and stays so for the next block
  const auto xd = x.detach().to(torch::kDouble).requires_grad_(true);
  const auto yd = F::conv2d(xd, conv->weight.detach().to(torch::kDouble),
                            F::Conv2dFuncOptions().bias(conv->bias.detach().to(torch::kDouble)).padding(1));
  yd.square().sum().backward();
  EXPECT_LT(scaled_error(y, yd), 1e-5);
  EXPECT_LT(scaled_error(x.grad(), xd.grad()), 1e-5);
}

// Restores the process-wide switch when a test ends.
struct OneDnnSwitch {
  bool was = unet::onednn_conv_enabled();
  explicit OneDnnSwitch(bool on) { unet::set_onednn_conv_enabled(on); }
  ~OneDnnSwitch() { unet::set_onednn_conv_enabled(was); }
};

// The whole U-Net step (convolutions, fused group norm / FiLM / SiLU and RMSNorm nodes, linear and full attention,
// ConvGRU) on the CPU fp32 channels-last path against the same network on LibTorch's NCHW ops (the path turned
// off): output, next latent and the gradients of the inputs and of every parameter, within fp32 rounding of a
// deep network (the two differ only in summation order; the golden parity tests hold the path to the authors'
// model).
TEST(OneDnnConv, UnetFp32PathFollowsLibTorchsOps) {
  if (!have_onednn()) GTEST_SKIP() << "this build has no oneDNN path (DF_ONEDNN; Debian: libdnnl-dev)";
  torch::manual_seed(11);
  UnetConvGruDenoiser net(tiny_unet_options(2));
  torch::manual_seed(12);
  const auto z = torch::randn({3, 4, 8, 8}), x = torch::randn({3, 2, 8, 8});
  const auto levels = torch::tensor({3, 400, 950}, torch::kLong);
  const auto gz = torch::randn({3, 4, 8, 8}), gout = torch::randn({3, 2, 8, 8});
  auto run = [&] {
    net.zero_grad();
    const auto zl = z.clone().requires_grad_(true), xl = x.clone().requires_grad_(true);
    const auto s = net.step(zl, xl, levels, {});
    (s.z * gz).sum().add((s.out * gout).sum()).backward();
    std::vector<torch::Tensor> values{s.out.detach(), s.z.detach(), zl.grad(), xl.grad()};
    for (const auto& param : net.parameters()) values.push_back(param.grad().clone());
    return values;
  };
  std::vector<torch::Tensor> ours, reference;
  {
    OneDnnSwitch on(true);
    const auto p = df::profile_ops([&] { net.step(z, x, levels, {}); }, 1);
    EXPECT_GT(p.op_flops.count("df::onednn_conv2d"), 0u) << "the fp32 step did not take the oneDNN path";
    // The blocks' group norms run as the fused node, not LibTorch's kernel.
    EXPECT_EQ(p.self_seconds[static_cast<int>(df::OpClass::Other)].count("aten::native_group_norm"), 0u);
    ours = run();
  }
  {
    OneDnnSwitch off(false);
    const auto p = df::profile_ops([&] { net.step(z, x, levels, {}); }, 1);
    EXPECT_EQ(p.op_flops.count("df::onednn_conv2d"), 0u);
    EXPECT_EQ(p.self_seconds[static_cast<int>(df::OpClass::Other)].count("aten::native_group_norm"), 1u);
    reference = run();
  }
  ASSERT_EQ(ours.size(), reference.size());
  double largest = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    ASSERT_TRUE(ours[i].defined() && reference[i].defined()) << "value " << i;
    // out, z, then the gradients (input gradients, then parameters in registration order).
    const double error = scaled_error(ours[i], reference[i]);
    EXPECT_LT(error, i < 2 ? 1e-5 : 1e-4) << "value " << i;
    largest = std::max(largest, error);
  }
  EXPECT_GT(largest, 0.0) << "both runs took the same path";
}

}  // namespace
}  // namespace df
