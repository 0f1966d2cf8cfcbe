#include "df/video/teco_dataset.h"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <random>

#include "df/core/compat.h"
#include "df/core/error.h"
#include "df/video/npz_archive.h"
#include "df/video/video_file.h"

namespace df::video {
namespace {

namespace fs = std::filesystem;

const char* dataset_name(TecoDataset d) { return d == TecoDataset::Dmlab ? "DMLab" : "Minecraft"; }

torch::Tensor require_array(const std::map<std::string, torch::Tensor>& arrays, const std::string& key,
                            const std::string& path) {
  const auto it = arrays.find(key);
  std::string found;
  for (const auto& [name, _] : arrays) found += (found.empty() ? "" : ", ") + name;
  check(it != arrays.end(), path + ": no `" + key + "` array (found: " + (found.empty() ? "none" : found) + ")");
  return it->second;
}

torch::Tensor checked_actions(torch::Tensor actions, int64_t num_actions, const std::string& path) {
  check(actions.dim() == 1 && actions.numel() > 0 && !actions.is_floating_point() &&
            actions.scalar_type() != torch::kBool,
        path + ": `actions` must be a 1-D integer array, got " + shape_str(actions) + " " +
            std::string(c10::toString(actions.scalar_type())));
  actions = actions.to(torch::kLong);
  const auto lo = actions.min().item<int64_t>(), hi = actions.max().item<int64_t>();
  check(lo >= 0 && hi < num_actions, path + ": actions must be in [0, " + std::to_string(num_actions) + "), found " +
                                         std::to_string(lo) + ".." + std::to_string(hi));
  return actions;
}

void check_frame_size(const torch::Tensor& frames, TecoDataset dataset, const std::string& path) {
  const int64_t native = teco_native_resolution(dataset);
  check(frames.size(1) == native && frames.size(2) == native,
        path + ": frames are " + std::to_string(frames.size(2)) + "x" + std::to_string(frames.size(1)) + ", but " +
            dataset_name(dataset) + " frames are " + std::to_string(native) + "x" + std::to_string(native));
}

class TecoClips : public ClipSource {
 public:
  TecoClips(std::vector<std::string> files, TecoDataset dataset, int64_t resolution, std::string root)
      : files_(std::move(files)), dataset_(dataset), resolution_(resolution), root_(std::move(root)) {
    order_.resize(files_.size());
    std::iota(order_.begin(), order_.end(), size_t{0});
    std::mt19937_64 shuffle(0);  // evaluation order: fixed, diverse
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[shuffle() % i]);
  }
  VideoClip random_clip(int64_t n_frames, torch::Generator& generator) const override {
    const auto file = torch::randint(static_cast<int64_t>(files_.size()), {1}, generator, torch::kLong).item<int64_t>();
    const auto e = episode(files_[static_cast<size_t>(file)]);
    const int64_t T = e.frames.size(0);
    check(T >= n_frames, files_[static_cast<size_t>(file)] + ": " + std::to_string(T) +
                             " frames, fewer than video.n_frames = " + std::to_string(n_frames));
    const auto start = torch::randint(T - n_frames + 1, {1}, generator, torch::kLong).item<int64_t>();
    return slice(e, start, n_frames);
  }
  VideoClip clip(int64_t index, int64_t start, int64_t n_frames) const override {
    const auto& path = files_[order_[static_cast<size_t>(index) % order_.size()]];
    const auto e = episode(path);
    check(start >= 0 && start + n_frames <= e.frames.size(0),
          path + ": frames [" + std::to_string(start) + ", " + std::to_string(start + n_frames) +
              ") asked, the episode has " + std::to_string(e.frames.size(0)));
    return slice(e, start, n_frames);
  }
  int64_t clip_length(int64_t index) const override {
    return episode(files_[order_[static_cast<size_t>(index) % order_.size()]]).frames.size(0);
  }
  int64_t num_clips() const override { return static_cast<int64_t>(files_.size()); }
  int64_t channels() const override { return 3; }
  int64_t resolution() const override { return resolution_; }
  int64_t num_actions() const override { return teco_num_actions(dataset_); }
  std::string describe() const override {
    return std::string(dataset_name(dataset_)) + " at " + root_ + " (" + std::to_string(files_.size()) + " episodes)";
  }

