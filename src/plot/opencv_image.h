// Private helpers of df_plot shared by its OpenCV writers (PNG, MP4). Only built with OpenCV.
#pragma once
#include <torch/torch.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <string>
#include <system_error>

namespace df::plot {

inline void ensure_parent_folder(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code ignored;  // a failure shows up as a failed write, which names the path
  if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
}

// [H, W, 3] uint8 RGB tensor -> BGR Mat (a copy).
inline cv::Mat rgb_tensor_to_bgr(const torch::Tensor& rgb) {
  const torch::Tensor t = rgb.detach().to(torch::kCPU).contiguous();
  const cv::Mat view(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC3, t.data_ptr<uint8_t>());
  cv::Mat bgr;
  cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

}  // namespace df::plot
