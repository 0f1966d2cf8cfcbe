// MP4 output through OpenCV (mp4v fourcc): a streaming writer that takes one frame at a time, so a rollout of
// any length is written without holding its frames, and write_video for frames already in memory.
//
//   df::plot::VideoWriter mp4("rollout.mp4", /*fps=*/10);
//   for (...) mp4.write(frame);  // [H, W, 3] uint8 RGB, every frame the size of the first
//   mp4.close();                 // also done by the destructor
//
// Without OpenCV (no DF_HAVE_OPENCV) opening throws df::Error naming the path.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

namespace df::plot {

class VideoWriter {
 public:
  // Creates missing parent folders; the file is opened at the first frame (its size fixes the video's).
  VideoWriter(std::string path, double fps);
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // frame [H, W, 3] uint8 RGB on any device. Throws df::Error naming the path on a size change or a failure.
  void write(const torch::Tensor& frame);
  // Finishes the file (idempotent). A writer closed without frames throws: an MP4 needs at least one.
  void close();
  int64_t frames_written() const { return frames_; }
  const std::string& path() const { return path_; }

 private:
  struct Impl;  // holds the cv::VideoWriter
  std::string path_;
  double fps_;
  int64_t frames_ = 0;
  int64_t height_ = 0, width_ = 0;
  bool closed_ = false;
  std::unique_ptr<Impl> impl_;
};

// frames [T, H, W, 3] uint8 RGB (any device) -> MP4 (mp4v fourcc) at `fps` frames per second.
void write_video(const std::string& path, const torch::Tensor& frames, double fps);

}  // namespace df::plot
