// D4RL Maze2D layouts (v1) and the registered environment ids built on them.
//
// A layout is a grid of rows written top to bottom: '#' wall, 'O' free, 'G' free goal cell. Cell (i, j)
// is (row, column). The point mass's qpos[0] runs along the row index and qpos[1] along the column index,
// so a free cell (i, j) is at qpos (i, j) (see maze_env.h for the 0.2 offset of the rendered walls).
#pragma once
#include <string>
#include <vector>

namespace df::planning {

enum class Tile { kWall, kFree, kGoal };

struct Cell {
  int row = 0;
  int col = 0;
  bool operator==(const Cell& other) const { return row == other.row && col == other.col; }
  bool operator!=(const Cell& other) const { return !(*this == other); }
};

class MazeLayout {
 public:
  // Parses rows separated by '\n' or by '\\' (the D4RL spelling). Throws df::Error on ragged rows,
  // unknown characters or more than one goal cell.
  static MazeLayout parse(const std::string& text);

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  Tile at(int row, int col) const;
  bool in_bounds(int row, int col) const { return row >= 0 && row < rows_ && col >= 0 && col < cols_; }
  bool is_wall(int row, int col) const { return !in_bounds(row, col) || at(row, col) == Tile::kWall; }

  // Free 'O' cells in row-major order (= Python's sorted list of (i, j) tuples).
  const std::vector<Cell>& free_cells() const { return free_cells_; }
  bool has_goal() const { return has_goal_; }
  Cell goal_cell() const;
  // D4RL's `empty_and_goal_locations`: the free cells followed by the goal cell. Resets and random
  // targets draw uniformly from this list.
  std::vector<Cell> start_cells() const;
  // Rows joined with '\n' (for printing).
  std::string to_string() const;

 private:
  int rows_ = 0;
  int cols_ = 0;
  std::vector<Tile> tiles_;
  std::vector<Cell> free_cells_;
  Cell goal_{};
  bool has_goal_ = false;
};

// The three v1 layouts, rows separated by '\n'.
const std::string& umaze_layout_text();
const std::string& medium_layout_text();
const std::string& large_layout_text();

// A registered Maze2D environment: `maze2d-{umaze,medium,large}-v1` (fixed goal = the G cell) and
// `maze2d-{umaze,medium,large}-multi-v1` (Diffuser's "Multi2D": a random goal drawn after every reset).
struct MazeEnvSpec {
  std::string id;
  std::string layout_text;
  int max_episode_steps = 0;
  double ref_min_score = 0.0;  // D4RL REF_MIN_SCORE (sparse reward)
  double ref_max_score = 0.0;  // D4RL REF_MAX_SCORE = mean return of the waypoint expert, 100 episodes
  bool random_goal = false;
};

// Throws df::Error naming the id and listing the known ids when `env_id` is unknown.
MazeEnvSpec maze_env_spec(const std::string& env_id);
std::vector<std::string> maze_env_ids();

// D4RL's normalized score (return - REF_MIN) / (REF_MAX - REF_MIN); papers print it x100.
double normalized_score(const std::string& env_id, double episode_return);

}  // namespace df::planning
