#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "df/compositional/cross_dataset.h"
#include "df/compositional/cross_metrics.h"
#include "df/core/error.h"

using namespace df::compositional;
using torch::indexing::Slice;

namespace {

// [N, 2] points -> [N] index of the nearest corner.
torch::Tensor nearest_corner_index(const torch::Tensor& points, double square) {
  return (points.unsqueeze(1) - cross_corners(square)).square().sum(-1).argmin(1);
}

// Straight polyline through `waypoints` ([K, 2]) with `per_segment` steps per segment -> [1, L, 2].
torch::Tensor polyline(std::vector<std::pair<float, float>> waypoints, int64_t per_segment = 4) {
  std::vector<torch::Tensor> pieces;
  for (size_t k = 0; k + 1 < waypoints.size(); ++k) {
    const auto t = torch::linspace(0, 1, per_segment + 1).unsqueeze(1);  // [S+1, 1]
    const auto a = torch::tensor({waypoints[k].first, waypoints[k].second});
    const auto b = torch::tensor({waypoints[k + 1].first, waypoints[k + 1].second});
    auto piece = a + t * (b - a);
    pieces.push_back(k == 0 ? piece : piece.index({Slice(1)}));  // shared waypoints once
  }
  return torch::cat(pieces).unsqueeze(0);
}

}  // namespace

TEST(CrossDataset, ShapeDtypeAndDeterminism) {
  CrossDatasetOptions o;
  o.num_trajectories = 64;
  o.trajectory_length = 16;
  o.seed = 7;
  const auto a = make_cross_trajectories(o);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{64, 16, 2}));
  EXPECT_EQ(a.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(a, make_cross_trajectories(o)));
  o.seed = 8;
  EXPECT_FALSE(torch::equal(a, make_cross_trajectories(o)));
}

TEST(CrossDataset, StartsAtACornerAndEndsAtTheOpposite) {
  CrossDatasetOptions o;
  o.num_trajectories = 256;
  o.trajectory_length = 32;
  o.position_noise = 0.02;
  o.seed = 1;
  const auto x = make_cross_trajectories(o);  // [N, L, 2]
  const auto first = x.select(1, 0), last = x.select(1, -1);
  const auto start = nearest_corner_index(first, o.square);
  const auto corners = cross_corners(o.square);
  // Per coordinate |noise| > 4 sigma has probability 6.3e-5; 256 trajectories x 2 ends x 2 coordinates give
  // 0.06 expected exceedances, and the seed is fixed, so the bound is safe (Chebyshev distance).
  const double bound = 4.0 * o.position_noise;
  EXPECT_LE((first - corners.index_select(0, start)).abs().max().item<double>(), bound);
  EXPECT_LE((last - corners.index_select(0, (start + 2) % 4)).abs().max().item<double>(), bound);
}

TEST(CrossDataset, NoiseFreePointsAreEvenlySpacedOnTheDiagonal) {
  CrossDatasetOptions o;
  o.num_trajectories = 32;
  o.trajectory_length = 9;
  o.square = 2.0;
  o.position_noise = 0.0;
  const auto x = make_cross_trajectories(o);
  const double expected_step = 2.0 * std::sqrt(2.0) * o.square / (o.trajectory_length - 1);
  const auto steps = (x.index({Slice(), Slice(1)}) - x.index({Slice(), Slice(0, -1)})).norm(2, -1);  // [N, L-1]
  EXPECT_NEAR(steps.min().item<double>(), expected_step, 1e-5);
  EXPECT_NEAR(steps.max().item<double>(), expected_step, 1e-5);
  // Every point lies on a diagonal: |x| == |y|.
  EXPECT_LT((x.select(2, 0).abs() - x.select(2, 1).abs()).abs().max().item<double>(), 1e-5);
}

