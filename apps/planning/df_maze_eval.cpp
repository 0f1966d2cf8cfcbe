// df_maze_eval: evaluates a trained maze model on the MuJoCo Maze2D environments (paper Table 1).
//   df_maze_eval --checkpoint runs/maze2d_umaze/checkpoint.pt [--config configs/maze2d_umaze.yaml]
//                [--episodes 32] [--method df|df_no_mcg|diffuser|diffuser_actions|all]
//                [--env maze2d-umaze-v1 --env maze2d-umaze-multi-v1] [--set sampling.guidance_scale=8]
//   df_maze_eval --checkpoint ... --latency-sweep     (median planning latency vs horizon and MCG samples)
// Prints raw return and D4RL normalized score x100 (mean +- standard error), time to first goal arrival
// and the median planning latency; writes summary.csv, episodes.csv and PNGs of plans and paths.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "../common/domain.h"
#include "../common/tool_main.h"
#include "df/core/device.h"
#include "df/core/error.h"
#include "df/models/state_dict.h"
#include "df/planning/maze_layout.h"
#include "df/planning/planner.h"
#include "df/tools/plot.h"
#include "df/training/checkpoint.h"

namespace {

namespace pl = df::planning;

struct MeanSe {
  double mean = 0, se = 0;
};
MeanSe mean_se(const std::vector<double>& v) {
  MeanSe r;
  if (v.empty()) return {NAN, NAN};
  for (double x : v) r.mean += x / static_cast<double>(v.size());
  if (v.size() < 2) return r;
  double ss = 0;
  for (double x : v) ss += (x - r.mean) * (x - r.mean);
  r.se = std::sqrt(ss / static_cast<double>(v.size() - 1) / static_cast<double>(v.size()));
  return r;
}
double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The maze drawn as written (row 0 on top): x = qpos[1], y = -qpos[0]; walls shifted by the D4RL offset.
void draw_episode(const std::string& path, const pl::MazeLayout& layout, const std::vector<pl::Vec2>& plan,
                  const std::vector<pl::Vec2>& executed, const pl::Vec2& goal, const std::string& title) {
  using namespace df::tools;
  const DataRange range{-1.2, layout.cols() - 0.8, -(layout.rows() - 0.8), 1.2};
  const int cell = 48;
  Canvas canvas(cell * layout.cols() + 20, cell * layout.rows() + 38, range);
  for (int i = 0; i < layout.rows(); ++i)
    for (int j = 0; j < layout.cols(); ++j) {
      if (layout.at(i, j) != pl::Tile::kWall) continue;
      for (int s = 0; s <= 8; ++s) {  // filled by horizontal strokes over [j-0.7, j+0.3] x [i-0.7, i+0.3]
        const double row = i - 0.7 + s / 8.0;
        canvas.draw_polyline(torch::tensor({j - 0.7, -row, j + 0.3, -row}, torch::kDouble).view({2, 2}), colors::kGray, 3);
      }
    }
  auto to_points = [](const std::vector<pl::Vec2>& p) {
    auto t = torch::empty({static_cast<int64_t>(p.size()), 2}, torch::kDouble);
    for (size_t k = 0; k < p.size(); ++k) {
      t[static_cast<int64_t>(k)][0] = p[k][1];
      t[static_cast<int64_t>(k)][1] = -p[k][0];
    }
    return t;
  };
  if (!plan.empty()) canvas.draw_polyline(to_points(plan), colors::kOrange, 1);
  if (!executed.empty()) {
    canvas.draw_polyline(to_points(executed), colors::kBlue, 2);
    canvas.draw_points(to_points({executed.front()}), colors::kGreen, 5);
  }
  canvas.draw_points(to_points({goal}), colors::kRed, 6);
  canvas.draw_title(title);
  canvas.write_png(path);
}

void latency_sweep(const pl::MazeEnvSpec& spec, int batch, int64_t fs, std::ofstream& csv,
                   df::DiffusionForcingModel& model, const pl::MazeTokenLayout& layout, pl::PlannerOptions options) {
  pl::BatchedMazeEnv envs(spec, std::vector<std::uint64_t>(static_cast<size_t>(batch), 0));
  const auto obs = torch::tensor(envs.reset(), torch::kDouble).view({batch, 4});
  auto goals = torch::empty({batch, 2}, torch::kDouble);
  for (int i = 0; i < batch; ++i) goals[i][0] = envs.env(i).target()[0], goals[i][1] = envs.env(i).target()[1];
  const int64_t full = (spec.max_episode_steps + fs - 1) / fs;
  std::printf("\nplanning latency per replanning step (batch %d, median of 3, %s)\n%8s %6s %12s\n", batch,
              df::describe_device(model.device()).c_str(), "horizon", "mcg", "median ms");
  for (int64_t mcg : {1, 2, 4, 8}) {
    for (int64_t h : {full / 4, full / 2, full}) {
      if (h < 1) continue;
      options.sampler.mcg_samples = mcg;
      options.method = pl::PlanMethod::kDiffusionForcing;
      pl::MazePlanner p(model, layout, options);
      auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
      std::vector<double> ms;
      for (int rep = 0; rep < 3; ++rep) {
        const auto start = std::chrono::steady_clock::now();
        p.plan_pyramid(obs, goals, h, gen);
        ms.push_back(1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
      std::printf("%8ld %6ld %12.1f\n", static_cast<long>(h), static_cast<long>(mcg), median(ms));
      csv << spec.id << "," << batch << "," << h << "," << mcg << "," << median(ms) << "\n";
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Evaluate a maze planning model on the MuJoCo Maze2D environments"};
  std::string checkpoint, config_file, out_dir, method_name = "all";
  std::vector<std::string> overrides, env_ids;
  int episodes = 0, plots = 4;
  int64_t seed = -1;
  bool pd_tracking = false, sweep = false, no_ema = false;
  cli.add_option("--checkpoint", checkpoint, "checkpoint.pt written by df_train")->required();
  cli.add_option("--config", config_file, "YAML merged over the checkpoint's stored config (evaluation knobs)");
  cli.add_option("--set", overrides, "override a key, e.g. --set sampling.guidance_scale=8");
  cli.add_option("--episodes", episodes, "episodes per env and method, run as one batch (default maze.eval_episodes)");
  cli.add_option("--method", method_name, "df | df_no_mcg | diffuser | diffuser_actions | all");
  cli.add_option("--env", env_ids, "env ids (repeatable; default maze.env); -multi-v1 = random goals");
  cli.add_option("--seed", seed, "first episode seed (env i gets seed+i; default maze.eval_seed)");
  cli.add_option("--out", out_dir, "output directory (default: <checkpoint dir>/maze_eval)");
  cli.add_option("--plots", plots, "episodes drawn per env and method");
  cli.add_flag("--pd-tracking", pd_tracking, "DF methods track planned observations with Diffuser's PD rule");
  cli.add_flag("--latency-sweep", sweep, "only time planning vs horizon and MCG samples");
  cli.add_flag("--no-ema", no_ema, "use the training weights even if EMA weights exist");
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    const auto ckpt = df::load_checkpoint(checkpoint);
    auto config = df::app::load_config(config_file, overrides, ckpt.config_yaml, checkpoint + " (stored config)");
    df::check(config.get_string("experiment.domain") == "maze",
              checkpoint + ": experiment.domain is \"" + config.get_string("experiment.domain") + "\", not maze");
    df::app::require_as_trained(config, ckpt.config_yaml, checkpoint);  // other mazes: --env, not maze.env
    const auto device = df::resolve_device(config.get_string("experiment.device"));
    const int64_t fs = config.get_int("diffusion.frame_stack");
    const auto train_env = config.get_string("maze.env");
    pl::MazeTokenLayout layout(fs, pl::reference_normalization(train_env, config.get_double("maze.action_std")));
    df::ModelShape shape;
    shape.x_shape = {layout.token_dim()};
    shape.observation_dim = 4;
    auto model = df::make_model(config, shape, device);
    df::load_inference_weights(*model, ckpt, checkpoint, !no_ema);
    model->eval();
    if (episodes <= 0) episodes = static_cast<int>(config.get_int("maze.eval_episodes"));
    if (seed < 0) seed = config.get_int("maze.eval_seed");
    if (env_ids.empty()) env_ids = {train_env};
    if (out_dir.empty()) out_dir = (std::filesystem::path(checkpoint).parent_path() / "maze_eval").string();
    std::filesystem::create_directories(out_dir);

    pl::PlannerOptions base;
    base.sampler = df::read_sampler_options(config);
    base.uncertainty_scale = config.get_double("sampling.uncertainty_scale");
    const int64_t open_loop_horizon = config.get_int("maze.open_loop_horizon");
    base.open_loop_steps = open_loop_horizon > 0 ? open_loop_horizon : fs * config.get_int("maze.replan_every");
    base.max_horizon = config.get_int("maze.max_horizon");
    base.diffuser_horizon_steps = config.get_int("maze.diffuser_horizon");
    base.pd_tracking = pd_tracking;
    base.seed = static_cast<uint64_t>(seed);

    if (sweep) {
      std::ofstream csv(out_dir + "/latency.csv");
      csv << "env,batch,horizon_tokens,mcg_samples,median_ms\n";
      latency_sweep(pl::maze_env_spec(env_ids.front()), episodes, fs, csv, *model, layout, base);
      return 0;
    }
    std::vector<pl::PlanMethod> methods;
    if (method_name == "all") {
      methods = {pl::PlanMethod::kDiffusionForcing, pl::PlanMethod::kDiffusionForcingNoMcg, pl::PlanMethod::kDiffuser,
                 pl::PlanMethod::kDiffuserActions};
    } else {
      methods = {pl::parse_plan_method(method_name)};
    }
    std::ofstream summary(out_dir + "/summary.csv"), per_episode(out_dir + "/episodes.csv");
    summary << "env,method,episodes,return_mean,return_se,score_mean,score_se,reached,arrival_mean,latency_median_ms,"
               "guidance_scale,mcg_samples,sampling_steps,wall_s\n";
    per_episode << "env,method,episode,seed,return,score,first_arrival\n";
    std::printf("%-24s %-17s %16s %18s %8s %12s %12s\n", "env", "method", "return (+-se)", "score x100 (+-se)",
                "reached", "1st arrival", "plan ms(med)");
    for (const auto& env_id : env_ids) {
      const auto spec = pl::maze_env_spec(env_id);
      for (const auto method : methods) {
        auto options = base;
        options.method = method;
        pl::MazePlanner planner(*model, layout, options);
        std::vector<std::uint64_t> seeds;
        for (int i = 0; i < episodes; ++i) seeds.push_back(static_cast<std::uint64_t>(seed + i));
        pl::BatchedMazeEnv envs(spec, seeds);
        const auto start = std::chrono::steady_clock::now();
        const auto r = planner.run_episodes(envs, spec.max_episode_steps);
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::vector<double> scores, arrivals;
        int reached = 0;
        for (int i = 0; i < episodes; ++i) {
          const auto u = static_cast<size_t>(i);
          scores.push_back(100.0 * pl::normalized_score(env_id, r.returns[u]));
          if (r.first_arrival[u] >= 0) ++reached, arrivals.push_back(r.first_arrival[u]);
          per_episode << env_id << "," << pl::to_string(method) << "," << i << "," << seeds[u] << "," << r.returns[u]
                      << "," << scores.back() << "," << r.first_arrival[u] << "\n";
        }
        const auto ret = mean_se(r.returns), sc = mean_se(scores);
        const double arrival = mean_se(arrivals).mean, latency = 1e3 * median(r.plan_seconds);
        const int64_t mcg = method == pl::PlanMethod::kDiffusionForcing ? options.sampler.mcg_samples : 1;
        std::printf("%-24s %-17s %8.1f +- %5.1f %9.1f +- %5.1f %5d/%-3d %12.1f %12.1f\n", env_id.c_str(),
                    pl::to_string(method).c_str(), ret.mean, ret.se, sc.mean, sc.se, reached, episodes, arrival, latency);
        std::fflush(stdout);
        summary << env_id << "," << pl::to_string(method) << "," << episodes << "," << ret.mean << "," << ret.se << ","
                << sc.mean << "," << sc.se << "," << reached << "," << arrival << "," << latency << ","
                << options.sampler.guidance_scale << "," << mcg << "," << model->grid().sampling_steps() << "," << wall
                << "\n";
        if (df::tools::plotting_available()) {
          const auto maze = pl::MazeLayout::parse(spec.layout_text);
          for (int i = 0; i < std::min(plots, episodes); ++i) {
            const auto u = static_cast<size_t>(i);
            draw_episode(out_dir + "/" + env_id + "_" + pl::to_string(method) + "_ep" + std::to_string(i) + ".png", maze,
                         r.first_plans[u], r.paths[u], r.goals[u],
                         pl::to_string(method) + " ep " + std::to_string(i) + " return " +
                             std::to_string(static_cast<int>(r.returns[u])));
          }
        }
      }
    }
    spdlog::info("wrote {}/summary.csv, episodes.csv and pictures", out_dir);
    return 0;
  });
}
