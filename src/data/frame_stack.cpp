#include "df/data/frame_stack.h"

#include "df/core/compat.h"
#include "df/core/error.h"
#include "df/data/sequence_dataset.h"

namespace df {

torch::Tensor stack_frames(const torch::Tensor& frames, int64_t fs) {
  check(fs >= 1 && frames.dim() >= 3 && frames.size(0) % fs == 0,
        "stack_frames: expected [T*fs, B, ...] with T*fs divisible by frame_stack " + std::to_string(fs) + ", got " +
            shape_str(frames));
  const int64_t T = frames.size(0) / fs, B = frames.size(1);
  auto sizes = frames.sizes().vec();
  // [T, fs, B, C, ...] -> [T, B, fs, C, ...] -> merge fs into the first feature axis.
  std::vector<int64_t> split{T, fs, B};
  split.insert(split.end(), sizes.begin() + 2, sizes.end());
  auto x = frames.reshape(split).transpose(1, 2);
  std::vector<int64_t> merged{T, B, fs * sizes[2]};
  merged.insert(merged.end(), sizes.begin() + 3, sizes.end());
  return x.reshape(merged);
}

torch::Tensor unstack_frames(const torch::Tensor& tokens, int64_t fs) {
  check(fs >= 1 && tokens.dim() >= 3 && tokens.size(2) % fs == 0,
        "unstack_frames: token features " + shape_str(tokens) + " not divisible by frame_stack " + std::to_string(fs));
  const int64_t T = tokens.size(0), B = tokens.size(1);
  auto sizes = tokens.sizes().vec();
  std::vector<int64_t> split{T, B, fs, sizes[2] / fs};
  split.insert(split.end(), sizes.begin() + 3, sizes.end());
  auto x = tokens.reshape(split).transpose(1, 2);
  std::vector<int64_t> out{T * fs, B, sizes[2] / fs};
  out.insert(out.end(), sizes.begin() + 3, sizes.end());
  return x.reshape(out);
}


}  // namespace df
