// Per-token Linear layers under autocast with the weight cast once per sequence and the weight gradient computed
// once over all tokens (src/models/token_shared_linear.h): against a double-precision reference on the same
// bf16-rounded weights and inputs (a recurrence through the layer, with and without bias, with an added term),
// and the ResMLP-GRU's gradients with and without the path under CPU bf16 autocast. Outside training under
// autocast the path is off, which keeps fp32 numerics bit for bit.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "../../src/models/token_shared_linear.h"
#include "df/core/compat.h"
#include "df/models/resmlp_gru.h"

namespace df {
namespace {

// max |a - b| / max |b|: the error against the reference's scale.
double scaled_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto ref = b.to(torch::kDouble);
  return (a.to(torch::kDouble) - ref).abs().max().item<double>() / std::max(ref.abs().max().item<double>(), 1e-30);
}

torch::Tensor bf16_rounded(const torch::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kFloat); }

// h_t = tanh(W (h_{t-1} + x_t) + b [+ a_t]) over T tokens; the loss weights every h_t. `shared` runs the layer
// through TokenSharedLinear under CPU bf16 autocast, otherwise in double without autocast.
struct Recurrence {
  torch::Tensor weight, bias, x, add;  // leaves
  torch::Tensor loss;

  Recurrence(torch::ScalarType dtype, bool with_bias, bool with_add, int64_t T, int64_t B, int64_t D) {
    torch::manual_seed(11);
    weight = bf16_rounded(torch::randn({D, D}) / std::sqrt(static_cast<double>(D))).to(dtype).requires_grad_(true);
    if (with_bias) bias = bf16_rounded(torch::randn({D}) * 0.1).to(dtype).requires_grad_(true);
    x = bf16_rounded(torch::randn({T, B, D})).to(dtype).requires_grad_(true);
    if (with_add) add = bf16_rounded(torch::randn({T, B, D}) * 0.1).to(dtype).requires_grad_(true);
  }
};

void run_shared(Recurrence& r) {
  const int64_t T = r.x.size(0);
  AutocastGuard autocast(torch::kCPU, torch::kBFloat16, true);
  const TokenSharedLinear layer(r.weight, r.bias, torch::kBFloat16);
  auto h = torch::zeros({r.x.size(1), r.x.size(2)});
  torch::Tensor loss = torch::zeros({});
  for (int64_t t = 0; t < T; ++t) {
    h = torch::tanh(layer(h + r.x[t], r.add.defined() ? r.add[t] : torch::Tensor()).to(torch::kFloat));
    loss = loss + (h * static_cast<double>(t + 1)).sum();
  }
  r.loss = loss;
  r.loss.backward();
}

void run_reference(Recurrence& r) {
  const int64_t T = r.x.size(0);
  auto h = torch::zeros({r.x.size(1), r.x.size(2)}, torch::kDouble);
  torch::Tensor loss = torch::zeros({}, torch::kDouble);
  for (int64_t t = 0; t < T; ++t) {
    auto y = torch::mm(h + r.x[t], r.weight.t());
    if (r.bias.defined()) y = y + r.bias;
    if (r.add.defined()) y = y + r.add[t];
    h = torch::tanh(y);
    loss = loss + (h * static_cast<double>(t + 1)).sum();
  }
  r.loss = loss;
  r.loss.backward();
}

void check_against_reference(bool with_bias, bool with_add) {
  SCOPED_TRACE(std::string(with_bias ? "bias" : "no bias") + (with_add ? ", add" : ""));
  Recurrence shared(torch::kFloat, with_bias, with_add, 6, 5, 32);
  Recurrence reference(torch::kDouble, with_bias, with_add, 6, 5, 32);
  run_shared(shared);
  run_reference(reference);
  // bf16 products (8-bit significand) through 6 tokens of tanh: a few bf16 roundings of the scale (measured
  // 0.5% at most; a weight gradient from the last token alone is off by about 100%).
  const double tol = 2e-2;
  EXPECT_LT(scaled_error(shared.loss.detach(), reference.loss.detach()), tol);
  ASSERT_TRUE(shared.weight.grad().defined());
  EXPECT_EQ(shared.weight.grad().scalar_type(), torch::kFloat);  // the master weight's dtype
  EXPECT_LT(scaled_error(shared.weight.grad(), reference.weight.grad()), tol);
  EXPECT_LT(scaled_error(shared.x.grad(), reference.x.grad()), tol);
  if (with_bias) {
    ASSERT_TRUE(shared.bias.grad().defined());
    EXPECT_LT(scaled_error(shared.bias.grad(), reference.bias.grad()), tol);
  }
  if (with_add) {
    EXPECT_LT(scaled_error(shared.add.grad(), reference.add.grad()), tol);
  }
}

