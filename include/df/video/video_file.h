// Video files through OpenCV (any container / codec its FFmpeg backend decodes: .mp4, .avi, .mkv, ...):
// frames as RGB uint8 tensors, optionally centre-cropped to a square and resized with area averaging.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace df::video {

struct VideoReadOptions {
  int64_t resolution = 0;   // output frames resolution x resolution; 0 = the file's own size
  bool center_crop = true;  // crop the centre square before resizing (else the aspect ratio is squashed)
  int64_t max_frames = -1;  // stop after this many frames; -1 = all
};

// Frames [T, H, W, 3] uint8 RGB. Throws df::Error naming the file when it is missing, cannot be decoded,
// has no frames, or changes frame size mid-stream.
torch::Tensor read_video_file(const std::string& path, const VideoReadOptions& options = {});

// Video files below `folder` (recursively, by extension, sorted). Throws when the folder does not exist.
std::vector<std::string> list_video_files(const std::string& folder);

// Area-averaged resize of frames [T, H, W, 3] uint8 to [T, size, size, 3] (centre-cropped to a square first
// when `center_crop`).
torch::Tensor resize_frames(const torch::Tensor& frames, int64_t size, bool center_crop);

}  // namespace df::video
