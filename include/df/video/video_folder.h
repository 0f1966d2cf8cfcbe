// The user's own footage: every video file OpenCV decodes below a folder, centre-cropped, resized and cut
// into clips. With <root>/train and <root>/test sub-folders those are the splits; otherwise every video is
// split in time (its first 1 - test_fraction of frames train, the rest test).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "df/video/video_clips.h"

namespace df::video {

struct VideoFolderOptions {
  std::string root;
  int64_t resolution = 64;
  int64_t clip_frames = 36;           // frames of one clip; shorter videos (or split parts) are skipped
  double test_fraction = 0.1;         // time split when there are no train/test sub-folders
  int64_t max_frames_per_video = -1;  // read at most this many frames of every file; -1 = all
};

// Reads every video of the split into memory at the given resolution. Evaluation clip i is video i mod V
// of the split, starting (i div V) * clip_frames frames in (wrapping within the video). Throws df::Error
// naming the folder when no video of the split is long enough, and naming the file when one cannot be read.
std::shared_ptr<ClipSource> make_video_folder_source(const VideoFolderOptions& options, VideoSplit split);

}  // namespace df::video
