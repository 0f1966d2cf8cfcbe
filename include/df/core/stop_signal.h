// Graceful stop on SIGTERM / SIGINT, the way clusters and terminals end jobs.
//
// While a StopSignalGuard lives, SIGTERM and SIGINT only record the signal number (the handler does nothing
// else, so it is async-signal-safe); the program polls requested() at a safe point (the trainer: between
// steps), writes what it must and exits. The previous handlers come back when the guard is destroyed.
//   - A second SIGINT gets the default action (the process ends at once), so pressing Ctrl-C twice still
//     works when a step or a checkpoint write is slow; checkpoint writes are atomic, so this cannot leave a
//     torn checkpoint.pt behind. Repeated SIGTERMs are only recorded: a scheduler may deliver one both
//     directly and through a launcher (srun, mpirun), and it sends SIGKILL itself when its grace time ends.
//   - A signal that was ignored when the guard was made (SIG_IGN, e.g. SIGINT of a background job started
//     by a non-interactive shell) stays ignored.
//   - One guard at a time: the flag is process-wide, so constructing a second one throws df::Error.
// POSIX only (sigaction).
#pragma once
#include <signal.h>

#include <string>

namespace df {

class StopSignalGuard {
 public:
  StopSignalGuard();
  ~StopSignalGuard();
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;

  // True once SIGTERM or SIGINT arrived. Reads one volatile sig_atomic_t: cheap enough for every step.
  bool requested() const { return signal() != 0; }
  // The signal number that arrived first (SIGTERM or SIGINT), 0 if none yet.
  int signal() const;

  // "SIGTERM", "SIGINT", or "signal N".
  static std::string name(int signal_number);

 private:
  struct sigaction previous_term_ {};
  struct sigaction previous_int_ {};
};

}  // namespace df
