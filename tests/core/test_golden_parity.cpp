// Parity with the authors' model, driven by the fixture folder itself: every case found there is built
// from its JSON, loaded with the authors' weights and replayed (training recurrence, gradients, DDIM
// steps at every index present in the file, pyramid sampling). Runs on CPU, and on CUDA when present.
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <set>

#include "df/models/diffusion_forcing_model.h"
#include "df/models/resmlp_gru.h"
#include "df/models/state_dict.h"
#include "df/models/unet_conv_gru.h"
#include "df/sampling/sampler.h"
#include "golden.h"

namespace df::test {
namespace {

constexpr double kForwardRel = 1e-4, kGradRel = 1e-3, kAbs = 1e-6;

std::vector<int64_t> shape_of(const YAML::Node& node) { return node.as<std::vector<int64_t>>(); }

struct GoldenCase {
  std::string name;
  YAML::Node json;
  std::map<std::string, torch::Tensor> t;
  const torch::Tensor& operator[](const std::string& key) const {
    const auto it = t.find(key);
    if (it == t.end()) throw std::runtime_error(name + ": fixture has no tensor " + key);
    return it->second;
  }
};

GoldenCase load_case(const std::string& name) {
  GoldenCase c;
  c.name = name;
  c.json = YAML::LoadFile(golden_dir() + "/" + name + ".json");  // JSON is valid YAML
  c.t = load_fixture(golden_dir() + "/" + name + ".pt");
  return c;
}

std::shared_ptr<DiffusionForcingModel> build_model(const GoldenCase& c, torch::Device device) {
  const auto d = c.json["diffusion"];
  const auto x_shape = shape_of(c.json["x_shape"]), z_shape = shape_of(c.json["z_shape"]);
  std::shared_ptr<CausalDenoiser> denoiser;
  if (x_shape.size() == 1) {
    ResMlpGruOptions o;
    o.x_dim = x_shape[0];
    o.z_dim = z_shape[0];
    o.network_size = d["network_size"].as<int64_t>();
    o.num_mlp_layers = d["num_mlp_layers"].as<int64_t>();
    o.num_gru_layers = d["num_gru_layers"].as<int64_t>();
    denoiser = std::make_shared<ResMlpGruDenoiser>(o);
  } else {
    UnetConvGruOptions o;
    o.x_shape = x_shape;
    o.z_shape = z_shape;
    o.network_size = d["network_size"].as<int64_t>();
    o.num_gru_layers = d["num_gru_layers"].as<int64_t>();
    denoiser = std::make_shared<UnetConvGruDenoiser>(o);
  }
  DiffusionOptions opt;
  opt.schedule.kind = parse_enum<ScheduleKind>(d["beta_schedule"].as<std::string>());
  opt.schedule.timesteps = d["timesteps"].as<int64_t>();
  opt.schedule.snr_clip = d["snr_clip"].as<double>();
  opt.objective = parse_enum<Objective>(d["objective"].as<std::string>());
  const bool use_snr = d["use_snr"].as<bool>(), use_cum = d["use_cum_snr"].as<bool>();
  opt.weighting.kind = !use_snr ? LossWeightingKind::Constant
                                : (use_cum ? LossWeightingKind::FusedMinSnr : LossWeightingKind::MinSnr);
  opt.weighting.cum_snr_decay = d["cum_snr_decay"].as<double>();  // already raised to the frame-stack power
  opt.weighting.frame_stack = 1;
  opt.clip_noise = d["clip_noise"].as<double>();
  opt.sampling_steps = d["sampling_timesteps"].as<int64_t>();
  opt.eta = d["ddim_sampling_eta"].as<double>();
  auto model = std::make_shared<DiffusionForcingModel>(denoiser, opt, device);
  TensorMap weights;
  for (const auto& [key, value] : c.t) {
    if (key.rfind("param__", 0) != 0) continue;
    weights[std::regex_replace(key.substr(7), std::regex("__"), ".")] = value.to(device);
  }
  load_state_dict(*denoiser, weights, golden_dir() + "/" + c.name + ".pt");
  return model;
}

class GoldenParity : public ::testing::TestWithParam<std::string> {
 protected:
  void run_case(torch::Device device);
};

void GoldenParity::run_case(torch::Device device) {
  const auto c = load_case(GetParam());
  auto model = build_model(c, device);
  auto dev = [&](const std::string& key) { return c[key].to(device); };

  // Schedule buffers stored by the reference (float32).
  for (const auto& [name, buffer] : model->schedule().buffers()) {
    const auto key = "buffer__" + name;
    if (c.t.count(key)) {
      EXPECT_TRUE(close(key, buffer, c[key], 1e-6, 1e-12));
    }
  }

  // Training recurrence, loss and gradients.
  const auto xs = dev("input__xs");
  const int64_t T = xs.size(0);
  auto out = model->training_loss(xs, dev("input__init_z"), dev("input__levels"), dev("input__noise"));
  for (int64_t t = 0; t < T; ++t) {
    const auto s = std::to_string(t);
    EXPECT_TRUE(close("train__z__" + s, out.z[t], c["train__z__" + s], kForwardRel, kAbs));
    EXPECT_TRUE(close("train__x0_pred__" + s, out.x0_pred[t], c["train__x0_pred__" + s], kForwardRel, kAbs));
    EXPECT_TRUE(close("train__loss_weighted__" + s, out.token_loss[t], c["train__loss_weighted__" + s], kForwardRel, kAbs));
    EXPECT_TRUE(close("train__cum_snr__" + s, out.cum_snr[t], c["train__cum_snr__" + s], kForwardRel, kAbs));
  }
  EXPECT_TRUE(close("train__loss_mean", out.loss.reshape({1}), c["train__loss_mean"], kForwardRel, kAbs));
  model->zero_grad();
  out.loss.backward();
  int grads = 0;
  for (const auto& p : model->denoiser().named_parameters(true)) {
    const auto key = "grad__" + std::regex_replace(p.key(), std::regex("\\."), "__");
    ASSERT_TRUE(c.t.count(key)) << "fixture has no gradient for " << p.key();
    EXPECT_TRUE(close(key, p.value().grad(), c[key], kGradRel, kAbs));
    ++grads;
  }
  EXPECT_GT(grads, 0);

  // DDIM steps: every (index, eta) present in the fixture.
  torch::NoGradGuard no_grad;
  const std::regex ddim_re("ddim__i(\\d+)__eta(\\d+)__x_next");
  int ddim_cases = 0;
  for (const auto& [key, value] : c.t) {
    std::smatch m;
    if (!std::regex_match(key, m, ddim_re)) continue;
    const int64_t index = std::stoll(m[1]);
    const double eta = std::stod(m[2]);
    const auto prefix = "ddim__i" + std::string(m[1]) + "__eta" + std::string(m[2]);
    const auto noise = c.t.count(prefix + "__noise") ? dev(prefix + "__noise") : torch::Tensor();
    auto [x_next, z_next] = model->ddim_step(dev("ddim__x_in"), dev("ddim__z_in"), index, eta, noise);
    EXPECT_TRUE(close(prefix + "__x_next", x_next, c[prefix + "__x_next"], kForwardRel, kAbs));
    EXPECT_TRUE(close(prefix + "__z_next", z_next, c[prefix + "__z_next"], kForwardRel, kAbs));
    ++ddim_cases;
  }
  EXPECT_GT(ddim_cases, 0);

  // Pyramid sampling of the reference walk.
  if (c.t.count("pyramid__z0")) {
    int64_t horizon = 0;
    while (c.t.count("pyramid__init__" + std::to_string(horizon))) ++horizon;
    std::vector<torch::Tensor> init;
    for (int64_t t = 0; t < horizon; ++t) init.push_back(dev("pyramid__init__" + std::to_string(t)));
    const auto p = c.json["pyramid"];
    ASSERT_EQ(p["sampling_timesteps"].as<int64_t>(), model->grid().sampling_steps());
    SamplerOptions so;
    so.eta = 0.0;
    so.reference_walk = true;
    so.overwrite_finished = true;
    Sampler sampler(*model, so);
    int64_t passes = 0;
    sampler.set_row_callback([&](int64_t, int64_t) { ++passes; return true; });
    const auto matrix = SchedulingMatrix::pyramid(horizon, model->grid().sampling_steps(), p["uncertainty_scale"].as<double>());
    auto r = sampler.sample_chunk(dev("pyramid__z0"), matrix, torch::stack(init));
    EXPECT_EQ(passes * horizon, p["model_calls"].as<int64_t>());
    for (int64_t t = 0; t < horizon; ++t) {
      const auto key = "pyramid__out__" + std::to_string(t);
      EXPECT_TRUE(close(key, r.x[t], c[key], kForwardRel, kAbs));
    }
    EXPECT_TRUE(close("pyramid__z_out", r.z, c["pyramid__z_out"], kForwardRel, kAbs));
  }
}

// The cases shipped in tests/data/golden. A folder that lacks one fails (FixtureFolder.HasEveryCase)
// instead of silently testing less; $DF_GOLDEN_DIR may point at a folder with more cases.
const std::vector<std::string> kShippedCases = {"conv_v_sigmoid_fused_snr", "mlp_eps_cosine_snr",
                                                "mlp_v_cosine_fused_snr", "mlp_x0_linear"};

TEST(FixtureFolder, HasEveryCase) {
  const auto found = discover_golden_cases();
  for (const auto& name : kShippedCases)
    EXPECT_NE(std::find(found.begin(), found.end(), name), found.end())
        << golden_dir() << " lacks " << name << ".json / .pt (the parity fixtures of tests/data/golden)";
}

TEST_P(GoldenParity, Cpu) { run_case(torch::kCPU); }

TEST_P(GoldenParity, Cuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  run_case(torch::Device(torch::kCUDA, 0));
}

// The shipped cases plus any other case found in the folder.
std::vector<std::string> parity_cases() {
  auto cases = kShippedCases;
  for (const auto& name : discover_golden_cases())
    if (std::find(cases.begin(), cases.end(), name) == cases.end()) cases.push_back(name);
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GoldenParity, ::testing::ValuesIn(parity_cases()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(GoldenSchedules, MatchInDouble) {
  const auto path = golden_dir() + "/schedules.pt";
  ASSERT_TRUE(std::filesystem::exists(path)) << "no " << path;
  const auto t = load_fixture(path);
  const std::regex re("(\\w+?)__K(\\d+)__(betas|alphas_cumprod)");
  int checked = 0;
  for (const auto& [key, ref] : t) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(key, m, re)) << "unexpected tensor " << key;
    NoiseScheduleOptions o;
    o.kind = parse_enum<ScheduleKind>(m[1]);
    o.timesteps = std::stoll(m[2]);
    const auto betas = make_betas(o);
    const auto ours = m[3] == "betas" ? betas : torch::cumprod(1 - betas, 0);
    EXPECT_TRUE(close(key, ours, ref, 0.0, 1e-12));
    ++checked;
  }
  EXPECT_EQ(checked, 12);
}

}  // namespace
}  // namespace df::test
