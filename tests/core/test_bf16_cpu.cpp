// bf16 training on the CPU (training.precision: bf16): autocast really computes the products in bf16, the
// master weights stay fp32, the loss curves of a tiny ResMLP and a tiny U-Net follow fp32's within a stated
// tolerance, the native-bf16 check agrees with the kernel's CPU flags, precision auto is bf16 exactly where
// those flags list it (and trains bit for bit as what it resolves to), and fp16 on a CPU is refused clearly.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>

#include "circle_dataset.h"
#include "tiny_unet.h"
#include "df/core/compat.h"
#include "df/core/device.h"
#include "df/core/error.h"
#include "df/models/resmlp_gru.h"
#include "df/models/unet_conv_gru.h"
#include "df/training/trainer.h"

namespace df {
namespace {

std::shared_ptr<DiffusionForcingModel> circle_model(uint64_t init_seed) {
  torch::manual_seed(init_seed);
  ResMlpGruOptions o;
  o.x_dim = 2;
  o.z_dim = 32;
  o.network_size = 4;
  o.num_mlp_layers = 2;
  DiffusionOptions d;
  d.schedule.kind = ScheduleKind::Cosine;
  d.objective = Objective::X0;
  return std::make_shared<DiffusionForcingModel>(std::make_shared<ResMlpGruDenoiser>(o), d, torch::kCPU);
}

// A bright 3x3 square moving one pixel right per token on an 8x8 frame, random start row and column.
class MovingSquare : public SequenceDataset {
 public:
  SequenceBatch sample(int64_t batch, torch::Generator& gen) override {
    auto x = torch::full({4, batch, 1, 8, 8}, -1.0f);
    const auto rows = torch::randint(0, 6, {batch}, gen, torch::kLong);
    const auto cols = torch::randint(0, 3, {batch}, gen, torch::kLong);
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t r = rows[b].item<int64_t>(), c = cols[b].item<int64_t>();
      for (int64_t t = 0; t < 4; ++t) x[t][b][0].narrow(0, r, 3).narrow(1, c + t, 3).fill_(1.0f);
    }
    SequenceBatch s;
    s.x = x;
    return s;
  }
  std::vector<int64_t> token_shape() const override { return {1, 8, 8}; }
  int64_t num_tokens() const override { return 4; }
};

std::shared_ptr<DiffusionForcingModel> square_model(uint64_t init_seed) {
  torch::manual_seed(init_seed);
  const auto o = tiny_unet_options(1);
  DiffusionOptions d;
  d.schedule.kind = ScheduleKind::Cosine;
  d.objective = Objective::X0;
  return std::make_shared<DiffusionForcingModel>(std::make_shared<UnetConvGruDenoiser>(o), d, torch::kCPU);
}

double mean(const std::vector<double>& v, size_t from, size_t to) {
  return std::accumulate(v.begin() + static_cast<long>(from), v.begin() + static_cast<long>(to), 0.0) /
         static_cast<double>(to - from);
}

std::vector<double> train_losses(DiffusionForcingModel& model, SequenceDataset& data, Precision precision,
                                 int64_t steps, int64_t batch, double lr) {
  TrainerOptions t;
  t.steps = steps;
  t.batch_size = batch;
  t.optimizer.lr = lr;
  t.optimizer.warmup_steps = 10;
  t.grad_clip = 1.0;
  t.seed = 7;
  t.log_every = 0;
  t.precision = precision;
  Trainer trainer(model, data, t);
  return trainer.run().losses;
}

TEST(Bf16Cpu, AutocastComputesProductsInBf16AndKeepsFp32Masters) {
  auto model = circle_model(0);
  const auto z = model->denoiser().initial_latent(3, {});
  const auto x = torch::randn({3, 2});
  const auto levels = torch::full({3}, 10, torch::kLong);
  {
    AutocastGuard guard(torch::kCPU, torch::kBFloat16, true);
    EXPECT_EQ(model->denoiser().step(z, x, levels, {}).out.scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(model->denoiser().step(z, x, levels, {}).out.scalar_type(), torch::kFloat);  // guard restored
  test::CircleDataset data(6, 0.5);
  train_losses(*model, data, Precision::Bf16, 3, 8, 1e-3);
  for (const auto& p : model->parameters()) EXPECT_EQ(p.scalar_type(), torch::kFloat);
}

// Tolerance: the mean loss of the last fifth of training within 25% of fp32's (same initialisation, same
// data and noise), and no further from it than a second fp32 initialisation is, plus 10%; both learn
// (the last fifth below `learned` times the first fifth).
void expect_bf16_follows_fp32(const std::vector<double>& fp32, const std::vector<double>& fp32_other_init,
                              const std::vector<double>& bf16, double learned) {
  const size_t n = fp32.size(), fifth = n / 5;
  const double first = mean(fp32, 0, fifth), last = mean(fp32, n - fifth, n);
  const double last_bf16 = mean(bf16, n - fifth, n), last_other = mean(fp32_other_init, n - fifth, n);
  EXPECT_LT(last, learned * first) << "fp32 did not learn: " << first << " -> " << last;
  EXPECT_LT(last_bf16, learned * mean(bf16, 0, fifth)) << "bf16 did not learn";
  EXPECT_LT(std::abs(last_bf16 - last), 0.25 * last) << "bf16 " << last_bf16 << " vs fp32 " << last;
  EXPECT_LE(std::abs(last_bf16 - last), std::abs(last_other - last) + 0.1 * last)
      << "bf16 " << last_bf16 << ", fp32 " << last << ", fp32 with another initialisation " << last_other;
}

TEST(Bf16Cpu, ResMlpLossFollowsFp32) {
  test::CircleDataset data(6, 0.5);
  auto a = circle_model(1), b = circle_model(1), c = circle_model(2);
  const auto fp32 = train_losses(*a, data, Precision::Fp32, 250, 32, 3e-3);
  const auto bf16 = train_losses(*b, data, Precision::Bf16, 250, 32, 3e-3);
  const auto other = train_losses(*c, data, Precision::Fp32, 250, 32, 3e-3);
  expect_bf16_follows_fp32(fp32, other, bf16, 0.8);
}

// One U-Net step under CPU bf16 autocast (channels-last bf16 convolutions, the fused group norm, 1x1
// convolutions as matrix products) against the same step in fp32, for 8 initialisations. The output agrees
// to bf16 precision (8 significant bits per op over some 20 layers: within 3% of its largest magnitude for
// every seed). The input gradients are judged statistically: a few seeds flip the sign of a near-zero
// pre-activation (ReLU, SiLU's slope) somewhere and so move single gradient entries by up to about 40% of
// the largest one (measured over 20 seeds, in bf16 before and after the channels-last path alike), so each
// gradient's direction must agree (cosine similarity above 0.98; 0.995 the smallest measured) and the
// median over seeds of the largest entry-wise error must stay below 8% (about 2% measured).
TEST(Bf16Cpu, UnetStepFollowsFp32) {
  std::vector<double> z_errors, x_errors;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto model = square_model(seed);
    auto& denoiser = model->denoiser();
    const auto z = torch::randn({3, 4, 8, 8}), x = torch::randn({3, 1, 8, 8});
    const auto levels = torch::tensor({5, 300, 900}, torch::kLong);
    const auto gy = torch::randn({3, 1, 8, 8});
    auto run = [&](bool bf16) {
      const auto zl = z.clone().requires_grad_(true), xl = x.clone().requires_grad_(true);
      torch::Tensor out;
      {
        AutocastGuard guard(torch::kCPU, torch::kBFloat16, bf16);
        out = denoiser.step(zl, xl, levels, {}).out;
      }
      EXPECT_EQ(out.scalar_type(), bf16 ? torch::kBFloat16 : torch::kFloat);
      const auto grads = torch::autograd::grad({out.to(torch::kFloat)}, {zl, xl}, {gy});
      return std::vector<torch::Tensor>{out.to(torch::kFloat).contiguous(), grads[0], grads[1]};
    };
    const auto fp32 = run(false), bf16 = run(true);
    std::vector<double> errors;
    for (size_t i = 0; i < fp32.size(); ++i) {
      const double scale = fp32[i].abs().max().item<double>();
      ASSERT_GT(scale, 0) << i;
      errors.push_back((bf16[i] - fp32[i]).abs().max().item<double>() / scale);
      EXPECT_GT(torch::cosine_similarity(bf16[i].flatten(), fp32[i].flatten(), 0).item<double>(), 0.98)
          << "output / z grad / x grad: " << i;
    }
    EXPECT_LT(errors[0], 0.03);
    z_errors.push_back(errors[1]);
    x_errors.push_back(errors[2]);
  }
  for (auto* errors : {&z_errors, &x_errors}) {
    std::sort(errors->begin(), errors->end());
    EXPECT_LT(0.5 * ((*errors)[3] + (*errors)[4]), 0.08);
  }
}

TEST(Bf16Cpu, UnetLossFollowsFp32) {  // also exercises the group norm of a bf16 input in fp32 under CPU autocast
  MovingSquare data;
  auto a = square_model(1), b = square_model(1), c = square_model(2);
  const auto fp32 = train_losses(*a, data, Precision::Fp32, 60, 4, 3e-3);
  const auto bf16 = train_losses(*b, data, Precision::Bf16, 60, 4, 3e-3);
  const auto other = train_losses(*c, data, Precision::Fp32, 60, 4, 3e-3);
  expect_bf16_follows_fp32(fp32, other, bf16, 0.9);
}

TEST(Bf16Cpu, NativeCheckAgreesWithTheKernelsCpuFlags) {
  std::ifstream in("/proc/cpuinfo");
  ASSERT_TRUE(in.good()) << "/proc/cpuinfo";
  std::string line, flags;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0 || line.rfind("Features", 0) == 0) {
      flags = " " + line.substr(line.find(':') + 1) + " ";
      break;
    }
  ASSERT_FALSE(flags.empty()) << "no flags line in /proc/cpuinfo";
  const bool listed = flags.find(" avx512_bf16 ") != std::string::npos || flags.find(" amx_bf16 ") != std::string::npos ||
                      flags.find(" bf16 ") != std::string::npos;
  std::string what;
  EXPECT_EQ(cpu_computes_bf16_natively(&what), listed) << "flags:" << flags;
  EXPECT_EQ(what.empty(), !listed);
  bool slower = false;
  const auto note = precision_note(Precision::Bf16, torch::kCPU, &slower);
  EXPECT_EQ(slower, !listed) << note;
  EXPECT_NE(note.find(listed ? "native" : "NOT native"), std::string::npos) << note;
  EXPECT_EQ(precision_note(Precision::Fp32, torch::kCPU), "fp32");
  // auto: bf16 where the flags list it, else fp32 (emulated bf16 is slower than fp32).
  EXPECT_EQ(resolve_precision(Precision::Auto, torch::kCPU), listed ? Precision::Bf16 : Precision::Fp32);
  bool auto_slower = true;
  const auto auto_note = precision_note(Precision::Auto, torch::kCPU, &auto_slower);
  EXPECT_FALSE(auto_slower) << auto_note;
  EXPECT_EQ(auto_note.rfind(listed ? "auto: bf16 autocast on cpu, native" : "auto: fp32", 0), 0u) << auto_note;
  for (auto p : {Precision::Fp32, Precision::Bf16, Precision::Fp16})
    EXPECT_EQ(resolve_precision(p, torch::kCPU), p);
  EXPECT_EQ(resolve_precision(Precision::Auto, torch::Device(torch::kCUDA, 0)), Precision::Bf16);
}

TEST(Bf16Cpu, AutoTrainsExactlyAsThePrecisionItResolvesTo) {
  MovingSquare data;
  auto a = square_model(1), b = square_model(1), c = square_model(1);
  const auto automatic = train_losses(*a, data, Precision::Auto, 6, 4, 3e-3);
  const auto resolved = train_losses(*b, data, resolve_precision(Precision::Auto, torch::kCPU), 6, 4, 3e-3);
  EXPECT_EQ(automatic, resolved);
  // ... and the two precisions differ on these steps, so the comparison could tell them apart.
  const auto other = resolve_precision(Precision::Auto, torch::kCPU) == Precision::Bf16 ? Precision::Fp32 : Precision::Bf16;
  EXPECT_NE(train_losses(*c, data, other, 6, 4, 3e-3), automatic);
}

TEST(Bf16Cpu, Fp16OnTheCpuIsRefusedWithAClearError) {
  auto model = circle_model(0);
  test::CircleDataset data(4, 0.5);
  TrainerOptions t;
  t.precision = Precision::Fp16;
  try {
    Trainer trainer(*model, data, t);
    FAIL() << "fp16 on the CPU was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training.precision: fp16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace df
