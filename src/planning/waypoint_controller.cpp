#include "df/planning/waypoint_controller.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <random>
#include <utility>

#include "df/core/error.h"

namespace df::planning {

namespace {

constexpr std::array<std::array<int, 2>, 5> kMoves = {{{0, 0}, {0, -1}, {0, 1}, {-1, 0}, {1, 0}}};

double distance(const Vec2& a, const Vec2& b) { return std::hypot(a[0] - b[0], a[1] - b[1]); }

}  // namespace

Cell round_to_cell(const Vec2& position) {
  // std::nearbyint uses the current rounding mode, which is round-half-to-even by default, like Python.
  return {static_cast<int>(std::nearbyint(position[0])), static_cast<int>(std::nearbyint(position[1]))};
}

std::vector<Cell> plan_grid_path(const MazeLayout& layout, Cell start, Cell target, double discount, int sweeps,
                                 int max_steps) {
  check(layout.in_bounds(start.row, start.col) && layout.in_bounds(target.row, target.col),
        "plan_grid_path: start (" + std::to_string(start.row) + ", " + std::to_string(start.col) +
            ") or target (" + std::to_string(target.row) + ", " + std::to_string(target.col) +
            ") outside the maze");
  const int rows = layout.rows();
  const int cols = layout.cols();
  const int num_states = rows * cols;
  auto index = [cols](Cell c) { return c.row * cols + c.col; };
  // Deterministic transitions: illegal moves (wall / out of bounds) become NOOP.
  std::vector<std::array<int, 5>> next(static_cast<size_t>(num_states));
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      for (size_t a = 0; a < kMoves.size(); ++a) {
        const Cell to{r + kMoves[a][0], c + kMoves[a][1]};
        next[static_cast<size_t>(index({r, c}))][a] = layout.is_wall(to.row, to.col) ? index({r, c}) : index(to);
      }
    }
  }
  const int target_index = index(target);
  std::vector<std::array<double, 5>> q(static_cast<size_t>(num_states), std::array<double, 5>{});
  std::vector<double> value(static_cast<size_t>(num_states), 0.0);
  for (int sweep = 0; sweep < sweeps; ++sweep) {
    for (int s = 0; s < num_states; ++s) {
      const auto& qs = q[static_cast<size_t>(s)];
      value[static_cast<size_t>(s)] = *std::max_element(qs.begin(), qs.end());
    }
    for (int s = 0; s < num_states; ++s) {
      const double reward = (s == target_index) ? 1.0 : 0.0;  // reward for being in s, whatever the action
      for (size_t a = 0; a < 5; ++a) {
        q[static_cast<size_t>(s)][a] = reward + discount * value[static_cast<size_t>(next[static_cast<size_t>(s)][a])];
      }
    }
  }
  std::vector<Cell> path;
  int s = index(start);
  for (int step = 0; step < max_steps; ++step) {
    const auto& qs = q[static_cast<size_t>(s)];
    const size_t best = static_cast<size_t>(std::max_element(qs.begin(), qs.end()) - qs.begin());  // first max
    s = next[static_cast<size_t>(s)][best];
    path.push_back({s / cols, s % cols});
    if (s == target_index) break;
  }
  return path;
}

WaypointController::WaypointController(const MazeLayout& layout, std::uint64_t seed)
    : WaypointController(layout, seed, Gains{}) {}

WaypointController::WaypointController(const MazeLayout& layout, std::uint64_t seed, Gains gains)
    : WaypointController(
          layout,
          [rng = std::mt19937_64(seed), unit = std::uniform_real_distribution<double>(0.0, 1.0)]() mutable {
            return unit(rng);
          },
          gains) {}

WaypointController::WaypointController(const MazeLayout& layout, std::function<double()> uniform01, Gains gains)
    : layout_(layout), gains_(gains), uniform01_(std::move(uniform01)) {
  check(static_cast<bool>(uniform01_), "WaypointController: empty jitter source");
}

void WaypointController::replan(const Vec2& position, Cell target) {
  const Cell start = round_to_cell(position);
  const std::vector<Cell> path = plan_grid_path(layout_, start, target);
  waypoints_.clear();
  for (const Cell& cell : path) {
    Vec2 waypoint{static_cast<double>(cell.row), static_cast<double>(cell.col)};
    if (cell != target) {
      // Intermediate waypoints are pulled towards -(0.2, 0.2) by up to 0.2, as in D4RL; this roughly
      // recentres them in the visual cells, which sit 0.2 below integer qpos (see maze_env.h).
      const double jx = uniform01_();
      const double jy = uniform01_();
      waypoint[0] -= jx * 0.2;
      waypoint[1] -= jy * 0.2;
    }
    waypoints_.push_back(waypoint);
  }
  // An empty path only happens when the target is unreachable within the step limit; aim at the target.
  if (waypoints_.empty()) waypoints_.push_back({static_cast<double>(target.row), static_cast<double>(target.col)});
  waypoint_index_ = 0;
  previous_position_ = {static_cast<double>(start.row), static_cast<double>(start.col)};
  target_cell_ = target;
  has_plan_ = true;
}

WaypointDecision WaypointController::act(const Vec2& position, const Vec2& velocity, const Vec2& target) {
  const Cell target_cell = round_to_cell(target);
  if (!has_plan_ || target_cell != target_cell_) replan(position, target_cell);

  const Vec2 target_point{static_cast<double>(target_cell_.row), static_cast<double>(target_cell_.col)};
  // "Movement" = position change since the previous call; it gates solving and waypoint advance.
  const double moved = distance(previous_position_, position);
  const bool not_solved =
      distance(position, target_point) >= gains_.solve_threshold || moved >= gains_.move_threshold;
  const Vec2 aim = not_solved ? waypoints_[waypoint_index_] : target_point;

  WaypointDecision decision;
  for (size_t k = 0; k < 2; ++k) {
    const double rate =
        gains_.damp_with_position_change ? previous_position_[k] - position[k] : velocity[k];
    decision.action[k] = std::clamp(gains_.p_gain * (aim[k] - position[k]) + gains_.d_gain * rate, -1.0, 1.0);
  }
  if (not_solved && distance(position, aim) < gains_.solve_threshold && moved < gains_.move_threshold &&
      waypoint_index_ + 1 < waypoints_.size()) {
    ++waypoint_index_;
  }
  previous_position_ = position;
  decision.solved = !not_solved;
  return decision;
}

}  // namespace df::planning
