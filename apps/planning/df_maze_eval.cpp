// df_maze_eval: evaluates a trained maze model on the MuJoCo Maze2D environments (paper Table 1).
//   df_maze_eval --checkpoint runs/maze2d_umaze/checkpoint.pt [--config configs/maze2d_umaze.yaml]
//                [--episodes 32] [--method df|df_no_mcg|diffuser|diffuser_actions|all]
//                [--env maze2d-umaze-v1 --env maze2d-umaze-multi-v1] [--set sampling.guidance_scale=8]
//   df_maze_eval --checkpoint ... --latency-sweep     (median planning latency vs horizon and MCG samples)
// Prints raw return and D4RL normalized score x100 (mean +- standard error), time to first goal arrival
// and the median planning latency; writes summary.csv, episodes.csv and PNGs of plans and paths.
#include <CLI/CLI.hpp>

#include <filesystem>

#include "../common/tool_main.h"
#include "df/core/blas_kernels.h"
#include "df/core/error.h"
#include "df/experiment/registry.h"
#include "df/planning/maze_domain.h"
#include "df/planning/maze_evaluation.h"

int main(int argc, char** argv) {
  df::select_blas_kernels(argv);  // first: may start this program again (df/core/blas_kernels.h)
  namespace pl = df::planning;
  CLI::App cli{"Evaluate a maze planning model on the MuJoCo Maze2D environments"};
  std::string checkpoint, config_file, method_name = "all";
  std::vector<std::string> overrides;
  pl::MazeEvaluationOptions eval;
  eval.episodes = 0;
  int64_t seed = -1;
  bool pd_tracking = false, sweep = false, no_ema = false;
  cli.add_option("--checkpoint", checkpoint, "checkpoint.pt written by df_train")->required();
  cli.add_option("--config", config_file, "YAML merged over the checkpoint's stored config (evaluation knobs)");
  cli.add_option("--set", overrides, "override a key, e.g. --set sampling.guidance_scale=8");
  cli.add_option("--episodes", eval.episodes, "episodes per env and method, run as one batch (default maze.eval_episodes)");
  cli.add_option("--method", method_name, "df | df_no_mcg | diffuser | diffuser_actions | all");
  cli.add_option("--env", eval.env_ids, "env ids (repeatable; default maze.env); -multi-v1 = random goals");
  cli.add_option("--seed", seed, "first episode seed (env i gets seed+i; default maze.eval_seed)");
  cli.add_option("--out", eval.out_dir, "output directory (default: <checkpoint dir>/maze_eval)");
  cli.add_option("--plots", eval.plots, "episodes drawn per env and method");
  cli.add_flag("--pd-tracking", pd_tracking, "DF methods track planned observations with Diffuser's PD rule");
  cli.add_flag("--latency-sweep", sweep, "only time planning vs horizon and MCG samples");
  std::vector<int64_t> sweep_mcg{1, 2, 4, 8}, sweep_parts{4, 2, 1};
  cli.add_option("--sweep-mcg", sweep_mcg, "MCG samples of the latency sweep (default 1 2 4 8)");
  cli.add_option("--sweep-horizon-parts", sweep_parts,
                 "horizons of the latency sweep as parts of the episode: 4 = a quarter, 2 = half, 1 = all (default 4 2 1)");
  cli.add_flag("--no-ema", no_ema, "use the training weights even if EMA weights exist");
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    // Other mazes are chosen with --env, not maze.env (a trained key: it fixes the normalisation).
    auto trained = df::load_trained_model(checkpoint, {config_file, overrides, !no_ema});
    const auto& config = trained.config;
    df::check(trained.domain->name() == "maze",
              checkpoint + ": experiment.domain is \"" + trained.domain->name() + "\", not maze");
    const auto layout = pl::maze_token_layout(config);
    auto planner = pl::read_planner_options(config);
    planner.pd_tracking = pd_tracking;
    if (seed >= 0) planner.seed = static_cast<uint64_t>(seed);
    if (eval.episodes <= 0) eval.episodes = static_cast<int>(config.get_int("maze.eval_episodes"));
    if (eval.env_ids.empty()) eval.env_ids = {config.get_string("maze.env")};
    if (eval.out_dir.empty()) eval.out_dir = (std::filesystem::path(checkpoint).parent_path() / "maze_eval").string();
    eval.first_seed = static_cast<int64_t>(planner.seed);
    eval.max_steps = config.get_int("maze.eval_steps");
    if (sweep) {
      pl::maze_latency_sweep(*trained.model, layout, planner, eval.env_ids.front(), eval.episodes, eval.out_dir,
                             sweep_mcg, sweep_parts);
      return 0;
    }
    eval.methods = method_name == "all" ? std::vector<pl::PlanMethod>{pl::PlanMethod::kDiffusionForcing,
                                                                      pl::PlanMethod::kDiffusionForcingNoMcg,
                                                                      pl::PlanMethod::kDiffuser,
                                                                      pl::PlanMethod::kDiffuserActions}
                                        : std::vector<pl::PlanMethod>{df::parse_enum<pl::PlanMethod>(method_name)};
    pl::evaluate_maze_planners(*trained.model, layout, planner, eval);
    return 0;
  });
}
