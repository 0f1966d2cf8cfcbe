#include "df/robot/aim_sensitivity.h"

#include <ATen/CPUGeneratorImpl.h>

#include <sstream>

#include "df/core/atomic_file.h"
#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::robot {
namespace {

constexpr double kEndsAtFruit = 0.015;   // m (xy): the expert's chunk ends at the fruit it grasps next
constexpr double kStartsAway = 0.04;     // m (xy): ... and starts this far from it (an approach, not a hold)
constexpr int64_t kFruitX[2] = {kStateAppleX, kStateOrangeX};

torch::Tensor xy_distance(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.narrow(-1, 0, 2) - b.narrow(-1, 0, 2)).pow(2).sum(-1).sqrt();
}

void check_tokens(const StateTokenLayout& layout, const torch::Tensor& tokens) {
  check(tokens.dim() == 3 && tokens.size(2) == layout.dim() && tokens.size(0) >= 2,
        "aim_sensitivity: expected state tokens [T >= 2, N, " + std::to_string(layout.dim()) + "], got " +
            shape_str(tokens));
}

}  // namespace

torch::Tensor approach_tokens(const StateTokenLayout& layout, const torch::Tensor& tokens) {
  check_tokens(layout, tokens);
  const int64_t T = tokens.size(0), s = layout.action_stack();
  const auto states = layout.states_of(tokens.to(torch::kCPU)).narrow(0, 0, T - 1);            // [T-1, N, 11]
  const auto chunk_end = layout.actions_of(tokens.to(torch::kCPU)).narrow(0, 1, T - 1).select(2, s - 1);  // [T-1, N, 4]
  const auto hand = states.narrow(-1, 0, 3);
  std::vector<torch::Tensor> per_fruit;
  for (const int64_t fx : kFruitX) {
    const auto fruit = states.narrow(-1, fx, 3);
    per_fruit.push_back(xy_distance(chunk_end, fruit).lt(kEndsAtFruit) & xy_distance(hand, fruit).gt(kStartsAway));
  }
  return torch::stack(per_fruit, -1);
}

