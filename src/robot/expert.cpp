#include "df/robot/expert.h"

#include <cmath>

#include "df/core/error.h"

namespace df::robot {

std::array<Move, 3> swap_plan(const StartState& start) {
  const Slot apple = start.apple_slot, orange = apple == Slot::A ? Slot::B : Slot::A;
  return {Move{Fruit::Apple, Slot::C}, Move{Fruit::Orange, apple}, Move{Fruit::Apple, orange}};
}

Move memoryless_move(Slot apple, Slot orange, bool orange_next) {
  if (apple != Slot::C) return {Fruit::Apple, Slot::C};
  const Slot empty = orange == Slot::A ? Slot::B : Slot::A;
  return {orange_next ? Fruit::Orange : Fruit::Apple, empty};
}

SwapExpert::SwapExpert(const ExpertOptions& options, uint64_t seed) : options_(options), rng_(seed) {
  check(options.speed > 0 && options.dwell_min <= options.dwell_max &&
            options.start_dwell_min <= options.start_dwell_max && options.grasp_steps >= 1,
        "ExpertOptions: speed > 0, dwell_min <= dwell_max, start_dwell_min <= start_dwell_max, grasp_steps >= 1");
  check(options.missed_grasp_share >= 0 && options.missed_grasp_share <= 1 && options.miss_offset_min >= 0 &&
            options.miss_offset_min <= options.miss_offset_max,
        "ExpertOptions: missed_grasp_share in [0, 1] and 0 <= miss_offset_min <= miss_offset_max");
}

void SwapExpert::reset(const SwapEnv& env) {
  plan_ = swap_plan(env.start());
  move_ = 0;
  held_steps_ = 0;
  missed_grasps_ = 0;
  grasp_offset_ = execution_offset_ = {0, 0};
  setpoint_ = env.hand();
  std::uniform_real_distribution<double> jitter(1.0 - options_.speed_jitter, 1.0 + options_.speed_jitter);
  step_length_ = options_.speed * jitter(rng_) * env.spec().control_dt;
  phases_.clear();
  Phase pause{Phase::Dwell};
  pause.hold = std::uniform_int_distribution<int>(options_.start_dwell_min, options_.start_dwell_max)(rng_);
  phases_.push_back(pause);
}

Move SwapExpert::next_move(const SwapEnv& env) {
  if (options_.ambiguous_choice == AmbiguousChoice::Remember) return plan_[static_cast<size_t>(move_ - 1)];
  // The slot each fruit is nearest to (it rests there after the expert's moves).
  auto nearest = [&](Fruit f) {
    const Vec3 p = env.fruit(f);
    Slot best = Slot::A;
    double best_distance = 1e9;
    for (Slot s : {Slot::A, Slot::B, Slot::C}) {
      const double d = std::hypot(p[0] - env.spec().slot(s)[0], p[1] - env.spec().slot(s)[1]);
      if (d < best_distance) best = s, best_distance = d;
    }
    return best;
  };
  const bool orange_next = std::bernoulli_distribution(0.5)(rng_);
  return memoryless_move(nearest(Fruit::Apple), nearest(Fruit::Orange), orange_next);
}

void SwapExpert::plan_move(const SwapEnv& env) {
  current_ = next_move(env);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double jitter = options_.place_jitter < 0 ? env.spec().fruit_jitter : options_.place_jitter;
  const double r = jitter * std::sqrt(u(rng_)), angle = 2.0 * M_PI * u(rng_);
  place_offset_ = {r * std::cos(angle), r * std::sin(angle)};
  grasp_offset_ = {0, 0};
  if (options_.missed_grasp_share > 0 && u(rng_) < options_.missed_grasp_share) {
    const double r = options_.miss_offset_min + (options_.miss_offset_max - options_.miss_offset_min) * u(rng_);
    const double a = 2.0 * M_PI * u(rng_);
    grasp_offset_ = {r * std::cos(a), r * std::sin(a)};
    ++missed_grasps_;
  }
  const int g = options_.grasp_steps;
  const int dwell = std::uniform_int_distribution<int>(options_.dwell_min, options_.dwell_max)(rng_);
  // kind, grasp, hold
  phases_ = {{Phase::OverFruit, 0, 0}, {Phase::AtFruit, 0, 0},  {Phase::Grip, 1, g},    {Phase::Up, 1, 0},
             {Phase::OverSlot, 1, 0},  {Phase::AtSlot, 1, 0},   {Phase::Release, 0, g}, {Phase::Up, 0, 0},
             {Phase::Home, 0, 0},      {Phase::Dwell, 0, dwell}};
}

Vec3 SwapExpert::phase_target(const Phase& phase, const SwapEnv& env) {
  const Move& move = current_;
  const double travel = options_.travel_height;
  switch (phase.kind) {
    case Phase::OverFruit: {
      const Vec3 p = env.fruit(move.fruit);
      return {p[0], p[1], travel};
    }
    case Phase::AtFruit:
      return env.fruit(move.fruit);
    case Phase::Up:
      return {setpoint_[0], setpoint_[1], travel};
    case Phase::OverSlot: {
      const Vec2& c = env.spec().slot(move.to);
      return {c[0] + place_offset_[0], c[1] + place_offset_[1], travel};
    }
    case Phase::AtSlot:
      return {setpoint_[0], setpoint_[1], env.spec().fruit_radius(move.fruit) + 0.004};
    case Phase::Home:
      return env.spec().home;
    case Phase::Grip:
    case Phase::Release:
    case Phase::Dwell:
      return setpoint_;
  }
  return setpoint_;
}

Action SwapExpert::act(const SwapEnv& env) {
  if (phases_.empty() && (move_ < 3 || options_.ambiguous_choice == AmbiguousChoice::Random)) {
    ++move_;
    plan_move(env);
  }
  execution_offset_ = {0, 0};
  if (phases_.empty()) return {setpoint_[0], setpoint_[1], setpoint_[2], 0.0};  // done: rest at home
  if (!phases_.front().started && phases_.front().kind == Phase::Up && phases_.front().grasp > 0 &&
      env.gripper() == Gripper::ClosedEmpty) {
    // The grasp closed on nothing: open, move from where the hand really is to the fruit, close again.
    grasp_offset_ = {0, 0};
    setpoint_ = env.hand();
    const int g = options_.grasp_steps;
    phases_.insert(phases_.begin(), {{Phase::Release, 0, g}, {Phase::AtFruit, 0, 0}, {Phase::Grip, 1, g}});
  }
  Phase& phase = phases_.front();
  if (!phase.started) {
    phase.target = phase_target(phase, env);
    phase.started = true;
    held_steps_ = 0;
  }
  Vec3 d{phase.target[0] - setpoint_[0], phase.target[1] - setpoint_[1], phase.target[2] - setpoint_[2]};
  const double distance = std::sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  bool reached = distance <= step_length_;
  if (reached) {
    setpoint_ = phase.target;
  } else {
    for (size_t k = 0; k < 3; ++k) setpoint_[k] += d[k] * step_length_ / distance;
  }
  const Action action{setpoint_[0], setpoint_[1], setpoint_[2], phase.grasp};
  // The shift lasts from the move's start through its grasp: the hand travels, descends and closes beside
  // the fruit (the Up phase after the grasp, or the retry, ends it).
  const bool approaching = phase.kind == Phase::OverFruit || phase.kind == Phase::AtFruit || phase.kind == Phase::Grip;
  execution_offset_ = approaching ? grasp_offset_ : Vec2{0, 0};
  if (reached && held_steps_++ >= phase.hold) phases_.pop_front();
  return action;
}

Action SwapExpert::execute(const Action& action) const {
  return {action[0] + execution_offset_[0], action[1] + execution_offset_[1], action[2], action[3]};
}

}  // namespace df::robot
