#include "df/training/launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

#include "df/core/device.h"
#include "df/core/error.h"
#include "df/core/stop_signal.h"

extern char** environ;

namespace df {

namespace {

// The launcher's own signal record: every SIGTERM / SIGINT is forwarded once to every child, so a second
// Ctrl-C reaches the children as a second SIGINT (which ends them at once, see df/core/stop_signal.h).
volatile sig_atomic_t g_signals_received = 0;
volatile sig_atomic_t g_last_signal = 0;

void record_signal(int signal_number) {
  g_last_signal = signal_number;
  g_signals_received = g_signals_received + 1;
}

class ForwardingHandlers {
 public:
  ForwardingHandlers() {
    g_signals_received = 0;
    g_last_signal = 0;
    struct sigaction action {};
    action.sa_handler = record_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // no SA_RESTART: the poll's sleep wakes up at once
    sigaction(SIGTERM, &action, &previous_term_);
    sigaction(SIGINT, &action, &previous_int_);
  }
  ~ForwardingHandlers() {
    sigaction(SIGTERM, &previous_term_, nullptr);
    sigaction(SIGINT, &previous_int_, nullptr);
  }
  ForwardingHandlers(const ForwardingHandlers&) = delete;
  ForwardingHandlers& operator=(const ForwardingHandlers&) = delete;

 private:
  struct sigaction previous_term_ {};
  struct sigaction previous_int_ {};
};

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = strsignal(WTERMSIG(status));
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + (name ? std::string(" (") + name + ")" : "");
  }
  return "ended with raw status " + std::to_string(status);
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

struct Child {
  int rank = 0;
  pid_t pid = -1;
  bool running = false;
};

// Environment of rank `rank`: ours without the variables we set, then those.
std::vector<std::string> child_environment(int rank, const LaunchOptions& options, int port, int threads) {
  const std::set<std::string> replaced = {"RANK",        "WORLD_SIZE",  "LOCAL_RANK", "LOCAL_WORLD_SIZE",
                                          "GROUP_RANK",  "MASTER_ADDR", "MASTER_PORT"};
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry = *e;
    if (!replaced.count(entry.substr(0, entry.find('=')))) env.push_back(entry);
  }
  const auto n = std::to_string(options.nproc);
  env.push_back("RANK=" + std::to_string(rank));
  env.push_back("WORLD_SIZE=" + n);
  env.push_back("LOCAL_RANK=" + std::to_string(rank));
  env.push_back("LOCAL_WORLD_SIZE=" + n);
  env.push_back("GROUP_RANK=0");
  env.push_back("MASTER_ADDR=" + options.master_addr);
  env.push_back("MASTER_PORT=" + std::to_string(port));
  if (!std::getenv("OMP_NUM_THREADS")) env.push_back("OMP_NUM_THREADS=" + std::to_string(threads));
  return env;
}

pid_t start_child(const std::string& program, const std::vector<std::string>& args, std::vector<std::string> env) {
  // Everything the child needs is built before fork: between fork and exec only async-signal-safe calls.
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv, envp;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  check(pid >= 0, "launcher: cannot fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    // Its own process group: a terminal's Ctrl-C reaches the launcher only, which forwards it exactly once.
    setpgid(0, 0);
#if defined(__linux__)
    prctl(PR_SET_PDEATHSIG, SIGTERM);  // the launcher died: checkpoint and stop
    if (getppid() != parent) _exit(1);
#endif
    struct sigaction defaults {};
    defaults.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &defaults, nullptr);
    sigaction(SIGINT, &defaults, nullptr);
    execve(argv[0], argv.data(), envp.data());
    const char message[] = "launcher: cannot execute the program\n";
    (void)!write(2, message, sizeof message - 1);
    _exit(127);
  }
  return pid;
}

void signal_running(std::vector<Child>& children, int signal_number) {
  for (auto& c : children)
    if (c.running) kill(c.pid, signal_number);
}

}  // namespace