std::vector<AimSensitivity> aim_sensitivity(DiffusionForcingModel& model, const StateTokenLayout& layout,
                                            const torch::Tensor& tokens, PolicyMemory memory,
                                            const std::vector<int64_t>& levels, uint64_t seed) {
  check_tokens(layout, tokens);
  check(model.denoiser().x_shape() == std::vector<int64_t>{layout.dim()},
        "aim_sensitivity: the model's tokens are " + shape_str(model.denoiser().x_shape()) + ", the layout's [" +
            std::to_string(layout.dim()) + "]");
  const int64_t T = tokens.size(0), N = tokens.size(1), D = layout.dim(), K = model.schedule().timesteps();
  const int64_t obs = layout.observation_dim(), s = layout.action_stack();
  const auto device = model.device();
  const auto approach = approach_tokens(layout, tokens).to(torch::kFloat).to(device);  // [T-1, N, 2]
  const auto x = tokens.to(device, torch::kFloat);
  // d/d(fruit x): along the direction in which the fruit's entries move (its x and, with slot offsets, its
  // offset), [D, 2] for the apple and the orange.
  const auto fruit_x =
      torch::stack({layout.fruit_x_direction(Fruit::Apple), layout.fruit_x_direction(Fruit::Orange)}, 1)
          .to(device, torch::kFloat);
  const auto action_x = (torch::arange(s, torch::kLong) * 4 + obs).to(device);
  torch::AutoGradMode grad_mode(true);
  std::vector<AimSensitivity> rows;
  for (const int64_t level : levels) {
    check(level >= 0 && level < K,
          "aim_sensitivity: level " + std::to_string(level) + " is outside [0, " + std::to_string(K) + ")");
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto eps = torch::randn({T, N, D}, generator).to(device);
    const auto abar = model.schedule().alphas_cumprod[level].to(device);
    auto sums = torch::zeros({5}, torch::TensorOptions().dtype(torch::kDouble).device(device));
    for (int64_t j = 0; j + 1 < T; ++j) {
      const auto mask = approach[j];  // [N, 2]
      const int64_t first = memory == PolicyMemory::Full ? 0 : j;
      auto history = x.narrow(0, first, j + 1 - first).clone().requires_grad_(true);
      auto z = model.denoiser().initial_latent(N, {});
      const auto clean = torch::zeros({N}, torch::TensorOptions().dtype(torch::kLong).device(device));
      torch::Tensor own;  // x0 of token j, absorbed clean
      for (int64_t t = 0; t < history.size(0); ++t) {
        auto step = model.predict(z, history[t], clean);
        z = step.z;
        own = step.prediction.x0;
      }
      const auto noisy = abar.sqrt() * x[j + 1] + (1 - abar).sqrt() * eps[j + 1];
      const auto x0 =
          model.predict(z, noisy, torch::full({N}, level, torch::TensorOptions().dtype(torch::kLong).device(device)))
              .prediction.x0;
      // Each sum is over demonstrations, which are independent: its gradient gives every one its own.
      const auto last_x = x0.select(1, obs + 4 * (s - 1));
      const auto aim_grad = torch::autograd::grad({last_x.sum()}, {history}, {}, true)[0].sum(0);
      const auto apple_grad = torch::autograd::grad({x0.select(1, kFruitX[0]).sum()}, {history}, {}, true)[0].sum(0);
      const auto orange_grad = torch::autograd::grad({x0.select(1, kFruitX[1]).sum()}, {history}, {}, true)[0].sum(0);
      const auto own_apple = torch::autograd::grad({own.select(1, kFruitX[0]).sum()}, {history}, {}, true)[0].sum(0);
      const auto own_orange = torch::autograd::grad({own.select(1, kFruitX[1]).sum()}, {history})[0].sum(0);
      const auto approaches = mask.sum(1);  // [N]: 0 or 1 (the fruits lie apart)
      const auto aim = (aim_grad.matmul(fruit_x) * mask).sum();
      const auto hand = (aim_grad.select(1, 0) * approaches).sum();
      const auto previous = (aim_grad.index_select(1, action_x).sum(1) * approaches).sum();
      const auto apple_x = fruit_x.select(1, 0), orange_x = fruit_x.select(1, 1);
      const auto readout =
          (apple_grad.matmul(apple_x) * mask.select(1, 0) + orange_grad.matmul(orange_x) * mask.select(1, 1)).sum();
      const auto self_readout =
          (own_apple.matmul(apple_x) * mask.select(1, 0) + own_orange.matmul(orange_x) * mask.select(1, 1)).sum();
      sums += torch::stack({aim, hand, previous, readout, self_readout}).to(torch::kDouble).detach();
    }
    AimSensitivity row;
    row.level = level;
    row.approach_tokens = approach.sum().item<int64_t>();
    const auto mean = (sums / static_cast<double>(std::max<int64_t>(row.approach_tokens, 1))).to(torch::kCPU);
    row.aim = mean[0].item<double>();
    row.hand = mean[1].item<double>();
    row.previous_actions = mean[2].item<double>();
    row.readout = mean[3].item<double>();
    row.self_readout = mean[4].item<double>();
    rows.push_back(row);
  }
  return rows;
}

void write_aim_sensitivity_csv(const std::string& path, const std::vector<AimSensitivity>& rows) {
  std::ostringstream out;
  out.precision(6);
  out << "level,approach_tokens,aim,hand,previous_actions,readout,self_readout\n";
  for (const auto& r : rows)
    out << r.level << "," << r.approach_tokens << "," << r.aim << "," << r.hand << "," << r.previous_actions << ","
        << r.readout << "," << r.self_readout << "\n";
  write_text_atomically(path, out.str());
}

}  // namespace df::robot
