// Video prediction (paper section 4.1, appendix E.3) as a domain of the tools (experiment.domain: video):
// the `video` config section, training clips of Moving MNIST (real MNIST digits), TECO DMLab / Minecraft or
// a folder of the user's videos; validation PSNR / SSIM within the training length on test clips; df_sample
// context from the test split, one-hot actions for conditioned models, and rollouts streamed to MP4, a PNG
// strip and per-frame metrics (rollout_writer.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "df/core/config.h"
#include "df/core/enum_names.h"
#include "df/experiment/domain.h"
#include "df/video/video_clips.h"

namespace df::video {

enum class VideoDatasetKind { MovingMnist, Dmlab, Minecraft, Folder };

// The `video` section of an experiment config (defaults of the section come from this struct).
struct VideoOptions {
  VideoDatasetKind dataset = VideoDatasetKind::MovingMnist;
  std::string root = "data/mnist";  // MNIST digits / TECO root / folder of videos
  int64_t resolution = 64;
  int64_t n_frames = 36;              // L: frames of a training clip
  int64_t context_frames = 4;         // ground-truth frames a rollout continues (multiple of frame_stack)
  bool use_actions = false;           // condition on one-hot actions (DMLab / Minecraft); the paper does not
  int64_t num_digits = 2;             // Moving MNIST
  double digit_speed = 3.6;           // Moving MNIST, pixels per frame on the 64-pixel canvas
  double test_fraction = 0.1;         // MNIST digits / folder videos held out for the test split
  int64_t data_seed = 0;              // Moving MNIST test clips
  int64_t max_frames_per_video = -1;  // folder: frames read per file (-1 = all)
  int64_t validation_clips = 8;       // test clips rolled out at every validation
  int64_t range_clips = 128;          // training clips that set the statistics' range and the mean frame
  double fps = 10.0;                  // MP4
  int64_t strip_columns = 12;
  int64_t strip_rows = 4;
  int64_t mp4_rows = 4;
  int64_t tile_pixels = 64;      // frames are enlarged to at least this size in the strip
  int64_t mp4_tile_pixels = 64;  // ... and in the MP4 (small frames keep the files small)
};
VideoOptions read_video_options(const Config& config);

// One split of the dataset the options name, as clips (reads the digits / lists the episodes / decodes the
// videos; the domain keeps the sources it made).
std::shared_ptr<const ClipSource> make_video_source(const VideoOptions& options, VideoSplit split);

std::unique_ptr<Domain> make_video_domain();

}  // namespace df::video

namespace df {
template <>
struct EnumNames<video::VideoDatasetKind> {
  static constexpr const char* what = "video dataset";
  static constexpr EnumName<video::VideoDatasetKind> table[] = {{video::VideoDatasetKind::MovingMnist, "moving_mnist"},
                                                                {video::VideoDatasetKind::Dmlab, "dmlab"},
                                                                {video::VideoDatasetKind::Minecraft, "minecraft"},
                                                                {video::VideoDatasetKind::Folder, "folder"}};
};
}  // namespace df
