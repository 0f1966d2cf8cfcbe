// The fused silu(FiLM(GroupNorm(x))) node of the U-Net's CPU bf16 path (src/models/group_norm_film_silu.h)
// against LibTorch's unfused ops computed in double precision: output and every gradient (x, the GroupNorm's
// weight and bias, FiLM's scale and shift), for fp32 and bf16 inputs, with and without FiLM, for an input far
// from zero mean, in NCHW and channels-last memory, and the same bits for any thread count.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "../../src/models/group_norm_film_silu.h"
#include "../error_of.h"

namespace df {
namespace {

namespace F = torch::nn::functional;

struct Inputs {
  torch::Tensor x, weight, bias, scale, shift, grad_out;
};

Inputs make_inputs(torch::ScalarType x_dtype, bool film, double offset) {
  torch::manual_seed(7);
  Inputs in;
  in.x = (torch::randn({3, 8, 5, 7}) * 1.5 + offset).to(x_dtype);
  in.weight = torch::randn({8}) * 0.5 + 1;
  in.bias = torch::randn({8}) * 0.3;
  if (film) {
    in.scale = torch::randn({3, 8, 1, 1}) * 0.4;
    in.shift = torch::randn({3, 8, 1, 1}) * 0.4;
  }
  in.grad_out = torch::randn({3, 8, 5, 7});
  return in;
}

struct Result {
  torch::Tensor y;
  std::vector<torch::Tensor> grads;  // x, weight, bias, (scale, shift)
};

std::vector<torch::Tensor> leaves(const Inputs& in, torch::ScalarType dtype, bool keep_x_dtype) {
  std::vector<torch::Tensor> v{in.x.to(keep_x_dtype ? in.x.scalar_type() : dtype), in.weight.to(dtype),
                               in.bias.to(dtype)};
  if (in.scale.defined()) {
    v.push_back(in.scale.to(dtype));
    v.push_back(in.shift.to(dtype));
  }
  for (auto& t : v) t = t.detach().requires_grad_(true);
  return v;
}

Result fused(const Inputs& in, int64_t groups) {
  auto v = leaves(in, torch::kFloat, /*keep_x_dtype=*/true);
  const bool film = v.size() == 5;
  auto y = unet::group_norm_film_silu(v[0], v[1], v[2], film ? v[3] : torch::Tensor(), film ? v[4] : torch::Tensor(),
                                      groups, 1e-5);
  return {y.detach(), torch::autograd::grad({y}, v, {in.grad_out})};
}

// The unfused ops of the fp32 path (GroupNorm, addcmul, silu) in double.
Result reference(const Inputs& in, int64_t groups) {
  auto v = leaves(in, torch::kDouble, /*keep_x_dtype=*/false);
  auto h = F::group_norm(v[0], F::GroupNormFuncOptions(groups).weight(v[1]).bias(v[2]).eps(1e-5));
  if (v.size() == 5) h = torch::addcmul(v[4], h, v[3] + 1);
  auto y = torch::silu(h);
  return {y.detach(), torch::autograd::grad({y}, v, {in.grad_out.to(torch::kDouble)})};
}

// Largest entry-wise error relative to the reference's largest magnitude.
double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return (got.to(torch::kDouble) - want).abs().max().item<double>() / want.abs().max().item<double>();
}

void expect_close(const Inputs& in, double output_tolerance, double grad_tolerance, double x_grad_tolerance) {
  const auto got = fused(in, 4), want = reference(in, 4);
  EXPECT_EQ(got.y.scalar_type(), torch::kFloat);
  EXPECT_LT(relative_error(got.y, want.y), output_tolerance);
  const std::vector<std::string> names{"x", "weight", "bias", "scale", "shift"};
  ASSERT_EQ(got.grads.size(), want.grads.size());
  for (size_t i = 0; i < got.grads.size(); ++i) {
    SCOPED_TRACE("gradient of " + names[i]);
    ASSERT_TRUE(got.grads[i].defined());
    EXPECT_EQ(got.grads[i].sizes(), want.grads[i].sizes());
    EXPECT_LT(relative_error(got.grads[i], want.grads[i]), i == 0 ? x_grad_tolerance : grad_tolerance);
  }
  EXPECT_EQ(got.grads[0].scalar_type(), in.x.scalar_type());
}

// fp32 arithmetic throughout (sums of 70 elements per group, a polynomial exp of relative error ~2e-7).
TEST(GroupNormFilmSilu, Fp32MatchesUnfusedOpsInDouble) {
  expect_close(make_inputs(torch::kFloat, true, 0), 1e-6, 1e-5, 1e-5);
}

TEST(GroupNormFilmSilu, WithoutFilm) { expect_close(make_inputs(torch::kFloat, false, 0), 1e-6, 1e-5, 1e-5); }

// The variance is computed around the mean (two passes), so an input far from zero loses nothing: a
// one-pass E[x^2] - E[x]^2 in fp32 would be off by about 1e-7 * 100^2 / 1.5^2, i.e. 5e-4 of the variance.
TEST(GroupNormFilmSilu, InputFarFromZeroMean) { expect_close(make_inputs(torch::kFloat, true, 100), 1e-5, 1e-4, 1e-4); }

// bf16 input (exactly representable in double): the same arithmetic; only x's gradient is rounded to bf16
// (relative rounding error 2^-9 of each entry).
TEST(GroupNormFilmSilu, Bf16InputMatchesUnfusedOpsInDouble) {
  expect_close(make_inputs(torch::kBFloat16, true, 0), 1e-6, 1e-5, 4e-3);
}

// Each (sample, group) block is computed by one thread in a fixed order, and the batch sums after the
// parallel loop: the bits do not depend on the thread count.
void expect_same_bits_at_one_and_two_threads(const Inputs& in) {
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = fused(in, 4);
  at::set_num_threads(2);
  const auto two = fused(in, 4);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one.y, two.y));
  for (size_t i = 0; i < one.grads.size(); ++i) EXPECT_TRUE(torch::equal(one.grads[i], two.grads[i]));
}

