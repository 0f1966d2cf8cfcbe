// The aim diagnostic (aim_sensitivity.h): which tokens count as approaches, and its gradients against central
// finite differences of the same network, computed token by token and entry by entry (the models run in float
// only: h and the tolerance are sized for float rounding).
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include "../error_of.h"
#include "df/robot/aim_sensitivity.h"
#include "tiny_state_model.h"

namespace df::robot {
namespace {

constexpr int64_t kStack = 3;

// Raw state: hand at (hx, hy, 0.1), apple at (ax, ay), orange at (0.3, -0.1).
torch::Tensor state(double hx, double hy, double ax, double ay) {
  return torch::tensor({hx, hy, 0.1, 0.0, 0.0, ax, ay, 0.02, 0.3, -0.1, 0.02}, torch::kDouble).to(torch::kFloat);
}
// A chunk of kStack actions whose targets step from (x0, y0) to (x1, y1), gripper open.
torch::Tensor chunk(double x0, double y0, double x1, double y1) {
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < kStack; ++i) {
    const double f = static_cast<double>(i) / (kStack - 1);
    rows.push_back(torch::tensor({x0 + f * (x1 - x0), y0 + f * (y1 - y0), 0.1, 0.0}, torch::kDouble));
  }
  return torch::stack(rows).to(torch::kFloat);
}

// Four tokens of one demonstration: at token 1 the hand is 10 cm from the apple and the next chunk ends
// 1 cm from it (an approach); at token 2 the hand is 2 cm from it and the chunk ends on it (too close to
// count); the chunk after token 0 ends 5 cm from the apple (no approach).
torch::Tensor demonstration(const StateTokenLayout& layout, double apple_x) {
  const double ay = 0.05;
  const auto states = torch::stack({state(-0.2, 0.0, apple_x, ay), state(apple_x - 0.1, ay, apple_x, ay),
                                    state(apple_x - 0.02, ay, apple_x, ay), state(apple_x, ay, apple_x, ay)});
  const auto actions = torch::stack({chunk(-0.2, 0.0, -0.2, 0.0), chunk(-0.2, 0.0, apple_x - 0.1, ay - 0.05),
                                     chunk(apple_x - 0.1, ay, apple_x + 0.01, ay), chunk(apple_x, ay, apple_x, ay)});
  return layout.pack(states, actions);
}

TEST(AimSensitivity, ApproachTokensAreChunksThatEndAtAFruitFromAfar) {
  const StateTokenLayout layout(kStack, false);
  const auto tokens = torch::stack({demonstration(layout, 0.0), demonstration(layout, 0.1)}, 1);  // [4, 2, D]
  const auto approach = approach_tokens(layout, tokens);
  ASSERT_EQ(approach.sizes(), (std::vector<int64_t>{3, 2, 2}));
  auto expected = torch::zeros({3, 2, 2}, torch::kBool);
  expected.index_put_({1, torch::indexing::Slice(), 0}, true);  // token 1, both demonstrations, the apple
  EXPECT_TRUE(torch::equal(approach, expected)) << approach;
  EXPECT_NE(error_of([&] { approach_tokens(layout, tokens.narrow(2, 0, 10)); }).find("expected state tokens [T >= 2"),
            std::string::npos);
}

// The tiny robot model with random weights of scale 0.2.
std::shared_ptr<DiffusionForcingModel> tiny_model(int64_t dim) {
  auto model = tiny_state_model(dim);
  // Fresh weights (zero output layers, small gains) hardly read the history: random ones of scale 0.2 do
  // (values of order 0.1 to 3 here; 0.1 gives 1e-4, 0.3 a function too curved for the differences).
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  for (auto& p : model->parameters()) p.normal_(0.0, 0.2);
  return model;
}

// The slow reference: for each approach (token j, demonstration n, fruit f), move every history token's
// entry by +-h and difference the network's x0 prediction of token j+1 (the same noise).
struct Reference {
  double aim = 0, hand = 0, previous = 0, readout = 0, self = 0;
  int64_t count = 0;
};
Reference finite_differences(DiffusionForcingModel& model, const StateTokenLayout& layout, const torch::Tensor& tokens,
                             PolicyMemory memory, int64_t level, uint64_t seed) {
  torch::NoGradGuard no_grad;
  const int64_t T = tokens.size(0), N = tokens.size(1), D = layout.dim(), obs = layout.observation_dim();
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto eps = torch::randn({T, N, D}, generator);
  const double abar = model.schedule().alphas_cumprod[level].item<double>();
  const auto approach = approach_tokens(layout, tokens);
  const auto x = tokens.to(torch::kFloat);
  auto own = [&](const torch::Tensor& history) {  // x0 of the history's last token, absorbed clean, [N, D]
    auto z = model.denoiser().initial_latent(N, {});
    torch::Tensor x0;
    for (int64_t t = 0; t < history.size(0); ++t) {
      const auto step = model.predict(z, history[t], torch::zeros({N}, torch::kLong));
      z = step.z;
      x0 = step.prediction.x0;
    }
    return x0;
  };
  auto predict = [&](const torch::Tensor& history, int64_t j) {  // x0 of token j+1, [N, D]
    auto z = model.denoiser().initial_latent(N, {});
    for (int64_t t = 0; t < history.size(0); ++t) z = model.predict(z, history[t], torch::zeros({N}, torch::kLong)).z;
    const auto noisy = std::sqrt(abar) * x[j + 1] + std::sqrt(1 - abar) * eps[j + 1];
    return model.predict(z, noisy, torch::full({N}, level, torch::kLong)).prediction.x0;
  };
  const double h = 1e-2;
  Reference r;
  for (int64_t j = 0; j + 1 < T; ++j) {
    const int64_t first = memory == PolicyMemory::Full ? 0 : j;
    const auto history = x.narrow(0, first, j + 1 - first);
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t f = 0; f < 2; ++f) {
        if (!approach[j][n][f].item<bool>()) continue;
        const int64_t fx = f == 0 ? kStateAppleX : kStateOrangeX;
        // d(output entry) / d(demonstration n's entries moved along `direction` [D] in every history token)
        auto moved = [&](const torch::Tensor& direction, double step) {
          auto h_tokens = history.clone();
          h_tokens.select(1, n).add_(step * direction);
          return h_tokens;
        };
        // The same step along every direction (the offset entry moves 12.5x the fruit's x entry).
        auto derivative = [&](int64_t output, const torch::Tensor& direction) {
          const double step = h / direction.norm().item<double>();
          return (predict(moved(direction, step), j)[n][output].item<double>() -
                  predict(moved(direction, -step), j)[n][output].item<double>()) /
                 (2 * step);
        };
        auto entries = [&](const std::vector<int64_t>& which) {
          auto direction = torch::zeros({D});
          for (const int64_t e : which) direction[e] = 1.0;
          return direction;
        };
        // The fruit moves: its x entry and, with slot offsets, its offset (checked against pack in
        // test_state_tokens.cpp).
        const auto fruit = layout.fruit_x_direction(f == 0 ? Fruit::Apple : Fruit::Orange).to(torch::kFloat);
        const int64_t last_x = obs + 4 * (kStack - 1);
        std::vector<int64_t> action_x;
        for (int64_t i = 0; i < kStack; ++i) action_x.push_back(obs + 4 * i);
        r.aim += derivative(last_x, fruit);
        r.hand += derivative(last_x, entries({0}));
        r.previous += derivative(last_x, entries(action_x));
        r.readout += derivative(fx, fruit);
        const double step = h / fruit.norm().item<double>();
        r.self += (own(moved(fruit, step))[n][fx].item<double>() - own(moved(fruit, -step))[n][fx].item<double>()) /
                  (2 * step);
        ++r.count;
      }
    }
  }
  const double c = static_cast<double>(std::max<int64_t>(r.count, 1));
  r.aim /= c, r.hand /= c, r.previous /= c, r.readout /= c, r.self /= c;
  return r;
}

