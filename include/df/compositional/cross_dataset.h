// The "cross" dataset of the compositional experiment (paper section 4.3, appendix E.2): 2-D trajectories
// inside the square [-square, square]^2, each a straight line from one corner to the opposite corner, so
// that the whole dataset draws the two diagonals. A model with memory should reproduce the cross; a
// memoryless MPC sampler can stitch halves of different diagonals into new shapes (a V through the centre).
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace df::compositional {

struct CrossDatasetOptions {
  int64_t num_trajectories = 4096;
  int64_t trajectory_length = 32;  // points per trajectory, both corners included
  double square = 1.0;             // half side: the corners are at (±square, ±square)
  double position_noise = 0.02;    // std of i.i.d. Gaussian noise added to every coordinate of every point
  // Log-normal jitter of the per-step speed along the diagonal (std of log speed); 0 = evenly spaced points.
  // The path still starts and ends exactly at the corners (before noise): only the spacing changes.
  double speed_jitter = 0.0;
  uint64_t seed = 0;
  // Start only at the two left corners (the cross is then traversed left to right). This is the setting of
  // the paper's figure 7: a memoryless model knows where it is but not which diagonal it came from, so at
  // the centre it may continue on either one (a V or a Λ), while a model with memory keeps its diagonal.
  bool left_to_right = true;
};

// The four corners, in counter-clockwise order starting bottom-left:
// 0 = (-s,-s), 1 = (s,-s), 2 = (s,s), 3 = (-s,s). Corner c is opposite corner (c+2)%4 and adjacent to (c±1)%4.
// Returns [4, 2] float.
torch::Tensor cross_corners(double square);

// Returns [N, L, 2] float (CPU): start corner uniform over the four corners, L points from the start corner
// to the opposite corner, plus noise. Deterministic for a given options.seed (a private CPU generator).
torch::Tensor make_cross_trajectories(const CrossDatasetOptions& options);

// Random contiguous windows of a trajectory set, with the indices that produced them.
struct TrajectoryWindows {
  torch::Tensor windows;           // [window, batch, D], time-major (the model's layout)
  torch::Tensor trajectory_index;  // [batch] int64: which trajectory each batch element was cut from
  torch::Tensor start_offset;      // [batch] int64: first time step of the window in that trajectory
};

// trajectories [N, L, D] (any device) -> windows[t, b] = trajectories[trajectory_index[b], start_offset[b] + t].
// trajectory_index is uniform over [0, N-1] and start_offset uniform over [0, L-window], drawn from `gen`
// (a CPU generator, shared state: the caller's generator advances), trajectory indices first.
TrajectoryWindows sample_windows_with_indices(const torch::Tensor& trajectories, int64_t window, int64_t batch,
                                              torch::Generator gen);

// Same as sample_windows_with_indices(...).windows: [window, batch, D].
torch::Tensor sample_windows(const torch::Tensor& trajectories, int64_t window, int64_t batch,
                             torch::Generator gen);

}  // namespace df::compositional
