// Device selection: "auto" picks CUDA when LibTorch sees a GPU, else CPU.
#pragma once
#include <torch/types.h>

#include <string>

namespace df {

// Parses "auto", "cpu", "cuda" or "cuda:N". Throws df::Error naming the value when it is invalid or
// when CUDA is requested but not available.
torch::Device resolve_device(const std::string& name);

// Human readable description (device name, CUDA/cuDNN availability) for logs.
std::string describe_device(const torch::Device& device);

// Whether this processor computes bf16 natively: x86 AVX512-BF16 or AMX-BF16 (bf16 dot products at twice
// the fp32 rate in oneDNN), AArch64 BF16. Elsewhere LibTorch's bf16 runs through fp32 conversions and is
// slower than fp32. `what` (optional) gets the instruction set found, e.g. "AVX512-BF16".
bool cpu_computes_bf16_natively(std::string* what = nullptr);

// The cores this process may run on (its CPU affinity: taskset, cgroup cpusets), at least 1.
int available_cpu_cores();

// Sets LibTorch's intra-op threads: `requested` > 0 as given; 0 = $OMP_NUM_THREADS when set, else
// available_cpu_cores(). (LibTorch 1.13 starts with one thread on some machines, leaving the other cores
// idle.) Returns the count set.
int configure_cpu_threads(int64_t requested);

// Sets LibTorch's intra-op threads for a scope and restores them after (threads <= 0: no change). Small CPU
// workloads (a batch-1 guided plan) run faster on one thread than on two: their products are too small to
// split, and every split pays the threads' fork and join.
class IntraOpThreadsGuard {
 public:
  explicit IntraOpThreadsGuard(int threads);
  ~IntraOpThreadsGuard();
  IntraOpThreadsGuard(const IntraOpThreadsGuard&) = delete;
  IntraOpThreadsGuard& operator=(const IntraOpThreadsGuard&) = delete;

 private:
  int previous_ = 0;
};

// Keeps large host tensors on the malloc heap instead of a fresh mmap each (glibc): a training step frees
// and reallocates the same multi-megabyte gradient buffers hundreds of times, and by default every one of
// them is mapped and unmapped again, so each first write page-faults (the maze-large step with and without
// it: docs/results/performance.md, section 4). Sets M_MMAP_THRESHOLD to 64 MiB and M_TRIM_THRESHOLD to
// 512 MiB. The tools call it at start-up (setup_runtime); a program of its own may call
// it before its first allocation. No-op without glibc or when DF_DEFAULT_MALLOC=1. Returns whether it
// changed the settings.
// Under tcmalloc (host_malloc()) it changes nothing and returns false: mallopt is glibc's.
bool tune_host_allocator();

// The malloc this process runs on, from the library that defines `malloc`: "tcmalloc" when the executable is
// linked with gperftools' tcmalloc_minimal (CMake option DF_MALLOC, the default where the library is found:
// its per-thread caches serve the many small allocations of a CPU training step faster than glibc;
// docs/results/malloc.md), "glibc", or the file name of whichever other library defines it.
std::string host_malloc();

}  // namespace df
