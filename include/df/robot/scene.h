// The fruit-swap table of the paper's robot experiment (section 4.4, appendix F.3), rebuilt for MuJoCo: a
// table with three slots A, B, C; an apple and an orange (free spheres of fruit size) jittered inside
// their slots; a position-controlled gripper (a mocap hand with two visual fingers) that grasps by
// activating a weld between hand and fruit; an overview camera of the three slots and a camera on the
// hand; a visual distractor (a blue bag) that corruption experiments throw onto the table.
//
// World frame: metres, table top at z = 0, x to the right and y away from the overview camera.
#pragma once
#include <array>
#include <string>

#include "df/core/enum_names.h"

namespace df::robot {

using Vec2 = std::array<double, 2>;
using Vec3 = std::array<double, 3>;

enum class Slot { A, B, C };
enum class Fruit { Apple, Orange };
enum class Camera { Overview, Hand };

}  // namespace df::robot

namespace df {
template <>
struct EnumNames<robot::Slot> {
  static constexpr const char* what = "slot";
  static constexpr EnumName<robot::Slot> table[] = {
      {robot::Slot::A, "A"}, {robot::Slot::B, "B"}, {robot::Slot::C, "C"}};
};
template <>
struct EnumNames<robot::Fruit> {
  static constexpr const char* what = "fruit";
  static constexpr EnumName<robot::Fruit> table[] = {{robot::Fruit::Apple, "apple"}, {robot::Fruit::Orange, "orange"}};
};
template <>
struct EnumNames<robot::Camera> {
  static constexpr const char* what = "camera";
  static constexpr EnumName<robot::Camera> table[] = {{robot::Camera::Overview, "overview"},
                                                      {robot::Camera::Hand, "hand"}};
};
}  // namespace df

namespace df::robot {

// Geometry and control constants of the scene (the MJCF, the environment and the expert share them).
struct SceneSpec {
  std::array<Vec2, 3> slots{{{-0.12, 0.0}, {0.12, 0.0}, {0.0, 0.12}}};  // A, B, C centres
  double slot_radius = 0.055;                                           // about double a fruit's diameter (F.3)
  double apple_radius = 0.028;
  double orange_radius = 0.031;
  double fruit_jitter = 0.02;  // start position: uniform in a disc of this radius around the slot centre
  Vec3 home{0.0, 0.03, 0.15};  // gripper's rest pose between moves
  double control_dt = 0.05;    // 20 Hz control
  int substeps = 25;           // physics steps of 2 ms per control step
  double max_speed = 0.3;      // m/s: the position controller moves the hand at most this fast
  // Target positions are clamped into this box (also the action normalisation range).
  Vec3 workspace_min{-0.25, -0.15, 0.0};
  Vec3 workspace_max{0.25, 0.25, 0.25};
  // A closing gripper holds a fruit whose centre is this close to the grasp point.
  double grasp_tolerance_xy = 0.02;
  double grasp_tolerance_z = 0.02;
  double finger_travel = 0.04;  // each finger slides at most this far towards the other
  int render_buffer = 256;  // off-screen buffer size: the largest picture that can be rendered

  double fruit_radius(Fruit f) const { return f == Fruit::Apple ? apple_radius : orange_radius; }
  const Vec2& slot(Slot s) const { return slots[static_cast<size_t>(s)]; }
};

// The MJCF XML of the scene (compiled by SwapModel in env.h).
std::string swap_scene_mjcf(const SceneSpec& spec);

}  // namespace df::robot