TEST(CrossDataset, NoisyMeanStepLengthMatchesTheDiagonal) {
  CrossDatasetOptions o;  // defaults: 4096 x 32, noise 0.02
  const auto x = make_cross_trajectories(o);
  const double expected_step = 2.0 * std::sqrt(2.0) / (o.trajectory_length - 1);  // 0.0912
  const double mean_step =
      (x.index({Slice(), Slice(1)}) - x.index({Slice(), Slice(0, -1)})).norm(2, -1).mean().item<double>();
  // Noise lengthens steps on average: the step noise has std 0.028 per axis, so the bias is about
  // 0.028^2 / (2 * 0.0912) = 0.0043 (5%). A 10% band catches a wrong spacing (e.g. L instead of L-1: 3%
  // shorter + bias would still pass, so that case is covered exactly by the noise-free test).
  EXPECT_NEAR(mean_step, expected_step, 0.10 * expected_step);
  EXPECT_GT(mean_step, expected_step);
}

TEST(CrossDataset, SpeedJitterKeepsCornersAndDiagonal) {
  CrossDatasetOptions o;
  o.num_trajectories = 64;
  o.trajectory_length = 20;
  o.position_noise = 0.0;
  o.speed_jitter = 0.5;
  const auto x = make_cross_trajectories(o);
  const auto start = nearest_corner_index(x.select(1, 0), 1.0);
  const auto corners = cross_corners(1.0);
  EXPECT_TRUE(torch::allclose(x.select(1, 0), corners.index_select(0, start)));
  EXPECT_TRUE(torch::allclose(x.select(1, -1), corners.index_select(0, (start + 2) % 4)));
  const auto steps = (x.index({Slice(), Slice(1)}) - x.index({Slice(), Slice(0, -1)})).norm(2, -1);  // [N, L-1]
  EXPECT_GT(steps.std().item<double>(), 0.01);  // spacing really varies
  EXPECT_NEAR(steps.sum(1).mean().item<double>(), 2.0 * std::sqrt(2.0), 1e-4);  // still one diagonal long
}

TEST(CrossDataset, StartCornersAreUniform) {
  CrossDatasetOptions o;
  o.left_to_right = false;  // all four corners
  o.num_trajectories = 4096;
  o.seed = 3;
  const auto start = nearest_corner_index(make_cross_trajectories(o).select(1, 0), o.square);
  const auto counts = torch::bincount(start, {}, 4).to(torch::kDouble) / o.num_trajectories;
  // Binomial std of a share: sqrt(0.25 * 0.75 / 4096) = 0.0068; tolerance 0.03 is 4.4 std.
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(counts[c].item<double>(), 0.25, 0.03) << "corner " << c;
}

TEST(CrossDataset, RejectsBadOptions) {
  CrossDatasetOptions o;
  o.trajectory_length = 1;
  EXPECT_THROW(make_cross_trajectories(o), df::Error);
  o = {};
  o.position_noise = -1;
  EXPECT_THROW(make_cross_trajectories(o), df::Error);
}

TEST(SampleWindows, ShapesAndIndicesReproduceTheWindows) {
  CrossDatasetOptions o;
  o.num_trajectories = 50;
  o.trajectory_length = 32;
  const auto x = make_cross_trajectories(o);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const int64_t window = 8, batch = 2000;
  const auto w = sample_windows_with_indices(x, window, batch, gen);
  ASSERT_EQ(w.windows.sizes(), (std::vector<int64_t>{window, batch, 2}));
  ASSERT_EQ(w.trajectory_index.sizes(), (std::vector<int64_t>{batch}));
  EXPECT_GE(w.start_offset.min().item<int64_t>(), 0);
  EXPECT_LE(w.start_offset.max().item<int64_t>(), 32 - window);
  // With 2000 draws over 25 offsets both extremes appear (missing one has probability ~1e-35).
  EXPECT_EQ(w.start_offset.min().item<int64_t>(), 0);
  EXPECT_EQ(w.start_offset.max().item<int64_t>(), 32 - window);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t n = w.trajectory_index[b].item<int64_t>(), s = w.start_offset[b].item<int64_t>();
    ASSERT_TRUE(torch::equal(w.windows.select(1, b), x[n].index({Slice(s, s + window)}))) << "batch element " << b;
  }
}

