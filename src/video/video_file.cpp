#include "df/video/video_file.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::video {
namespace {

namespace fs = std::filesystem;

// BGR frame -> RGB, centre-cropped and resized as asked.
cv::Mat prepare(const cv::Mat& bgr, const VideoReadOptions& o) {
  cv::Mat frame = bgr;
  if (o.resolution > 0) {
    if (o.center_crop && frame.cols != frame.rows) {
      const int side = std::min(frame.cols, frame.rows);
      frame = frame(cv::Rect((frame.cols - side) / 2, (frame.rows - side) / 2, side, side));
    }
    const int size = static_cast<int>(o.resolution);
    if (frame.cols != size || frame.rows != size) {
      cv::Mat resized;
      cv::resize(frame, resized, cv::Size(size, size), 0, 0, cv::INTER_AREA);
      frame = resized;
    }
  }
  cv::Mat rgb;
  cv::cvtColor(frame, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

torch::Tensor to_tensor(const cv::Mat& rgb) {
  const cv::Mat contiguous = rgb.isContinuous() ? rgb : rgb.clone();
  return torch::from_blob(contiguous.data, {contiguous.rows, contiguous.cols, 3}, torch::kUInt8).clone();
}

}  // namespace

torch::Tensor read_video_file(const std::string& path, const VideoReadOptions& options) {
  check(fs::is_regular_file(path), path + ": no such video file");
  cv::VideoCapture capture;
  try {
    // FFmpeg first (it decodes the usual containers and codecs), then whatever backend OpenCV has.
    if (!capture.open(path, cv::CAP_FFMPEG)) capture.open(path, cv::CAP_ANY);
  } catch (const cv::Exception& e) {
    throw Error(path + ": OpenCV cannot open the video: " + e.what());
  }
  check(capture.isOpened(), path + ": OpenCV cannot decode this file as a video (unknown container or codec?)");
  std::vector<torch::Tensor> frames;
  cv::Mat bgr;
  int first_rows = -1, first_cols = -1;
  while (options.max_frames < 0 || static_cast<int64_t>(frames.size()) < options.max_frames) {
    bool ok = false;
    try {
      ok = capture.read(bgr);
    } catch (const cv::Exception& e) {
      throw Error(path + ": decoding frame " + std::to_string(frames.size()) + " failed: " + e.what());
    }
    if (!ok || bgr.empty()) break;
    check(bgr.type() == CV_8UC3, path + ": frame " + std::to_string(frames.size()) + " is not 8-bit colour");
    if (first_rows < 0) first_rows = bgr.rows, first_cols = bgr.cols;
    check(bgr.rows == first_rows && bgr.cols == first_cols,
          path + ": frame " + std::to_string(frames.size()) + " is " + std::to_string(bgr.cols) + "x" +
              std::to_string(bgr.rows) + " but the video started at " + std::to_string(first_cols) + "x" +
              std::to_string(first_rows));
    frames.push_back(to_tensor(prepare(bgr, options)));
  }
  check(!frames.empty(), path + ": OpenCV decoded no frames (empty or unreadable video)");
  return torch::stack(frames);  // [T, H, W, 3]
}

std::vector<std::string> list_video_files(const std::string& folder) {
  check(fs::is_directory(folder), folder + ": no such folder of videos");
  static const std::set<std::string> kExtensions = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg",
                                                    ".m4v", ".wmv", ".flv", ".ogv", ".3gp",  ".gif"};
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (!entry.is_regular_file()) continue;
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (kExtensions.count(ext)) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

torch::Tensor resize_frames(const torch::Tensor& frames, int64_t size, bool center_crop) {
  check(frames.dim() == 4 && frames.size(3) == 3 && frames.scalar_type() == torch::kUInt8,
        "resize_frames: frames must be [T, H, W, 3] uint8, got " + shape_str(frames));
  if (frames.size(1) == size && frames.size(2) == size) return frames;
  VideoReadOptions o;
  o.resolution = size;
  o.center_crop = center_crop;
  const auto cpu = frames.to(torch::kCPU).contiguous();
  std::vector<torch::Tensor> out;
  for (int64_t t = 0; t < cpu.size(0); ++t) {
    const auto rgb = cpu[t].contiguous();
    const cv::Mat view(static_cast<int>(rgb.size(0)), static_cast<int>(rgb.size(1)), CV_8UC3, rgb.data_ptr<uint8_t>());
    cv::Mat bgr;  // prepare() expects BGR; the channel swap there undoes this one
    cv::cvtColor(view, bgr, cv::COLOR_RGB2BGR);
    out.push_back(to_tensor(prepare(bgr, o)));
  }
  return torch::stack(out);
}

}  // namespace df::video
