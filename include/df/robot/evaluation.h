// Evaluation of robot policies (paper section 4.4): N seeded episodes (env i seeded first_seed + i, run in
// batches), the success rate with a 95% Wilson interval, failures by the last stage reached
// (TaskMonitor), wrong picks at the ambiguous states, MP4s of episodes (overview and hand camera side by
// side), and the task video generated from one first frame (Figure 4(c)).
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "df/robot/policy.h"

namespace df::robot {

struct RobotEvaluationOptions {
  int64_t episodes = 100;
  uint64_t first_seed = 1000;
  int64_t batch = 50;  // envs acting together
  int64_t videos = 2;  // MP4s of the first episodes
  int64_t video_resolution = 128;
  std::string out_dir;  // summary.csv, episodes.csv, episode_<seed>.mp4
  std::string label;    // the summary row's name, e.g. "df / distractor"
};

struct EpisodeRecord {
  uint64_t seed = 0;
  Slot apple_start = Slot::A;
  bool success = false;
  int64_t success_step = -1;
  int max_stage = 0, final_stage = 0;
  std::array<int, 3> picks{}, wrong_picks{};  // by stage (1 and 2 used)
  bool off_plan = false;
  bool fruit_outside_slots = false;  // at the end a fruit rests outside every slot
};

struct RobotEvaluationSummary {
  std::string label;
  int64_t episodes = 0, successes = 0;
  double rate = 0, ci_low = 0, ci_high = 0;
  std::array<int64_t, 3> failures_by_stage{};  // failed episodes whose furthest stage was 0, 1, 2
  int64_t wrong_pick_episodes = 0;             // episodes with a wrong pick at an ambiguous state
  std::array<int64_t, 3> picks{}, wrong_picks{};
  int64_t fruit_outside_slots = 0;
  double seconds = 0;
  std::vector<EpisodeRecord> records;
};

// 95% Wilson score interval of a binomial proportion (z = 1.96).
std::pair<double, double> wilson_interval(int64_t successes, int64_t trials, double z = 1.96);

// Runs the episodes, prints the summary line and writes summary.csv (one row, with header),
// episodes.csv and the MP4s into options.out_dir.
RobotEvaluationSummary evaluate_robot_policy(DiffusionForcingModel& model, const RobotTokenLayout& layout,
                                             const PolicyOptions& policy, const RobotEvaluationOptions& options);

struct TaskVideoOptions {
  uint64_t seed = 1000;  // the env start (and the expert's run shown for comparison)
  int64_t tokens = 40;
  int64_t columns = 14;  // frames shown in the strip (evenly spaced)
  int64_t scale = 3;     // pixel upscaling of the 32x32 frames
  uint64_t sampling_seed = 0;
  std::string out_dir;  // task_video.png, task_video.mp4
};

// Figure 4(c): from the first frame of an env start alone, the model rolls out the rest of the episode
// (tokens - 1 tokens, one at a time with its own sampled actions and frames). Writes a PNG strip (rows:
// expert overview, generated overview, expert hand, generated hand) and an MP4 of the same four panels.
// Returns the generated tokens [tokens, C, R, R].
torch::Tensor generate_task_video(DiffusionForcingModel& model, const RobotTokenLayout& layout,
                                  const SamplerOptions& sampler, const TaskVideoOptions& options);

}  // namespace df::robot
