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

}  // namespace df
