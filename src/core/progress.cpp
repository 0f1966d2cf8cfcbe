#include "df/core/progress.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <sstream>

namespace df {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds)) return "?";
  const auto s = static_cast<int64_t>(seconds);
  std::ostringstream out;
  if (s >= 3600) out << s / 3600 << "h";
  out << (s % 3600) / 60 << "m" << s % 60 << "s";
  return out.str();
}

ProgressMeter::ProgressMeter(std::string what, std::string unit, int64_t total, double interval_seconds)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total), interval_(interval_seconds) {
  start_ = last_log_ = Clock::now();
}

double ProgressMeter::rate() const {
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  return elapsed > 0 ? done_ / elapsed : 0.0;
}

void ProgressMeter::update(int64_t done) {
  done_ = done;
  const auto now = Clock::now();
  if (done < total_ && std::chrono::duration<double>(now - last_log_).count() < interval_) return;
  last_log_ = now;
  const double r = rate();
  spdlog::info("{}: {}/{} {}, {:.2f} {}/s, ETA {}", what_, done, total_, unit_, r, unit_,
               format_duration(r > 0 ? (total_ - done) / r : INFINITY));
}

}  // namespace df
