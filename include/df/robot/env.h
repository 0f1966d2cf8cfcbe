// The fruit-swap environment on the real MuJoCo engine: one control step = the hand moves towards the
// action's target position (at most SceneSpec::max_speed, interpolated over the physics substeps) and the
// gripper opens or closes. Closing with a fruit centre within the grasp tolerance of the grasp point
// holds that fruit by a weld (at the relative pose of that moment); closing elsewhere closes empty, and
// the gripper must open before it can grasp again. Opening releases the fruit, which falls onto the table.
//
// Start: apple in A or B (probability 1/2 each), orange in the other, C empty; both jittered inside their
// slots. Success: each fruit rests in the other's start slot and the gripper holds nothing.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "df/robot/scene.h"

struct mjModel_;
struct mjData_;

namespace df::robot {

// Target x, y, z of the grasp point (world, metres) and grasp (> 0.5 closes the gripper).
using Action = std::array<double, 4>;

// The compiled scene: the prototype every environment copies (a grasp rewrites its copy's weld data).
class SwapModel {
 public:
  explicit SwapModel(const SceneSpec& spec = {});
  ~SwapModel();
  SwapModel(const SwapModel&) = delete;
  SwapModel& operator=(const SwapModel&) = delete;

  const mjModel_* get() const { return model_; }
  const SceneSpec& spec() const { return spec_; }

  struct Ids {
    int hand_body = -1, hand_mocap = -1, distractor_mocap = -1;
    std::array<int, 2> fruit_body{}, fruit_qpos{}, fruit_qvel{}, weld{};
    std::array<int, 2> finger_actuator{}, finger_qpos{};
    std::array<int, 2> camera{};  // overview, hand
  };
  const Ids& ids() const { return ids_; }

 private:
  SceneSpec spec_;
  mjModel_* model_ = nullptr;
  Ids ids_;
};

enum class Gripper { Open, Holding, ClosedEmpty };

struct StartState {
  Slot apple_slot = Slot::A;      // A or B; the orange is in the other
  std::array<Vec2, 2> offsets{};  // apple, orange: offset from the slot centre
};

class SwapEnv {
 public:
  SwapEnv(std::shared_ptr<const SwapModel> model, uint64_t seed);
  ~SwapEnv();
  SwapEnv(SwapEnv&& other) noexcept;
  SwapEnv& operator=(SwapEnv&& other) noexcept;
  SwapEnv(const SwapEnv&) = delete;
  SwapEnv& operator=(const SwapEnv&) = delete;

  // A random start from the env's generator (see the file comment).
  void reset();
  void reset_to(const StartState& start);
  // One control step (control_dt seconds). Throws df::Error on a NaN action.
  void step(const Action& action);

  Vec3 hand() const;
  Vec3 fruit(Fruit f) const;
  Gripper gripper() const { return gripper_; }
  // How far the fingers have closed (finger joint travel, mean of both): 0 open .. SceneSpec::finger_travel.
  double gripper_closure() const;
  std::optional<Fruit> held() const { return held_; }
  // The slot the fruit rests in (on the table, slow, centre inside the slot), if any.
  std::optional<Slot> resting_slot(Fruit f) const;
  bool success() const;
  const StartState& start() const { return start_; }
  Slot start_slot(Fruit f) const;
  int64_t steps() const { return steps_; }

  // Puts a fruit at rest on the table at (x, y) (releasing it if held): scripted scenes and tests.
  void place_fruit(Fruit f, const Vec2& xy);
  // The distractor bag lies on the table at (x, y) turned by `yaw` until hidden again.
  void show_distractor(const Vec2& xy, double yaw);
  void hide_distractor();

  const SwapModel& swap_model() const { return *prototype_; }
  const SceneSpec& spec() const { return prototype_->spec(); }
  const mjModel_* model() const { return model_; }
  const mjData_* data() const { return data_; }
  std::mt19937_64& rng() { return rng_; }

 private:
  void set_grasp(bool close);
  void release();

  std::shared_ptr<const SwapModel> prototype_;
  mjModel_* model_ = nullptr;  // own copy: welds are activated and re-anchored per env
  mjData_* data_ = nullptr;
  StartState start_;
  Gripper gripper_ = Gripper::Open;
  std::optional<Fruit> held_;
  int64_t steps_ = 0;
  std::mt19937_64 rng_;
};

// N environments on one compiled scene, env i seeded with seeds[i].
class BatchedSwapEnv {
 public:
  explicit BatchedSwapEnv(const std::vector<uint64_t>& seeds, const SceneSpec& spec = {});
  int size() const { return static_cast<int>(envs_.size()); }
  void reset();
  // actions[i] is applied to env i where active[i] (active may be empty = all).
  void step(const std::vector<Action>& actions, const std::vector<bool>& active = {});
  SwapEnv& env(int i) { return envs_.at(static_cast<size_t>(i)); }
  const SwapEnv& env(int i) const { return envs_.at(static_cast<size_t>(i)); }
  std::shared_ptr<const SwapModel> model() const { return model_; }

 private:
  std::shared_ptr<const SwapModel> model_;
  std::vector<SwapEnv> envs_;
};

}  // namespace df::robot
