// The sampler walk: an oracle denoiser must land exactly on the data for every matrix and walk; guidance
// must lower a quadratic cost; Monte Carlo guidance must still lower it; context absorption feeds level 0.
#include <gtest/gtest.h>

#include "df/core/error.h"
#include "df/models/resmlp_gru.h"
#include "df/sampling/sampler.h"
#include "oracle_denoiser.h"

namespace df {
namespace {

DiffusionOptions small_options(Objective objective, int64_t S) {
  DiffusionOptions o;
  o.schedule.kind = ScheduleKind::Cosine;
  o.objective = objective;
  o.sampling_steps = S;
  o.clip_noise = 20.0;
  return o;
}

TEST(Sampler, OracleWalkRecoversDataForEveryMatrix) {
  torch::manual_seed(3);
  const int64_t H = 5, B = 3, D = 4, S = 8;
  const auto data = torch::randn({H, B, D});
  for (auto objective : {Objective::X0, Objective::Eps, Objective::V}) {
    auto oracle = std::make_shared<test::OracleDenoiser>(data, nullptr);
    DiffusionForcingModel model(oracle, small_options(objective, S), torch::kCPU);
    oracle->set_parameterization(&model.parameterization());
    for (auto kind : {ScheduleMatrixKind::Autoregressive, ScheduleMatrixKind::FullSequence,
                      ScheduleMatrixKind::Pyramid, ScheduleMatrixKind::Trapezoid}) {
      for (bool reference : {true, false}) {
        for (double eta : {0.0, 1.0}) {
          SamplerOptions so;
          so.reference_walk = reference;
          so.eta = eta;
          Sampler sampler(model, so);
          const auto r = sampler.sample_chunk(oracle->initial_latent(B, {}), SchedulingMatrix::make(kind, H, S, 1.0));
          const double err = (r.x - data).abs().max().item<double>();
          // x0 objective: exact; eps / v: float32 round-off of the conversions only.
          EXPECT_LE(err, objective == Objective::X0 ? 0.0 : 1e-4)
              << to_string(kind) << " " << to_string(objective) << " reference=" << reference << " eta=" << eta;
        }
      }
    }
  }
}

// Bayes-optimal denoiser for data ~ N(0, I): E[x0 | x_k] = sqrt(abar_k) x_k (x0 objective).
class GaussianPriorDenoiser : public CausalDenoiser {
 public:
  GaussianPriorDenoiser(int64_t dim, const NoiseSchedule* schedule) : dim_(dim), schedule_(schedule) {}
  DenoiserStep step(const torch::Tensor& z, const torch::Tensor& x, const torch::Tensor& levels,
                    const torch::Tensor&) override {
    const auto a = NoiseSchedule::gather(schedule_->sqrt_alphas_cumprod, levels).unsqueeze(-1);
    return {z + 1, a * x};
  }
  torch::Tensor initial_latent(int64_t batch_size, const torch::Tensor&) override { return torch::zeros({batch_size, 1}); }
  std::vector<int64_t> x_shape() const override { return {dim_}; }
  std::vector<int64_t> z_shape() const override { return {1}; }
  std::string kind() const override { return "gaussian_prior"; }
  void set_schedule(const NoiseSchedule* s) { schedule_ = s; }

