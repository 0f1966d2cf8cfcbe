// df_robot_eval: the robot fruit-swap experiment (paper section 4.4).
//   df_robot_eval --checkpoint runs/robot/checkpoint.pt [--policy memory|memoryless]
//                 [--corruption none|distractor|blackout|glitch|dropout|noise] [--episodes 100] [--seed 1000]
//                 [--out DIR] [--set robot.corrupt_level=600 ...]
//       N seeded episodes: success rate (95% Wilson interval), failures by stage, the first pick at the
//       ambiguous state, wrong picks; summary.csv, episodes.csv and MP4s of the first episodes (both cameras,
//       also for state policies).
//   df_robot_eval --scripted expert|random_pick --config configs/robot_swap_state.yaml [--out DIR]
//       The scripted expert under the same time limit and seeds: knowing the start (expert), or picking at
//       random at the ambiguous states (random_pick: the chance level of a policy without memory).
//   df_robot_eval --checkpoint ... --task-video [--seed 1000]
//       Figure 4(c) (pixel policies): the whole task generated from one first frame (PNG strip and MP4).
//   df_robot_eval --make-demos DIR [--config configs/robot_swap_cpu.yaml] [--set robot.demos=100]
//       Only records the expert's demonstrations into DIR (df_train does this itself when robot.demo_dir
//       does not exist).
//   df_robot_eval --checkpoint runs/x/checkpoint.pt --export-weights weights/x.pt [--half]
//       Weights only (EMA when present), optionally in half precision: a checkpoint to ship and evaluate.
//   df_robot_eval --checkpoint runs/x/checkpoint.pt --aim-sensitivity [--aim-levels 999 500] [--policy memoryless]
//       State policies: what the network reads when it aims (aim_sensitivity.h), on the held-out
//       demonstrations; aim_sensitivity.csv in --out (default <checkpoint dir>/aim_sensitivity/<policy>).
//   df_robot_eval --rates-chart rates.csv --out chart.png [--title T] [--reference 0.25]
//       The results page's bar chart of success rates with their intervals (rates_chart.h).
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <filesystem>

#include "../common/tool_main.h"
#include "df/core/blas_kernels.h"
#include "df/core/error.h"
#include "df/experiment/registry.h"
#include "df/robot/aim_sensitivity.h"
#include "df/robot/rates_chart.h"
#include "df/robot/robot_domain.h"
#include "df/training/checkpoint.h"

