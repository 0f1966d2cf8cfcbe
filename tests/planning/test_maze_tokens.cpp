// Token layout and normalisation of the maze planner, and the sliding-window dataset.
#include <gtest/gtest.h>

#include "df/core/error.h"
#include "df/planning/d4rl_dataset.h"
#include "df/planning/maze_tokens.h"

namespace pl = df::planning;

TEST(MazeTokens, ReferenceNormalizationAndActionStdOverride) {
  const auto u = pl::reference_normalization("maze2d-umaze-v1");
  EXPECT_NEAR(u.observation_mean[0], 1.9327888, 1e-9);
  EXPECT_NEAR(u.action_std[1], 0.7506248, 1e-9);
  EXPECT_EQ(u.action_mean[0], 0.0);  // the umaze reference config has no action mean
  const auto l = pl::reference_normalization("maze2d-large-multi-v1", 2.0);
  EXPECT_NEAR(l.observation_std[1], 2.5687592, 1e-9);
  EXPECT_EQ(l.action_std[0], 2.0);
  EXPECT_EQ(l.action_std[1], 2.0);
  EXPECT_THROW(pl::reference_normalization("maze2d-open-v0"), df::Error);
}

TEST(MazeTokens, EncodeDecodeRoundTripAndFrameOrder) {
  const pl::MazeTokenLayout layout(10, pl::reference_normalization("maze2d-medium-v1", 2.0));
  EXPECT_EQ(layout.token_dim(), 60);
  const auto obs = torch::randn({20, 3, 4}, torch::kDouble) + 3.0;  // [L, B, 4]
  const auto act = torch::rand({20, 3, 2}, torch::kDouble) * 2 - 1;
  const auto tokens = layout.encode(obs, act);  // [2, 3, 60]
  ASSERT_EQ(tokens.sizes(), (std::vector<int64_t>{2, 3, 60}));
  // Normalised values: x of frame 0 of token 1 is (o[10].x - mean) / std, action at features 4..5.
  const auto& n = layout.normalization();
  EXPECT_NEAR(tokens[1][2][0].item<double>(), (obs[10][2][0].item<double>() - n.observation_mean[0]) / n.observation_std[0], 1e-9);
  EXPECT_NEAR(tokens[0][1][6 * 3 + 4].item<double>(), (act[3][1][0].item<double>() - n.action_mean[0]) / 2.0, 1e-9);
  const auto frames = layout.decode(tokens);  // [2, 3, 10, 6]
  ASSERT_EQ(frames.sizes(), (std::vector<int64_t>{2, 3, 10, 6}));
  const auto back = frames.permute({0, 2, 1, 3}).reshape({20, 3, 6});
  EXPECT_TRUE(torch::allclose(back.narrow(2, 0, 4), obs, 1e-9, 1e-9));
  EXPECT_TRUE(torch::allclose(back.narrow(2, 4, 2), act, 1e-9, 1e-9));
  const auto o = layout.normalize_observation(obs[0]);
  EXPECT_NEAR(o[0][1].item<double>(), (obs[0][0][1].item<double>() - n.observation_mean[1]) / n.observation_std[1], 1e-9);
  EXPECT_THROW(layout.encode(obs.narrow(0, 0, 15), act.narrow(0, 0, 15)), df::Error);  // not divisible by fs
  EXPECT_THROW(layout.decode(torch::zeros({2, 59})), df::Error);
}

TEST(MazeTokens, WindowsShiftObservationsByOneAndEncodeFirstObservation) {
  pl::D4rlDataset data;
  const int n = 50;
  for (int i = 0; i < n; ++i) {  // observation i = (i, 0, 0, 0), action i = (0.01 i, 0)
    data.observations.insert(data.observations.end(), {static_cast<float>(i), 0.f, 0.f, 0.f});
    data.actions.insert(data.actions.end(), {0.01f * i, 0.f});
    data.rewards.push_back(0.f);
    data.terminals.push_back(0);
  }
  pl::MazeNormalization identity;
  pl::MazeWindowDataset windows(data, pl::MazeTokenLayout(5, identity), 20);
  EXPECT_EQ(windows.num_tokens(), 4);
  EXPECT_EQ(windows.num_windows(), 30);
  EXPECT_EQ(windows.token_shape(), (std::vector<int64_t>{30}));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto b = windows.sample(16, gen);
  ASSERT_EQ(b.x.sizes(), (std::vector<int64_t>{4, 16, 30}));
  ASSERT_EQ(b.first_observation.sizes(), (std::vector<int64_t>{16, 4}));
  for (int64_t k = 0; k < 16; ++k) {
    const double s = b.first_observation[k][0].item<double>();  // o_s
    EXPECT_NEAR(b.x[0][k][0].item<double>(), s + 1, 1e-5);       // frame 0 holds o_{s+1}
    EXPECT_NEAR(b.x[0][k][4].item<double>(), 0.01 * s, 1e-5);    // and a_s
    EXPECT_NEAR(b.x[3][k][4 * 6].item<double>(), s + 20, 1e-5);  // last frame: o_{s+L}
  }
  EXPECT_THROW(pl::MazeWindowDataset(data, pl::MazeTokenLayout(5, identity), 22), df::Error);
  EXPECT_THROW(pl::MazeWindowDataset(data, pl::MazeTokenLayout(5, identity), 50), df::Error);
}
