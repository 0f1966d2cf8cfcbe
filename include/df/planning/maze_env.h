// D4RL Maze2D point-mass environment stepped by the real MuJoCo engine.
//
// The model is the MJCF that D4RL's maze_model.py builds (point_maze()): walls are boxes centred at world
// (i+1, j+1) with half-extents 0.5 x 0.5 x 0.2; the particle body sits at world (1.2, 1.2), so in qpos units
// a wall cell (i, j) covers [i-0.7, i+0.3] x [j-0.7, j+0.3]. That 0.2 offset is in the original and in the
// published datasets; it is kept on purpose.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "df/planning/maze_layout.h"

struct mjModel_;
struct mjData_;

namespace df::planning {

using Vec2 = std::array<double, 2>;
using Observation = std::array<double, 4>;  // [qpos_x, qpos_y, qvel_x, qvel_y]

// Physical constants of the D4RL point mass (used by tests and documentation).
struct PointMassConstants {
  static constexpr double kTimestep = 0.01;
  static constexpr double kRadius = 0.1;
  static constexpr double kGear = 100.0;
  static constexpr double kDamping = 1.0;
  static constexpr double kMaxSpeed = 5.0;        // qvel is clipped to [-5, 5] before every step
  static constexpr double kGoalRadius = 0.5;      // sparse reward radius
  static constexpr double kBodyOffset = 1.2;      // world = qpos + 1.2
};

// A compiled MuJoCo model of one layout, shared read-only by any number of environments.
class MazeModel {
 public:
  explicit MazeModel(const MazeLayout& layout);
  ~MazeModel();
  MazeModel(const MazeModel&) = delete;
  MazeModel& operator=(const MazeModel&) = delete;

  const mjModel_* get() const { return model_; }
  const MazeLayout& layout() const { return layout_; }
  double particle_mass() const;

 private:
  MazeLayout layout_;
  mjModel_* model_ = nullptr;
};

struct MazeStep {
  Observation observation{};
  double reward = 0.0;  // sparse: 1 if ||pos - target|| <= 0.5 else 0
};

class MazeEnv {
 public:
  // A registered env (see maze_env_spec); `seed` seeds the env's own RNG (resets and random targets).
  MazeEnv(const MazeEnvSpec& spec, std::uint64_t seed);
  // An env on an existing model; `random_goal` = draw a new target after every reset (Multi2D).
  MazeEnv(std::shared_ptr<const MazeModel> model, bool random_goal, std::uint64_t seed);
  ~MazeEnv();
  MazeEnv(MazeEnv&& other) noexcept;
  MazeEnv& operator=(MazeEnv&& other) noexcept;
  MazeEnv(const MazeEnv&) = delete;
  MazeEnv& operator=(const MazeEnv&) = delete;

  // Start cell uniform over free cells + goal cell, qpos = cell + U(-0.1, 0.1), qvel ~ N(0, 0.1^2).
  Observation reset();
  // A reset to a given start state (mjData reset, then qpos/qvel); the target is left alone.
  Observation reset_to(const Vec2& qpos, const Vec2& qvel);
  // Clip action to [-1, 1], clip qvel to [-5, 5], one mj_step (dt = 0.01).
  MazeStep step(const Vec2& action);

  // Random target: a start cell + U(-0.1, 0.1) per coordinate (D4RL's set_target()).
  void set_random_target();
  void set_target(const Vec2& target) { target_ = target; }
  const Vec2& target() const { return target_; }
  // The fixed goal: the G cell as a float.
  Vec2 goal() const;

  void set_state(const Vec2& qpos, const Vec2& qvel);
  Vec2 qpos() const;
  Vec2 qvel() const;
  Observation observation() const;
  double sparse_reward() const;

  void reseed(std::uint64_t seed) { rng_.seed(seed); }
  std::mt19937_64& rng() { return rng_; }
  const MazeLayout& layout() const { return model_->layout(); }
  const MazeModel& model() const { return *model_; }
  bool random_goal() const { return random_goal_; }

 private:
  std::shared_ptr<const MazeModel> model_;
  mjData_* data_ = nullptr;
  bool random_goal_ = false;
  Vec2 target_{};
  std::mt19937_64 rng_;
};

// N environments of one layout stepped together: one shared mjModel, one mjData per env, one RNG per env.
// Arrays are row-major: actions [N, 2], observations [N, 4], rewards [N].
class BatchedMazeEnv {
 public:
  BatchedMazeEnv(const MazeEnvSpec& spec, const std::vector<std::uint64_t>& seeds);

  int size() const { return static_cast<int>(envs_.size()); }
  std::vector<double> reset();
  // Returns observations [N, 4]; rewards [N] are written to `rewards`.
  std::vector<double> step(const std::vector<double>& actions, std::vector<double>& rewards);
  std::vector<double> observations() const;
  MazeEnv& env(int index) { return envs_.at(static_cast<size_t>(index)); }

 private:
  std::vector<MazeEnv> envs_;
};

}  // namespace df::planning
