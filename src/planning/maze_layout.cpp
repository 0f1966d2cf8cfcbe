#include "df/planning/maze_layout.h"

#include <sstream>

#include "df/core/error.h"

namespace df::planning {

MazeLayout MazeLayout::parse(const std::string& text) {
  std::vector<std::string> lines;
  std::string current;
  for (char c : text) {
    if (c == '\n' || c == '\\') {
      if (!current.empty()) lines.push_back(current);
      current.clear();
    } else if (c != '\r') {
      current.push_back(c);
    }
  }
  if (!current.empty()) lines.push_back(current);
  check(!lines.empty(), "MazeLayout::parse: empty layout");

  MazeLayout layout;
  layout.rows_ = static_cast<int>(lines.size());
  layout.cols_ = static_cast<int>(lines[0].size());
  layout.tiles_.reserve(static_cast<size_t>(layout.rows_ * layout.cols_));
  for (int i = 0; i < layout.rows_; ++i) {
    check(static_cast<int>(lines[i].size()) == layout.cols_,
          "MazeLayout::parse: row " + std::to_string(i) + " has " + std::to_string(lines[i].size()) +
              " characters, row 0 has " + std::to_string(layout.cols_));
    for (int j = 0; j < layout.cols_; ++j) {
      const char c = lines[i][j];
      if (c == '#') {
        layout.tiles_.push_back(Tile::kWall);
      } else if (c == 'O' || c == '0' || c == ' ') {  // the characters D4RL's parse_maze accepts as free
        layout.tiles_.push_back(Tile::kFree);
        layout.free_cells_.push_back({i, j});
      } else if (c == 'G') {
        check(!layout.has_goal_, "MazeLayout::parse: more than one goal cell 'G'");
        layout.tiles_.push_back(Tile::kGoal);
        layout.goal_ = {i, j};
        layout.has_goal_ = true;
      } else {
        throw Error(std::string("MazeLayout::parse: unknown tile '") + c + "' at row " + std::to_string(i) +
                    ", column " + std::to_string(j));
      }
    }
  }
  return layout;
}

Tile MazeLayout::at(int row, int col) const {
  check(in_bounds(row, col), "MazeLayout::at: cell (" + std::to_string(row) + ", " + std::to_string(col) +
                                 ") outside a " + std::to_string(rows_) + "x" + std::to_string(cols_) + " grid");
  return tiles_[static_cast<size_t>(row * cols_ + col)];
}

Cell MazeLayout::goal_cell() const {
  if (has_goal_) return goal_;
  // D4RL falls back to the first free cell when a layout has no 'G'.
  check(!free_cells_.empty(), "MazeLayout::goal_cell: layout has neither a goal nor a free cell");
  return free_cells_.front();
}

std::vector<Cell> MazeLayout::start_cells() const {
  std::vector<Cell> cells = free_cells_;
  if (has_goal_) cells.push_back(goal_);
  return cells;
}

std::string MazeLayout::to_string() const {
  std::string out;
  for (int i = 0; i < rows_; ++i) {
    for (int j = 0; j < cols_; ++j) {
      const Tile t = at(i, j);
      out.push_back(t == Tile::kWall ? '#' : (t == Tile::kGoal ? 'G' : 'O'));
    }
    out.push_back('\n');
  }
  return out;
}

const std::string& umaze_layout_text() {
  static const std::string text =
      "#####\n"
      "#GOO#\n"
      "###O#\n"
      "#OOO#\n"
      "#####\n";
  return text;
}

const std::string& medium_layout_text() {
  static const std::string text =
      "########\n"
      "#OO##OO#\n"
      "#OO#OOO#\n"
      "##OOO###\n"
      "#OO#OOO#\n"
      "#O#OO#O#\n"
      "#OOO#OG#\n"
      "########\n";
  return text;
}

const std::string& large_layout_text() {
  static const std::string text =
      "############\n"
      "#OOOO#OOOOO#\n"
      "#O##O#O#O#O#\n"
      "#OOOOOO#OOO#\n"
      "#O####O###O#\n"
      "#OO#O#OOOOO#\n"
      "##O#O#O#O###\n"
      "#OO#OOO#OGO#\n"
      "############\n";
  return text;
}

namespace {

// Episode lengths are the registered v1 max_episode_steps; scores are D4RL's sparse-reward references.
std::vector<MazeEnvSpec> all_specs() {
  std::vector<MazeEnvSpec> specs = {
      {"maze2d-umaze-v1", umaze_layout_text(), 300, 23.85, 161.86, false},
      {"maze2d-medium-v1", medium_layout_text(), 600, 13.13, 277.39, false},
      {"maze2d-large-v1", large_layout_text(), 800, 6.7, 273.99, false},
  };
  for (size_t k = 0; k < 3; ++k) {
    MazeEnvSpec multi = specs[k];
    multi.id = multi.id.substr(0, multi.id.size() - 3) + "-multi-v1";
    multi.random_goal = true;
    specs.push_back(multi);
  }
  return specs;
}

}  // namespace

std::vector<std::string> maze_env_ids() {
  std::vector<std::string> ids;
  for (const auto& spec : all_specs()) ids.push_back(spec.id);
  return ids;
}

MazeEnvSpec maze_env_spec(const std::string& env_id) {
  std::ostringstream known;
  for (const auto& spec : all_specs()) {
    if (spec.id == env_id) return spec;
    known << " " << spec.id;
  }
  throw Error("unknown Maze2D environment id '" + env_id + "'; known ids:" + known.str());
}

double normalized_score(const std::string& env_id, double episode_return) {
  const MazeEnvSpec spec = maze_env_spec(env_id);
  return (episode_return - spec.ref_min_score) / (spec.ref_max_score - spec.ref_min_score);
}

}  // namespace df::planning
