// Progress lines for long work (training, rollouts): done/total, rate and ETA, written through spdlog at
// most every `interval_seconds` (and at the end).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace df {

// "1h02m03s", "4m05s", "?" for a non-finite value.
std::string format_duration(double seconds);

class ProgressMeter {
 public:
  // `what` names the work ("rollout"), `unit` the counted items ("frames").
  ProgressMeter(std::string what, std::string unit, int64_t total, double interval_seconds = 5.0);
  // Reports `done` items so far; logs when the interval has passed or the work is complete.
  void update(int64_t done);
  double rate() const;  // items per second since construction

 private:
  using Clock = std::chrono::steady_clock;
  std::string what_, unit_;
  int64_t total_, done_ = 0;
  double interval_;
  Clock::time_point start_, last_log_;
};

}  // namespace df