 private:
  int64_t dim_;
  const NoiseSchedule* schedule_;
};

double mean_cost(const torch::Tensor& x, double target) { return (x - target).pow(2).sum(-1).mean().item<double>(); }

TEST(Sampler, GuidanceLowersAQuadraticCost) {
  const int64_t H = 4, B = 256, D = 2, S = 20;
  auto prior = std::make_shared<GaussianPriorDenoiser>(D, nullptr);
  DiffusionForcingModel model(prior, small_options(Objective::X0, S), torch::kCPU);
  prior->set_schedule(&model.schedule());
  const double target = 1.5;
  const GuidanceCost cost = [&](const torch::Tensor& x0) { return (x0 - target).pow(2).sum(-1).mean(0).sum(); };
  const auto matrix = SchedulingMatrix::pyramid(H, S, 1.0);

  auto sample = [&](double scale, int64_t mcg) {
    SamplerOptions so;
    so.guidance_scale = scale;
    so.mcg_samples = mcg;
    so.reference_walk = false;
    Sampler sampler(model, so);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
    return sampler.sample_chunk(prior->initial_latent(B, {}), matrix, {}, {}, cost, gen).x;
  };
  const auto unguided = sample(0.0, 1);
  // Unguided samples follow the prior: E||x - t||^2 = D (1 + t^2) = 6.5 (sampling error ~ 5% at B*H = 1024).
  EXPECT_NEAR(mean_cost(unguided, target), D * (1 + target * target), 0.6);
  // Measured with this seed: unguided 6.5; guided 1.80 (scale 1), 0.43 (scale 2); MCG with 4 samples
  // 3.19 (scale 1): re-noised samples carry a weaker gradient through this prior, but still lower the cost.
  const double base = mean_cost(unguided, target);
  const double guided1 = mean_cost(sample(1.0, 1), target), guided2 = mean_cost(sample(2.0, 1), target);
  EXPECT_LT(guided1, 0.4 * base);
  EXPECT_LT(guided2, guided1);
  EXPECT_LT(mean_cost(sample(1.0, 4), target), 0.6 * base);
}

TEST(Sampler, ContextIsAbsorbedAtLevelZeroAndRolloutChains) {
  torch::manual_seed(5);
  const int64_t B = 2, D = 3, S = 4;
  const auto data = torch::randn({3, B, D});
  auto oracle = std::make_shared<test::OracleDenoiser>(data, nullptr);
  DiffusionForcingModel model(oracle, small_options(Objective::X0, S), torch::kCPU);
  oracle->set_parameterization(&model.parameterization());
  Sampler sampler(model, SamplerOptions{});
  // The oracle's latent counts tokens: two context tokens advance it by two.
  auto z = sampler.absorb_context(oracle->initial_latent(B, {}), data.slice(0, 0, 2));
  EXPECT_EQ(z[0][0].item<float>(), 2.0f);
  // A rollout of 7 tokens in chunks of 3 walks the oracle's cyclic data.
  const auto x = sampler.rollout(oracle->initial_latent(B, {}), 7, 3, ScheduleMatrixKind::Pyramid);
  ASSERT_EQ(x.size(0), 7);
  for (int64_t t = 0; t < 7; ++t) EXPECT_TRUE(torch::equal(x[t], data[t % 3])) << "token " << t;
}


// A small random ResMLP+GRU (conditioned, to cover cond batching) wrapped to count model calls.
class CountingDenoiser : public ResMlpGruDenoiser {
 public:
  using ResMlpGruDenoiser::ResMlpGruDenoiser;
  DenoiserStep step(const torch::Tensor& z, const torch::Tensor& x, const torch::Tensor& levels,
                    const torch::Tensor& cond) override {
    ++calls;
    return ResMlpGruDenoiser::step(z, x, levels, cond);
  }
  int64_t calls = 0;
};

std::shared_ptr<CountingDenoiser> small_network() {
  torch::manual_seed(21);
  ResMlpGruOptions o;
  o.x_dim = 3;
  o.z_dim = 8;
  o.network_size = 4;
  o.num_mlp_layers = 2;
  o.cond_dim = 2;
  return std::make_shared<CountingDenoiser>(o);
}

double max_relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item<double>();
}

// The wavefront (one batched call per anti-diagonal) and Algorithm 2's skipping of idle tokens are
// reorderings of the same computation: samples, latents and noise draws must equal the row walk's.
TEST(Sampler, WavefrontAndIdleSkippingEqualTheRowWalk) {
  const int64_t H = 5, B = 3, S = 6;
  auto net = small_network();
  DiffusionForcingModel model(net, small_options(Objective::V, S), torch::kCPU);
  model.eval();
  const auto z0 = torch::randn({B, 8});
  const auto cond = torch::randn({H, B, 2});
  for (auto kind : {ScheduleMatrixKind::Autoregressive, ScheduleMatrixKind::FullSequence,
                    ScheduleMatrixKind::Pyramid, ScheduleMatrixKind::Trapezoid}) {
    const auto matrix = SchedulingMatrix::make(kind, H, S, 1.0);
    for (bool reference : {true, false}) {
      for (double eta : {0.0, 1.0}) {
        for (auto stabilization : {StabilizationInput::Clean, StabilizationInput::Noised}) {
          auto run = [&](SamplerWalk walk, bool skip) {
            SamplerOptions so;
            so.reference_walk = reference;
            so.eta = eta;
            so.walk = walk;
            so.skip_idle_tokens = skip;
            so.stabilization_input = stabilization;
            Sampler sampler(model, so);
            auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
            net->calls = 0;
            auto r = sampler.sample_chunk(z0, matrix, {}, cond, nullptr, gen);
            return std::make_pair(r, net->calls);
          };
          const auto [rows, row_calls] = run(SamplerWalk::Rows, false);
          const auto label = to_string(kind) + " reference=" + std::to_string(reference) + " eta=" +
                             std::to_string(eta) + " stabilization=" + to_string(stabilization);
          EXPECT_EQ(row_calls, matrix.rows() * H) << label;
          for (bool skip : {false, true}) {
            for (auto walk : {SamplerWalk::Rows, SamplerWalk::Wavefront}) {
              const auto [other, calls] = run(walk, skip);
              EXPECT_LE(max_relative_difference(other.x, rows.x), 1e-5) << label << " skip=" << skip;
              EXPECT_LE(max_relative_difference(other.z, rows.z), 1e-5) << label << " skip=" << skip;
              if (walk == SamplerWalk::Wavefront) {
                EXPECT_LE(calls, matrix.rows() + H - 1) << label;
              }
              if (!skip) {
                EXPECT_LE(max_relative_difference(other.x0, rows.x0), 1e-5) << label;
              }
            }
          }
        }
      }
    }
  }
}

// Algorithm 2 with the finished prefix cached: an autoregressive chunk costs one call per token and DDIM
// step, plus one per token to extend the cached prefix (the row walk without skipping: rows x H).
TEST(Sampler, IdleSkippingMakesAutoregressiveChunksCostOneCallPerTokenStep) {
  const int64_t H = 6, B = 2, S = 5;
  auto net = small_network();
  DiffusionForcingModel model(net, small_options(Objective::X0, S), torch::kCPU);
  model.eval();
  SamplerOptions so;
  so.reference_walk = false;
  so.walk = SamplerWalk::Rows;
  Sampler sampler(model, so);
  net->calls = 0;
  sampler.sample_chunk(torch::randn({B, 8}), SchedulingMatrix::autoregressive(H, S), {}, torch::randn({H, B, 2}));
  EXPECT_EQ(net->calls, H * S + H);  // S steps per token + one prefix extension per token (the last: the commit)
}

// The guided walk batches the Monte Carlo guidance samples of all tokens into one call per sample index;
// it must equal a plain per-token implementation of the same walk (reference walk, MCG with 3 samples).
TEST(Sampler, BatchedMonteCarloGuidanceEqualsThePerTokenWalk) {
  const int64_t H = 4, B = 2, S = 5, R = 3;
  const double scale = 0.7;
  auto net = small_network();
  DiffusionForcingModel model(net, small_options(Objective::X0, S), torch::kCPU);
  const auto z0 = torch::randn({B, 8});
  const auto cond = torch::randn({H, B, 2});
  const GuidanceCost cost = [](const torch::Tensor& x0) { return (x0 - 0.5).pow(2).sum(); };
  const auto matrix = SchedulingMatrix::pyramid(H, S, 1.0);
  SamplerOptions so;
  so.guidance_scale = scale;
  so.mcg_samples = R;
  so.overwrite_finished = false;
  Sampler sampler(model, so);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const auto ours = sampler.sample_chunk(z0, matrix, {}, cond, cost, gen);

  // The same walk, token by token (the reference walk's token plan written out).
  const auto& grid = model.grid();
  const auto& schedule = model.schedule();
  auto g = at::make_generator<at::CPUGeneratorImpl>(9);
  auto noise = [&](const torch::Tensor& like) { return sample_clamped_noise(like.sizes(), like.options(), 20.0, g); };
  auto x = noise(torch::zeros({H, B, 3}));
  torch::Tensor z_last;
  for (int64_t m = 0; m < matrix.rows(); ++m) {
    const bool guided = m + 1 < matrix.rows();
    torch::AutoGradMode grad_mode(guided);
    auto z = z0;
    std::vector<torch::Tensor> inputs, updated, x0s;
    std::vector<std::vector<torch::Tensor>> repeats(R - 1);
    std::vector<std::pair<int64_t, int64_t>> levels;  // (from, to) per token, to = -2: no guided step
    for (int64_t t = 0; t < H; ++t) {
      const int64_t from = matrix.at(m, t), to = guided ? matrix.at(m + 1, t) : 0;
      int64_t label = grid.level(from), next = grid.level(to);
      bool step = true, keep = false, clamp = from == S && from != to;
      if (from == to && from == S) next = grid.level(S - 1), clamp = true;
      if (from == to && from == 0) label = grid.level(1), next = -1, keep = true;
      auto x_t = x[t].detach().requires_grad_(guided);
      inputs.push_back(x_t);
      const auto l = torch::full({B}, label, torch::kLong), n = torch::full({B}, next, torch::kLong);
      const auto z_before = z;
      auto pred = model.predict(z, clamp ? x_t.clamp(-20, 20) : x_t, l, cond[t]);
      z = pred.z;
      x0s.push_back(pred.prediction.x0);
      updated.push_back(step && !keep ? ddim_update(schedule, pred.prediction, l, n, 0.0, {}) : x_t);
      levels.push_back({label, step && !keep && next >= 0 ? next : -2});
      auto latest = pred.prediction.x0;
      for (int64_t r = 1; r < R; ++r) {
        if (guided && step && next >= 0) {
          const auto renoised = model.forward_process().noise(latest.unsqueeze(0), l.unsqueeze(0), noise(latest).unsqueeze(0))[0];
          latest = model.predict(z_before, renoised, l, cond[t]).prediction.x0;
        }
        repeats[static_cast<size_t>(r - 1)].push_back(latest);
      }
    }
    z_last = z.detach();
    if (guided) {
      std::vector<torch::Tensor> samples{torch::stack(x0s)};
      for (auto& r : repeats) samples.push_back(torch::stack(r));
      const auto grads = torch::autograd::grad({cost(torch::stack(samples))}, inputs, {}, false, false, true);
      for (int64_t t = 0; t < H; ++t) {
        const auto [label, next] = levels[static_cast<size_t>(t)];
        if (next == -2) continue;
        const auto gc = ddim_guidance_constant(schedule, torch::full({B}, label, torch::kLong),
                                               torch::full({B}, next, torch::kLong), 0.0);
        updated[static_cast<size_t>(t)] = updated[static_cast<size_t>(t)].detach() -
                                          scale * gc.unsqueeze(-1) * grads[static_cast<size_t>(t)];
      }
    }
    x = torch::stack(updated).detach();
  }
  EXPECT_LE(max_relative_difference(ours.x, x), 1e-5);
  EXPECT_LE(max_relative_difference(ours.z, z_last), 1e-5);
}

TEST(Sampler, LimitedMemoryResetsTheLatentAndReabsorbsOnlyTheWindow) {
  torch::manual_seed(6);
  const int64_t B = 2, D = 3, S = 4;
  const auto data = torch::randn({3, B, D});
  auto oracle = std::make_shared<test::OracleDenoiser>(data, nullptr);
  DiffusionForcingModel model(oracle, small_options(Objective::X0, S), torch::kCPU);
  oracle->set_parameterization(&model.parameterization());
  Sampler sampler(model, SamplerOptions{});
  // The oracle's latent counts the tokens since the last reset, so token i of a window is data[(memory + i) % 3].
  const auto context = data.slice(0, 0, 2);
  auto x = sampler.rollout_with_limited_memory(context, B, 6, /*memory*/ 1, /*replan*/ 2, /*chunk*/ 2,
                                               ScheduleMatrixKind::FullSequence);
  ASSERT_EQ(x.size(0), 6);
  for (int64_t t = 0; t < 6; ++t) EXPECT_TRUE(torch::equal(x[t], data[1 + t % 2])) << "token " << t;
  // Streamed chunk by chunk: the same tokens, nothing returned.
  std::vector<torch::Tensor> chunks;
  const auto none =
      sampler.rollout_with_limited_memory(context, B, 5, 2, 1, 1, ScheduleMatrixKind::Autoregressive, 1.0, c10::nullopt,
                                          {}, [&](const torch::Tensor& c) { chunks.push_back(c); });
  EXPECT_FALSE(none.defined());
  ASSERT_EQ(chunks.size(), 5u);
  for (const auto& c : chunks) EXPECT_TRUE(torch::equal(c[0], data[2]));  // memory 2: every token is data[2]
  // A condition must cover the context and the new tokens.
  EXPECT_THROW(sampler.rollout_with_limited_memory(context, B, 4, 1, 2, 2, ScheduleMatrixKind::FullSequence, 1.0,
                                                   c10::nullopt, torch::zeros({4, B, 1})),
               Error);
}

}  // namespace
}  // namespace df
