// Shared pieces of the tools' main(): errors become exit codes in one place, and every tool records the
// exact command that produced its outputs.
#pragma once
#include <spdlog/spdlog.h>

#include <fstream>
#include <functional>
#include <string>

#include "df/core/error.h"

namespace df::app {

// Runs a tool body: df::Error (bad input, named by the library) exits with 2, anything else with 3.
inline int run_tool(const std::function<int()>& body) {
  try {
    return body();
  } catch (const df::Error& e) {
    spdlog::error("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::error("unexpected error: {}", e.what());
    return 3;
  }
}

// An argument as the shell reads it back: quoted when it holds anything but plain characters.
inline std::string shell_quoted(const std::string& arg) {
  const bool plain = !arg.empty() && arg.find_first_not_of(
                                         "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                         "0123456789_-./=:,+@%") == std::string::npos;
  if (plain) return arg;
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Writes (or appends) the command line to `path`, so that it can be run again as written.
inline void write_command(const std::string& path, int argc, char** argv, bool append = false) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  for (int i = 0; i < argc; ++i) out << (i ? " " : "") << shell_quoted(argv[i]);
  out << "\n";
}

}  // namespace df::app
