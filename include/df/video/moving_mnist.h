// Moving MNIST (Srivastava et al., 2015) generated from real digits: `num_digits` 28x28 digits move in
// straight lines on a 64x64 canvas and bounce off the walls; frames combine the digits with a pixel-wise
// max. Output frames are the canvas area-averaged down to `resolution` (64: the standard task; 32: the CPU
// variant). Clip i is a pure function of (digits, seed, i), and the motion is closed-form (a triangle wave
// per axis), so frames [start, start + n) of a clip are exact for any start: the generator is the ground
// truth of a rollout of any length.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "df/video/video_clips.h"

namespace df::video {

struct MovingMnistOptions {
  int64_t canvas = 64;      // simulation canvas (pixels); digits are 28x28 on it
  int64_t resolution = 64;  // output frames; canvas / resolution must be an integer
  int64_t num_digits = 2;
  double speed = 3.6;  // canvas pixels per frame (the standard 0.1 of the free range 36)
  uint64_t seed = 0;   // with the clip index, fixes digits, start positions and directions
};

// Where clip `index` starts: which digit images, their top-left positions and velocities on the canvas.
struct DigitMotion {
  int64_t image = 0;      // row of the digit tensor
  double x = 0, y = 0;    // top-left at frame 0, in [0, canvas - 28]
  double vx = 0, vy = 0;  // canvas pixels per frame
};

class MovingMnist {
 public:
  // digits [N, 28, 28] float in [0, 1] (e.g. one split of read_mnist_digits).
  MovingMnist(torch::Tensor digits, MovingMnistOptions options);

  std::vector<DigitMotion> motion(int64_t index) const;
  // Top-left positions at frames [start, start + length): [length, num_digits, 2] (x, y), float64, canvas
  // pixels (before rounding to the drawn pixel).
  torch::Tensor positions(int64_t index, int64_t start, int64_t length) const;
  // Frames [start, start + length) of clip `index`: [length, 1, resolution, resolution] float32 in [0, 1].
  torch::Tensor frames(int64_t index, int64_t start, int64_t length) const;

  const MovingMnistOptions& options() const { return options_; }
  int64_t num_images() const { return digits_.size(0); }

 private:
  torch::Tensor digits_;  // [N, 28, 28] float32, CPU, contiguous
  MovingMnistOptions options_;
};

// One split of Moving MNIST as clips: training clips are random clip indices (a fresh motion every draw),
// evaluation clip i is clip i of the generator; the two splits should be given disjoint digit images.
std::shared_ptr<ClipSource> make_moving_mnist_source(torch::Tensor digits, MovingMnistOptions options);

// Reflection of a free coordinate into [0, range]: the position of a point bouncing between two walls.
double bounce(double free_position, double range);

}  // namespace df::video
