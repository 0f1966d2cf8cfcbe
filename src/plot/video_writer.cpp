#include "df/plot/video_writer.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include "df/core/compat.h"
#include "df/core/error.h"

#ifdef DF_HAVE_OPENCV
#include <opencv2/videoio.hpp>

#include "opencv_image.h"
#endif

namespace df::plot {

#ifdef DF_HAVE_OPENCV
struct VideoWriter::Impl {
  cv::VideoWriter writer;
};
#else
struct VideoWriter::Impl {};
#endif

VideoWriter::VideoWriter(std::string path, double fps) : path_(std::move(path)), fps_(fps) {
#ifndef DF_HAVE_OPENCV
  throw Error("VideoWriter: built without OpenCV: cannot write " + path_);
#endif
  check(fps > 0.0 && std::isfinite(fps), "VideoWriter: fps must be > 0, got " + std::to_string(fps) + " for " + path_);
  impl_ = std::make_unique<Impl>();
}

VideoWriter::~VideoWriter() {
  try {
    if (frames_ > 0) close();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());  // destructors must not throw
  }
}

void VideoWriter::write(const torch::Tensor& frame) {
  check(!closed_, "VideoWriter: " + path_ + " is already closed");
  check(frame.defined() && frame.dim() == 3 && frame.size(2) == 3 && frame.scalar_type() == torch::kUInt8,
        "VideoWriter: frames must be [H, W, 3] uint8 RGB tensors, got " +
            (frame.defined() ? shape_str(frame) + " " + std::string(c10::toString(frame.scalar_type()))
                             : std::string("an undefined tensor")) +
            " for " + path_);
#ifdef DF_HAVE_OPENCV
  if (frames_ == 0) {
    height_ = frame.size(0);
    width_ = frame.size(1);
    ensure_parent_folder(path_);
    const cv::Size size(static_cast<int>(width_), static_cast<int>(height_));
    try {
      impl_->writer.open(path_, cv::VideoWriter::fourcc('m', 'p', '4', 'v'), fps_, size, /*isColor=*/true);
    } catch (const cv::Exception& e) {
      throw Error("VideoWriter: cannot open " + path_ + ": " + e.what());
    }
    check(impl_->writer.isOpened(), "VideoWriter: OpenCV cannot open " + path_ +
                                        " for writing with the mp4v codec (folder writable? OpenCV built with a "
                                        "video backend?)");
  }
  check(frame.size(0) == height_ && frame.size(1) == width_,
        "VideoWriter: frame " + std::to_string(frames_) + " of " + path_ + " is " + shape_str(frame) +
            " but the video is " + std::to_string(height_) + "x" + std::to_string(width_));
  impl_->writer.write(rgb_tensor_to_bgr(frame));
  ++frames_;
#endif
}

void VideoWriter::close() {
  if (closed_) return;
  closed_ = true;
  check(frames_ > 0, "VideoWriter: no frames written to " + path_);
#ifdef DF_HAVE_OPENCV
  impl_->writer.release();
#endif
}

void write_video(const std::string& path, const torch::Tensor& frames, double fps) {
  check(frames.defined() && frames.dim() == 4 && frames.size(0) >= 1 && frames.size(3) == 3 &&
            frames.scalar_type() == torch::kUInt8,
        "write_video: frames must be a [T, H, W, 3] uint8 RGB tensor with T >= 1, got " +
            (frames.defined() ? shape_str(frames) + " " + std::string(c10::toString(frames.scalar_type()))
                              : std::string("an undefined tensor")) +
            " for " + path);
  VideoWriter writer(path, fps);
  const torch::Tensor cpu = frames.detach().to(torch::kCPU);
  for (int64_t t = 0; t < cpu.size(0); ++t) writer.write(cpu[t]);
  writer.close();
}

}  // namespace df::plot
