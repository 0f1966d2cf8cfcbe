// model.level_embedding_dim through the experiment config: validated with the key named, and fixed at
// training like the other network keys.
#include <gtest/gtest.h>

#include <string>

#include "df/core/error.h"
#include "df/experiment/experiment_config.h"
#include "df/experiment/registry.h"
#include "../error_of.h"

namespace df {
namespace {

TEST(ModelConfig, LevelEmbeddingWidthReachesTheModel) {
  const ModelShape shape{{6}, 0, 0};
  auto wide = make_denoiser(load_config("", {"model.network_size=4", "model.level_embedding_dim=32"}), shape);
  auto tied = make_denoiser(load_config("", {"model.network_size=4"}), shape);
  auto width = [](const std::shared_ptr<CausalDenoiser>& m) {
    for (const auto& p : m->named_parameters())
      if (p.key() == "model.time_mlp.3.weight") return p.value().size(0);
    return int64_t{-1};
  };
  EXPECT_EQ(width(wide), 32);
  EXPECT_EQ(width(tied), 4);
}

TEST(ModelConfig, LevelEmbeddingWidthIsValidatedWithItsKey) {
  const ModelShape shape{{6}, 0, 0};
  const auto odd = error_of([&] { make_denoiser(load_config("", {"model.level_embedding_dim=5"}), shape); });
  EXPECT_NE(odd.find("model.level_embedding_dim"), std::string::npos) << odd;
  const auto negative = error_of([] { load_config("", {"model.level_embedding_dim=-4"}); });
  EXPECT_NE(negative.find("model.level_embedding_dim"), std::string::npos) << negative;
}

TEST(ModelConfig, LevelEmbeddingWidthIsFixedAtTraining) {
  const auto stored = load_config("", {"model.level_embedding_dim=32"}).to_yaml();
  EXPECT_NO_THROW(require_as_trained(load_config("", {"model.level_embedding_dim=32"}), stored, "ck.pt"));
  const auto changed = error_of([&] { require_as_trained(load_config("", {}), stored, "ck.pt"); });
  EXPECT_NE(changed.find("model.level_embedding_dim"), std::string::npos) << changed;
}

}  // namespace
}  // namespace df
