#include "df/core/device.h"

#include <torch/cuda.h>

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

}  // namespace df