int find_free_port(const std::string& address) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  check(fd >= 0, "find_free_port: cannot create a socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    throw Error("find_free_port: \"" + address + "\" is not an IPv4 address");
  }
  socklen_t length = sizeof addr;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0;
  const std::string error = ok ? "" : std::strerror(errno);
  close(fd);
  check(ok, "find_free_port: cannot bind a port on " + address + ": " + error);
  return ntohs(addr.sin_port);
}

std::string current_executable() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  check(!ec, "cannot find the running executable (/proc/self/exe): " + ec.message());
  return path.string();
}

std::vector<std::string> arguments_without(int argc, const char* const* argv, const std::string& flag) {
  std::vector<std::string> kept;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == flag) {
      ++i;  // and its value
      continue;
    }
    if (a.rfind(flag + "=", 0) == 0) continue;
    kept.push_back(a);
  }
  return kept;
}

int launch_local_processes(const std::string& program, const std::vector<std::string>& args,
                           const LaunchOptions& options) {
  check(options.nproc >= 1, "launcher: the number of processes must be >= 1, got " + std::to_string(options.nproc));
  const int port = options.master_port > 0 ? options.master_port : find_free_port(options.master_addr);
  const int threads = options.threads_per_process > 0 ? options.threads_per_process
                                                      : std::max(1, available_cpu_cores() / options.nproc);
  const char* omp = std::getenv("OMP_NUM_THREADS");
  spdlog::info("launcher: {} processes, MASTER_ADDR={} MASTER_PORT={}, OMP_NUM_THREADS={} each", options.nproc,
               options.master_addr, port, omp ? std::string(omp) : std::to_string(threads));

  ForwardingHandlers handlers;
  std::vector<Child> children;
  for (int rank = 0; rank < options.nproc; ++rank) {
    Child c;
    c.rank = rank;
    try {
      c.pid = start_child(program, args, child_environment(rank, options, port, threads));
    } catch (const Error&) {
      signal_running(children, SIGKILL);
      for (auto& started : children) waitpid(started.pid, nullptr, 0);
      throw;
    }
    c.running = true;
    spdlog::info("launcher: rank {} is pid {}", rank, c.pid);
    children.push_back(c);
  }

  using clock = std::chrono::steady_clock;
  int result = 0;
  int running = options.nproc;
  int forwarded = 0;
  bool failed = false, killed = false;
  clock::time_point kill_at{};
  while (running > 0) {
    while (forwarded < g_signals_received) {  // forward each SIGTERM / SIGINT once
      ++forwarded;
      spdlog::info("launcher: forwarding {} to the ranks", StopSignalGuard::name(g_last_signal));
      signal_running(children, g_last_signal);
    }
    bool reaped = false;
    const bool failed_before = failed;
    for (auto& c : children) {  // only our own children: the caller may have others
      int status = 0;
      if (!c.running || waitpid(c.pid, &status, WNOHANG) != c.pid) continue;
      reaped = true;
      c.running = false;
      --running;
      const int code = exit_code(status);
      if (code == 0) continue;
      if (result == 0) result = code;
      // A failure that is not the answer to a forwarded signal stops the job; ranks that end in the same
      // poll are all named (which one broke first cannot be told apart).
      if (g_signals_received == 0 && !failed_before) {
        spdlog::error("launcher: rank {} (pid {}) {}", c.rank, c.pid, describe_status(status));
        failed = true;
      } else {
        spdlog::info("launcher: rank {} (pid {}) {}", c.rank, c.pid, describe_status(status));
      }
    }
    if (failed && !failed_before) {
      spdlog::error("launcher: stopping the other {} rank(s) (SIGTERM, SIGKILL after {} s)", running,
                    options.kill_grace_seconds);
      signal_running(children, SIGTERM);
      kill_at = clock::now() + std::chrono::milliseconds(static_cast<int64_t>(options.kill_grace_seconds * 1000));
    }
    if (reaped) continue;
    if (failed && !killed && clock::now() >= kill_at) {
      spdlog::error("launcher: {} rank(s) still running {} s after the failure; killing them", running,
                    options.kill_grace_seconds);
      signal_running(children, SIGKILL);
      killed = true;
    }
    timespec pause{0, 20 * 1000 * 1000};
    nanosleep(&pause, nullptr);
  }
  return result;
}

}  // namespace df
