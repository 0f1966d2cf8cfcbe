// The fused RMSNorm of the U-Net's CPU bf16 path (src/models/rms_norm_channels.h) against the ops of the fp32
// path (RMSNormImpl in src/models/unet_blocks.h) computed in double: output and the gradients of x and g,
// for fp32 and bf16 input, NCHW and channels-last memory, a pixel whose norm is clamped, bf16 output, and the
// same bits for any thread count.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "../../src/models/rms_norm_channels.h"
#include "../error_of.h"

namespace df {
namespace {

struct Inputs {
  torch::Tensor x, g, grad_out;
};

Inputs make_inputs(torch::ScalarType dtype, bool channels_last, int64_t channels = 24) {
  torch::manual_seed(5);
  Inputs in;
  in.x = (torch::randn({3, channels, 5, 7}) * 1.5).to(dtype);
  if (channels_last) in.x = in.x.contiguous(torch::MemoryFormat::ChannelsLast);
  in.g = torch::randn({1, channels, 1, 1}) * 0.5 + 1;
  in.grad_out = torch::randn({3, channels, 5, 7});
  return in;
}

struct Result {
  torch::Tensor y;
  std::vector<torch::Tensor> grads;  // x, g
};

Result fused(const Inputs& in, bool bf16_output = false) {
  auto x = in.x.detach().requires_grad_(true), g = in.g.detach().requires_grad_(true);
  auto y = unet::rms_norm_channels(x, g, bf16_output);
  return {y.detach(), torch::autograd::grad({y}, {x, g}, {in.grad_out.to(y.scalar_type())})};
}

Result reference(const Inputs& in) {
  auto x = in.x.to(torch::kDouble).detach().requires_grad_(true);
  auto g = in.g.to(torch::kDouble).detach().requires_grad_(true);
  const auto inverse_norm = (x * x).sum(1, true).clamp_min(1e-24).rsqrt();
  const auto y = x * inverse_norm * (g * std::sqrt(static_cast<double>(x.size(1))));
  return {y.detach(), torch::autograd::grad({y}, {x, g}, {in.grad_out.to(torch::kDouble)})};
}

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return (got.to(torch::kDouble) - want).abs().max().item<double>() / want.abs().max().item<double>();
}

void expect_close(const Inputs& in, double tolerance, double x_grad_tolerance) {
  const auto got = fused(in), want = reference(in);
  EXPECT_EQ(got.y.scalar_type(), torch::kFloat);
  EXPECT_TRUE(got.y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_LT(relative_error(got.y, want.y), tolerance);
  EXPECT_EQ(got.grads[0].scalar_type(), in.x.scalar_type());
  EXPECT_LT(relative_error(got.grads[0], want.grads[0]), x_grad_tolerance) << "gradient of x";
  EXPECT_EQ(got.grads[1].sizes(), in.g.sizes());
  EXPECT_LT(relative_error(got.grads[1], want.grads[1]), tolerance) << "gradient of g";
}

// fp32 arithmetic (sums of 24 squares per pixel, of 105 terms per channel for g's gradient).
TEST(RmsNormChannels, Fp32MatchesTheOpsInDouble) { expect_close(make_inputs(torch::kFloat, true), 1e-5, 1e-5); }

// 16 channels (one vector, no tail) and 5 (only the tail), and NCHW input (copied to channels-last).
TEST(RmsNormChannels, OtherChannelCountsAndNchw) {
  expect_close(make_inputs(torch::kFloat, true, 16), 1e-5, 1e-5);
  expect_close(make_inputs(torch::kFloat, true, 5), 1e-5, 1e-5);
  expect_close(make_inputs(torch::kFloat, false), 1e-5, 1e-5);
}

// bf16 input (exact in double): the same arithmetic; x's gradient is rounded to bf16 (2^-9 of each entry).
TEST(RmsNormChannels, Bf16InputMatchesTheOpsInDouble) { expect_close(make_inputs(torch::kBFloat16, true), 1e-5, 4e-3); }

// A pixel of zeros: its squared norm is clamped to 1e-24, so its output is 0 and its gradient r gy w with no
// term through the norm (clamp_min passes no gradient below the minimum).
TEST(RmsNormChannels, ClampedPixel) {
  auto in = make_inputs(torch::kFloat, true);
  in.x.select(2, 1).select(2, 3).zero_();
  const auto got = fused(in), want = reference(in);
  const auto pixel = [](const torch::Tensor& t) { return t.select(2, 1).select(2, 3); };
  EXPECT_EQ(pixel(got.y).abs().max().item<double>(), 0.0);
  EXPECT_LT(relative_error(pixel(got.grads[0]), pixel(want.grads[0])), 1e-6);
  in.x.select(2, 1).select(2, 3).fill_(1);  // the other pixels, compared without the clamped one's scale
  const auto got2 = fused(in), want2 = reference(in);
  EXPECT_LT(relative_error(got2.grads[0], want2.grads[0]), 1e-5);
}

TEST(RmsNormChannels, Bf16OutputIsTheCastOfTheFp32Output) {
  auto in = make_inputs(torch::kFloat, true);
  in.grad_out = in.grad_out.to(torch::kBFloat16).to(torch::kFloat);
  const auto a = fused(in), b = fused(in, /*bf16_output=*/true);
  EXPECT_EQ(b.y.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::equal(b.y, a.y.to(torch::kBFloat16)));
  for (size_t i = 0; i < a.grads.size(); ++i) EXPECT_TRUE(torch::equal(a.grads[i], b.grads[i])) << i;
}

TEST(RmsNormChannels, SameBitsForAnyThreadCount) {
  const auto in = make_inputs(torch::kBFloat16, true);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = fused(in);
  at::set_num_threads(2);
  const auto two = fused(in);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one.y, two.y));
  for (size_t i = 0; i < one.grads.size(); ++i) EXPECT_TRUE(torch::equal(one.grads[i], two.grads[i]));
}

TEST(RmsNormChannels, WrongWeightSizeIsNamed) {
  const auto in = make_inputs(torch::kFloat, true);
  const auto message = error_of([&] { unet::rms_norm_channels(in.x, torch::ones({7}), false); });
  EXPECT_NE(message.find("g must have C = 24 elements"), std::string::npos) << message;
}

}  // namespace
}  // namespace df
