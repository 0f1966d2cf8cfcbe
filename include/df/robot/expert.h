// The scripted expert of the fruit swap (appendix F.3): the apple goes to C first, then the orange into
// the apple's start slot, then the apple from C into the orange's start slot. Each move: over the fruit
// at travel height, down, close, up, over the target slot (a jittered point inside it), down, open, up,
// back home, and a pause at home. The pause lasts longer than two tokens (30 steps at 15 steps a token),
// so some token's frame and executed actions show nothing but the hand resting at home: when the apple
// sits in C, the next fruit to move depends on the initial placement, which that token does not show
// (the paper's non-Markov ambiguity).
//
// Placements are drawn from the start distribution (uniform in the slot's jitter disc), so a fruit the
// expert put down cannot be told from one that has not moved: at the ambiguous state only memory tells
// the start. (Placing within 1 cm of the centre while starts spread over 2 cm leaked the start: a fruit far
// from its slot's centre had not moved yet.)
//
// Missed grasps (ExpertOptions::missed_grasp_share > 0), as in DART (Laskey et al., 2017: noise injected
// into the supervisor's execution, labelled with the supervisor's own actions): in some moves the executed
// approach to the fruit is shifted sideways (execute()) while the expert's actions, which demonstrations
// record, still aim at the fruit. The gripper closes on nothing; the expert sees the empty gripper, opens it,
// moves from where the hand really is to the fruit and grasps again. Demonstrations then show the recovery a
// policy needs when its own grasp misses (the state policy's main failure: a missed grasp never retried),
// without ever showing an action that aims beside a fruit. With a share of 0 no random number is drawn for
// it, so such demonstrations are unchanged.
//
// AmbiguousChoice::Random makes the chance baseline: an expert without memory that decides each move from
// the fruits' current slots and, at the ambiguous states, picks one of the two continuations at random
// (it keeps going until the episode's time limit stops it).
#pragma once
#include <array>
#include <cstdint>
#include <deque>
#include <random>

#include "df/robot/env.h"

namespace df::robot {

enum class AmbiguousChoice {
  Remember,  // the plan of the start (swap_plan)
  Random,    // memoryless: the next move from the current slots, a coin flip at the ambiguous states
};

struct ExpertOptions {
  double speed = 0.15;                 // m/s of the moving set-point
  double speed_jitter = 0.1;           // per episode: speed * U(1 - j, 1 + j)
  double travel_height = 0.12;         // grasp point height while travelling
  int grasp_steps = 4;                 // steps standing still while the gripper closes / opens
  int dwell_min = 31, dwell_max = 40;  // pause at home after each move (steps)
  int start_dwell_min = 4, start_dwell_max = 12;
  // The release point: uniform in a disc of this radius around the slot centre; < 0: the start jitter
  // (SceneSpec::fruit_jitter), so placed and unmoved fruits look alike.
  double place_jitter = -1;
  // Share of moves whose first approach to the fruit is executed miss_offset_min..miss_offset_max metres
  // sideways from the expert's actions (beyond the grasp tolerance, so it misses) and then retried.
  double missed_grasp_share = 0;
  double miss_offset_min = 0.025, miss_offset_max = 0.04;
  AmbiguousChoice ambiguous_choice = AmbiguousChoice::Remember;
};

struct Move {
  Fruit fruit;
  Slot to;
};
// The expert's three moves for a start.
std::array<Move, 3> swap_plan(const StartState& start);
// The next move of an expert without memory from the slots the fruits are in (apple not in C: the apple to
// C; apple in C: the orange, if `orange_next`, else the apple, into the empty front slot).
Move memoryless_move(Slot apple, Slot orange, bool orange_next);

class SwapExpert {
 public:
  SwapExpert(const ExpertOptions& options, uint64_t seed);
  // Starts an episode from the env's current (reset) state; draws the episode's speed and pauses.
  void reset(const SwapEnv& env);
  // The action of the next control step (reads the fruit positions when a move starts, as a
  // tele-operator sees them).
  Action act(const SwapEnv& env);
  // All moves done and the last pause over (the expert then rests at home). Never for Random.
  bool finished() const { return options_.ambiguous_choice == AmbiguousChoice::Remember && move_ >= 3 && phases_.empty(); }
  int moves_started() const { return move_; }
  int missed_grasps() const { return missed_grasps_; }  // approaches executed beside the fruit so far
  // The action to execute for the expert's action `action` (its last act()): shifted sideways during the
  // approach and grasp of a move drawn to miss, unchanged otherwise.
  Action execute(const Action& action) const;

 private:
  struct Phase {
    enum Kind { OverFruit, AtFruit, Grip, Up, OverSlot, AtSlot, Release, Home, Dwell } kind;
    double grasp = 0;
    int hold = 0;  // steps at the target before the next phase
    bool started = false;
    Vec3 target{};
  };
  void plan_move(const SwapEnv& env);
  Move next_move(const SwapEnv& env);
  Vec3 phase_target(const Phase& phase, const SwapEnv& env);

  ExpertOptions options_;
  std::mt19937_64 rng_;
  std::array<Move, 3> plan_{};
  Move current_{};
  std::deque<Phase> phases_;
  int move_ = 0;
  double step_length_ = 0;
  Vec3 setpoint_{};
  Vec2 place_offset_{};
  Vec2 grasp_offset_{};  // nonzero: this move's first approach and grasp are executed beside the fruit
  Vec2 execution_offset_{};  // the shift of the last act()'s action (grasp_offset_ while approaching)
  int missed_grasps_ = 0;
  int held_steps_ = 0;
};

}  // namespace df::robot