// Plain tokens, and tokens with slot offsets (robot.slot_offsets), where "the fruit's x" moves two entries.
class AimSensitivityOf : public ::testing::TestWithParam<bool> {};

TEST_P(AimSensitivityOf, MatchesFiniteDifferences) {
  const bool slot_offsets = GetParam();
  const StateTokenLayout layout(kStack, false, SceneSpec{}, 1.0, slot_offsets);
  // Three demonstrations (apple at three places) and a fourth token after the approach. With offsets, near A
  // and B (no two slots equally near, and the x offset inside its clamp, for the differences).
  const std::vector<double> apple_x = slot_offsets ? std::vector<double>{-0.12, 0.11, 0.125}
                                                   : std::vector<double>{0.0, 0.1, -0.05};
  const auto tokens = torch::stack(
      {demonstration(layout, apple_x[0]), demonstration(layout, apple_x[1]), demonstration(layout, apple_x[2])}, 1);
  auto model = tiny_model(layout.dim());
  double previous_actions[2][2] = {};
  for (const auto memory : {PolicyMemory::Full, PolicyMemory::Memoryless}) {
    for (const int64_t level : {999, 300}) {
      const auto rows = aim_sensitivity(*model, layout, tokens, memory, {level}, 7);
      ASSERT_EQ(rows.size(), 1u);
      const auto ref = finite_differences(*model, layout, tokens, memory, level, 7);
      EXPECT_EQ(rows[0].approach_tokens, 3);
      EXPECT_EQ(ref.count, 3);
      // Central differences: O(h^2) truncation plus float rounding of about 1e-7 / h.
      const double tol = 1e-3;
      previous_actions[memory == PolicyMemory::Full][level == 999] = rows[0].previous_actions;
      EXPECT_NEAR(rows[0].aim, ref.aim, tol + 1e-2 * std::abs(ref.aim));
      EXPECT_NEAR(rows[0].hand, ref.hand, tol + 1e-2 * std::abs(ref.hand));
      EXPECT_NEAR(rows[0].previous_actions, ref.previous, tol + 1e-2 * std::abs(ref.previous));
      EXPECT_NEAR(rows[0].readout, ref.readout, tol + 1e-2 * std::abs(ref.readout));
      EXPECT_NEAR(rows[0].self_readout, ref.self, tol + 1e-2 * std::abs(ref.self));
      EXPECT_GT(std::abs(ref.self), 0.01);
      // The random network reads its inputs: the values are not trivially zero.
      EXPECT_GT(std::abs(ref.aim) + std::abs(ref.hand) + std::abs(ref.previous) + std::abs(ref.readout), 0.1);
    }
  }
  // With memory the whole history counts, without it token j alone.
  EXPECT_GT(std::abs(previous_actions[1][1] - previous_actions[0][1]), 0.1);
  EXPECT_NE(error_of([&] { aim_sensitivity(*model, layout, tokens, PolicyMemory::Full, {1000}); })
                .find("level 1000 is outside [0, 1000)"),
            std::string::npos);
  const StateTokenLayout with_start_bit(kStack, true, SceneSpec{}, 1.0, slot_offsets);
  const auto longer = torch::cat({tokens, torch::zeros({4, 3, 1})}, 2);
  EXPECT_NE(error_of([&] { aim_sensitivity(*model, with_start_bit, longer, PolicyMemory::Full, {1}); })
                .find("the model's tokens are"),
            std::string::npos);
}
INSTANTIATE_TEST_SUITE_P(SlotOffsets, AimSensitivityOf, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) { return info.param ? "with" : "without"; });

}  // namespace
}  // namespace df::robot
