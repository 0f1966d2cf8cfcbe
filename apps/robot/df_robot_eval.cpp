// df_robot_eval: the robot fruit-swap experiment (paper section 4.4).
//   df_robot_eval --checkpoint runs/robot/checkpoint.pt [--policy memory|memoryless]
//                 [--corruption none|distractor|blackout] [--episodes 100] [--seed 1000] [--out DIR]
//                 [--set robot.corrupt_level=600 ...]
//       N seeded episodes: success rate (95% Wilson interval), failures by stage, wrong picks at the
//       ambiguous states; summary.csv, episodes.csv and MP4s of the first episodes (both cameras).
//   df_robot_eval --checkpoint ... --task-video [--seed 1000]
//       Figure 4(c): the whole task generated from one first frame (task_video.png strip and .mp4).
//   df_robot_eval --make-demos DIR [--config configs/robot_swap_cpu.yaml] [--set robot.demos=100]
//       Only records the expert's demonstrations into DIR (df_train does this itself when robot.demo_dir
//       does not exist).
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <filesystem>

#include "../common/tool_main.h"
#include "df/core/error.h"
#include "df/experiment/registry.h"
#include "df/robot/robot_domain.h"

int main(int argc, char** argv) {
  namespace rb = df::robot;
  CLI::App cli{"Robot fruit swap: evaluate a policy, generate the task video, or record demonstrations"};
  std::string checkpoint, config_file, out, label, policy, corruption, make_demos;
  std::vector<std::string> overrides;
  int64_t episodes = 0, seed = -1, videos = -1;
  bool task_video = false, no_ema = false;
  cli.add_option("--checkpoint", checkpoint, "checkpoint.pt written by df_train");
  cli.add_option("--config", config_file, "YAML merged over the checkpoint's stored config (evaluation knobs)");
  cli.add_option("--set", overrides, "override a key, e.g. --set robot.corrupt_level=400 (repeatable)");
  cli.add_option("--policy", policy, "memory | memoryless (robot.policy)");
  cli.add_option("--corruption", corruption, "none | distractor | blackout (robot.corruption)");
  cli.add_option("--episodes", episodes, "episodes (default robot.eval_episodes)");
  cli.add_option("--seed", seed, "first episode seed, env i gets seed + i (default robot.eval_seed)");
  cli.add_option("--videos", videos, "MP4s of the first episodes (default robot.videos)");
  cli.add_option("--out", out, "output folder (default <checkpoint dir>/robot_eval/<policy>_<corruption>)");
  cli.add_option("--label", label, "name of the summary row (default <policy> / <corruption>)");
  cli.add_flag("--task-video", task_video, "generate the whole task from one first frame (Figure 4(c))");
  cli.add_option("--make-demos", make_demos, "record the expert's demonstrations into this folder and exit");
  cli.add_flag("--no-ema", no_ema, "use the training weights even if EMA weights exist");
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    if (!policy.empty()) overrides.push_back("robot.policy=" + policy);
    if (!corruption.empty()) overrides.push_back("robot.corruption=" + corruption);
    if (!make_demos.empty()) {
      auto config = df::load_config(config_file, overrides);
      config.set("robot.demo_dir=" + make_demos);
      df::check(!std::filesystem::exists(make_demos), make_demos + ": exists already; choose a new folder");
      rb::load_or_generate_demonstrations(config);
      df::app::write_command(make_demos + "/command.txt", argc, argv);
      return 0;
    }
    df::check(!checkpoint.empty(), "--checkpoint is required (or --make-demos DIR)");
    auto trained = df::load_trained_model(checkpoint, {config_file, overrides, !no_ema});
    const auto& config = trained.config;
    df::check(trained.domain->name() == "robot",
              checkpoint + ": experiment.domain is \"" + trained.domain->name() + "\", not robot");
    const auto layout = rb::robot_token_layout(config);
    const auto checkpoint_dir = std::filesystem::path(checkpoint).parent_path();
    if (task_video) {
      rb::TaskVideoOptions video;
      video.seed = static_cast<uint64_t>(seed >= 0 ? seed : config.get_int("robot.eval_seed"));
      video.tokens = config.get_int("robot.n_frames");
      video.sampling_seed = static_cast<uint64_t>(config.get_int("experiment.seed"));
      video.out_dir = out.empty() ? (checkpoint_dir / "task_video").string() : out;
      rb::generate_task_video(*trained.model, layout, df::read_sampler_options(config), video);
      df::app::write_command(video.out_dir + "/command.txt", argc, argv);
      return 0;
    }
    const auto policy_options = rb::read_policy_options(config);
    auto eval = rb::read_evaluation_options(config);
    if (episodes > 0) eval.episodes = episodes;
    if (seed >= 0) eval.first_seed = static_cast<uint64_t>(seed);
    if (videos >= 0) eval.videos = videos;
    const auto setting = config.get_string("robot.policy") + "_" + config.get_string("robot.corruption");
    eval.out_dir = out.empty() ? (checkpoint_dir / "robot_eval" / setting).string() : out;
    eval.label =
        label.empty() ? config.get_string("robot.policy") + " / " + config.get_string("robot.corruption") : label;
    std::filesystem::create_directories(eval.out_dir);
    config.write(eval.out_dir + "/config.yaml");
    df::app::write_command(eval.out_dir + "/command.txt", argc, argv);
    rb::evaluate_robot_policy(*trained.model, layout, policy_options, eval);
    return 0;
  });
}