int main(int argc, char** argv) {
  df::select_blas_kernels(argv);  // first: may start this program again (df/core/blas_kernels.h)
  namespace rb = df::robot;
  CLI::App cli{"Robot fruit swap: evaluate a policy or the scripted expert, record demonstrations, ship weights"};
  std::string checkpoint, config_file, out, label, policy, corruption, make_demos, scripted, export_weights,
      rates_chart, title;
  std::vector<std::string> overrides;
  std::vector<double> references;
  std::vector<uint64_t> video_seeds;
  std::vector<int64_t> aim_levels;
  int64_t episodes = 0, seed = -1, videos = -1;
  bool task_video = false, no_ema = false, half = false, aim = false;
  cli.add_option("--checkpoint", checkpoint, "checkpoint.pt written by df_train (or --export-weights)");
  cli.add_option("--config", config_file, "YAML merged over the checkpoint's stored config (evaluation knobs)");
  cli.add_option("--set", overrides, "override a key, e.g. --set robot.corrupt_level=400 (repeatable)");
  cli.add_option("--policy", policy, "memory | memoryless (robot.policy)");
  cli.add_option("--corruption", corruption, "robot.corruption: none | distractor | blackout | glitch | dropout | noise");
  cli.add_option("--episodes", episodes, "episodes (default robot.eval_episodes)");
  cli.add_option("--seed", seed, "first episode seed, env i gets seed + i (default robot.eval_seed)");
  cli.add_option("--videos", videos, "MP4s of the first episodes (default robot.videos)");
  cli.add_option("--video-seeds", video_seeds,
                 "MP4s also of the episodes with these seeds, in the same batches as without (repeatable)");
  cli.add_option("--out", out, "output folder (default <checkpoint dir>/robot_eval/<policy>_<corruption>)");
  cli.add_option("--label", label, "name of the summary row (default <policy>_<corruption>)");
  cli.add_option("--scripted", scripted, "expert | random_pick: evaluate the scripted expert (no checkpoint)");
  cli.add_flag("--task-video", task_video, "generate the whole task from one first frame (Figure 4(c))");
  cli.add_flag("--aim-sensitivity", aim, "state policies: what the network reads when it aims (held-out demos)");
  cli.add_option("--aim-levels", aim_levels, "with --aim-sensitivity: noise levels of the predicted token "
                                             "(default K-1 and K/2)");
  cli.add_option("--make-demos", make_demos, "record the expert's demonstrations into this folder and exit");
  cli.add_option("--export-weights", export_weights, "write the checkpoint's inference weights to this file");
  cli.add_flag("--half", half, "with --export-weights: in half precision");
  cli.add_option("--rates-chart", rates_chart, "bar chart of a rates CSV (label,rate,ci95_low,ci95_high,group)");
  cli.add_option("--title", title, "with --rates-chart: the chart's title");
  cli.add_option("--reference", references, "with --rates-chart: dashed reference rates (repeatable)");
  cli.add_flag("--no-ema", no_ema, "use the training weights even if EMA weights exist");
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    if (!policy.empty()) overrides.push_back("robot.policy=" + policy);
    if (!corruption.empty()) overrides.push_back("robot.corruption=" + corruption);
    if (!rates_chart.empty()) {
      df::check(!out.empty(), "--rates-chart needs --out PNG");
      rb::write_rates_chart(out, rb::read_rates_csv(rates_chart), {title, references});
      spdlog::info("wrote {}", out);
      return 0;
    }
    if (!make_demos.empty()) {
      auto config = df::load_config(config_file, overrides);
      config.set("robot.demo_dir=" + make_demos);
      df::check(!std::filesystem::exists(make_demos), make_demos + ": exists already; choose a new folder");
      rb::load_or_generate_demonstrations(config);
      df::app::write_command(make_demos + "/command.txt", argc, argv);
      return 0;
    }
    auto evaluation_options = [&](const df::Config& config, const std::string& setting,
                                  const std::filesystem::path& default_root) {
      auto eval = rb::read_evaluation_options(config);
      if (episodes > 0) eval.episodes = episodes;
      if (seed >= 0) eval.first_seed = static_cast<uint64_t>(seed);
      if (videos >= 0) eval.videos = videos;
      eval.video_seeds = video_seeds;
      eval.out_dir = out.empty() ? (default_root / setting).string() : out;
      eval.label = label.empty() ? setting : label;
      std::filesystem::create_directories(eval.out_dir);
      config.write(eval.out_dir + "/config.yaml");
      df::app::write_command(eval.out_dir + "/command.txt", argc, argv);
      return eval;
    };
    if (!scripted.empty()) {
      df::check(scripted == "expert" || scripted == "random_pick",
                "--scripted: expected expert or random_pick, got \"" + scripted + "\"");
      const auto config = df::load_config(config_file, overrides);
      rb::ExpertOptions expert;
      expert.ambiguous_choice = scripted == "expert" ? rb::AmbiguousChoice::Remember : rb::AmbiguousChoice::Random;
      const int64_t steps = config.get_int("robot.eval_tokens") * config.get_int("robot.action_stack");
      const auto eval = evaluation_options(config, "scripted_" + scripted, "runs/robot_scripted");
      rb::evaluate_scripted_expert(expert, steps, eval);
      return 0;
    }
    df::check(!checkpoint.empty(), "--checkpoint is required (or --make-demos, --scripted, --rates-chart)");
    if (!export_weights.empty()) {
      const auto full = df::load_checkpoint(checkpoint);
      df::save_checkpoint(export_weights, df::inference_checkpoint(full, half, !no_ema));
      spdlog::info("wrote {} ({} weights of step {}, {} bytes)", export_weights, half ? "half-precision" : "float",
                   full.step, std::filesystem::file_size(export_weights));
      return 0;
    }
    auto trained = df::load_trained_model(checkpoint, {config_file, overrides, !no_ema});
    const auto& config = trained.config;
    df::check(trained.domain->name() == "robot",
              checkpoint + ": experiment.domain is \"" + trained.domain->name() + "\", not robot");
    const auto checkpoint_dir = std::filesystem::path(checkpoint).parent_path();
    if (task_video) {
      df::check(config.get_string("robot.observation") == "pixels",
                checkpoint + ": --task-video generates camera frames; this policy was trained with robot.observation " +
                    config.get_string("robot.observation"));
      rb::TaskVideoOptions video;
      video.seed = static_cast<uint64_t>(seed >= 0 ? seed : config.get_int("robot.eval_seed"));
      video.tokens = config.get_int("robot.n_frames");
      video.sampling_seed = static_cast<uint64_t>(config.get_int("experiment.seed"));
      video.out_dir = out.empty() ? (checkpoint_dir / "task_video").string() : out;
      rb::generate_task_video(*trained.model, rb::robot_token_layout(config), df::read_sampler_options(config), video);
      df::app::write_command(video.out_dir + "/command.txt", argc, argv);
      return 0;
    }
    if (aim) {
      df::check(config.get_string("robot.observation") == "state",
                checkpoint + ": --aim-sensitivity reads state entries; this policy was trained with " +
                    "robot.observation " + config.get_string("robot.observation"));
      const auto tokens = rb::held_out_tokens(config);
      df::check(tokens.defined(), "--aim-sensitivity needs held-out demonstrations: robot.validation_fraction is 0");
      const int64_t K = trained.model->schedule().timesteps();
      if (aim_levels.empty()) aim_levels = {K - 1, K / 2};
      const auto codec = rb::make_token_codec(config);
      const auto& layout = dynamic_cast<const rb::StateTokenCodec&>(*codec).layout();
      const auto memory = config.get_enum<rb::PolicyMemory>("robot.policy");
      const auto rows = rb::aim_sensitivity(*trained.model, layout, tokens, memory, aim_levels,
                                            static_cast<uint64_t>(config.get_int("experiment.seed")));
      const auto dir =
          out.empty() ? (checkpoint_dir / "aim_sensitivity" / config.get_string("robot.policy")).string() : out;
      std::filesystem::create_directories(dir);
      rb::write_aim_sensitivity_csv(dir + "/aim_sensitivity.csv", rows);
      df::app::write_command(dir + "/command.txt", argc, argv);
      for (const auto& r : rows)
        spdlog::info("level {}: {} approach tokens; aim {:.3f}, hand {:.3f}, previous actions {:.3f}, readout {:.3f}, "
                     "self readout {:.3f}",
                     r.level, r.approach_tokens, r.aim, r.hand, r.previous_actions, r.readout, r.self_readout);
      spdlog::info("wrote {}/aim_sensitivity.csv", dir);
      return 0;
    }
    const auto policy_options = rb::read_policy_options(config);
    const auto setting = config.get_string("robot.policy") + "_" + config.get_string("robot.corruption");
    const auto eval = evaluation_options(config, setting, checkpoint_dir / "robot_eval");
    rb::evaluate_robot_policy(*trained.model, rb::make_token_codec(config), policy_options, eval);
    return 0;
  });
}
