// The state policy and its corruptions: acting without a renderer, what each corruption does to a token,
// when the ambiguous trigger fires, and the level that labels Gaussian sensor noise.
#include <gtest/gtest.h>

#include "df/core/error.h"
#include "df/robot/evaluation.h"
#include "tiny_state_model.h"

namespace df::robot {
namespace {

TEST(RobotStatePolicy, ActsWithoutARenderer) {
  const auto codec = std::make_shared<StateTokenCodec>(5, false);
  auto net = tiny_state_model(codec->token_shape()[0]);
  PolicyOptions o;
  o.max_tokens = 3;
  o.memory = PolicyMemory::Memoryless;
  o.corruption.kind = CorruptionKind::Dropout;
  o.corruption.start_token = 1;
  o.corruption.tokens = 1;
  RobotPolicy policy(*net, codec, o);
  BatchedSwapEnv envs({1, 2});
  envs.reset();
  std::vector<torch::Tensor> tokens;
  PolicyObserver observer;
  observer.on_token = [&](int64_t, const torch::Tensor& t, const std::vector<bool>&) { tokens.push_back(t.clone()); };
  const auto outcome = policy.run(envs, nullptr, observer);
  EXPECT_EQ(outcome.tokens, 3);
  EXPECT_EQ(envs.env(0).steps(), 15);
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0].sizes(), (std::vector<int64_t>{2, 11 + 20}));
  // Token 0 reads the env's state; token 1's state is dropped out (all sensors read zero).
  BatchedSwapEnv fresh({2});
  fresh.reset();
  EXPECT_TRUE(torch::allclose(codec->layout().states_of(tokens[0][1]), observe_state(fresh.env(0)), 0, 1e-5));
  EXPECT_TRUE(torch::allclose(codec->layout().states_of(tokens[1]), torch::zeros({2, kStateDim}), 0, 1e-6));
  EXPECT_FALSE(torch::allclose(codec->layout().states_of(tokens[2]), torch::zeros({2, kStateDim}), 0, 1e-3));
  EXPECT_THROW(RobotPolicy(*net, std::make_shared<StateTokenCodec>(5, true), o), df::Error);  // token size differs
}

// One env's start state as a token of `codec` (3 actions), and copies of it corrupted one kind at a time
// (noise of sigma 0.3) for the env in the mask or not.
struct CorruptedToken {
  explicit CorruptedToken(const StateTokenCodec& c) : codec(c) {
    auto model = std::make_shared<const SwapModel>();
    SwapEnv env(model, 4);
    env.reset();
    state = observe_state(env);
    token = codec.encode(state.unsqueeze(0), torch::rand({1, 3, 4}), torch::zeros({1}, torch::kLong));
  }
  torch::Tensor apply(CorruptionKind kind, bool on = true) {
    CorruptionOptions o;
    o.kind = kind;
    o.sigma = 0.3;
    auto t = token.clone();
    corrupt_tokens(t, {on}, o, codec, generator);
    return t;
  }
  const StateTokenCodec& codec;
  torch::Tensor state, token;
  torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(1);
};

// With slot offsets the corruptions act on what the sensor reports: a glitch or a dropout recomputes the
// offsets from the corrupted state (no true position survives in them), noise reaches the offsets too, and
// the actions stay as they were.
TEST(RobotStatePolicy, CorruptionsReachTheSlotOffsets) {
  const StateTokenCodec codec(3, false, 1.0, true);
  const auto& layout = codec.layout();
  EXPECT_EQ(codec.observation_mask().sum().item<float>(), static_cast<float>(kStateDim + 4));
  CorruptedToken bench(codec);
  const auto &state = bench.state, &token = bench.token;
  auto apply = [&](CorruptionKind kind) { return bench.apply(kind); };
  auto mirrored = state.clone();
  mirrored[kStateAppleX] = -state[kStateAppleX];
  mirrored[kStateOrangeX] = -state[kStateOrangeX];
  const auto glitch = apply(CorruptionKind::Glitch);
  EXPECT_TRUE(
      torch::allclose(glitch.narrow(1, 0, kStateDim + 4), layout.sensor_entries(mirrored).unsqueeze(0), 0, 1e-5));
  // Mirrored about x = 0 the slots A and B trade places: the x offsets change sign.
  EXPECT_NEAR(glitch[0][kStateDim].item<float>(), -token[0][kStateDim].item<float>(), 1e-4);
  const auto dropout = apply(CorruptionKind::Dropout);
  EXPECT_TRUE(torch::allclose(dropout.narrow(1, 0, kStateDim + 4),
                              layout.sensor_entries(torch::zeros({kStateDim})).unsqueeze(0), 0, 1e-6));
  std::vector<torch::Tensor> deltas;
  for (int i = 0; i < 400; ++i) deltas.push_back(apply(CorruptionKind::Noise) - token);
  const auto delta = torch::cat(deltas);
  EXPECT_NEAR(delta.narrow(1, kStateDim, 4).std().item<double>(), 0.3, 0.3 * 0.07);  // 1600 draws: 1.8% s.e.
  EXPECT_EQ(delta.narrow(1, kStateDim + 4, 12).abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(glitch.narrow(1, kStateDim + 4, 12), token.narrow(1, kStateDim + 4, 12)));
  EXPECT_TRUE(torch::equal(dropout.narrow(1, kStateDim + 4, 12), token.narrow(1, kStateDim + 4, 12)));
}