 private:
  static VideoClip slice(const VideoEpisode& e, int64_t start, int64_t n) {
    VideoClip c;
    c.frames = e.frames.slice(0, start, start + n).permute({0, 3, 1, 2}).to(torch::kFloat32).div(255.0);
    c.actions = e.actions.slice(0, start, start + n);
    return c;
  }
  // The last episode read is kept: evaluation asks for consecutive pieces of the same clip.
  VideoEpisode episode(const std::string& path) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (path != cached_path_) {
      cached_ = read_teco_episode(path, dataset_, resolution_);
      cached_path_ = path;
    }
    return cached_;
  }

  std::vector<std::string> files_;
  std::vector<size_t> order_;
  TecoDataset dataset_;
  int64_t resolution_;
  std::string root_;
  mutable std::mutex mutex_;
  mutable std::string cached_path_;
  mutable VideoEpisode cached_;
};

}  // namespace

int64_t teco_native_resolution(TecoDataset dataset) { return dataset == TecoDataset::Dmlab ? 64 : 128; }
int64_t teco_num_actions(TecoDataset dataset) { return dataset == TecoDataset::Dmlab ? 3 : 4; }

std::vector<std::string> list_teco_episodes(const std::string& root, TecoDataset dataset, VideoSplit split) {
  check(fs::is_directory(root), "video.root: " + root + ": no such folder (expected TECO's " + dataset_name(dataset) +
                                    " layout <root>/{train,test}/...)");
  fs::path folder = fs::path(root) / (split == VideoSplit::Train ? "train" : "test");
  if (split == VideoSplit::Test && !fs::is_directory(folder)) folder = fs::path(root) / "validation";
  check(fs::is_directory(folder), "video.root: " + folder.string() + ": no such folder (TECO layout <root>/" +
                                      (split == VideoSplit::Train ? "train" : "test") + "/...)");
  const std::string ext = dataset == TecoDataset::Dmlab ? ".npz" : ".mp4";
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(folder))
    if (entry.is_regular_file() && entry.path().extension() == ext) files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  check(!files.empty(), "video.root: " + folder.string() + ": no " + ext + " episodes of " + dataset_name(dataset));
  return files;
}

VideoEpisode read_teco_episode(const std::string& path, TecoDataset dataset, int64_t resolution) {
  VideoEpisode e;
  if (dataset == TecoDataset::Dmlab) {
    const auto arrays = read_npz(path);
    auto video = require_array(arrays, "video", path);
    check(video.dim() == 4 && video.size(3) == 3 && video.scalar_type() == torch::kUInt8,
          path + ": `video` must be uint8 [T, H, W, 3], got " + shape_str(video) + " " +
              std::string(c10::toString(video.scalar_type())));
    check_frame_size(video, dataset, path);
    e.frames = video;
    e.actions = checked_actions(require_array(arrays, "actions", path), teco_num_actions(dataset), path);
  } else {
    e.frames = read_video_file(path);
    check_frame_size(e.frames, dataset, path);
    const std::string npz = fs::path(path).replace_extension(".npz").string();
    check(fs::exists(npz), path + ": no actions file " + npz + " beside the video");
    auto actions = checked_actions(require_array(read_npz(npz), "actions", npz), teco_num_actions(dataset), npz);
    e.actions = actions.slice(0, 1);  // the reference drops the first action
  }
  // Frames without an action (or actions without a frame) are cut off.
  const int64_t T = std::min(e.frames.size(0), e.actions.size(0));
  check(T >= 1, path + ": no frame has an action");
  e.frames = e.frames.slice(0, 0, T);
  e.actions = e.actions.slice(0, 0, T);
  if (resolution > 0 && resolution != e.frames.size(1)) e.frames = resize_frames(e.frames, resolution, true);
  return e;
}

std::shared_ptr<ClipSource> make_teco_source(const std::string& root, TecoDataset dataset, VideoSplit split,
                                             int64_t resolution) {
  check(resolution > 0, "video.resolution: must be > 0");
  return std::make_shared<TecoClips>(list_teco_episodes(root, dataset, split), dataset, resolution, root);
}

}  // namespace df::video
