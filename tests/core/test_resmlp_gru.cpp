// The ResMLP-GRU's noise-level embedding (model.level_embedding_dim): why its width matters and that it can be
// set apart from network_size without changing the reference's default. And diffusion.input_scale: the
// network fed sqrt(abar_k) x_k instead of x_k, in prediction and in both training losses.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>

#include "../../src/models/sinusoidal_embedding.h"
#include "df/models/diffusion_forcing_model.h"
#include "df/models/resmlp_gru.h"

namespace df {
namespace {

// The largest entry-wise distance between the embedding of level 0 (a clean token) and that of the level in
// [50, 1000) nearest to it.
double nearest_noisy_distance(int64_t width) {
  SinusoidalEmbedding embedding(width);
  const auto levels = torch::arange(50, 1000, torch::kLong);
  const auto clean = embedding->forward(torch::zeros({1}, torch::kLong));
  return (embedding->forward(levels) - clean).abs().amax(-1).min().item<double>();
}

// Closed form: width 4 has the frequencies 1 and 1e-4, so level 289 (1 rad per level wraps 46 times) sits
// within 0.03 of level 0 in every entry; width 32 has 16 frequencies between them and keeps every level from
// 50 on at least 1 away in some entry.
TEST(LevelEmbedding, WidthFourCannotTellACleanTokenFromANoisyOne) {
  EXPECT_LT(nearest_noisy_distance(4), 0.03);
  EXPECT_GT(nearest_noisy_distance(32), 1.0);
}

// A small ResMLP-GRU: x_dim entries, z 8, width 128, learned initial latent.
ResMlpGruOptions small_options(int64_t x_dim, int64_t mlp_layers) {
  ResMlpGruOptions o;
  o.x_dim = x_dim;
  o.z_dim = 8;
  o.network_size = 4;
  o.num_mlp_layers = mlp_layers;
  o.initial_latent = InitialLatent::Learned;
  return o;
}

std::map<std::string, std::vector<int64_t>> parameter_shapes(const ResMlpGruOptions& options) {
  ResMlpGruDenoiser model(options);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : model.named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  return shapes;
}

TEST(LevelEmbedding, WidthDefaultsToNetworkSizeAndCanBeSetApart) {
  auto o = small_options(6, 2);
  auto shapes = parameter_shapes(o);  // the reference: the embedding network_size wide
  EXPECT_EQ(shapes.at("model.time_mlp.3.weight"), (std::vector<int64_t>{4, 4}));
  EXPECT_EQ(shapes.at("model.mlp_before_gru.0.mlp.0.weight"), (std::vector<int64_t>{128, 8 + 6 + 4}));
  o.level_embedding_dim = 32;
  shapes = parameter_shapes(o);
  EXPECT_EQ(shapes.at("model.time_mlp.1.weight"), (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(shapes.at("model.time_mlp.3.weight"), (std::vector<int64_t>{32, 32}));
  EXPECT_EQ(shapes.at("model.mlp_before_gru.0.mlp.0.weight"), (std::vector<int64_t>{128, 8 + 6 + 32}));

  // The per-token step and the sequence form agree at the new width (the sequence form splits the first
  // layer's columns by the embedding's width).
  torch::manual_seed(3);
  ResMlpGruDenoiser model(o);
  const auto x = torch::randn({5, 2, 6});
  const auto levels = torch::randint(0, 1000, {5, 2}, torch::kLong);
  const auto z0 = model.initial_latent(2, {});
  const auto sequence = model.forward_sequence(z0, x, levels, {});
  auto z = z0;
  for (int64_t t = 0; t < 5; ++t) {
    const auto step = model.step(z, x[t], levels[t], {});
    EXPECT_TRUE(torch::allclose(step.out, sequence.out[t], 1e-5, 1e-6)) << "token " << t;
    z = step.z;
  }
}

TEST(LevelEmbedding, RejectsANegativeWidth) {
  ResMlpGruOptions o;
  o.x_dim = 6;
  o.level_embedding_dim = -2;
  EXPECT_THROW(ResMlpGruDenoiser{o}, std::exception);
}

// Two models sharing one denoiser, with and without the input scale.
struct ScaledPair {
  std::shared_ptr<ResMlpGruDenoiser> net;
  std::shared_ptr<DiffusionForcingModel> plain, scaled;
};
ScaledPair scaled_pair() {
  torch::manual_seed(5);
  const auto o = small_options(6, 2);
  ScaledPair p;
  p.net = std::make_shared<ResMlpGruDenoiser>(o);
  DiffusionOptions d;
  d.schedule.kind = ScheduleKind::Cosine;
  p.plain = std::make_shared<DiffusionForcingModel>(p.net, d, torch::kCPU);
  d.input_scale = InputScale::SqrtAlphaBar;
  p.scaled = std::make_shared<DiffusionForcingModel>(p.net, d, torch::kCPU);
  return p;
}

TEST(InputScale, FeedsTheNetworkSqrtAlphaBarTimesTheNoisyToken) {
  auto p = scaled_pair();
  const auto abar = p.plain->schedule().alphas_cumprod;
  const auto x = torch::randn({3, 6});
  const auto levels = torch::tensor({0, 500, 999}, torch::kLong);
  const auto z = p.net->initial_latent(3, {});
  // Closed form of the input: level 0 keeps the token (abar_0 = 1 - beta_0), level 999 all but removes it.
  const auto input = p.scaled->network_input(x, levels);
  for (int64_t i = 0; i < 3; ++i)
    EXPECT_TRUE(
        torch::allclose(input[i], x[i] * std::sqrt(abar[levels[i].item<int64_t>()].item<double>()), 1e-6, 1e-7));
  EXPECT_TRUE(torch::equal(p.plain->network_input(x, levels), x));
  EXPECT_LT(input[2].abs().max().item<double>(), 0.01 * x[2].abs().max().item<double>());
  // predict: the same latent and output as the plain model fed the scaled token; x0 from the output alone.
  const auto a = p.scaled->predict(z, x, levels);
  const auto b = p.plain->predict(z, input, levels);
  EXPECT_TRUE(torch::allclose(a.z, b.z)) << (a.z - b.z).abs().max();
  EXPECT_TRUE(torch::allclose(a.prediction.x0, b.out));  // x0 objective: the output is x0
}

TEST(InputScale, TrainingLossesScaleEveryNoisyInput) {
  auto p = scaled_pair();
  const int64_t T = 4, B = 3;
  const auto x0 = torch::randn({T, B, 6});
  const auto eps = torch::randn({T, B, 6});
  const auto levels = torch::randint(0, 1000, {T, B}, torch::kLong);
  const auto z0 = p.net->initial_latent(B, {});
  const auto abar = p.plain->schedule().alphas_cumprod.index_select(0, levels.flatten()).view({T, B, 1});
  const auto x_noisy = abar.sqrt() * x0 + (1 - abar).sqrt() * eps;
  const auto w = p.plain->loss_weighting().compute(levels).weight.unsqueeze(-1);  // [T, B, 1]
  // Independent levels: one recurrent pass over the scaled noisy tokens, x0 regressed with the levels' weights.
  {
    const auto out = p.scaled->training_loss(x0, z0, levels, eps);
    auto z = z0;
    std::vector<torch::Tensor> outs;
    for (int64_t t = 0; t < T; ++t) {
      const auto step = p.net->step(z, abar[t].sqrt() * x_noisy[t], levels[t], {});
      z = step.z;
      outs.push_back(step.out);
    }
    const auto expected = (w * (torch::stack(outs) - x0).pow(2)).mean();
    EXPECT_NEAR(out.loss.item<double>(), expected.item<double>(), 1e-5 * expected.item<double>());
    EXPECT_GT(std::abs(out.loss.item<double>() - p.plain->training_loss(x0, z0, levels, eps).loss.item<double>()),
              1e-4 * expected.item<double>());
  }
  // Teacher forcing: the clean pass is fed sqrt(abar_0) x0, each noisy token its own scale.
  {
    const auto out = p.scaled->training_loss(x0, z0, levels, eps, {}, {}, true);
    auto z = z0;
    std::vector<torch::Tensor> outs;
    const double clean_scale = std::sqrt(p.plain->schedule().alphas_cumprod[0].item<double>());
    for (int64_t t = 0; t < T; ++t) {
      outs.push_back(p.net->step(z, abar[t].sqrt() * x_noisy[t], levels[t], {}).out);
      z = p.net->step(z, clean_scale * x0[t], torch::zeros({B}, torch::kLong), {}).z;
    }
    const auto expected = (w * (torch::stack(outs) - x0).pow(2)).mean();
    EXPECT_NEAR(out.loss.item<double>(), expected.item<double>(), 1e-5 * expected.item<double>());
  }
}

// model.level_film: zero-initialised, so a model with it computes what the same weights compute without it;
// once trained (random weights here) the level modulates the first block in the step and in the sequence
// pass alike.
TEST(LevelFilm, StartsAsTheModelWithoutItAndModulatesStepAndSequenceAlike) {
  auto o = small_options(7, 3);
  torch::manual_seed(11);
  ResMlpGruDenoiser plain(o);
  o.level_film = true;
  ResMlpGruDenoiser film(o);
  torch::NoGradGuard no_grad;
  const auto film_params = film.named_parameters();
  for (const auto& p : plain.named_parameters()) film_params[p.key()].copy_(p.value());
  ASSERT_TRUE(film_params.contains("model.level_film.weight"));
  EXPECT_EQ(film_params["model.level_film.weight"].sizes(), (std::vector<int64_t>{2 * 32 * 4, 4}));
  EXPECT_EQ(film.named_parameters().size(), plain.named_parameters().size() + 2);

  const int64_t T = 5, B = 3;
  const auto x = torch::randn({T, B, 7});
  const auto levels = torch::randint(0, 1000, {T, B}, torch::kLong);
  const auto z0 = plain.initial_latent(B, {});
  EXPECT_TRUE(torch::allclose(film.forward_sequence(z0, x, levels, {}).z, plain.forward_sequence(z0, x, levels, {}).z));

  film_params["model.level_film.weight"].normal_(0.0, 0.5);
  film_params["model.level_film.bias"].normal_(0.0, 0.5);
  const auto sequence = film.forward_sequence(z0, x, levels, {});
  auto z = z0;
  for (int64_t t = 0; t < T; ++t) {
    const auto step = film.step(z, x[t], levels[t], {});
    EXPECT_TRUE(torch::allclose(step.z, sequence.z[t], 1e-5, 1e-6)) << t;
    EXPECT_TRUE(torch::allclose(step.out, sequence.out[t], 1e-5, 1e-6)) << t;
    z = step.z;
  }
  EXPECT_GT((sequence.z - plain.forward_sequence(z0, x, levels, {}).z).abs().max().item<double>(), 1e-3);
}

}  // namespace
}  // namespace df
