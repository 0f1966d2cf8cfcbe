#include "df/planning/maze_evaluation.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "df/core/device.h"
#include "df/core/error.h"
#include "df/planning/maze_layout.h"
#include "df/plot/plot.h"

namespace df::planning {
namespace {

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
void draw_episode(const std::string& path, const MazeLayout& layout, const std::vector<Vec2>& plan,
                  const std::vector<Vec2>& executed, const Vec2& goal, const std::string& title) {
  using namespace df::plot;
  const DataRange range{-1.2, layout.cols() - 0.8, -(layout.rows() - 0.8), 1.2};
  const int cell = 48;
  Canvas canvas(cell * layout.cols() + 20, cell * layout.rows() + 38, range);
  for (int i = 0; i < layout.rows(); ++i)
    for (int j = 0; j < layout.cols(); ++j) {
      if (layout.at(i, j) != Tile::kWall) continue;
      for (int s = 0; s <= 8; ++s) {  // filled by horizontal strokes over [j-0.7, j+0.3] x [i-0.7, i+0.3]
        const double row = i - 0.7 + s / 8.0;
        canvas.draw_polyline(torch::tensor({j - 0.7, -row, j + 0.3, -row}, torch::kDouble).view({2, 2}),
                             colors::kGray, 3);
      }
    }
  auto to_points = [](const std::vector<Vec2>& p) {
    auto t = torch::empty({static_cast<int64_t>(p.size()), 2}, torch::kDouble);
    auto a = t.accessor<double, 2>();
    for (size_t k = 0; k < p.size(); ++k) a[static_cast<int64_t>(k)][0] = p[k][1], a[static_cast<int64_t>(k)][1] = -p[k][0];
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

}  // namespace

void evaluate_maze_planners(DiffusionForcingModel& model, const MazeTokenLayout& layout, const PlannerOptions& base,
                            const MazeEvaluationOptions& o) {
  check(o.episodes >= 1, "maze evaluation: episodes must be >= 1");
  std::filesystem::create_directories(o.out_dir);
  std::ofstream summary(o.out_dir + "/summary.csv"), per_episode(o.out_dir + "/episodes.csv");
  summary << "env,method,episodes,return_mean,return_se,score_mean,score_se,reached,arrival_mean,"
             "latency_median_ms,guidance_scale,mcg_samples,sampling_steps,wall_s,steps,pd_tracking\n";
  per_episode << "env,method,episode,seed,return,score,first_arrival\n";
  std::printf("%-24s %-17s %5s %16s %18s %8s %12s %12s\n", "env", "method", "steps", "return (+-se)",
              "score x100 (+-se)", "reached", "1st arrival", "plan ms(med)");
  for (const auto& env_id : o.env_ids) {
    const auto spec = maze_env_spec(env_id);
    const int steps = o.max_steps > 0 ? static_cast<int>(o.max_steps) : spec.max_episode_steps;
    for (const auto method : o.methods) {
      auto options = base;
      options.method = method;
      MazePlanner planner(model, layout, options);
      std::vector<std::uint64_t> seeds;
      for (int i = 0; i < o.episodes; ++i) seeds.push_back(static_cast<std::uint64_t>(o.first_seed + i));
      BatchedMazeEnv envs(spec, seeds);
      const auto start = std::chrono::steady_clock::now();
      const auto r = planner.run_episodes(envs, steps);
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::vector<double> scores, arrivals;
      int reached = 0;
      for (int i = 0; i < o.episodes; ++i) {
        const auto u = static_cast<size_t>(i);
        scores.push_back(100.0 * normalized_score(env_id, r.returns[u]));
        if (r.first_arrival[u] >= 0) ++reached, arrivals.push_back(r.first_arrival[u]);
        per_episode << env_id << "," << to_string(method) << "," << i << "," << seeds[u] << "," << r.returns[u] << ","
                    << scores.back() << "," << r.first_arrival[u] << "\n";
      }
      const auto ret = mean_se(r.returns), sc = mean_se(scores);
      const double arrival = mean_se(arrivals).mean, latency = 1e3 * median(r.plan_seconds);
      const int64_t mcg = method == PlanMethod::kDiffusionForcing ? options.sampler.mcg_samples : 1;
      std::printf("%-24s %-17s %5d %8.1f +- %5.1f %9.1f +- %5.1f %5d/%-3d %12.1f %12.1f\n", env_id.c_str(),
                  to_string(method).c_str(), steps, ret.mean, ret.se, sc.mean, sc.se, reached, o.episodes, arrival,
                  latency);
      std::fflush(stdout);
      summary << env_id << "," << to_string(method) << "," << o.episodes << "," << ret.mean << "," << ret.se << ","
              << sc.mean << "," << sc.se << "," << reached << "," << arrival << "," << latency << ","
              << options.sampler.guidance_scale << "," << mcg << "," << model.grid().sampling_steps() << "," << wall
              << "," << steps << "," << (options.pd_tracking ? 1 : 0) << "\n";
      if (!plot::plotting_available()) continue;
      const auto maze = MazeLayout::parse(spec.layout_text);
      for (int i = 0; i < std::min(o.plots, o.episodes); ++i) {
        const auto u = static_cast<size_t>(i);
        draw_episode(o.out_dir + "/" + env_id + "_" + to_string(method) + "_ep" + std::to_string(i) + ".png", maze,
                     r.first_plans[u], r.paths[u], r.goals[u],
                     to_string(method) + " ep " + std::to_string(i) + " return " +
                         std::to_string(static_cast<int>(r.returns[u])));
      }
    }
  }
  spdlog::info("wrote {}/summary.csv, episodes.csv and pictures", o.out_dir);
}

void maze_latency_sweep(DiffusionForcingModel& model, const MazeTokenLayout& layout, const PlannerOptions& base,
                        const std::string& env_id, int batch, const std::string& out_dir,
                        const std::vector<int64_t>& mcg_samples, const std::vector<int64_t>& horizon_parts) {
  const auto spec = maze_env_spec(env_id);
  std::filesystem::create_directories(out_dir);
  std::ofstream csv(out_dir + "/latency.csv");
  csv << "env,batch,horizon_tokens,mcg_samples,median_ms\n";
  BatchedMazeEnv envs(spec, std::vector<std::uint64_t>(static_cast<size_t>(batch), 0));
  const auto obs = torch::tensor(envs.reset(), torch::kDouble).view({batch, 4});
  auto goals = torch::empty({batch, 2}, torch::kDouble);
  for (int i = 0; i < batch; ++i) goals[i][0] = envs.env(i).target()[0], goals[i][1] = envs.env(i).target()[1];
  const int64_t fs = layout.frame_stack(), full = (spec.max_episode_steps + fs - 1) / fs;
  std::printf("\nplanning latency per replanning step (batch %d, median of 3, %s)\n%8s %6s %12s\n", batch,
              describe_device(model.device()).c_str(), "horizon", "mcg", "median ms");
  for (int64_t mcg : mcg_samples) {
    for (int64_t part : horizon_parts) {
      check(part >= 1, "latency sweep: horizon parts must be >= 1, got " + std::to_string(part));
      const int64_t h = full / part;
      if (h < 1) continue;
      auto options = base;
      options.sampler.mcg_samples = mcg;
      options.method = PlanMethod::kDiffusionForcing;
      MazePlanner p(model, layout, options);
      auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
      std::vector<double> ms;
      // One untimed plan first: the first setting measured would otherwise pay for the first-use costs
      // (allocator growth, kernel initialisation) that later settings do not.
      p.plan_pyramid(obs, goals, h, gen);
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

}  // namespace df::planning
