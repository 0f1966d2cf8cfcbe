// The tools' choice of OpenBLAS kernels (df/core/blas_kernels.h), through a probe program started with a
// controlled environment: the restart must happen exactly when the loaded kernels are narrower than the
// processor's, and must load the kernels it asked for.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include "df/core/blas_kernels.h"

namespace {

// Runs the probe under `env` (VAR=value ...; OPENBLAS_CORETYPE and DF_BLAS_* cleared first) and returns
// its output line split at '|'.
std::pair<std::string, std::string> probe(const std::string& env, const std::string& pin = "") {
  const std::string cmd = "env -u OPENBLAS_CORETYPE -u DF_BLAS_KERNELS -u DF_BLAS_KERNELS_CHOSEN " + env + " " +
                          DF_BINARY_DIR "/tests/core/blas_kernels_probe " + pin;
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 256> buf{};
  if (pipe) {
    while (fgets(buf.data(), buf.size(), pipe)) out += buf.data();
    EXPECT_EQ(pclose(pipe), 0) << cmd;
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const auto bar = out.find('|');
  EXPECT_NE(bar, std::string::npos) << "probe printed \"" << out << "\"";
  if (bar == std::string::npos) return {out, ""};
  return {out.substr(0, bar), out.substr(bar + 1)};
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_avx512_core(const std::string& core) {
  const auto c = lower(core);
  return c == "skylakex" || c == "cooperlake" || c == "sapphirerapids";
}

}  // namespace

TEST(BlasKernels, ToolsRunTheWidestKernelsTheProcessorHas) {
  if (df::loaded_blas_kernels().library.empty()) GTEST_SKIP() << "LibTorch does not run on OpenBLAS here";
  const auto widest = df::widest_openblas_core();
  // What OpenBLAS picks by itself, and what a tool runs.
  const auto [own_core, own_mark] = probe("DF_BLAS_KERNELS=keep");
  EXPECT_EQ(own_mark, "-");
  const auto [core, mark] = probe("");
  if (widest == "SkylakeX") {
    EXPECT_TRUE(is_avx512_core(core)) << "a tool runs " << core << " kernels on an AVX-512 processor";
    if (is_avx512_core(own_core)) {
      EXPECT_EQ(mark, "-") << "restarted although OpenBLAS already ran " << own_core;
    } else {
      EXPECT_EQ(mark, "OpenBLAS SkylakeX kernels instead of " + own_core);
    }
  } else {
    EXPECT_EQ(core, own_core);
    EXPECT_EQ(mark, "-");
  }
}

TEST(BlasKernels, AnExplicitChoiceIsKeptUnlessWidestIsAskedAndAPinWins) {
  if (df::loaded_blas_kernels().library.empty()) GTEST_SKIP() << "LibTorch does not run on OpenBLAS here";
  const auto widest = df::widest_openblas_core();
  if (widest.empty()) GTEST_SKIP() << "this processor has no AVX2";
  // The environment's OPENBLAS_CORETYPE stands by default ...
  const auto [set_core, set_mark] = probe("OPENBLAS_CORETYPE=Haswell");
  EXPECT_EQ(lower(set_core), "haswell");
  EXPECT_EQ(set_mark, "-");
  // ... and DF_BLAS_KERNELS=widest overrides it where the processor has wider kernels.
  const auto [wide_core, wide_mark] = probe("OPENBLAS_CORETYPE=Haswell DF_BLAS_KERNELS=widest");
  if (widest == "SkylakeX") {
    EXPECT_TRUE(is_avx512_core(wide_core)) << wide_core;
    EXPECT_EQ(wide_mark, "OpenBLAS SkylakeX kernels instead of Haswell");
    // A pin (df_fingerprint) wins over the environment, in any mode but keep.
    const auto [pinned_core, pinned_mark] = probe("OPENBLAS_CORETYPE=SkylakeX DF_BLAS_KERNELS=widest", "Haswell");
    EXPECT_EQ(lower(pinned_core), "haswell");
    EXPECT_EQ(pinned_mark, "OpenBLAS Haswell kernels instead of SkylakeX");
    const auto [kept_core, kept_mark] = probe("OPENBLAS_CORETYPE=SkylakeX DF_BLAS_KERNELS=keep", "Haswell");
    EXPECT_EQ(lower(kept_core), "skylakex");
    EXPECT_EQ(kept_mark, "-");
  } else {
    EXPECT_EQ(lower(wide_core), "haswell");
    EXPECT_EQ(wide_mark, "-");
  }
  // A set the processor lacks is never forced.
  const auto [core, mark] = probe("OPENBLAS_CORETYPE=Haswell", "NoSuchCore");
  EXPECT_EQ(lower(core), "haswell");
  EXPECT_EQ(mark, "-");
}
