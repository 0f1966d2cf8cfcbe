// The ResMLP-GRU's noise-level embedding (model.level_embedding_dim): why its width matters and that it can be
// set apart from network_size without changing the reference's default.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>

#include "../../src/models/sinusoidal_embedding.h"
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

std::map<std::string, std::vector<int64_t>> parameter_shapes(const ResMlpGruOptions& options) {
  ResMlpGruDenoiser model(options);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& p : model.named_parameters()) shapes[p.key()] = p.value().sizes().vec();
  return shapes;
}

TEST(LevelEmbedding, WidthDefaultsToNetworkSizeAndCanBeSetApart) {
  ResMlpGruOptions o;
  o.x_dim = 6;
  o.z_dim = 8;
  o.network_size = 4;
  o.num_mlp_layers = 2;
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

}  // namespace
}  // namespace df
