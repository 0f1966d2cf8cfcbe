#include "df/robot/scene.h"

#include <sstream>

namespace df::robot {
namespace {

std::string vec(double a, double b, double c) {
  std::ostringstream s;
  s << a << " " << b << " " << c;
  return s.str();
}

}  // namespace

std::string swap_scene_mjcf(const SceneSpec& spec) {
  const double dt = spec.control_dt / spec.substeps;
  std::ostringstream x;
  x << "<mujoco model=\"fruit_swap\">\n"
    << "  <compiler angle=\"radian\"/>\n"
    << "  <option timestep=\"" << dt
    << "\" gravity=\"0 0 -9.81\"/>\n"
    // No shadows or reflections: 32x32 cameras gain nothing from them and software GL renders 5x faster.
    << "  <visual>\n"
    << "    <global offwidth=\"" << spec.render_buffer << "\" offheight=\"" << spec.render_buffer << "\"/>\n"
    << "    <quality shadowsize=\"0\"/>\n"
    << "    <headlight ambient=\"0.45 0.45 0.45\" diffuse=\"0.5 0.5 0.5\" specular=\"0.05 0.05 0.05\"/>\n"
    << "  </visual>\n"
    << "  <default>\n"
    // Visual-only geoms (slots, fingers, the distractor) never collide: the fruits interact with the table
    // and the weld alone, so grasps do not depend on finger contact dynamics.
    << "    <default class=\"visual\"><geom contype=\"0\" conaffinity=\"0\"/></default>\n"
    << "  </default>\n"
    << "  <worldbody>\n"
    << "    <light directional=\"true\" pos=\"0 0 1\" dir=\"0 0.3 -1\" diffuse=\"0.5 0.5 0.5\""
       " specular=\"0.1 0.1 0.1\" castshadow=\"false\"/>\n"
    << "    <geom name=\"floor\" class=\"visual\" type=\"plane\" size=\"2 2 0.1\" pos=\"0 0 -0.6\""
       " rgba=\"0.32 0.34 0.38 1\"/>\n"
    << "    <geom name=\"table\" type=\"box\" size=\"0.32 0.26 0.02\" pos=\"0 0.05 -0.02\""
       " rgba=\"0.62 0.47 0.33 1\" friction=\"1 0.01 0.002\"/>\n";
  const char* names[] = {"A", "B", "C"};
  for (int s = 0; s < 3; ++s) {
    const auto& p = spec.slots[static_cast<size_t>(s)];
    x << "    <geom name=\"slot_" << names[s] << "_rim\" class=\"visual\" type=\"cylinder\" size=\"" << spec.slot_radius
      << " 0.0005\" pos=\"" << vec(p[0], p[1], 0.0005) << "\" rgba=\"0.3 0.25 0.2 1\"/>\n"
      << "    <geom name=\"slot_" << names[s] << "\" class=\"visual\" type=\"cylinder\" size=\""
      << spec.slot_radius - 0.006 << " 0.001\" pos=\"" << vec(p[0], p[1], 0.001) << "\" rgba=\"0.88 0.86 0.8 1\"/>\n";
  }
  // Fruits start in A and B; reset moves them.
  const struct {
    const char* name;
    double radius;
    const char* rgba;
    Vec2 at;
  } fruits[] = {{"apple", spec.apple_radius, "0.78 0.06 0.08 1", spec.slots[0]},
                {"orange", spec.orange_radius, "1 0.55 0.05 1", spec.slots[1]}};
  for (const auto& f : fruits) {
    x << "    <body name=\"" << f.name << "\" pos=\"" << vec(f.at[0], f.at[1], f.radius) << "\">\n"
      << "      <freejoint name=\"" << f.name << "_joint\"/>\n"
      << "      <geom name=\"" << f.name << "_geom\" type=\"sphere\" size=\"" << f.radius << "\" mass=\"0.1\""
      << " rgba=\"" << f.rgba << "\" condim=\"6\" friction=\"1 0.01 0.002\"/>\n"
      << "    </body>\n";
  }
  // The hand: its origin is the grasp point between the fingertips; the palm is above it, the fingers
  // slide towards each other when the gripper closes, the hand camera looks down past the fingers.
  x << "    <body name=\"hand\" mocap=\"true\" pos=\"" << vec(spec.home[0], spec.home[1], spec.home[2]) << "\">\n"
    << "      <geom name=\"palm\" class=\"visual\" type=\"box\" size=\"0.055 0.016 0.008\" pos=\"0 0 0.052\""
       " rgba=\"0.2 0.2 0.22 1\"/>\n"
    << "      <geom name=\"wrist\" class=\"visual\" type=\"cylinder\" size=\"0.018 0.04\" pos=\"0 0 0.1\""
       " rgba=\"0.85 0.85 0.85 1\"/>\n"
    << "      <camera name=\"hand_camera\" pos=\"0 -0.07 0.08\" xyaxes=\"1 0 0 0 1 0.3\" fovy=\"75\"/>\n"
    << "      <body name=\"finger_left\" pos=\"-0.046 0 0\">\n"
    << "        <joint name=\"finger_left\" type=\"slide\" axis=\"1 0 0\" limited=\"true\" range=\"0 " << spec.finger_travel << "\""
       " damping=\"1\"/>\n"
    << "        <geom class=\"visual\" type=\"box\" size=\"0.005 0.012 0.03\" pos=\"0 0 0.015\""
       " rgba=\"0.45 0.45 0.48 1\"/>\n"
    << "      </body>\n"
    << "      <body name=\"finger_right\" pos=\"0.046 0 0\">\n"
    << "        <joint name=\"finger_right\" type=\"slide\" axis=\"-1 0 0\" limited=\"true\" range=\"0 " << spec.finger_travel << "\""
       " damping=\"1\"/>\n"
    << "        <geom class=\"visual\" type=\"box\" size=\"0.005 0.012 0.03\" pos=\"0 0 0.015\""
       " rgba=\"0.45 0.45 0.48 1\"/>\n"
    << "      </body>\n"
    << "    </body>\n"
    // Hidden under the table until a corruption experiment throws it onto the table.
    << "    <body name=\"distractor\" mocap=\"true\" pos=\"0 0 -0.3\">\n"
    << "      <geom name=\"bag\" class=\"visual\" type=\"box\" size=\"0.065 0.045 0.018\""
       " rgba=\"0.12 0.28 0.85 1\"/>\n"
    << "      <geom name=\"bag_strap\" class=\"visual\" type=\"capsule\" size=\"0.006\""
       " fromto=\"-0.035 0 0.018 0.035 0 0.018\" rgba=\"0.95 0.95 0.3 1\"/>\n"
    << "    </body>\n"
    << "    <camera name=\"overview\" pos=\"0 -0.40 0.42\" xyaxes=\"1 0 0 0 0.42 0.45\" fovy=\"45\"/>\n"
    << "  </worldbody>\n"
    << "  <equality>\n"
    << "    <weld name=\"hold_apple\" body1=\"hand\" body2=\"apple\" active=\"false\" solref=\"0.01 1\"/>\n"
    << "    <weld name=\"hold_orange\" body1=\"hand\" body2=\"orange\" active=\"false\" solref=\"0.01 1\"/>\n"
    << "  </equality>\n"
    << "  <actuator>\n"
    << "    <position name=\"finger_left\" joint=\"finger_left\" kp=\"30\"/>\n"
    << "    <position name=\"finger_right\" joint=\"finger_right\" kp=\"30\"/>\n"
    << "  </actuator>\n"
    << "</mujoco>\n";
  return x.str();
}

}  // namespace df::robot
