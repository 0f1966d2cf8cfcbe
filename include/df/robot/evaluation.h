// Evaluation of robot policies (paper section 4.4): N seeded episodes (env i seeded first_seed + i, run in
// batches), the success rate with a 95% Wilson interval, failures by the last stage reached
// (TaskMonitor), wrong picks at the ambiguous states and whether the first of them was right, MP4s of
// episodes (overview and hand camera side by side, rendered for state policies too), and the task video
// generated from one first frame (Figure 4(c)). The scripted expert runs through the same evaluation: knowing
// the start it bounds what imitation can reach; picking at random at the ambiguous states
// (AmbiguousChoice::Random) it is the chance level of a policy without memory under the same time limit.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "df/robot/policy.h"
#include "df/robot/task_monitor.h"

namespace df::robot {

struct RobotEvaluationOptions {
  int64_t episodes = 100;
  uint64_t first_seed = 1000;  // below 2^63: demonstration seeds have the top bit set
  int64_t batch = 50;  // envs acting together
  int64_t videos = 2;  // MP4s of the first episodes
  std::vector<uint64_t> video_seeds;  // and of the episodes with these seeds (same batches, same outcomes)
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
  int first_pick = -1;                        // first grasp at an ambiguous state: 1 right, 0 wrong, -1 none
  bool off_plan = false;
  bool fruit_outside_slots = false;  // at the end a fruit rests outside every slot
  int missed_grasps = 0;             // times the gripper closed on nothing
  GraspAim grasp_aim;                // where its grasps closed against the fruit's offset in its slot
};

struct RobotEvaluationSummary {
  std::string label;
  int64_t episodes = 0, successes = 0;
  double rate = 0, ci_low = 0, ci_high = 0;
  std::array<int64_t, 3> failures_by_stage{};  // failed episodes whose furthest stage was 0, 1, 2
  int64_t wrong_pick_episodes = 0;             // episodes with a wrong pick at an ambiguous state
  std::array<int64_t, 3> picks{}, wrong_picks{};
  // Episodes that grasped at an ambiguous state, and those whose first such grasp took the right fruit.
  int64_t first_picks = 0, right_first_picks = 0;
  double first_pick_rate = 0, first_pick_ci_low = 0, first_pick_ci_high = 1;
  int64_t fruit_outside_slots = 0;
  int64_t missed_grasps = 0, missed_grasp_episodes = 0;  // grasps that closed on nothing; episodes with one
  GraspAim grasp_aim;                                    // pooled over the episodes (task_monitor.h)
  int64_t corruption_level = 0;  // the level corrupted observations were labelled with (0: truth)
  double seconds = 0;
  std::vector<EpisodeRecord> records;
};

// 95% Wilson score interval of a binomial proportion (z = 1.96).
std::pair<double, double> wilson_interval(int64_t successes, int64_t trials, double z = 1.96);

// Plays one episode in every env of `envs` (already reset), reporting steps to `observer`; `seed` differs per
// batch. `renderer` is null unless the evaluation was told the runner needs one.
using EpisodeRunner = std::function<PolicyOutcome(BatchedSwapEnv& envs, SceneRenderer* renderer,
                                                  const PolicyObserver& observer, uint64_t seed)>;

struct EpisodeRunnerTraits {
  bool needs_renderer = false;           // pixel policies
  CameraSet dark_cameras = CameraSet::Both;  // cameras shown black in the MP4s while an env is corrupted
  bool darken = false;                   // blackout corruption
  int64_t corruption_level = 0;
};

// Runs the episodes, prints the summary line and writes summary.csv (one row, with header), episodes.csv
// and the MP4s into options.out_dir.
RobotEvaluationSummary evaluate_episodes(const EpisodeRunner& runner, const EpisodeRunnerTraits& traits,
                                         const RobotEvaluationOptions& options);

// The DF policy (RobotPolicy) through evaluate_episodes.
RobotEvaluationSummary evaluate_robot_policy(DiffusionForcingModel& model, std::shared_ptr<const TokenCodec> codec,
                                             const PolicyOptions& policy, const RobotEvaluationOptions& options);

// The scripted expert (seeded per episode) through evaluate_episodes, stopped after max_steps control steps.
RobotEvaluationSummary evaluate_scripted_expert(const ExpertOptions& expert, int64_t max_steps,
                                                const RobotEvaluationOptions& options);

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
