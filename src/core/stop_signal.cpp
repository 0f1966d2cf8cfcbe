#include "df/core/stop_signal.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "df/core/error.h"

namespace df {

namespace {

// Written only by the handler (first signal wins), read by StopSignalGuard::signal().
volatile std::sig_atomic_t g_stop_signal = 0;
std::atomic<bool> g_guard_active{false};

void record_stop_signal(int signal_number) {
  if (g_stop_signal == 0) g_stop_signal = signal_number;
}

bool ignored(const struct sigaction& action) {
  return (action.sa_flags & SA_SIGINFO) == 0 && action.sa_handler == SIG_IGN;
}

void install(int signal_number, int extra_flags, struct sigaction* previous) {
  check(sigaction(signal_number, nullptr, previous) == 0,
        "StopSignalGuard: cannot read the handler of " + StopSignalGuard::name(signal_number) + ": " +
            std::strerror(errno));
  if (ignored(*previous)) return;
  struct sigaction action {};
  action.sa_handler = record_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: reads and writes in progress (checkpoint, metrics) continue instead of failing with EINTR.
  action.sa_flags = SA_RESTART | extra_flags;
  check(sigaction(signal_number, &action, nullptr) == 0,
        "StopSignalGuard: cannot install a handler for " + StopSignalGuard::name(signal_number) + ": " +
            std::strerror(errno));
}

}  // namespace

StopSignalGuard::StopSignalGuard() {
  check(!g_guard_active.exchange(true), "StopSignalGuard: another guard is already active in this process");
  g_stop_signal = 0;
  bool term_installed = false;
  try {
    install(SIGTERM, 0, &previous_term_);
    term_installed = true;
    install(SIGINT, SA_RESETHAND, &previous_int_);  // a second Ctrl-C ends the process at once
  } catch (...) {
    if (term_installed) sigaction(SIGTERM, &previous_term_, nullptr);
    g_guard_active = false;
    throw;
  }
}

StopSignalGuard::~StopSignalGuard() {
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
  g_guard_active = false;
}

int StopSignalGuard::signal() const { return static_cast<int>(g_stop_signal); }

std::string StopSignalGuard::name(int signal_number) {
  if (signal_number == SIGTERM) return "SIGTERM";
  if (signal_number == SIGINT) return "SIGINT";
  return "signal " + std::to_string(signal_number);
}

}  // namespace df