TEST(GroupNormFilmSilu, SameBitsForAnyThreadCount) {
  expect_same_bits_at_one_and_two_threads(make_inputs(torch::kFloat, true, 0));
}

// Channels-last input (the U-Net's bf16 path): the same values, computed along the channels of each pixel,
// and the output and x's gradient stay channels-last.
Inputs channels_last(Inputs in) {
  in.x = in.x.contiguous(torch::MemoryFormat::ChannelsLast);
  in.grad_out = in.grad_out.contiguous(torch::MemoryFormat::ChannelsLast);
  return in;
}

TEST(GroupNormFilmSilu, ChannelsLastFp32MatchesUnfusedOpsInDouble) {
  const auto in = channels_last(make_inputs(torch::kFloat, true, 0));
  expect_close(in, 1e-6, 1e-5, 1e-5);
  const auto got = fused(in, 4);
  EXPECT_TRUE(got.y.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(got.grads[0].is_contiguous(torch::MemoryFormat::ChannelsLast));
}

TEST(GroupNormFilmSilu, ChannelsLastBf16AndFarFromZeroMean) {
  expect_close(channels_last(make_inputs(torch::kBFloat16, true, 0)), 1e-6, 1e-5, 4e-3);
  expect_close(channels_last(make_inputs(torch::kFloat, false, 100)), 1e-5, 1e-4, 1e-4);
}

// More pixels than one block of the per-channel partial sums (64), 32 channels in 8 groups.
TEST(GroupNormFilmSilu, ChannelsLastLargerShape) {
  torch::manual_seed(3);
  Inputs in;
  in.x = torch::randn({2, 32, 12, 11}).contiguous(torch::MemoryFormat::ChannelsLast);
  in.weight = torch::randn({32}) * 0.5 + 1;
  in.bias = torch::randn({32}) * 0.3;
  in.scale = torch::randn({2, 32, 1, 1}) * 0.4;
  in.shift = torch::randn({2, 32, 1, 1}) * 0.4;
  in.grad_out = torch::randn({2, 32, 12, 11});
  const auto got = fused(in, 8), want = reference(in, 8);
  EXPECT_LT(relative_error(got.y, want.y), 1e-6);
  for (size_t i = 0; i < got.grads.size(); ++i) EXPECT_LT(relative_error(got.grads[i], want.grads[i]), 1e-5) << i;
}

TEST(GroupNormFilmSilu, ChannelsLastSameBitsForAnyThreadCount) {
  expect_same_bits_at_one_and_two_threads(channels_last(make_inputs(torch::kBFloat16, true, 0)));
}

// bf16 output (for an output that only feeds a bf16 convolution): the bits of the fp32 output cast to bf16,
// and the gradients of the fp32-output node for the same upstream gradient.
TEST(GroupNormFilmSilu, Bf16OutputIsTheCastOfTheFp32Output) {
  for (const bool cl : {false, true}) {
    SCOPED_TRACE(cl ? "channels-last" : "NCHW");
    auto in = make_inputs(torch::kBFloat16, true, 0);
    if (cl) in = channels_last(in);
    in.grad_out = in.grad_out.to(torch::kBFloat16);  // what a bf16 convolution's backward hands back
    auto v = leaves(in, torch::kFloat, /*keep_x_dtype=*/true);
    const auto y32 = unet::group_norm_film_silu(v[0], v[1], v[2], v[3], v[4], 4, 1e-5);
    const auto y16 = unet::group_norm_film_silu(v[0], v[1], v[2], v[3], v[4], 4, 1e-5, /*bf16_output=*/true);
    EXPECT_EQ(y16.scalar_type(), torch::kBFloat16);
    EXPECT_EQ(y16.is_contiguous(torch::MemoryFormat::ChannelsLast), cl);
    EXPECT_TRUE(torch::equal(y16, y32.to(torch::kBFloat16)));
    const auto g32 = torch::autograd::grad({y32}, v, {in.grad_out.to(torch::kFloat)});
    const auto g16 = torch::autograd::grad({y16}, v, {in.grad_out});
    for (size_t i = 0; i < g32.size(); ++i) EXPECT_TRUE(torch::equal(g32[i], g16[i])) << i;
  }
}

TEST(GroupNormFilmSilu, BadGroupsNameTheChannels) {
  const auto in = make_inputs(torch::kFloat, false, 0);
  const auto message = error_of([&] { unet::group_norm_film_silu(in.x, in.weight, in.bias, {}, {}, 3, 1e-5); });
  EXPECT_NE(message.find("8 channels are not divisible by 3 groups"), std::string::npos) << message;
}

}  // namespace
}  // namespace df
