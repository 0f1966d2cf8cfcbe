// Progress of one episode against the expert's plan (swap_plan), for per-stage failure counts and for the
// paper's failure reason of policies without memory. Stages, from the resting places of both fruits:
//   0  the start (apple and orange in their start slots)
//   1  apple in C, orange still in its start slot      -> next: the orange
//   2  apple in C, orange in the apple's start slot    -> next: the apple
//   3  swapped (success)
// Stages 1 and 2 of the two starts look alike (apple in C, orange in A or in B): a policy that does not
// remember the start picks the wrong fruit there. A grasp at stage 1 that takes the apple (back out of
// C), or at stage 2 that takes the orange, is counted as a wrong pick. A gripper that closes on nothing is a
// missed grasp (counted over the whole episode).
//
// Grasp aim: at every grasp (a gripper that closes, on a fruit or on nothing) next to a fruit resting in a
// slot, the offsets from that slot's centre of the fruit (f) and of the closing point (h), in the table plane.
// An aim that follows the fruit has slope sum(f.h) / sum(f.f) = 1 and error |h - f| = 0 (the expert); one
// that goes to the slot centre whatever the fruit's jitter has slope 0. Summed, so that evaluations pool.
#pragma once
#include <array>

#include "df/robot/env.h"

namespace df::robot {

struct GraspAim {
  int64_t grasps = 0;          // grasps next to (within a slot radius of) a fruit resting in a slot
  double offset_dot = 0;       // sum of f.h over them (m^2)
  double offset_square = 0;    // sum of f.f (m^2)
  double error_sum = 0;        // sum of |h - f| (m)
  void add(const GraspAim& other);
  double slope() const { return offset_square > 0 ? offset_dot / offset_square : 0.0; }
  double mean_error() const { return grasps > 0 ? error_sum / static_cast<double>(grasps) : 0.0; }
};

class TaskMonitor {
 public:
  explicit TaskMonitor(const SwapEnv& env) { reset(env); }
  void reset(const SwapEnv& env);
  // Call after every control step.
  void update(const SwapEnv& env);

  int stage() const { return stage_; }  // last resting configuration on the plan
  int max_stage() const { return max_stage_; }
  bool off_plan() const { return off_plan_; }  // some resting configuration was not on the plan
  int picks(int stage) const { return picks_.at(static_cast<size_t>(stage)); }
  int wrong_picks(int stage) const { return wrong_picks_.at(static_cast<size_t>(stage)); }
  int wrong_picks() const { return wrong_picks_[1] + wrong_picks_[2]; }
  // The first grasp at an ambiguous state (stage 1 or 2): 1 the right fruit, 0 the wrong one, -1 none yet.
  int first_ambiguous_pick() const { return first_pick_; }
  int missed_grasps() const { return missed_grasps_; }
  const GraspAim& grasp_aim() const { return aim_; }

 private:
  int stage_ = 0, max_stage_ = 0;
  bool off_plan_ = false;
  bool held_before_ = false;
  bool closed_empty_before_ = false;
  int missed_grasps_ = 0;
  int first_pick_ = -1;
  std::array<int, 4> picks_{}, wrong_picks_{};
  // The grasp closes where the hand was before the step (SwapEnv::step grasps, then moves): kept from the
  // previous update, with the fruits.
  Vec3 hand_before_{};
  std::array<Vec3, 2> fruits_before_{};
  GraspAim aim_;
  void remember(const SwapEnv& env);
  void record_aim(const SwapEnv& env);
};

}  // namespace df::robot
