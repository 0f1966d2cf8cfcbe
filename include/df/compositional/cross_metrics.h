// Metrics of sampled trajectories for the compositional (cross) experiment: which corner each trajectory
// ends in relative to the corner it started in, and how well its points stay on the two diagonals.
//
// Definitions, for trajectories [N, L, 2] inside the square with corners (±s, ±s) (side = 2s), using the
// corner numbering of cross_corners() (counter-clockwise, 0 = bottom-left):
//  * start corner  = corner nearest (Euclidean) to the first point; no distance threshold.
//  * end corner    = corner nearest to the last point, but only if that distance is <= 0.25 * side;
//                    otherwise the trajectory ends "nowhere" (ties go to the lower corner index).
//  * ending class  = cross             : end corner opposite the start corner ((start + 2) % 4);
//                    changed_diagonal  : end corner adjacent to the start corner ((start ± 1) % 4): V / L shapes;
//                    back_to_start     : end corner == start corner;
//                    nowhere           : see above.
//    The four shares are fractions of N and sum to 1.
//  * mean_distance_to_diagonal = mean over all N*L points of the Euclidean distance to the nearest of the two
//    diagonal segments [(-s,-s), (s,s)] and [(s,-s), (-s,s)] (segments, so points beyond a corner are
//    measured to the corner).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>

namespace df::compositional {

enum class CrossEnding : int64_t { kCross = 0, kChangedDiagonal = 1, kBackToStart = 2, kNowhere = 3 };

struct CrossMetrics {
  int64_t count = 0;                       // N
  double cross_share = 0.0;                // in [0, 1]
  double changed_diagonal_share = 0.0;     // in [0, 1]
  double back_to_start_share = 0.0;        // in [0, 1]
  double nowhere_share = 0.0;              // in [0, 1]
  double mean_distance_to_diagonal = 0.0;  // in data units
};

// Distance of a point to a corner above which its trajectory ends "nowhere", as a fraction of the side.
inline constexpr double kCornerRadiusFractionOfSide = 0.25;

// trajectories [N, L, 2] (L >= 1, finite) -> [N] int64 holding CrossEnding values.
torch::Tensor classify_cross_endings(const torch::Tensor& trajectories, double square = 1.0);

// trajectories [N, L, 2] -> the metrics defined above.
CrossMetrics compute_cross_metrics(const torch::Tensor& trajectories, double square = 1.0);

// Markdown table header (two lines, ending with a newline) matching format_cross_metrics:
// | method | N | cross % | changed diagonal % | back to start % | nowhere % | mean dist. to diagonal |
std::string cross_metrics_table_header();

// One Markdown table row (no trailing newline), shares in percent with one decimal, distance with four.
std::string format_cross_metrics(const std::string& method, const CrossMetrics& metrics);

}  // namespace df::compositional