TEST(SampleWindows, EveryWindowIsAContiguousSliceByBruteForce) {
  CrossDatasetOptions o;
  o.num_trajectories = 20;
  o.trajectory_length = 12;
  const auto x = make_cross_trajectories(o);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const int64_t window = 5;
  const auto windows = sample_windows(x, window, 64, gen);  // [W, B, 2]
  // All contiguous slices: [N, L-W+1, 2, W] -> [N*(L-W+1), W, 2].
  const auto slices = x.unfold(1, window, 1).permute({0, 1, 3, 2}).reshape({-1, window, 2});
  for (int64_t b = 0; b < windows.size(1); ++b) {
    const auto matches = (slices == windows.select(1, b).unsqueeze(0)).flatten(1).all(1);
    EXPECT_TRUE(matches.any().item<bool>()) << "window " << b << " is not a slice of any trajectory";
  }
  // Same generator seed -> same windows; the whole trajectory is a valid window.
  auto gen_again = at::make_generator<at::CPUGeneratorImpl>(5);
  EXPECT_TRUE(torch::equal(windows, sample_windows(x, window, 64, gen_again)));
  EXPECT_EQ(sample_windows(x, 12, 3, gen).sizes(), (std::vector<int64_t>{12, 3, 2}));
}

TEST(SampleWindows, RejectsBadArguments) {
  const auto x = torch::zeros({4, 10, 2});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  EXPECT_THROW(sample_windows(x, 11, 2, gen), df::Error);
  EXPECT_THROW(sample_windows(x, 0, 2, gen), df::Error);
  EXPECT_THROW(sample_windows(x, 3, 0, gen), df::Error);
  EXPECT_THROW(sample_windows(torch::zeros({10, 2}), 3, 2, gen), df::Error);
}

TEST(CrossMetrics, PerfectCrossIsAllCrossAndOnTheDiagonals) {
  CrossDatasetOptions o;
  o.num_trajectories = 40;
  o.position_noise = 0.0;
  const auto m = compute_cross_metrics(make_cross_trajectories(o));
  EXPECT_EQ(m.count, 40);
  EXPECT_EQ(m.cross_share, 1.0);
  EXPECT_EQ(m.changed_diagonal_share, 0.0);
  EXPECT_EQ(m.back_to_start_share, 0.0);
  EXPECT_EQ(m.nowhere_share, 0.0);
  EXPECT_NEAR(m.mean_distance_to_diagonal, 0.0, 1e-6);
}

TEST(CrossMetrics, HandMadeShapesAreClassifiedExactly) {
  const auto v_shape = polyline({{-1, -1}, {0, 0}, {1, -1}});         // corner 0 -> centre -> adjacent corner 1
  const auto l_shape = polyline({{1, 1}, {0, 0}, {1, -1}});           // corner 2 -> centre -> adjacent corner 1
  const auto cross = polyline({{-1, 1}, {1, -1}}, 8);                 // corner 3 -> opposite corner 1
  const auto back = polyline({{-1, -1}, {0, 0}, {-1, -1}});           // corner 0 -> centre -> corner 0
  const auto middle = polyline({{1, 1}, {0, 0}}, 8);                  // corner 2 -> centre: nowhere
  const auto all = torch::cat({v_shape, l_shape, cross, back, middle});  // [5, 9, 2]
  const auto endings = classify_cross_endings(all);
  const std::vector<int64_t> expected{1, 1, 0, 2, 3};  // CrossEnding values
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(endings[i].item<int64_t>(), expected[i]) << "trajectory " << i;

  const auto m = compute_cross_metrics(all);
  EXPECT_EQ(m.count, 5);
  EXPECT_DOUBLE_EQ(m.cross_share, 0.2);
  EXPECT_DOUBLE_EQ(m.changed_diagonal_share, 0.4);
  EXPECT_DOUBLE_EQ(m.back_to_start_share, 0.2);
  EXPECT_DOUBLE_EQ(m.nowhere_share, 0.2);
  EXPECT_NEAR(m.mean_distance_to_diagonal, 0.0, 1e-6);  // every shape runs along the diagonals

  EXPECT_EQ(compute_cross_metrics(v_shape).changed_diagonal_share, 1.0);
  EXPECT_EQ(compute_cross_metrics(back).back_to_start_share, 1.0);
  EXPECT_EQ(compute_cross_metrics(middle).nowhere_share, 1.0);
}

