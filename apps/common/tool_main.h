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

// Writes (or appends) the command line to `path`.
inline void write_command(const std::string& path, int argc, char** argv, bool append = false) {
  std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
  for (int i = 0; i < argc; ++i) out << (i ? " " : "") << argv[i];
  out << "\n";
}

}  // namespace df::app
