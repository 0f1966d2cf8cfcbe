// df_fingerprint: the numerics fingerprint of each domain (df/experiment/numerics_fingerprint.h), one line
// "<domain> <16 hex digits>" each; scripts/lib/run_archive.sh keeps an archived run while its domain's
// fingerprint is unchanged.
//   df_fingerprint                          # every domain of this build
//   df_fingerprint --domain timeseries      # one (repeatable)
//   df_fingerprint --domain maze --explain  # also the hash of every output, to see which one moved
// Run it from the repository root (or give --source-dir): the time-series runs read data/timeseries.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "../common/tool_main.h"
#include "df/core/blas_kernels.h"
#include "df/experiment/numerics_fingerprint.h"
#include "df/experiment/registry.h"

int main(int argc, char** argv) {
  // First, as every tool; pinned to OpenBLAS's AVX2 kernels: the fingerprint names the code's numerics, not the
  // kernel set this machine's OpenBLAS would pick (df/core/blas_kernels.h).
  df::select_blas_kernels(argv, "Haswell");
  CLI::App cli{"Print the numerics fingerprint of each domain: a hash of tiny fixed training and sampling runs"};
  std::vector<std::string> names;
  df::FingerprintOptions options;
  bool explain = false, verbose = false;
  cli.add_option("--domain", names, "domain (repeatable; default: every domain of this build)");
  cli.add_option("--source-dir", options.source_dir, "repository root holding data/ (default: .)");
  cli.add_option("--set", options.overrides, "override a key of every run (to see what moves the fingerprint)");
  cli.add_flag("--explain", explain, "print the hash of every output of every run");
  cli.add_flag("--verbose", verbose, "log the runs");
  CLI11_PARSE(cli, argc, argv);
  if (!verbose) spdlog::set_level(spdlog::level::warn);  // stdout carries only the fingerprints
  return df::app::run_tool([&] {
    if (names.empty())
      for (const auto& d : df::domains()) names.push_back(d->name());
    for (const auto& name : names) {
      const auto start = std::chrono::steady_clock::now();
      const auto fp = df::numerics_fingerprint(name, options);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("%s %s\n", fp.domain.c_str(), fp.hex.c_str());
      if (explain)
        for (const auto& [label, hash] : fp.parts) std::printf("  %s %s\n", hash.c_str(), label.c_str());
      std::fflush(stdout);
      std::fprintf(stderr, "%s: %lld runs, %lld bytes hashed, %.1f s\n", name.c_str(), static_cast<long long>(fp.runs),
                   static_cast<long long>(fp.bytes_hashed), seconds);
    }
    return 0;
  });
}
