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

// The cores this process may run on (its CPU affinity: taskset, cgroup cpusets), at least 1.
int available_cpu_cores();

// Sets LibTorch's intra-op threads: `requested` > 0 as given; 0 = $OMP_NUM_THREADS when set, else
// available_cpu_cores(). (LibTorch 1.13 starts with one thread on some machines, leaving the other cores
// idle.) Returns the count set.
int configure_cpu_threads(int64_t requested);

}  // namespace df
