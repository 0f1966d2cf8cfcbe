#include "df/video/video_folder.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "df/core/error.h"
#include "df/video/video_file.h"

namespace df::video {
namespace {

namespace fs = std::filesystem;

class FolderClips : public ClipSource {
 public:
  FolderClips(std::vector<torch::Tensor> videos, std::vector<std::string> names, VideoFolderOptions options)
      : videos_(std::move(videos)), names_(std::move(names)), options_(std::move(options)) {
    for (const auto& v : videos_) total_clips_ += v.size(0) - options_.clip_frames + 1;
  }
  VideoClip random_clip(int64_t n_frames, torch::Generator& generator) const override {
    check(n_frames <= options_.clip_frames, "video folder: clips of " + std::to_string(n_frames) +
                                                " frames asked, the videos were cut for " +
                                                std::to_string(options_.clip_frames));
    // Every start offset of every video is one clip, equally likely.
    int64_t k = torch::randint(total_clips_, {1}, generator, torch::kLong).item<int64_t>();
    for (const auto& v : videos_) {
      const int64_t clips = v.size(0) - options_.clip_frames + 1;
      if (k < clips) return to_clip(v, k, n_frames);
      k -= clips;
    }
    throw Error("video folder: clip index out of range");  // unreachable
  }
  VideoClip clip(int64_t index, int64_t start, int64_t n_frames) const override {
    const auto& v = videos_[static_cast<size_t>(index) % videos_.size()];
    const int64_t offset = evaluation_offset(index);
    check(start >= 0 && offset + start + n_frames <= v.size(0),
          names_[static_cast<size_t>(index) % videos_.size()] + ": frames [" + std::to_string(offset + start) + ", " +
              std::to_string(offset + start + n_frames) + ") asked, the split has " + std::to_string(v.size(0)));
    return to_clip(v, offset + start, n_frames);
  }
  int64_t clip_length(int64_t index) const override {
    return videos_[static_cast<size_t>(index) % videos_.size()].size(0) - evaluation_offset(index);
  }
  int64_t num_clips() const override { return static_cast<int64_t>(videos_.size()); }
  int64_t channels() const override { return 3; }
  int64_t resolution() const override { return options_.resolution; }
  std::string describe() const override {
    return "videos in " + options_.root + " (" + std::to_string(videos_.size()) + " files)";
  }

 private:
  int64_t evaluation_offset(int64_t index) const {
    const auto v = static_cast<size_t>(index) % videos_.size();
    const int64_t starts = videos_[v].size(0) - options_.clip_frames + 1;  // >= 1
    return ((index / static_cast<int64_t>(videos_.size())) * options_.clip_frames) % starts;
  }
  static VideoClip to_clip(const torch::Tensor& video, int64_t start, int64_t n) {
    return {video.slice(0, start, start + n).permute({0, 3, 1, 2}).to(torch::kFloat32).div(255.0), {}};
  }

  std::vector<torch::Tensor> videos_;  // [T, R, R, 3] uint8 each
  std::vector<std::string> names_;
  VideoFolderOptions options_;
  int64_t total_clips_ = 0;
};

}  // namespace

std::shared_ptr<ClipSource> make_video_folder_source(const VideoFolderOptions& options, VideoSplit split) {
  check(options.resolution > 0 && options.clip_frames > 0, "video folder: resolution and clip_frames must be > 0");
  check(options.test_fraction > 0.0 && options.test_fraction < 1.0,
        "video.test_fraction: must be in (0, 1), got " + std::to_string(options.test_fraction));
  const fs::path root(options.root);
  check(fs::is_directory(root), "video.root: " + options.root + ": no such folder of videos");
  const bool split_folders = fs::is_directory(root / "train") && fs::is_directory(root / "test");
  const auto files =
      list_video_files((split_folders ? root / (split == VideoSplit::Train ? "train" : "test") : root).string());
  check(!files.empty(), "video.root: " + options.root + ": no video files (.mp4, .avi, .mkv, ...)");

  VideoReadOptions read;
  read.resolution = options.resolution;
  read.max_frames = options.max_frames_per_video;
  std::vector<torch::Tensor> videos;
  std::vector<std::string> names;
  for (const auto& file : files) {
    auto frames = read_video_file(file, read);
    if (!split_folders) {
      const int64_t T = frames.size(0),
                    n_train = T - static_cast<int64_t>(options.test_fraction * static_cast<double>(T));
      frames = split == VideoSplit::Train ? frames.slice(0, 0, n_train) : frames.slice(0, n_train);
    }
    if (frames.size(0) < options.clip_frames) {
      spdlog::warn("{}: {} frames in the {} split, fewer than a clip ({}); skipped", file, frames.size(0),
                   split == VideoSplit::Train ? "training" : "test", options.clip_frames);
      continue;
    }
    videos.push_back(frames.contiguous());
    names.push_back(file);
  }
  check(!videos.empty(), "video.root: " + options.root + ": no video has " + std::to_string(options.clip_frames) +
                             " frames in the " + (split == VideoSplit::Train ? "training" : "test") +
                             " split (video.n_frames, video.test_fraction)");
  return std::make_shared<FolderClips>(std::move(videos), std::move(names), options);
}

}  // namespace df::video
