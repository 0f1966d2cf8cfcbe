// Demonstrations of the fruit swap: the scripted expert recorded with both cameras (appendix F.3: ~100
// demonstrations, half for each start), and their folder format.
//
// A demonstration folder:
//   format.txt              "df-robot-demos 1", then "resolution R" and "frame_every s" lines
//   demos.csv               name,apple_slot,seed,frames,success_step (one row per demonstration)
//   <name>/frames.npy       uint8 [F, 2, R, R, 3]: overview and hand camera at control steps 0, s, 2s, ...
//   <name>/actions.npy      float32 [(F - 1) * s, 4]: target x, y, z (metres) and grasp (0 / 1) per step
// Reading checks every file against format.txt and demos.csv and names the file that is missing or wrong.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "df/robot/cameras.h"
#include "df/robot/expert.h"

namespace df::robot {

struct Demonstration {
  std::string name;  // e.g. demo_0007
  StartState start;
  uint64_t seed = 0;          // env and expert seed
  torch::Tensor frames;       // [F, 2, R, R, 3] uint8, frame f at control step f * frame_every
  torch::Tensor actions;      // [(F - 1) * frame_every, 4] float32
  int64_t success_step = -1;  // first control step with the fruits swapped (-1: never)
};

struct DemoSet {
  int64_t resolution = 32;
  int64_t frame_every = 15;
  std::vector<Demonstration> demos;
};

struct DemoGenerationOptions {
  int64_t num_demos = 100;  // demonstration i starts with the apple in A for even i, in B for odd i
  uint64_t seed = 0;
  int64_t frames = 40;       // frames per demonstration (the tokens of a training sequence)
  int64_t frame_every = 15;  // control steps between frames (the actions of a token)
  int64_t resolution = 32;
  ExpertOptions expert;
  std::function<void(int64_t done)> progress;  // called after each demonstration (optional)
};

// Runs the expert from the env's current start for (frames - 1) * frame_every steps, recording the
// cameras every frame_every steps. With require_success, throws df::Error if the swap is not complete and
// the expert back at rest by the end.
Demonstration record_expert_episode(SwapEnv& env, SceneRenderer& renderer, SwapExpert& expert, int64_t frames,
                                    int64_t frame_every, int64_t resolution, bool require_success = true);

// The seeds of demonstration i (env jitter and expert), shared by generation and tests.
uint64_t demonstration_seed(uint64_t seed, int64_t index);

DemoSet generate_demonstrations(const DemoGenerationOptions& options);
void write_demonstrations(const DemoSet& set, const std::string& dir);
DemoSet read_demonstrations(const std::string& dir);

}  // namespace df::robot
