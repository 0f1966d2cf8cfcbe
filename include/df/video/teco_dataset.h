// The paper's video datasets in TECO's layout (Yan et al.; the archives are 54 GB / 210 GB and are supplied by
// the user), read as the reference does:
//   DMLab:     <root>/{train,test}/**/<id>.npz, `video` uint8 [300, 64, 64, 3], `actions` int [300] (3 actions)
//   Minecraft: <root>/{train,test}/**/<id>.mp4 at 128x128, beside <id>.npz holding `actions` (4 actions; the
//              first entry is dropped, so action t goes with frame t)
// A `validation` folder stands in for `test` (the reference renames it). Frames are resized to the model's
// resolution with area averaging.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "df/video/video_clips.h"

namespace df::video {

enum class TecoDataset { Dmlab, Minecraft };

struct VideoEpisode {
  torch::Tensor frames;   // [T, H, W, 3] uint8 RGB
  torch::Tensor actions;  // [T] int64
};

int64_t teco_native_resolution(TecoDataset dataset);  // 64 (DMLab), 128 (Minecraft)
int64_t teco_num_actions(TecoDataset dataset);        // 3 (DMLab), 4 (Minecraft)

// Episode files (.npz for DMLab, .mp4 for Minecraft) of a split, sorted. Throws naming the folder when it is
// missing or holds none.
std::vector<std::string> list_teco_episodes(const std::string& root, TecoDataset dataset, VideoSplit split);

// One episode at `resolution` (0 = native). Throws df::Error naming the file when it cannot be read, lacks
// `video` / `actions`, has frames of another size than the dataset's native one, or actions out of range.
VideoEpisode read_teco_episode(const std::string& path, TecoDataset dataset, int64_t resolution);

// A split as clips: random episode and start for training; evaluation clip i is the episode at position i of a
// fixed shuffle (seed 0) of the sorted list, from its first frame.
std::shared_ptr<ClipSource> make_teco_source(const std::string& root, TecoDataset dataset, VideoSplit split,
                                             int64_t resolution);

}  // namespace df::video