TEST(TokenSharedLinear, MatchesDoublePrecisionThroughARecurrence) {
  check_against_reference(true, false);
  check_against_reference(false, false);
  check_against_reference(false, true);
  check_against_reference(true, true);
}

// The weight gradient is the sum over every token: one that kept only the last token's pair (or none) would be
// far off. A second backward through a retained graph adds the same gradient again.
TEST(TokenSharedLinear, WeightGradientSumsEveryTokenOncePerBackward) {
  Recurrence r(torch::kFloat, true, false, 4, 3, 16);
  const int64_t T = r.x.size(0);
  torch::Tensor loss = torch::zeros({});
  {
    AutocastGuard autocast(torch::kCPU, torch::kBFloat16, true);
    const TokenSharedLinear layer(r.weight, r.bias, torch::kBFloat16);
    for (int64_t t = 0; t < T; ++t) loss = loss + layer(r.x[t]).to(torch::kFloat).sum();
  }
  loss.backward({}, /*retain_graph=*/true);
  // d/dW sum_t sum(x_t W^T + b) = sum over tokens and batch of x (each output row), in closed form.
  const auto x_sum = bf16_rounded(r.x.detach()).sum(std::vector<int64_t>{0, 1});  // [D]
  const auto expected = x_sum.unsqueeze(0).expand({r.weight.size(0), -1});
  EXPECT_LT(scaled_error(r.weight.grad(), expected), 1e-2);
  EXPECT_LT(scaled_error(r.bias.grad(), torch::full({r.weight.size(0)}, static_cast<double>(T * r.x.size(1)))), 1e-6);
  const auto first = r.weight.grad().clone();
  loss.backward();
  EXPECT_LT(scaled_error(r.weight.grad(), 2 * first), 1e-6);
}

TEST(TokenSharedLinear, OffOutsideTrainingUnderAutocast) {
  const auto w = torch::zeros({2, 2});
  EXPECT_FALSE(TokenLinears::for_training(w).active());  // no autocast
  AutocastGuard autocast(torch::kCPU, torch::kBFloat16, true);
  EXPECT_TRUE(TokenLinears::for_training(w).active() || !sequence_weight_grads_enabled());
  EXPECT_FALSE(TokenLinears::for_training(w.to(torch::kDouble)).active());  // not an fp32 master weight
  torch::NoGradGuard no_grad;
  EXPECT_FALSE(TokenLinears::for_training(w).active());  // sampling
}

// The ResMLP-GRU's training pass under CPU bf16 autocast: every parameter's gradient with the path as without it
// (LibTorch's per-call casts), within bf16 rounding; and the same loss.
TEST(TokenSharedLinear, ResMlpGruGradientsMatchAutocastsPerCallCasts) {
  ResMlpGruOptions o;
  o.x_dim = 6;
  o.z_dim = 16;
  o.network_size = 4;  // hidden 128
  o.num_mlp_layers = 4;
  o.initial_latent = InitialLatent::Learned;
  torch::manual_seed(5);
  ResMlpGruDenoiser model(o);
  const int64_t T = 7, B = 4;
  const auto x = torch::randn({T, B, o.x_dim});
  const auto levels = torch::randint(0, 1000, {T, B}, torch::kLong);
  const auto grads = [&](bool shared) {
    set_sequence_weight_grads_enabled(shared);
    model.zero_grad();
    torch::Tensor loss;
    {
      AutocastGuard autocast(torch::kCPU, torch::kBFloat16, true);
      const auto steps = model.forward_sequence(model.initial_latent(B, {}), x, levels, {});
      loss = steps.out.to(torch::kFloat).pow(2).mean();
    }
    loss.backward();
    std::vector<torch::Tensor> out{loss.detach()};
    for (const auto& p : model.parameters()) {
      out.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    }
    return out;
  };
  const auto with_path = grads(true);
  const auto without = grads(false);
  set_sequence_weight_grads_enabled(true);
  ASSERT_EQ(with_path.size(), without.size());
  EXPECT_LT(scaled_error(with_path[0], without[0]), 1e-2);  // the forward: the same bf16 products
  const auto names = model.named_parameters().keys();
  for (size_t i = 1; i < with_path.size(); ++i) {
    SCOPED_TRACE(names[i - 1]);
    ASSERT_GT(without[i].abs().max().item<double>(), 0.0);
    // Per-call casts round each token's weight gradient to bf16 before summing; the path rounds the sum once
    // (measured: at most 0.7% apart).
    EXPECT_LT(scaled_error(with_path[i], without[i]), 2e-2);
  }
}

}  // namespace
}  // namespace df
