#include "df/compositional/cross_metrics.h"

#include <cmath>
#include <cstdio>
#include <tuple>

#include "df/compositional/cross_dataset.h"
#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::compositional {
namespace {

// Returns the trajectories as CPU float64 [N, L, 2] after checking shape and values.
torch::Tensor checked_trajectories(const torch::Tensor& trajectories, double square, const char* caller) {
  const std::string name = caller;
  check(trajectories.defined() && trajectories.dim() == 3 && trajectories.size(0) >= 1 &&
            trajectories.size(1) >= 1 && trajectories.size(2) == 2,
        name + ": trajectories must be [N, L, 2] with N, L >= 1, got " +
            (trajectories.defined() ? shape_str(trajectories) : std::string("an undefined tensor")));
  check(square > 0.0, name + ": square must be > 0, got " + std::to_string(square));
  const torch::Tensor x = trajectories.detach().to(torch::kCPU, torch::kDouble);
  check(torch::isfinite(x).all().item<bool>(),
        name + ": trajectories " + shape_str(trajectories) + " contain NaN or infinite values");
  return x;
}

// points [..., 2] -> (distance to nearest corner [...], index of that corner [...] int64).
std::tuple<torch::Tensor, torch::Tensor> nearest_corner(const torch::Tensor& points, double square) {
  const torch::Tensor corners = cross_corners(square).to(torch::kDouble);                      // [4, 2]
  const torch::Tensor distance = (points.unsqueeze(-2) - corners).square().sum(-1).sqrt();      // [..., 4]
  auto [min_distance, index] = distance.min(-1);  // first minimum on ties: the lower corner index
  return {min_distance, index};
}

// points [..., 2] -> distance to the nearest diagonal segment [...].
torch::Tensor distance_to_diagonals(const torch::Tensor& points, double square) {
  // Segment from -a to a: nearest point u*a with u = clamp(p.a / |a|^2, -1, 1).
  auto distance_to_segment = [&](double ax, double ay) {
    const double a_norm2 = ax * ax + ay * ay;
    const torch::Tensor px = points.select(-1, 0), py = points.select(-1, 1);
    const torch::Tensor u = ((px * ax + py * ay) / a_norm2).clamp(-1.0, 1.0);
    return ((px - u * ax).square() + (py - u * ay).square()).sqrt();
  };
  return torch::minimum(distance_to_segment(square, square), distance_to_segment(square, -square));
}

torch::Tensor classify(const torch::Tensor& x, double square) {
  const int64_t length = x.size(1);
  const torch::Tensor start_corner = std::get<1>(nearest_corner(x.select(1, 0), square));        // [N]
  const auto [end_distance, end_corner] = nearest_corner(x.select(1, length - 1), square);       // [N], [N]
  const torch::Tensor turn = (end_corner - start_corner).remainder(4);  // 0 same, 2 opposite, 1/3 adjacent
  torch::Tensor ending = torch::full_like(turn, static_cast<int64_t>(CrossEnding::kChangedDiagonal));
  ending.masked_fill_(turn == 0, static_cast<int64_t>(CrossEnding::kBackToStart));
  ending.masked_fill_(turn == 2, static_cast<int64_t>(CrossEnding::kCross));
  const double radius = kCornerRadiusFractionOfSide * 2.0 * square;
  ending.masked_fill_(end_distance > radius, static_cast<int64_t>(CrossEnding::kNowhere));
  return ending;
}

std::string percent(double share) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f", 100.0 * share);
  return buffer;
}

}  // namespace

torch::Tensor classify_cross_endings(const torch::Tensor& trajectories, double square) {
  return classify(checked_trajectories(trajectories, square, "classify_cross_endings"), square);
}

CrossMetrics compute_cross_metrics(const torch::Tensor& trajectories, double square) {
  const torch::Tensor x = checked_trajectories(trajectories, square, "compute_cross_metrics");
  const torch::Tensor ending = classify(x, square);  // [N]
  const int64_t n = x.size(0);
  auto share = [&](CrossEnding e) {
    return static_cast<double>((ending == static_cast<int64_t>(e)).sum().item<int64_t>()) / static_cast<double>(n);
  };
  CrossMetrics metrics;
  metrics.count = n;
  metrics.cross_share = share(CrossEnding::kCross);
  metrics.changed_diagonal_share = share(CrossEnding::kChangedDiagonal);
  metrics.back_to_start_share = share(CrossEnding::kBackToStart);
  metrics.nowhere_share = share(CrossEnding::kNowhere);
  metrics.mean_distance_to_diagonal = distance_to_diagonals(x, square).mean().item<double>();
  return metrics;
}

std::string cross_metrics_table_header() {
  return "| method | N | cross % | changed diagonal % | back to start % | nowhere % | mean dist. to diagonal |\n"
         "|---|---:|---:|---:|---:|---:|---:|\n";
}

std::string format_cross_metrics(const std::string& method, const CrossMetrics& m) {
  char distance[32];
  std::snprintf(distance, sizeof(distance), "%.4f", m.mean_distance_to_diagonal);
  return "| " + method + " | " + std::to_string(m.count) + " | " + percent(m.cross_share) + " | " +
         percent(m.changed_diagonal_share) + " | " + percent(m.back_to_start_share) + " | " +
         percent(m.nowhere_share) + " | " + distance + " |";
}

}  // namespace df::compositional
