// The robot imitation experiment (paper section 4.4) as a domain of the tools (experiment.domain: robot):
// demonstrations of the fruit swap in MuJoCo (read from robot.demo_dir, generated there by the expert if
// the folder does not exist), windows of demonstrations as token sequences (robot.observation: state
// vectors for the ResMLP-GRU denoiser, or pixel tokens for the U-Net), 5% held out for the validation
// loss; the policy and corruption settings of the `robot` section. Evaluation is df_robot_eval
// (evaluation.h).
#pragma once
#include <memory>

#include "df/core/config.h"
#include "df/experiment/domain.h"
#include "df/robot/demonstrations.h"
#include "df/robot/evaluation.h"
#include "df/robot/token_codec.h"
#include "df/robot/tokens.h"

namespace df::robot {

std::unique_ptr<Domain> make_robot_domain();

// robot.resolution and robot.action_stack (pixel tokens).
RobotTokenLayout robot_token_layout(const Config& config);
// The tokens of robot.observation: state (robot.action_stack, robot.start_bit) or pixels.
std::shared_ptr<const TokenCodec> make_token_codec(const Config& config);
// Demonstration generation from robot.{demos, demo_seed, n_frames, action_stack, resolution, observation}.
DemoGenerationOptions read_demo_generation_options(const Config& config);
// robot.demo_dir if it exists, else generated and written there.
DemoSet load_or_generate_demonstrations(const Config& config);
// The held-out demonstrations' tokens [robot.n_frames, N, ...token] (the last robot.validation_fraction of
// robot.demo_dir, as training holds them out); undefined when none is held out.
torch::Tensor held_out_tokens(const Config& config);
// Policy settings: robot.{policy, corruption, corrupt_*, blackout_cameras, eval_tokens}, the sampler's
// options and experiment.seed. A model trained with teacher forcing has only seen clean histories: it
// takes corrupted frames as truth (level 0), whatever robot.corrupt_level says.
PolicyOptions read_policy_options(const Config& config);
// robot.{eval_episodes, eval_seed, eval_batch, videos, video_resolution}; out_dir and label are the caller's.
RobotEvaluationOptions read_evaluation_options(const Config& config);

}  // namespace df::robot
