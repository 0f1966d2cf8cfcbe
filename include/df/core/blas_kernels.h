// Which kernels the BLAS under LibTorch runs (matrix products outside oneDNN: linear layers, GRU cells,
// attention), and choosing the widest ones the processor has.
//
// Why: OpenBLAS (Debian 12: 0.3.21, built for every x86 core) picks its kernel set when it is loaded, from
// the CPU or from OPENBLAS_CORETYPE. Machines that pin OPENBLAS_CORETYPE=Haswell (this project's
// development machines do) run its AVX2 kernels on AVX-512 processors; its AVX-512 (SkylakeX) kernels make
// a batch-1 guided maze plan about 2x faster and the maze-medium training step 1.5x faster there
// (docs/results/blas_kernels.md). OpenBLAS reads the variable once, before main() runs, so a program can
// only change its kernels by starting again with the variable changed, which select_blas_kernels() does.
#pragma once
#include <string>

namespace df {

// The loaded BLAS: "OpenBLAS" with its kernel set (e.g. "Haswell", "SkylakeX"), or an empty library name
// when LibTorch runs on another BLAS (then nothing here applies).
struct BlasKernels {
  std::string library;
  std::string core;
};
BlasKernels loaded_blas_kernels();

// The widest OpenBLAS kernel set this processor runs: "SkylakeX" with AVX-512 F, CD, BW, DQ and VL,
// "Haswell" with AVX2 and FMA, else empty.
std::string widest_openblas_core();

// Called first in a tool's main(); DF_BLAS_KERNELS says what it does:
//   unset or "auto": when OPENBLAS_CORETYPE is unset and the loaded OpenBLAS runs narrower kernels than
//                    widest_openblas_core(), start this program again (execv of /proc/self/exe, same
//                    arguments) with OPENBLAS_CORETYPE set to the widest set;
//   "widest":        the same even when OPENBLAS_CORETYPE names a narrower set (the experiment scripts);
//   "keep":          nothing.
// `pin` (non-empty) asks for that kernel set whatever the environment says, where the processor runs it
// (df_fingerprint pins "Haswell": a fingerprint must not depend on the machine's kernel choice). Starts
// again at most once (DF_BLAS_KERNELS_CHOSEN marks the second start); a failed execv logs a warning and
// returns. Returns without doing anything when LibTorch does not run on OpenBLAS.
void select_blas_kernels(char** argv, const std::string& pin = "");

// One line for the log: "BLAS: OpenBLAS SkylakeX kernels (chosen by df: ...)" and the like, with a hint
// when OPENBLAS_CORETYPE holds OpenBLAS below the processor's widest kernels.
std::string describe_blas_kernels();

}  // namespace df
