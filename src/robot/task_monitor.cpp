#include "df/robot/task_monitor.h"

#include <algorithm>
#include <cmath>

namespace df::robot {

void TaskMonitor::reset(const SwapEnv& env) {
  stage_ = max_stage_ = 0;
  off_plan_ = false;
  held_before_ = env.held().has_value();
  closed_empty_before_ = env.gripper() == Gripper::ClosedEmpty;
  missed_grasps_ = 0;
  first_pick_ = -1;
  picks_ = {};
  wrong_picks_ = {};
  aim_ = {};
  remember(env);
}

void GraspAim::add(const GraspAim& other) {
  grasps += other.grasps;
  offset_dot += other.offset_dot;
  offset_square += other.offset_square;
  error_sum += other.error_sum;
}

void TaskMonitor::remember(const SwapEnv& env) {
  hand_before_ = env.hand();
  fruits_before_ = {env.fruit(Fruit::Apple), env.fruit(Fruit::Orange)};
}

void TaskMonitor::record_aim(const SwapEnv& env) {
  const auto& spec = env.spec();
  const Vec3& h = hand_before_;
  const Vec3* fruit = nullptr;
  double nearest = 1e9;
  for (const Vec3& p : fruits_before_) {
    const double d = std::hypot(p[0] - h[0], p[1] - h[1]);
    if (d < nearest) nearest = d, fruit = &p;
  }
  const Vec2* centre = nullptr;
  double from_centre = 1e9;
  for (const Vec2& c : spec.slots) {
    const double d = std::hypot((*fruit)[0] - c[0], (*fruit)[1] - c[1]);
    if (d < from_centre) from_centre = d, centre = &c;
  }
  // Only grasps at a fruit on the table in a slot: a fruit elsewhere has no slot centre to be offset from.
  if (nearest > spec.slot_radius || from_centre > spec.slot_radius || (*fruit)[2] > 2 * spec.orange_radius) return;
  const double fx = (*fruit)[0] - (*centre)[0], fy = (*fruit)[1] - (*centre)[1];
  const double hx = h[0] - (*centre)[0], hy = h[1] - (*centre)[1];
  ++aim_.grasps;
  aim_.offset_dot += fx * hx + fy * hy;
  aim_.offset_square += fx * fx + fy * fy;
  aim_.error_sum += std::hypot(hx - fx, hy - fy);
}

void TaskMonitor::update(const SwapEnv& env) {
  const auto held = env.held();
  const bool closed_empty = env.gripper() == Gripper::ClosedEmpty;
  if ((held && !held_before_) || (closed_empty && !closed_empty_before_)) record_aim(env);
  remember(env);
  if (held && !held_before_ && (stage_ == 1 || stage_ == 2)) {
    ++picks_[static_cast<size_t>(stage_)];
    const Fruit right = stage_ == 1 ? Fruit::Orange : Fruit::Apple;
    if (*held != right) ++wrong_picks_[static_cast<size_t>(stage_)];
    if (first_pick_ < 0) first_pick_ = *held == right ? 1 : 0;
  }
  held_before_ = held.has_value();
  missed_grasps_ += closed_empty && !closed_empty_before_;
  closed_empty_before_ = closed_empty;
  const auto apple = env.resting_slot(Fruit::Apple), orange = env.resting_slot(Fruit::Orange);
  if (!apple || !orange) return;  // something is held or on its way: the stage stays
  const Slot apple_start = env.start_slot(Fruit::Apple), orange_start = env.start_slot(Fruit::Orange);
  int stage = -1;
  if (*apple == apple_start && *orange == orange_start) stage = 0;
  if (*apple == Slot::C && *orange == orange_start) stage = 1;
  if (*apple == Slot::C && *orange == apple_start) stage = 2;
  if (*apple == orange_start && *orange == apple_start) stage = 3;
  if (stage < 0) {
    off_plan_ = true;
    return;
  }
  stage_ = stage;
  max_stage_ = std::max(max_stage_, stage);
}

}  // namespace df::robot
