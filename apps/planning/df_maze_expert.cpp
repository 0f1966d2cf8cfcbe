// df_maze_expert: checks the Maze2D environment against D4RL and generates D4RL-format datasets.
//
//   df_maze_expert [--episodes 100] [--seed 0] [--env ID ...] [--fresh-plans]
//       Runs the waypoint expert as D4RL's maze2d_controller.py does (its NumPy random streams replayed
//       exactly) and prints mean return +- standard error beside D4RL's REF_MAX.
//   df_maze_expert --generate maze2d-umaze-v1 --steps 1000000 --out umaze.hdf5 [--noisy] [--seed 0]
//       Writes a dataset and prints its statistics beside those of the published file.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "df/core/blas_kernels.h"
#include "df/core/error.h"
#include "df/planning/d4rl_dataset.h"
#include "df/planning/d4rl_hdf5.h"
#include "df/planning/expert_evaluation.h"
#include "df/planning/maze_layout.h"

namespace {

using namespace df::planning;

void print_expert_table(const std::vector<std::string>& env_ids, int episodes, std::uint64_t seed, bool fresh,
                        bool damp_with_position_change) {
  std::printf("%-20s %9s %22s %9s %9s %8s\n", "env", "episodes", "expert return (+-se)", "REF_MAX", "rel.diff",
              "reached");
  for (const auto& id : env_ids) {
    const MazeEnvSpec spec = maze_env_spec(id);
    const ExpertEvaluation e = evaluate_waypoint_expert(
        spec, episodes, seed, fresh ? ControllerReuse::kFreshPerEpisode : ControllerReuse::kSharedAcrossEpisodes,
        damp_with_position_change);
    const double relative = (e.mean - spec.ref_max_score) / spec.ref_max_score;
    std::printf("%-20s %9d %13.2f +- %5.2f %9.2f %+8.1f%% %4d/%d\n", id.c_str(), episodes, e.mean,
                e.standard_error, spec.ref_max_score, 100.0 * relative, e.episodes_reaching_goal, episodes);
  }
}

void print_statistics(const DatasetStatistics& ours, const DatasetStatistics& ref) {
  auto row = [](const char* name, double a, double b) {
    if (std::isnan(b)) {
      std::printf("  %-16s %10.5f %10s\n", name, a, "n/a");
    } else {
      std::printf("  %-16s %10.5f %10.5f\n", name, a, b);
    }
  };
  std::printf("  %-16s %10s %10s\n", "statistic", "generated", "D4RL file");
  const char* obs_names[] = {"x", "y", "vx", "vy"};
  for (size_t k = 0; k < 4; ++k) row((std::string("obs mean ") + obs_names[k]).c_str(), ours.observation_mean[k], ref.observation_mean[k]);
  for (size_t k = 0; k < 4; ++k) row((std::string("obs std ") + obs_names[k]).c_str(), ours.observation_std[k], ref.observation_std[k]);
  for (size_t k = 0; k < 2; ++k) row((std::string("action mean ") + obs_names[k]).c_str(), ours.action_mean[k], ref.action_mean[k]);
  for (size_t k = 0; k < 2; ++k) row((std::string("action std ") + obs_names[k]).c_str(), ours.action_std[k], ref.action_std[k]);
  row("reward mean", ours.reward_mean, ref.reward_mean);
  row("timeout frac.", ours.timeout_fraction, ref.timeout_fraction);
}

}  // namespace

int main(int argc, char** argv) {
  df::select_blas_kernels(argv);  // first: may start this program again (df/core/blas_kernels.h)
  CLI::App app{"Maze2D waypoint expert vs D4RL reference scores, and D4RL dataset generation"};
  int episodes = 100;
  std::uint64_t seed = 0;
  std::vector<std::string> env_ids = {"maze2d-umaze-v1", "maze2d-medium-v1", "maze2d-large-v1"};
  bool fresh = false;
  bool damp_with_position_change = false;
  std::string generate_env;
  std::int64_t steps = 1000000;
  std::string out_path;
  bool noisy = false;
  app.add_option("--episodes", episodes, "Episodes per environment")->check(CLI::PositiveNumber);
  app.add_option("--seed", seed,
                 "Expert check: env.seed(SEED) and np.random.seed(SEED) of D4RL's script (NumPy streams "
                 "replayed; 0 gives REF_MAX). --generate: seed of the generator's own RNG");
  app.add_option("--env", env_ids, "Environment ids to evaluate");
  app.add_flag("--fresh-plans", fresh,
               "Replan at every reset (D4RL's script keeps one controller, which plans once per fixed goal)");
  app.add_flag("--damp-with-position-change", damp_with_position_change,
               "D term on the position change since the last call instead of qvel (comparison only)");
  app.add_option("--generate", generate_env, "Generate a dataset for this environment id instead");
  app.add_option("--steps", steps, "Dataset size (D4RL: umaze 1e6, medium 2e6, large 4e6)")->check(CLI::PositiveNumber);
  app.add_option("--out", out_path, "Output HDF5 file for --generate");
  app.add_flag("--noisy", noisy, "Add N(0, 0.5^2) noise to the expert actions");
  CLI11_PARSE(app, argc, argv);

  try {
    if (generate_env.empty()) {
      print_expert_table(env_ids, episodes, seed, fresh, damp_with_position_change);
      return 0;
    }
    df::check(!out_path.empty(), "--generate needs --out FILE.hdf5");
    DatasetGenerationOptions options;
    options.env_id = generate_env;
    options.num_samples = steps;
    options.noisy = noisy;
    options.seed = seed;
    options.progress = [steps](std::int64_t done) { spdlog::info("{} / {} steps", done, steps); };
    const auto start = std::chrono::steady_clock::now();
    const D4rlDataset dataset = generate_maze2d_dataset(options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("generated {} steps of {}{} in {:.1f} s", dataset.size(), generate_env, noisy ? " (noisy)" : "",
                 seconds);
    write_d4rl_hdf5(dataset, out_path);
    spdlog::info("wrote {}", out_path);
    print_statistics(compute_statistics(dataset), reference_statistics(generate_env));
  } catch (const df::Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  return 0;
}