TEST(RobotStatePolicy, CorruptionsChangeOnlyTheObservation) {
  const StateTokenCodec codec(3, false);
  CorruptedToken bench(codec);
  const auto &state = bench.state, &token = bench.token;
  auto apply = [&](CorruptionKind kind, bool on) { return bench.apply(kind, on); };
  EXPECT_TRUE(torch::equal(apply(CorruptionKind::Glitch, false), token));  // envs not in the mask keep theirs
  const auto glitch = codec.layout().states_of(apply(CorruptionKind::Glitch, true))[0];
  auto mirrored = state.clone();
  mirrored[kStateAppleX] = -state[kStateAppleX];
  mirrored[kStateOrangeX] = -state[kStateOrangeX];
  EXPECT_TRUE(torch::allclose(glitch, mirrored, 0, 1e-6));  // the fruits trade places left-right
  const auto dropout = apply(CorruptionKind::Dropout, true);
  EXPECT_TRUE(torch::allclose(codec.layout().states_of(dropout), torch::zeros({1, kStateDim}), 0, 1e-6));
  // Sensor noise: std sigma on the normalised state, the actions untouched.
  std::vector<torch::Tensor> deltas;
  for (int i = 0; i < 400; ++i) deltas.push_back(apply(CorruptionKind::Noise, true) - token);
  const auto delta = torch::cat(deltas);
  EXPECT_NEAR(delta.narrow(1, 0, kStateDim).std().item<double>(), 0.3, 0.3 * 0.05);  // 4400 draws: 1.1% s.e.
  EXPECT_EQ(delta.narrow(1, kStateDim, 12).abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(torch::equal(dropout.narrow(1, kStateDim, 12), token.narrow(1, kStateDim, 12)));
  try {
    check_corruption_fits(CorruptionKind::Blackout, ObservationKind::State);
    ADD_FAILURE() << "a camera corruption on state tokens";
  } catch (const df::Error& e) {
    EXPECT_NE(std::string(e.what()).find("robot.corruption"), std::string::npos) << e.what();
  }
}

TEST(RobotStatePolicy, AmbiguousTriggerFiresWhenTheAppleRestsInC) {
  auto model = std::make_shared<const SwapModel>();
  BatchedSwapEnv envs({1, 2});
  envs.reset();
  CorruptionOptions o;
  o.kind = CorruptionKind::Glitch;
  o.trigger = CorruptionTrigger::Ambiguous;
  o.start_token = 1;
  o.tokens = 2;
  CorruptionSchedule schedule(o, 2);
  std::vector<std::vector<bool>> masks;
  const auto& spec = envs.env(0).spec();
  for (int64_t j = 0; j < 7; ++j) {
    if (j == 2) envs.env(1).place_fruit(Fruit::Apple, spec.slot(Slot::C));  // env 1 reaches the ambiguous state
    masks.push_back(schedule.begin_token(envs, j));
  }
  for (int64_t j = 0; j < 7; ++j) {
    EXPECT_FALSE(masks[static_cast<size_t>(j)][0]) << j;                                   // never there
    EXPECT_EQ(masks[static_cast<size_t>(j)][1], j == 3 || j == 4) << j;  // 1 token after, for 2 tokens
  }
}

TEST(RobotStatePolicy, NoiseLevelMatchesSigmaAndItsNoiseIsNotAddedTwice) {
  NoiseScheduleOptions so;
  so.kind = ScheduleKind::Cosine;
  const NoiseSchedule schedule(so, torch::kCPU);
  const auto abar = schedule.alphas_cumprod.to(torch::kDouble);
  auto seen = [&](int64_t k) { return std::sqrt((1 - abar[k].item<double>()) / abar[k].item<double>()); };
  for (double sigma : {0.05, 0.3, 1.0}) {
    const int64_t k = level_matching_noise(schedule, sigma);
    EXPECT_LE(std::abs(seen(k) - sigma), std::abs(seen(k - 1) - sigma));
    EXPECT_LE(std::abs(seen(k) - sigma), std::abs(seen(k + 1) - sigma));
    EXPECT_NEAR(seen(k), sigma, 0.01 * sigma + 0.002);
  }
  EXPECT_LT(level_matching_noise(schedule, 0.1), level_matching_noise(schedule, 0.5));
  // At the level whose noise is sigma exactly, the observed entries are only scaled; the actions get the
  // level's full noise.
  const int64_t k = 300;
  const double a = abar[k].item<double>(), sigma = std::sqrt((1 - a) / a);
  const auto tokens = torch::rand({2, 4}), eps = torch::randn({2, 4});
  const auto observed = torch::tensor({1.0f, 1.0f, 0.0f, 0.0f});
  const auto x = labelled_input(schedule, tokens, torch::tensor({k, k}, torch::kLong), eps, observed, sigma);
  const auto expected_obs = std::sqrt(a) * tokens.narrow(1, 0, 2);
  const auto expected_act = std::sqrt(a) * tokens.narrow(1, 2, 2) + std::sqrt(1 - a) * eps.narrow(1, 2, 2);
  EXPECT_TRUE(torch::allclose(x.narrow(1, 0, 2), expected_obs, 1e-4, 2e-3));
  EXPECT_TRUE(torch::allclose(x.narrow(1, 2, 2), expected_act, 1e-5, 1e-5));
  // Without sensor noise every entry gets the level's noise.
  const auto y = labelled_input(schedule, tokens, torch::tensor({k, k}, torch::kLong), eps, observed, 0.0);
  EXPECT_TRUE(torch::allclose(y, std::sqrt(a) * tokens + std::sqrt(1 - a) * eps, 1e-5, 1e-5));
}

}  // namespace
}  // namespace df::robot
