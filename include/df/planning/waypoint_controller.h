// The D4RL Maze2D waypoint expert (d4rl/pointmaze/waypoint_controller.py): plans a path of grid cells
// with tabular Q-iteration and tracks it with a PD controller. It produced the D4RL datasets and the
// REF_MAX scores.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "df/planning/maze_env.h"
#include "df/planning/maze_layout.h"

namespace df::planning {

// Grid actions in D4RL's gridcraft order; (drow, dcol) per action.
enum class GridAction { kNoop = 0, kUp = 1, kDown = 2, kLeft = 3, kRight = 4 };

// Shortest-path plan on the grid: hard-max Q-iteration (reward 1 for being in `target`, moves into walls
// or out of bounds stay put, `sweeps` synchronous sweeps) then a greedy rollout from `start` (first action
// wins ties, at most 100 steps). Returns the visited cells, ending with `target` if it was reached.
std::vector<Cell> plan_grid_path(const MazeLayout& layout, Cell start, Cell target, double discount = 0.99,
                                 int sweeps = 50, int max_steps = 100);

struct WaypointDecision {
  Vec2 action{};
  bool solved = false;  // at the rounded target cell (within 0.1) and barely moving
};

class WaypointController {
 public:
  struct Gains {
    double p_gain = 10.0;
    double d_gain = -1.0;
    double solve_threshold = 0.1;
    double move_threshold = 0.1;
    // The published waypoint_controller.py damps with the qvel argument. Some write-ups describe the D term
    // as using the position change since the previous call instead; true selects that variant (for
    // comparison only).
    bool damp_with_position_change = false;
  };

  // `seed` drives the waypoint jitter through a private std::mt19937_64.
  WaypointController(const MazeLayout& layout, std::uint64_t seed);
  WaypointController(const MazeLayout& layout, std::uint64_t seed, Gains gains);
  // The jitter draws come from `uniform01` (values in [0, 1)); D4RL draws them from numpy's global RNG,
  // which a NumpyLegacyRandom can replay exactly.
  WaypointController(const MazeLayout& layout, std::function<double()> uniform01, Gains gains);

  // One control step. `velocity` is qvel (the D term); replans when round(target) changes.
  WaypointDecision act(const Vec2& position, const Vec2& velocity, const Vec2& target);

  // Forget the plan so that the next act() replans even for the same target. The D4RL reference-score
  // script never does this (one controller for all episodes); see expert_evaluation.h.
  void forget_plan() { has_plan_ = false; }
  const std::vector<Vec2>& waypoints() const { return waypoints_; }
  size_t waypoint_index() const { return waypoint_index_; }

 private:
  void replan(const Vec2& position, Cell target);

  MazeLayout layout_;
  Gains gains_;
  std::function<double()> uniform01_;
  bool has_plan_ = false;
  Cell target_cell_{};
  std::vector<Vec2> waypoints_;
  size_t waypoint_index_ = 0;
  Vec2 previous_position_{};
};

// Python's round(): to nearest, ties to even (D4RL's gridify_state).
Cell round_to_cell(const Vec2& position);

}  // namespace df::planning
