// The one place where LibTorch 1.13 (Debian) and 2.x (PyTorch wheels) differ for this project.
#pragma once
#include <torch/torch.h>
#include <torch/version.h>
#include <ATen/autocast_mode.h>

#include <string>
#include <vector>

namespace df {

// Shapes are passed around as plain vectors; converted to IntArrayRef at the torch boundary.
using Shape = std::vector<int64_t>;

inline std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s.push_back(',');
    s.append(std::to_string(shape[i]));
  }
  s.push_back(']');
  return s;
}
inline std::string shape_str(const torch::Tensor& t) { return shape_str(t.sizes().vec()); }

// Enables autocast with the given dtype inside a scope: CUDA (fp16 or bf16) and CPU (bf16: convolutions and
// matrix products run in bf16, the rest in the dtype of their inputs; LibTorch's CPU autocast has no fp16).
// No-op when not enabled or for other devices.
class AutocastGuard {
 public:
  AutocastGuard(const torch::Device& device, torch::ScalarType dtype, bool enabled) {
    cpu_ = device.is_cpu();
    active_ = enabled && (device.is_cuda() || (cpu_ && dtype == torch::kBFloat16));
    if (!active_) return;
#if TORCH_VERSION_MAJOR >= 2 && (TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 4)
    const auto type = cpu_ ? at::kCPU : at::kCUDA;
    previous_enabled_ = at::autocast::is_autocast_enabled(type);
    previous_dtype_ = at::autocast::get_autocast_dtype(type);
    at::autocast::set_autocast_enabled(type, true);
    at::autocast::set_autocast_dtype(type, dtype);
#else
    if (cpu_) {
      previous_enabled_ = at::autocast::is_cpu_enabled();
      previous_dtype_ = at::autocast::get_autocast_cpu_dtype();
      at::autocast::set_cpu_enabled(true);
      at::autocast::set_autocast_cpu_dtype(dtype);
    } else {
      previous_enabled_ = at::autocast::is_enabled();
      previous_dtype_ = at::autocast::get_autocast_gpu_dtype();
      at::autocast::set_enabled(true);
      at::autocast::set_autocast_gpu_dtype(dtype);
    }
#endif
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if TORCH_VERSION_MAJOR >= 2 && (TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 4)
    const auto type = cpu_ ? at::kCPU : at::kCUDA;
    at::autocast::set_autocast_enabled(type, previous_enabled_);
    at::autocast::set_autocast_dtype(type, previous_dtype_);
#else
    if (cpu_) {
      at::autocast::set_cpu_enabled(previous_enabled_);
      at::autocast::set_autocast_cpu_dtype(previous_dtype_);
    } else {
      at::autocast::set_enabled(previous_enabled_);
      at::autocast::set_autocast_gpu_dtype(previous_dtype_);
    }
#endif
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool cpu_ = false;
  bool previous_enabled_ = false;
  torch::ScalarType previous_dtype_ = torch::kHalf;
};

// Whether autocast is on for the device type of `t` (inside an AutocastGuard), with its dtype.
inline bool autocast_enabled_for(const torch::Tensor& t) {
#if TORCH_VERSION_MAJOR >= 2 && (TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(t.device().type());
#else
  return t.is_cpu() ? at::autocast::is_cpu_enabled() : (t.is_cuda() && at::autocast::is_enabled());
#endif
}

// The dtype autocast computes in on the device type of `t` (meaningful where autocast_enabled_for(t)).
inline torch::ScalarType autocast_dtype_for(const torch::Tensor& t) {
#if TORCH_VERSION_MAJOR >= 2 && (TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 4)
  return at::autocast::get_autocast_dtype(t.device().type());
#else
  return t.is_cpu() ? at::autocast::get_autocast_cpu_dtype() : at::autocast::get_autocast_gpu_dtype();
#endif
}

}  // namespace df
