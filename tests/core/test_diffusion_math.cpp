// Closed-form checks of the diffusion math: parameterization round trips in double, forward-process
// moments, loss weights by hand, DDIM corner cases, scheduling matrix properties.
#include <gtest/gtest.h>

#include <cmath>

#include "df/core/error.h"
#include "df/diffusion/ddim.h"
#include "df/diffusion/forward_process.h"
#include "df/diffusion/loss_weighting.h"
#include "df/diffusion/noise_schedule.h"
#include "df/diffusion/parameterization.h"
#include "df/diffusion/scheduling_matrix.h"

namespace df {
namespace {

NoiseSchedule schedule64(ScheduleKind kind, int64_t K = 1000) {
  NoiseScheduleOptions o;
  o.kind = kind;
  o.timesteps = K;
  return NoiseSchedule(o, torch::kCPU, torch::kDouble);
}

TEST(NoiseSchedule, EndpointsAndMonotonicity) {
  for (auto kind : {ScheduleKind::Linear, ScheduleKind::Cosine, ScheduleKind::Sigmoid}) {
    const auto s = schedule64(kind);
    const auto abar = s.alphas_cumprod;
    EXPECT_TRUE((abar.slice(0, 1) < abar.slice(0, 0, -1)).all().item<bool>()) << to_string(kind);
    EXPECT_LE(s.betas.max().item<double>(), 0.999 + 1e-15);
    EXPECT_GT(abar[0].item<double>(), 0.999);
    EXPECT_LT(abar[-1].item<double>(), 1e-3) << to_string(kind);
    // snr and the derived coefficients are consistent.
    EXPECT_TRUE(torch::allclose(s.snr, abar / (1 - abar), 1e-12, 0));
    EXPECT_TRUE(torch::allclose(s.clipped_snr, s.snr.clamp_max(5.0), 1e-12, 0));
    EXPECT_TRUE(torch::allclose(s.sqrt_alphas_cumprod.pow(2) + s.sqrt_one_minus_alphas_cumprod.pow(2),
                                torch::ones_like(abar), 1e-12, 0));
  }
  // Linear: the first beta is 1e-4 * 1000/K exactly.
  EXPECT_DOUBLE_EQ(schedule64(ScheduleKind::Linear, 100).betas[0].item<double>(), 1e-3);
  // Cosine: the last beta hits the 0.999 clip, so abar_K = abar_{K-1} * 0.001.
  const auto c = schedule64(ScheduleKind::Cosine);
  EXPECT_NEAR(c.alphas_cumprod[-1].item<double>() / c.alphas_cumprod[-2].item<double>(), 1e-3, 1e-12);
}

TEST(Parameterization, RoundTripsInDouble) {
  const auto s = schedule64(ScheduleKind::Cosine);
  torch::manual_seed(0);
  const auto x0 = torch::randn({7, 3, 5}, torch::kDouble);
  const auto eps = torch::randn({7, 3, 5}, torch::kDouble);
  const auto levels = torch::randint(0, 1000, {7, 3}, torch::kLong);
  ForwardProcess fp(s, 1e9);
  const auto xk = fp.noise(x0, levels, eps);
  for (auto objective : {Objective::X0, Objective::Eps, Objective::V}) {
    Parameterization p(objective, s, 1e9);
    const auto out = p.target(x0, eps, levels);
    const auto pred = p.from_output(out, xk, levels);
    // x0 from eps divides by sqrt(abar) (~1e-3 at the last level): compare relative to that amplification.
    EXPECT_TRUE(torch::allclose(pred.x0, x0, 1e-8, 1e-8)) << to_string(objective);
    EXPECT_TRUE(torch::allclose(pred.eps, eps, 1e-6, 1e-6)) << to_string(objective);
  }
  Parameterization p(Objective::V, s, 1e9);
  const auto v = p.v_from(x0, eps, levels);
  EXPECT_TRUE(torch::allclose(p.x0_from_v(xk, v, levels), x0, 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(p.x0_from_eps(xk, eps, levels), x0, 1e-7, 1e-7));
}

TEST(ForwardProcess, MomentsMatchClosedForm) {
  // x_k ~ N(sqrt(abar_k) x0, (1 - abar_k)) per token, with its own level.
  const auto s = schedule64(ScheduleKind::Linear);
  ForwardProcess fp(s, 20.0);
  const int64_t N = 200000;
  const auto levels = torch::tensor({{0, 250}, {500, 999}}, torch::kLong);  // [T=2, B=2]
  const auto x0 = torch::tensor({{1.5, -2.0}, {0.7, 3.0}}, torch::kDouble).view({2, 2, 1}).expand({2, 2, N});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  const auto eps = torch::randn({2, 2, N}, gen, torch::kDouble);
  const auto xk = fp.noise(x0, levels, eps);
  const auto mean = xk.mean(-1), var = xk.var(-1);
  const auto abar = NoiseSchedule::gather(s.alphas_cumprod, levels);
  const auto expected_mean = abar.sqrt() * x0.select(-1, 0);
  const auto expected_var = 1 - abar;
  // Standard error of the mean is sqrt(var / N) <= 0.0023; allow 5 standard errors.
  EXPECT_TRUE(torch::allclose(mean, expected_mean, 0, 5 * std::sqrt(1.0 / N)));
  // Standard error of the variance is var * sqrt(2 / N).
  EXPECT_TRUE(((var - expected_var).abs() <= 5 * expected_var * std::sqrt(2.0 / N) + 1e-12).all().item<bool>());
}

TEST(ForwardProcess, NoiseIsClamped) {
  const auto s = schedule64(ScheduleKind::Linear);
  ForwardProcess fp(s, 1.0);
  const auto x0 = torch::zeros({1, 1, 4}, torch::kDouble);
  const auto eps = torch::tensor({-5.0, -0.5, 0.5, 5.0}, torch::kDouble).view({1, 1, 4});
  const auto xk = fp.noise(x0, torch::full({1, 1}, 999, torch::kLong), eps);
  const double s999 = s.sqrt_one_minus_alphas_cumprod[999].item<double>();
  EXPECT_NEAR(xk[0][0][0].item<double>(), -s999, 1e-12);
  EXPECT_NEAR(xk[0][0][3].item<double>(), s999, 1e-12);
}

TEST(TrainingLevels, ModesHaveTheirStructure) {
  TrainingLevelOptions o;
  o.mode = TrainingNoise::Independent;
  torch::manual_seed(1);
  const auto ind = sample_training_levels(o, 64, 256, 1000, torch::kCPU);
  EXPECT_EQ(ind.sizes(), torch::IntArrayRef({64, 256}));
  EXPECT_GE(ind.min().item<int64_t>(), 0);
  EXPECT_LE(ind.max().item<int64_t>(), 999);
  // Independent: tokens of one sequence differ (P(all equal) is negligible); mean ~ 499.5 (sd of mean ~2).
  EXPECT_TRUE((ind.to(torch::kDouble).std(0) > 0).all().item<bool>());
  EXPECT_NEAR(ind.to(torch::kDouble).mean().item<double>(), 499.5, 10.0);
  o.mode = TrainingNoise::FullSequence;
  const auto full = sample_training_levels(o, 16, 32, 1000, torch::kCPU);
  EXPECT_TRUE((full == full[0].unsqueeze(0)).all().item<bool>());
  o.mode = TrainingNoise::Independent;
  o.first_token_clean_prob = 1.0;
  EXPECT_TRUE((sample_training_levels(o, 4, 32, 1000, torch::kCPU)[0] == 0).all().item<bool>());
  // token_clean_prob p: any token at level 0 with probability p + (1 - p) / T = 0.3007 for p = 0.3; over
  // 64 x 256 tokens the share has sd 0.0036 (bound at 4 sd), and the rest stays uniform on 1..T-1 (mean ~500).
  o.first_token_clean_prob = 0.0;
  o.token_clean_prob = 0.3;
  const auto some_clean = sample_training_levels(o, 64, 256, 1000, torch::kCPU);
  EXPECT_NEAR((some_clean == 0).to(torch::kDouble).mean().item<double>(), 0.3007, 0.015);
  EXPECT_NEAR(some_clean.masked_select(some_clean > 0).to(torch::kDouble).mean().item<double>(), 500.0, 10.0);
  o.mode = TrainingNoise::FullSequence;
  EXPECT_THROW(sample_training_levels(o, 4, 32, 1000, torch::kCPU), std::exception);
  const auto mask = padding_mask(torch::tensor({1, 3}), 4);
  EXPECT_TRUE(torch::equal(mask, torch::tensor({{1.f, 1.f}, {0.f, 1.f}, {0.f, 1.f}, {0.f, 0.f}})));
}

TEST(LossWeighting, FusedMinSnrByHand) {
  // Three tokens, one sequence, v objective, gamma = 5, decay 0.9 per frame with frame_stack 2 -> 0.81.
  const auto s = schedule64(ScheduleKind::Cosine);
  LossWeightingOptions o;
  o.kind = LossWeightingKind::FusedMinSnr;
  o.snr_clip = 5.0;
  o.cum_snr_decay = 0.9;
  o.frame_stack = 2;
  LossWeighting w(o, Objective::V, s);
  const std::vector<int64_t> ks{10, 500, 900};
  const auto levels = torch::tensor(ks, torch::kLong).view({3, 1});
  const auto got = w.compute(levels);
  const double g = 5.0, d = 0.81;
  double cum = 0;
  for (int t = 0; t < 3; ++t) {
    const double snr = s.snr[ks[t]].item<double>();
    const double nc = std::min(snr, g) / g, ns = snr / g;
    double cf = nc, fs = ns, next = nc;
    if (t > 0) {
      cf = 1 - (1 - d * cum) * (1 - nc);
      fs = 1 - (1 - d * cum) * (1 - ns);
      next = d * cum + (1 - d) * nc;
    }
    cum = next;
    EXPECT_NEAR(got.weight[t][0].item<double>(), cf * g / (fs * g + 1), 1e-12) << "token " << t;
    EXPECT_NEAR(got.cum_snr[t][0].item<double>(), cum, 1e-12) << "token " << t;
  }
  // Without fusion the weights reduce to min-SNR per objective, and "constant" is gamma / 2.
  o.kind = LossWeightingKind::MinSnr;
  const double snr = s.snr[500].item<double>();
  const auto one = torch::full({1, 1}, 500, torch::kLong);
  EXPECT_NEAR(LossWeighting(o, Objective::X0, s).compute(one).weight.item<double>(), std::min(snr, g), 1e-12);
  EXPECT_NEAR(LossWeighting(o, Objective::Eps, s).compute(one).weight.item<double>(), std::min(snr, g) / snr, 1e-12);
  EXPECT_NEAR(LossWeighting(o, Objective::V, s).compute(one).weight.item<double>(), std::min(snr, g) / (snr + 1), 1e-12);
  o.kind = LossWeightingKind::Constant;
  EXPECT_DOUBLE_EQ(LossWeighting(o, Objective::X0, s).compute(one).weight.item<double>(), 2.5);
}

TEST(Ddim, GridAndFinalStep) {
  const DdimGrid g50(1000, 50);
  EXPECT_EQ(g50.level(0), -1);
  EXPECT_EQ(g50.level(1), 19);
  EXPECT_EQ(g50.level(50), 999);
  EXPECT_EQ(g50.step_from(0), 999);
  EXPECT_EQ(g50.step_to(0), 979);
  EXPECT_EQ(g50.step_to(49), -1);
  EXPECT_EQ(DdimGrid(1000, 100).level(1), 9);
  EXPECT_EQ(DdimGrid(1000, 25).level(1), 39);
  const auto s = schedule64(ScheduleKind::Linear);
  Prediction p{torch::full({2, 3}, 0.25, torch::kDouble), torch::full({2, 3}, -1.0, torch::kDouble)};
  const auto from = torch::full({2}, 19, torch::kLong), to = torch::full({2}, -1, torch::kLong);
  // The last step returns x0 exactly, whatever eta.
  EXPECT_TRUE(torch::equal(ddim_update(s, p, from, to, 1.0, torch::randn({2, 3}, torch::kDouble)), p.x0));
  // eta = 0 is deterministic: x' = sqrt(a') x0 + sqrt(1 - a') eps.
  const auto to2 = torch::full({2}, 500, torch::kLong);
  const double a2 = s.alphas_cumprod[500].item<double>();
  const auto x = ddim_update(s, p, torch::full({2}, 999, torch::kLong), to2, 0.0, {});
  EXPECT_NEAR(x[0][0].item<double>(), std::sqrt(a2) * 0.25 - std::sqrt(1 - a2), 1e-12);
  EXPECT_TRUE((ddim_guidance_constant(s, from, to, 0.0) == 0).all().item<bool>());
}

TEST(SchedulingMatrix, ShapesMonotoneAndEndRows) {
  const int64_t S = 10;
  for (auto kind : {ScheduleMatrixKind::Autoregressive, ScheduleMatrixKind::FullSequence, ScheduleMatrixKind::Pyramid,
                    ScheduleMatrixKind::Trapezoid}) {
    for (int64_t H : {1, 2, 5, 8}) {
      for (double u : {0.5, 1.0, 2.0}) {
        const auto m = SchedulingMatrix::make(kind, H, S, u);
        const auto e = m.entries();
        EXPECT_EQ(m.horizon(), H);
        EXPECT_TRUE((e[0] == S).all().item<bool>());
        EXPECT_TRUE((e[-1] == 0).all().item<bool>());
        EXPECT_FALSE((e.slice(0, 1) > e.slice(0, 0, -1)).any().item<bool>());
        // Every token goes through every level exactly once (it steps by at most one entry per row).
        EXPECT_TRUE(((e.slice(0, 0, -1) - e.slice(0, 1)) <= 1).all().item<bool>()) << to_string(kind);
        int64_t expected_rows = S + 1;
        if (kind == ScheduleMatrixKind::Pyramid) expected_rows = S + static_cast<int64_t>(std::floor((H - 1) * u)) + 1;
        if (kind == ScheduleMatrixKind::Autoregressive) expected_rows = S + (H - 1) * S + 1;
        if (kind == ScheduleMatrixKind::Trapezoid)
          expected_rows = S + static_cast<int64_t>(std::floor(((H - 1) / 2) * u)) + 1;
        EXPECT_EQ(m.rows(), expected_rows) << to_string(kind) << " H=" << H << " u=" << u;
      }
    }
  }
  // Pyramid: the future is never less noisy than the past; autoregressive: a token starts once the
  // previous one is clean; trapezoid is symmetric.
  const auto p = SchedulingMatrix::pyramid(6, S, 1.0).entries();
  EXPECT_TRUE((p.slice(1, 1) >= p.slice(1, 0, -1)).all().item<bool>());
  const auto ar = SchedulingMatrix::autoregressive(3, S).entries();
  EXPECT_TRUE(((ar.select(1, 1) < S).logical_and(ar.select(1, 0) > 0)).logical_not().all().item<bool>());
  const auto tz = SchedulingMatrix::trapezoid(6, S, 1.0).entries();
  EXPECT_TRUE(torch::equal(tz, tz.flip({1})));
  EXPECT_NE(SchedulingMatrix::pyramid(3, 2).to_string().find(" 2 2 2"), std::string::npos);
}

TEST(SchedulingMatrix, RejectsInvalidMatrices) {
  EXPECT_THROW(SchedulingMatrix(torch::tensor({{3, 3}, {2, 3}, {1, 0}}), 3), Error);   // last row not clean
  EXPECT_THROW(SchedulingMatrix(torch::tensor({{3, 2}, {0, 0}}), 3), Error);           // first row not noise
  EXPECT_THROW(SchedulingMatrix(torch::tensor({{3, 3}, {1, 1}, {2, 2}, {0, 0}}), 3), Error);  // increases
  EXPECT_THROW(SchedulingMatrix(torch::tensor({{4, 4}, {0, 0}}), 3), Error);           // out of range
  EXPECT_NO_THROW(SchedulingMatrix(torch::tensor({{3, 3}, {1, 2}, {0, 0}}).to(torch::kLong), 3));
}

}  // namespace
}  // namespace df