TEST(CrossMetrics, CornerRadiusAndDistanceToDiagonal) {
  // Side 2, corner radius 0.5: an end 0.45 from corner (1, 1) counts, 0.55 does not.
  const auto near_end = polyline({{-1, -1}, {0.55f, 1}}, 1);
  const auto far_end = polyline({{-1, -1}, {0.45f, 1}}, 1);
  EXPECT_EQ(compute_cross_metrics(near_end).cross_share, 1.0);
  EXPECT_EQ(compute_cross_metrics(far_end).nowhere_share, 1.0);

  // Single points: (0, 0.5) is 0.5/sqrt(2) from both diagonals; (2, 2) lies beyond corner (1, 1), so its
  // distance to the diagonal segment is the distance to that corner, sqrt(2).
  const auto points = torch::tensor({0.0f, 0.5f, 2.0f, 2.0f}).reshape({2, 1, 2});
  EXPECT_NEAR(compute_cross_metrics(points.index({Slice(0, 1)})).mean_distance_to_diagonal, 0.5 / std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(compute_cross_metrics(points.index({Slice(1, 2)})).mean_distance_to_diagonal, std::sqrt(2.0), 1e-6);
  // Scale: the same shapes in a square of half side 3.
  EXPECT_EQ(compute_cross_metrics(near_end * 3, 3.0).cross_share, 1.0);
}

TEST(CrossMetrics, RejectsBadInput) {
  EXPECT_THROW(compute_cross_metrics(torch::zeros({4, 3})), df::Error);
  EXPECT_THROW(compute_cross_metrics(torch::zeros({4, 3, 3})), df::Error);
  EXPECT_THROW(compute_cross_metrics(torch::full({1, 3, 2}, NAN)), df::Error);
}

TEST(CrossMetrics, MarkdownRow) {
  CrossMetrics m;
  m.count = 128;
  m.cross_share = 0.5;
  m.changed_diagonal_share = 0.25;
  m.back_to_start_share = 0.125;
  m.nowhere_share = 0.125;
  m.mean_distance_to_diagonal = 0.01234;
  EXPECT_EQ(format_cross_metrics("no memory", m), "| no memory | 128 | 50.0 | 25.0 | 12.5 | 12.5 | 0.0123 |");
  const std::string header = cross_metrics_table_header();
  // Header and row have the same number of columns.
  const auto columns = [](const std::string& line) { return std::count(line.begin(), line.end(), '|'); };
  EXPECT_EQ(columns(header.substr(0, header.find('\n'))), columns(format_cross_metrics("x", m)));
}

namespace df::compositional {
namespace {

TEST(CrossDataset, LeftToRightStartsOnTheLeftAndMovesRight) {
  CrossDatasetOptions o;
  o.num_trajectories = 512;
  o.trajectory_length = 9;
  o.position_noise = 0.0;
  o.left_to_right = true;
  const auto t = make_cross_trajectories(o);  // [N, L, 2]
  EXPECT_TRUE((t.select(1, 0).select(1, 0) == -1.0f).all().item<bool>());   // every start on the left edge
  EXPECT_TRUE((t.select(1, -1).select(1, 0) == 1.0f).all().item<bool>());   // every end on the right edge
  const auto dx = t.slice(1, 1).select(2, 0) - t.slice(1, 0, -1).select(2, 0);
  EXPECT_TRUE((dx > 0).all().item<bool>());
  // Both diagonals are used: the share of bottom-left starts is 1/2 within 4.4 sigma (sigma = 0.022).
  const double bottom = (t.select(1, 0).select(1, 1) < 0).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(bottom, 0.5, 0.1);
}

}  // namespace
}  // namespace df::compositional
