#include "df/core/blas_kernels.h"

#include <dlfcn.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace df {
namespace {

constexpr const char* kChosenMark = "DF_BLAS_KERNELS_CHOSEN";

std::string lowercase(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_avx512_core(const std::string& core) {
  const auto c = lowercase(core);  // OpenBLAS's names of its AVX-512 kernel sets
  return c == "skylakex" || c == "cooperlake" || c == "sapphirerapids";
}

}  // namespace

BlasKernels loaded_blas_kernels() {
  // OpenBLAS exports its kernel set's name; the symbol is looked up rather than linked so that the tools
  // also run on LibTorch builds with another BLAS (MKL in the CUDA wheels).
  using CoreName = char* (*)();
  const auto core_name = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!core_name) return {};
  const char* core = core_name();
  return {"OpenBLAS", core ? core : ""};
}

std::string widest_openblas_core() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

void select_blas_kernels(char** argv, const std::string& pin) {
  const char* mode_env = std::getenv("DF_BLAS_KERNELS");
  const std::string mode = mode_env && *mode_env ? mode_env : "auto";
  if (mode != "auto" && mode != "widest" && mode != "keep")
    spdlog::warn("DF_BLAS_KERNELS=\"{}\" is not auto, widest or keep; taken as auto", mode);
  if (mode == "keep" || std::getenv(kChosenMark)) return;
  const auto loaded = loaded_blas_kernels();
  if (loaded.library.empty()) return;
  const auto widest = widest_openblas_core();
  std::string want;
  if (!pin.empty()) {
    // A pinned set only where the processor runs it: the widest set covers it (AVX-512 implies AVX2).
    if (!widest.empty() && (pin == widest || (pin == "Haswell" && widest == "SkylakeX"))) want = pin;
  } else if (widest == "SkylakeX" && !is_avx512_core(loaded.core) &&
             (mode == "widest" || !std::getenv("OPENBLAS_CORETYPE"))) {
    want = widest;
  }
  if (want.empty() || lowercase(loaded.core) == lowercase(want)) return;
  setenv("OPENBLAS_CORETYPE", want.c_str(), 1);
  setenv(kChosenMark, ("OpenBLAS " + want + " kernels instead of " + loaded.core).c_str(), 1);
  execv("/proc/self/exe", argv);
  // Only reached when the restart failed: go on with the kernels loaded.
  spdlog::warn("could not restart with OpenBLAS {} kernels ({}); running with {}", want, std::strerror(errno),
               loaded.core);
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv(kChosenMark);
}

std::string describe_blas_kernels() {
  const auto loaded = loaded_blas_kernels();
  if (loaded.library.empty()) return "BLAS: not OpenBLAS";
  std::string line = "BLAS: " + loaded.library + " " + loaded.core + " kernels";
  if (const char* chosen = std::getenv(kChosenMark)) {
    line += std::string(" (chosen by df: ") + chosen + ")";
  } else if (const char* env = std::getenv("OPENBLAS_CORETYPE")) {
    line += std::string(" (OPENBLAS_CORETYPE=") + env + ")";
    if (widest_openblas_core() == "SkylakeX" && !is_avx512_core(loaded.core))
      line += "; this processor runs OpenBLAS's AVX-512 kernels: DF_BLAS_KERNELS=widest uses them";
  }
  return line;
}

}  // namespace df
