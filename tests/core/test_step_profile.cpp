// The op profile of df_bench --profile: FLOPs counted from shapes against closed-form counts, and the op
// classification.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "df/training/step_profile.h"

namespace {

TEST(StepProfile, ConvolutionFlopsForwardAndBothGradients) {
  torch::manual_seed(0);
  // N=2, C_in=3 -> C_out=5, 7x6 input, 3x3 kernel, padding 1, stride 2: output 4x3.
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(3, 5, 3).padding(1).stride(2));
  const auto x = torch::randn({2, 3, 7, 6}, torch::requires_grad());
  const auto p = df::profile_ops([&] { conv(x).sum().backward(); }, 1);
  const double forward = 2.0 * 2 * (4 * 3) * (5 * 3 * 3 * 3);  // 2 * N * positions * weight numel
  EXPECT_DOUBLE_EQ(p.op_flops.at("aten::convolution"), forward);
  EXPECT_DOUBLE_EQ(p.op_flops.at("aten::convolution_backward"), 2 * forward);  // input and weight gradients
  EXPECT_DOUBLE_EQ(p.flops[static_cast<int>(df::OpClass::Convolution)], 3 * forward);
  EXPECT_DOUBLE_EQ(p.flops[static_cast<int>(df::OpClass::MatrixProduct)], 0.0);
}

TEST(StepProfile, InputGradientSkippedWhenNotNeeded) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(2, 4, 1));
  const auto x = torch::randn({1, 2, 5, 5});  // no gradient: the backward computes the weight gradient only
  const auto p = df::profile_ops([&] { conv(x).sum().backward(); }, 1);
  const double forward = 2.0 * 1 * 25 * (4 * 2);
  EXPECT_DOUBLE_EQ(p.op_flops.at("aten::convolution_backward"), forward);
}

TEST(StepProfile, LinearAndBatchedProductFlops) {
  torch::nn::Linear linear(6, 4);
  const auto x = torch::randn({3, 6}, torch::requires_grad());
  const auto a = torch::randn({2, 3, 5}), b = torch::randn({2, 5, 7});
  const auto p = df::profile_ops(
      [&] {
        linear(x).sum().backward();  // addmm forward, two mm backward (input and weight gradients)
        torch::NoGradGuard no_grad;
        torch::matmul(a, b);  // one bmm (counted once, not again for matmul)
      },
      2);
  const double linear_flops = 2.0 * 3 * 6 * 4;
  EXPECT_DOUBLE_EQ(p.op_flops.at("aten::addmm"), linear_flops);
  EXPECT_DOUBLE_EQ(p.op_flops.at("aten::mm"), 2 * linear_flops);
  EXPECT_DOUBLE_EQ(p.op_flops.at("aten::bmm"), 2.0 * 2 * 3 * 5 * 7);
  EXPECT_DOUBLE_EQ(p.flops_total(), 3 * linear_flops + 2.0 * 2 * 3 * 5 * 7);
  EXPECT_EQ(p.calls, 2);
}

TEST(StepProfile, TimeIsSplitByClassAndSumsToTheOpTime) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(8, 8, 3).padding(1));
  const auto x = torch::randn({4, 8, 32, 32});
  const auto p = df::profile_ops(
      [&] {
        torch::NoGradGuard no_grad;
        auto y = conv(x);
        for (int i = 0; i < 5; ++i) y = torch::tanh(y);  // "other" work of known kind
      },
      3);
  EXPECT_GT(p.seconds[static_cast<int>(df::OpClass::Convolution)], 0.0);
  EXPECT_GT(p.seconds[static_cast<int>(df::OpClass::Other)], 0.0);
  EXPECT_NEAR(p.share(df::OpClass::Convolution) + p.share(df::OpClass::MatrixProduct) + p.share(df::OpClass::Other),
              1.0, 1e-12);
  const auto others = p.top_ops(df::OpClass::Other, 20);
  bool tanh_found = false;
  for (const auto& [name, seconds] : others) tanh_found |= name == "aten::tanh";
  EXPECT_TRUE(tanh_found);
}

TEST(StepProfile, CallSitesNameParentShapesAndCounts) {
  const auto a = torch::randn({2, 3}), b = torch::randn({3, 4});
  const auto cl = torch::randn({1, 3, 2, 2}).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto p = df::profile_ops(
      [&] {
        torch::NoGradGuard no_grad;
        for (int i = 0; i < 3; ++i) torch::mm(a, b);  // top level: parent "-"
        torch::matmul(a, b);                          // matmul calls mm: parent "aten::matmul"
        torch::tanh(cl);
      },
      1);
  EXPECT_EQ(p.detailed_calls.at("- > aten::mm [Float[2, 3], Float[3, 4]]"), 3);
  EXPECT_EQ(p.detailed_calls.at("aten::matmul > aten::mm [Float[2, 3], Float[3, 4]]"), 1);
  EXPECT_EQ(p.detailed_calls.at("- > aten::tanh [Float[1, 3, 2, 2]cl]"), 1);  // channels-last marked
  EXPECT_EQ(p.detailed_calls.size(), p.detailed_self_seconds.size());
  const auto top = p.top_detailed_ops(1);
  ASSERT_EQ(top.size(), 1u);
  for (const auto& [site, seconds] : p.detailed_self_seconds) EXPECT_LE(seconds, top[0].second);
}

TEST(StepProfile, Classification) {
  EXPECT_EQ(df::classify_op("aten::convolution_backward"), df::OpClass::Convolution);
  EXPECT_EQ(df::classify_op("aten::mkldnn_convolution"), df::OpClass::Convolution);
  EXPECT_EQ(df::classify_op("ConvolutionBackward0"), df::OpClass::Convolution);
  EXPECT_EQ(df::classify_op("aten::addmm"), df::OpClass::MatrixProduct);
  EXPECT_EQ(df::classify_op("AddmmBackward0"), df::OpClass::MatrixProduct);
  EXPECT_EQ(df::classify_op("aten::native_group_norm"), df::OpClass::Other);
  // The engine's wrapper accumulates gradients: not the node's class.
  EXPECT_EQ(df::classify_op("autograd::engine::evaluate_function: ConvolutionBackward0"), df::OpClass::Other);
}

}  // namespace
