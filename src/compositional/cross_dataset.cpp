#include "df/compositional/cross_dataset.h"

#include <ATen/CPUGeneratorImpl.h>

#include <string>

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::compositional {

torch::Tensor cross_corners(double square) {
  const auto s = static_cast<float>(square);
  return torch::tensor({-s, -s, s, -s, s, s, -s, s}, torch::kFloat).reshape({4, 2});
}

namespace {

void check_options(const CrossDatasetOptions& o) {
  check(o.num_trajectories >= 1,
        "make_cross_trajectories: num_trajectories must be >= 1, got " + std::to_string(o.num_trajectories));
  check(o.trajectory_length >= 2,
        "make_cross_trajectories: trajectory_length must be >= 2 (both corners), got " +
            std::to_string(o.trajectory_length));
  check(o.square > 0.0, "make_cross_trajectories: square must be > 0, got " + std::to_string(o.square));
  check(o.position_noise >= 0.0,
        "make_cross_trajectories: position_noise must be >= 0, got " + std::to_string(o.position_noise));
  check(o.speed_jitter >= 0.0,
        "make_cross_trajectories: speed_jitter must be >= 0, got " + std::to_string(o.speed_jitter));
}

// Fraction of the way travelled at each point, [N, L] in [0, 1], first 0 and last exactly 1.
torch::Tensor path_progress(int64_t n, int64_t length, double speed_jitter, torch::Generator& gen) {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat);
  if (speed_jitter == 0.0) return torch::linspace(0.0, 1.0, length, opts).expand({n, length});
  // Positive step lengths whose cumulative sum, normalised by the total, ends exactly at 1.
  const torch::Tensor steps = torch::exp(speed_jitter * torch::randn({n, length - 1}, gen, opts));  // [N, L-1]
  const torch::Tensor travelled = torch::cumsum(steps, 1) / steps.sum(1, /*keepdim=*/true);
  return torch::cat({torch::zeros({n, 1}, opts), travelled.index({torch::indexing::Slice(), torch::indexing::Slice(0, -1)}),
                     torch::ones({n, 1}, opts)},
                    1);
}

}  // namespace

torch::Tensor make_cross_trajectories(const CrossDatasetOptions& options) {
  check_options(options);
  const int64_t n = options.num_trajectories;
  const int64_t length = options.trajectory_length;
  const auto opts = torch::TensorOptions().dtype(torch::kFloat);
  torch::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);

  // Draw order is fixed (corners, speeds, noise) so a seed always gives the same dataset.
  const torch::Tensor corners = cross_corners(options.square);             // [4, 2]
  // left_to_right: start only at the left corners (bottom-left 0, top-left 3), so every trajectory moves
  // right and the direction of travel is a function of the position (see CrossDatasetOptions).
  const torch::Tensor start_corner =
      options.left_to_right ? torch::randint(2, {n}, gen, torch::kLong) * 3 : torch::randint(4, {n}, gen, torch::kLong);
  const torch::Tensor start = corners.index_select(0, start_corner);       // [N, 2]
  const torch::Tensor end = corners.index_select(0, (start_corner + 2) % 4);     // [N, 2]
  const torch::Tensor progress = path_progress(n, length, options.speed_jitter, gen);  // [N, L]

  torch::Tensor points = start.unsqueeze(1) + progress.unsqueeze(2) * (end - start).unsqueeze(1);  // [N, L, 2]
  if (options.position_noise > 0.0) points = points + options.position_noise * torch::randn({n, length, 2}, gen, opts);
  return points.contiguous();
}

TrajectoryWindows sample_windows_with_indices(const torch::Tensor& trajectories, int64_t window, int64_t batch,
                                              torch::Generator gen) {
  check(trajectories.defined() && trajectories.dim() == 3 && trajectories.size(0) >= 1,
        "sample_windows: trajectories must be [N, L, D] with N >= 1, got " +
            (trajectories.defined() ? shape_str(trajectories) : std::string("an undefined tensor")));
  const int64_t n = trajectories.size(0);
  const int64_t length = trajectories.size(1);
  check(window >= 1 && window <= length, "sample_windows: window must be in [1, L=" + std::to_string(length) +
                                             "] for trajectories " + shape_str(trajectories) + ", got " +
                                             std::to_string(window));
  check(batch >= 1, "sample_windows: batch must be >= 1, got " + std::to_string(batch));
  check(gen.defined(), "sample_windows: gen must be a defined CPU generator (no global RNG is used)");

  // Indices are drawn on the CPU generator, then moved to the data's device for one gather.
  const torch::Tensor trajectory_index = torch::randint(n, {batch}, gen, torch::kLong);                 // [B]
  const torch::Tensor start_offset = torch::randint(length - window + 1, {batch}, gen, torch::kLong);  // [B]
  const torch::Tensor time_index = start_offset.unsqueeze(0) + torch::arange(window, torch::kLong).unsqueeze(1);  // [W, B]

  const torch::Device device = trajectories.device();
  const torch::Tensor windows =
      trajectories.index({trajectory_index.to(device).unsqueeze(0), time_index.to(device)});  // [W, B, D]
  return {windows.contiguous(), trajectory_index, start_offset};
}

torch::Tensor sample_windows(const torch::Tensor& trajectories, int64_t window, int64_t batch,
                             torch::Generator gen) {
  return sample_windows_with_indices(trajectories, window, batch, std::move(gen)).windows;
}

}  // namespace df::compositional
