// Small data the video tests write themselves: synthetic digit images in the npm package's JSON format,
// TECO-style episodes (.npz / .mp4) and a temporary folder per test.
#pragma once
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>

#include "df/plot/plot.h"
#include "df/video/mnist_digits.h"
#include "df/video/npz_archive.h"

namespace df::video::test {

inline std::string temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("df_video_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// `per_class` images per class 0..9: a bright stroke-like rectangle whose size and place depend on the
// class and the image, anti-aliased edges (values in (0, 1)), zeros elsewhere.
inline MnistDigits synthetic_digits(int64_t per_class) {
  auto images = torch::zeros({10 * per_class, 28, 28});
  auto labels = torch::empty({10 * per_class}, torch::kLong);
  for (int64_t d = 0; d < 10; ++d)
    for (int64_t i = 0; i < per_class; ++i) {
      const int64_t k = d * per_class + i, top = 4 + (d + i) % 6, left = 6 + i % 5, h = 10 + d % 6, w = 4 + d % 5;
      images[k].slice(0, top, top + h).slice(1, left, left + w).fill_(1.0);
      images[k].slice(0, top - 1, top).slice(1, left, left + w).fill_(0.5);  // soft edge
      labels[k] = d;
    }
  return {images, labels};
}

// A DMLab-style episode: frame t is a gradient shifted by t (so any clip can be located), actions t % 3.
inline torch::Tensor dmlab_video(int64_t frames, int64_t size, int64_t offset = 0) {
  const auto t = torch::arange(frames).view({frames, 1, 1, 1});
  const auto y = torch::arange(size).view({1, size, 1, 1});
  const auto x = torch::arange(size).view({1, 1, size, 1});
  const auto c = torch::arange(3).view({1, 1, 1, 3});
  return ((t * 3 + y * 2 + x + c * 40 + offset) % 256).to(torch::kUInt8);
}

inline void write_dmlab_episode(const std::string& path, int64_t frames, int64_t size = 64, int64_t offset = 0) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_npz(path, {{"video", dmlab_video(frames, size, offset)}, {"actions", torch::arange(frames) % 3}}, true);
}

}  // namespace df::video::test
