// Evaluation of maze planners (paper Table 1): seeded episodes of every (env, method) run as one batch,
// raw return and D4RL normalised score (mean ± standard error), first goal arrival, planning latency;
// summary.csv, episodes.csv and PNGs of plans and executed paths. Also the planning-latency sweep.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "df/models/diffusion_forcing_model.h"
#include "df/planning/maze_tokens.h"
#include "df/planning/planner.h"

namespace df::planning {

struct MazeEvaluationOptions {
  std::vector<std::string> env_ids;  // e.g. maze2d-umaze-v1, maze2d-umaze-multi-v1 (random goals)
  std::vector<PlanMethod> methods;
  int episodes = 32;                 // per env and method, run as one batch; env i gets seed first_seed + i
  int64_t first_seed = 0;
  int64_t max_steps = 0;             // steps per episode; 0 = the env's limit
  int plots = 4;                     // episodes drawn per env and method
  std::string out_dir;
};

// Prints one row per (env, method) and writes summary.csv, episodes.csv and PNGs into out_dir.
void evaluate_maze_planners(DiffusionForcingModel& model, const MazeTokenLayout& layout, const PlannerOptions& base,
                            const MazeEvaluationOptions& options);

// Median latency of one DF plan (3 repeats, after one untimed plan of each setting) for horizons of a
// quarter, half and all of the episode (`horizon_parts`: which of 4 = quarter, 2 = half, 1 = all) and
// `mcg_samples` MCG samples, at batch `batch`; prints a table and writes latency.csv into out_dir.
void maze_latency_sweep(DiffusionForcingModel& model, const MazeTokenLayout& layout, const PlannerOptions& base,
                        const std::string& env_id, int batch, const std::string& out_dir,
                        const std::vector<int64_t>& mcg_samples = {1, 2, 4, 8},
                        const std::vector<int64_t>& horizon_parts = {4, 2, 1});

}  // namespace df::planning
