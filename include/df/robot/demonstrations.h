// Demonstrations of the fruit swap: the scripted expert recorded with its states and, for pixel policies,
// both cameras (appendix F.3: ~100 demonstrations, half for each start), and their folder format.
//
// A demonstration folder:
//   format.txt              "df-robot-demos 2", then "frame_every s", "observations state" or
//                           "observations state pixels", with pixels "resolution R", and
//                           "missed_grasps p" (the expert's ExpertOptions::missed_grasp_share; absent: 0)
//   demos.csv               name,apple_slot,seed,frames,success_step (one row per demonstration)
//   <name>/states.npy       float32 [F, 11]: the state (state_tokens.h) at control steps 0, s, 2s, ...
//   <name>/frames.npy       uint8 [F, 2, R, R, 3]: overview and hand camera at the same steps (with pixels)
//   <name>/actions.npy      float32 [(F - 1) * s, 4]: target x, y, z (metres) and grasp (0 / 1) per step: the
//                           expert's actions; with missed_grasps > 0, a shifted approach was executed in their
//                           place in some moves (SwapExpert::execute), so replaying them does not reproduce
//                           those moves' states
// Reading checks every file against format.txt and demos.csv and names the file that is missing or wrong.
// Format 1 folders (pixels only, recorded by the expert that leaked the start) are refused.
//
// Seeds: demonstration i's env is seeded demonstration_seed(demo_seed, i), which has the top bit set;
// evaluation seeds must have it clear (check_evaluation_seeds), so no evaluation episode replays a
// demonstration's start, however many demonstrations there are.
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
  torch::Tensor states;       // [F, kStateDim] float, state f at control step f * frame_every
  torch::Tensor frames;       // [F, 2, R, R, 3] uint8 at the same steps; undefined without pixels
  torch::Tensor actions;      // [(F - 1) * frame_every, 4] float32
  int64_t success_step = -1;  // first control step with the fruits swapped (-1: never)
};

struct DemoSet {
  bool pixels = true;        // frames recorded (else states only)
  int64_t resolution = 32;   // of the frames (meaningless without pixels)
  int64_t frame_every = 15;
  double missed_grasp_share = 0;  // the expert's (ExpertOptions)
  std::vector<Demonstration> demos;
};

struct DemoGenerationOptions {
  int64_t num_demos = 100;  // demonstration i starts with the apple in A for even i, in B for odd i
  uint64_t seed = 0;
  int64_t frames = 40;       // frames per demonstration (the tokens of a training sequence)
  int64_t frame_every = 15;  // control steps between frames (the actions of a token)
  int64_t resolution = 32;
  bool pixels = true;  // render the cameras too (state policies need none: much faster)
  ExpertOptions expert;
  std::function<void(int64_t done)> progress;  // called after each demonstration (optional)
};

// Runs the expert from the env's current start for (frames - 1) * frame_every steps, recording the state
// and (with a renderer) the cameras every frame_every steps. With require_success, throws df::Error if the
// swap is not complete and the expert back at rest by the end.
Demonstration record_expert_episode(SwapEnv& env, SceneRenderer* renderer, SwapExpert& expert, int64_t frames,
                                    int64_t frame_every, int64_t resolution, bool require_success = true);

// The env (and expert) seed of demonstration i: top bit set, so it never equals an evaluation seed.
uint64_t demonstration_seed(uint64_t seed, int64_t index);
inline constexpr uint64_t kDemonstrationSeedBit = uint64_t{1} << 63;
// Evaluation episodes are seeded first_seed + i: throws df::Error (naming robot.eval_seed) unless all of them
// have the top bit clear.
void check_evaluation_seeds(uint64_t first_seed, int64_t episodes);

// The control step at which the expert of a demonstration is back home after its last move: one past the
// last step whose action differs from the one before (from then on it only rests). actions [steps, 4].
int64_t expert_done_step(const torch::Tensor& actions);

DemoSet generate_demonstrations(const DemoGenerationOptions& options);
void write_demonstrations(const DemoSet& set, const std::string& dir);
DemoSet read_demonstrations(const std::string& dir);

}  // namespace df::robot
