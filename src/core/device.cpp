#include "df/core/device.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sched.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <thread>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

#include "df/core/error.h"

namespace df {

torch::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) == 0) {
    check(torch::cuda::is_available(),
          "device: \"" + name + "\" requested but this LibTorch build sees no CUDA device (use device: auto or cpu)");
    try {
      return torch::Device(name);
    } catch (const std::exception&) {
      throw Error("device: cannot parse \"" + name + "\" (expected cuda or cuda:N)");
    }
  }
  throw Error("device: expected auto, cpu, cuda or cuda:N, got \"" + name + "\"");
}

std::string describe_device(const torch::Device& device) {
  if (device.is_cpu()) return "cpu";
  return device.str() + " (CUDA devices: " + std::to_string(torch::cuda::device_count()) +
         ", cuDNN: " + (torch::cuda::cudnn_is_available() ? "yes" : "no") + ")";
}

bool cpu_computes_bf16_natively(std::string* what) {
  std::string found;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // GCC and Clang name the CPUID bits; the OS must also save the AVX-512 state, which the builtin checks.
  if (__builtin_cpu_supports("avx512bf16")) found = "AVX512-BF16";
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 13
  if (found.empty() && __builtin_cpu_supports("amx-bf16")) found = "AMX-BF16";
#endif
#elif defined(__aarch64__) && defined(__linux__)
  const unsigned long hwcap2 = getauxval(AT_HWCAP2);
#ifdef HWCAP2_BF16
  if (hwcap2 & HWCAP2_BF16) found = "ARMv8.6 BF16";
#else
  (void)hwcap2;
#endif
#endif
  if (what) *what = found;
  return !found.empty();
}

int available_cpu_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

int configure_cpu_threads(int64_t requested) {
  check(requested >= 0, "threads: expected a number >= 0, got " + std::to_string(requested));
  int threads = requested > 0 ? static_cast<int>(requested) : available_cpu_cores();
  if (requested == 0) {  // an explicit OMP_NUM_THREADS (e.g. several runs sharing a machine) wins
    const char* env = std::getenv("OMP_NUM_THREADS");
    if (env && std::atoi(env) > 0) threads = std::atoi(env);
  }
  at::set_num_threads(threads);
  return threads;
}

IntraOpThreadsGuard::IntraOpThreadsGuard(int threads) {
  if (threads <= 0 || threads == at::get_num_threads()) return;
  previous_ = at::get_num_threads();
  at::set_num_threads(threads);
}

IntraOpThreadsGuard::~IntraOpThreadsGuard() {
  if (previous_ > 0) at::set_num_threads(previous_);
}

std::string host_malloc() {
  Dl_info info{};
  void* fn = dlsym(RTLD_DEFAULT, "malloc");
  if (!fn || !dladdr(fn, &info) || !info.dli_fname) return "unknown";
  const std::string file = info.dli_fname;
  if (file.find("tcmalloc") != std::string::npos) return "tcmalloc";
  if (file.find("libc.so") != std::string::npos) return "glibc";
  return file.substr(file.find_last_of('/') + 1);
}

bool tune_host_allocator() {
#ifdef __GLIBC__
  const char* keep = std::getenv("DF_DEFAULT_MALLOC");
  if (keep && std::string(keep) == "1") return false;
  if (host_malloc() != "glibc") return false;
  // Fixed thresholds (setting them turns glibc's dynamic threshold off): blocks below 64 MiB come from the
  // heap and stay there for reuse; the heap top is given back only past 512 MiB free.
  return mallopt(M_MMAP_THRESHOLD, 64 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 512 << 20) == 1;
#else
  return false;
#endif
}

}  // namespace df
