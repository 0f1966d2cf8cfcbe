// The numerics fingerprint of a domain: a hash of the exact outputs of tiny fixed runs of its whole pipeline,
// df_train then the domain's evaluation tools (fp32, CPU, fixed seeds, one thread), in seconds. Two builds
// with the same fingerprint compute the same numbers on these runs, so a result archived under one build
// stays valid under the other (scripts/lib/run_archive.sh); a speed-up or a refactor that keeps every bit
// keeps the fingerprint, a change of numerics moves it.
//
//   auto fp = df::numerics_fingerprint("timeseries", {});   // fp.hex: 16 hex digits
//
// What is hashed, per run of Domain::fingerprint_runs: the loss of every training step, every validation's
// metrics, the final training weights, the inference weights read back from the checkpoint the tools read
// (best.pt when training.best_metric is set) and Domain::fingerprint_evaluation's outputs. Values only:
// paths, run_dir, logging and checkpoint cadence, names and wall times do not enter it.
//
// Bitwise reproducibility, and what the fingerprint depends on:
//  * Threads: forced to one LibTorch intra-op thread (restored afterwards). Reductions and GEMMs split work
//    by thread count, which changes the order of float additions.
//  * Device: CPU, fp32 (experiment.device=cpu, training.precision=fp32 are forced).
//  * Allocator: c10's CPU allocator aligns every buffer to 64 bytes whatever malloc does, so the heap
//    settings of tune_host_allocator (or DF_DEFAULT_MALLOC=1) do not change the bits.
//  * CPU kind and LibTorch build: ATen and its BLAS pick vector kernels (AVX2, AVX-512, ...) by CPU and
//    build, and their float rounding differs; a fingerprint is comparable only between machines of the
//    same kind running the same LibTorch (elsewhere it reads as "changed": conservative).
//  * Seeds: every run fixes experiment.seed, and sampling seeds are constants.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "df/experiment/domain.h"
#include "df/experiment/numerics_digest.h"

namespace df {

struct FingerprintOptions {
  // The repository root (data/timeseries); the tools default to the current folder.
  std::string source_dir = ".";
  // "key.path=value" applied to every run after its built-in YAML (tests: a numerics change, or a key that
  // must not matter). The forced keys (device, threads, precision, run_dir) are applied after these.
  std::vector<std::string> overrides;
  // Called on each run's model right after initialisation (tests: perturb one weight).
  std::function<void(DiffusionForcingModel&)> after_init;
};

struct NumericsFingerprint {
  std::string domain;
  std::string hex;  // 16 hex digits
  int64_t runs = 0;
  int64_t bytes_hashed = 0;
  std::vector<std::pair<std::string, std::string>> parts;  // "<run>/<output>" -> hash of that output alone
};

// Runs the domain's fingerprint runs in a temporary folder (removed afterwards). Throws df::Error naming the
// domain when it has no fingerprint runs or is not built.
NumericsFingerprint numerics_fingerprint(const std::string& domain, const FingerprintOptions& options = {});
// The same for a Domain object whose runs name a built domain (tests: a domain with a refactored evaluation).
NumericsFingerprint numerics_fingerprint(const Domain& domain, const FingerprintOptions& options = {});

}  // namespace df
