#include "df/robot/task_monitor.h"

#include <algorithm>

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
}

void TaskMonitor::update(const SwapEnv& env) {
  const auto held = env.held();
  if (held && !held_before_ && (stage_ == 1 || stage_ == 2)) {
    ++picks_[static_cast<size_t>(stage_)];
    const Fruit right = stage_ == 1 ? Fruit::Orange : Fruit::Apple;
    if (*held != right) ++wrong_picks_[static_cast<size_t>(stage_)];
    if (first_pick_ < 0) first_pick_ = *held == right ? 1 : 0;
  }
  held_before_ = held.has_value();
  const bool closed_empty = env.gripper() == Gripper::ClosedEmpty;
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
