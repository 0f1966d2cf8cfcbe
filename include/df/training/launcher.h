// Starts N copies of a program on this machine as the ranks of one data-parallel job, the way torchrun does
// (df_train --nproc N): each child gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and
// MASTER_PORT. The launcher forwards SIGTERM / SIGINT to the children (they checkpoint and exit), waits for
// all of them, and when one fails it stops the others and reports which rank failed.
// POSIX (fork / exec); the children also get SIGTERM if the launcher dies (Linux).
#pragma once
#include <string>
#include <vector>

namespace df {

struct LaunchOptions {
  int nproc = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;  // 0 = a free port of master_addr
  // OMP_NUM_THREADS of each child when the environment does not set it: 0 = this process's cores / nproc
  // (at least 1), so that N processes share the machine instead of each taking every core.
  int threads_per_process = 0;
  // After a child fails, the others get SIGTERM (they write checkpoint.pt and exit), then SIGKILL after this.
  double kill_grace_seconds = 30.0;
};

// Runs `program` with `args` (argv[1..]) as ranks 0..nproc-1 and returns the launcher's exit code: 0 when
// every rank exited with 0; else the status of the first rank that failed (128 + signal when it was killed),
// after logging "rank R (pid P) ...". Throws df::Error when a child cannot be started.
int launch_local_processes(const std::string& program, const std::vector<std::string>& args,
                           const LaunchOptions& options);

// A TCP port on `address` that was free a moment ago (bound to port 0 and released).
int find_free_port(const std::string& address = "127.0.0.1");

// The running executable (/proc/self/exe), to start copies of oneself.
std::string current_executable();

// argv[1..argc) without `flag` and its value ("--flag V" or "--flag=V").
std::vector<std::string> arguments_without(int argc, const char* const* argv, const std::string& flag);

}  // namespace df
