#include "df/planning/maze_domain.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "df/core/error.h"
#include "df/core/timing.h"
#include "df/planning/d4rl_dataset.h"
#include "df/planning/d4rl_hdf5.h"
#include "df/planning/maze_layout.h"
#include "df/planning/maze_tokens.h"
#include "df/planning/planner.h"

namespace df::planning {
namespace {

namespace pl = df::planning;

pl::D4rlDataset load_or_generate(const Config& c) {
  const auto source = c.get_string("maze.dataset");
  if (source != "generate") {
    spdlog::info("maze: reading {}", source);
    return pl::read_d4rl_hdf5(source);
  }
  const auto cache = c.get_string("maze.dataset_cache");
  if (!cache.empty() && std::filesystem::exists(cache)) {
    spdlog::info("maze: reading the cached generated dataset {}", cache);
    return pl::read_d4rl_hdf5(cache);
  }
  pl::DatasetGenerationOptions o;
  o.env_id = c.get_string("maze.env");
  o.num_samples = c.get_int("maze.generate_steps");
  o.seed = static_cast<uint64_t>(c.get_int("maze.generate_seed"));
  o.noisy = c.get_bool("maze.generate_noisy");
  o.progress = [](std::int64_t done) { spdlog::info("maze: generated {} steps", done); };
  spdlog::info("maze: generating {} steps of {} with the waypoint expert (seed {}{})", o.num_samples, o.env_id, o.seed,
               o.noisy ? ", N(0, 0.5^2) action noise" : ", no action noise");
  auto data = pl::generate_maze2d_dataset(o);
  if (!cache.empty()) {
    const auto parent = std::filesystem::path(cache).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    pl::write_d4rl_hdf5(data, cache);
    spdlog::info("maze: wrote {}", cache);
  }
  return data;
}

class MazeDomain : public Domain {
 public:
  std::string name() const override { return "maze"; }
  std::string defaults_yaml() const override {
    const DatasetGenerationOptions generation;
    const PlannerOptions planner;
    return ConfigDefaults()
        .section("maze")
        .key("env", generation.env_id, "maze2d-{umaze,medium,large}-v1 (the -multi-v1 variants share the data)")
        .key("dataset", "generate", "generate | path to a D4RL maze2d-*.hdf5 (published or df_maze_expert's)")
        .key("generate_steps", generation.num_samples, "D4RL sizes: umaze 1M, medium 2M, large 4M")
        .key("generate_seed", generation.seed)
        .key("generate_noisy", generation.noisy, "N(0, 0.5^2) on the expert's actions, as the published v1 files")
        .key("dataset_cache", "", "with dataset=generate: read this HDF5 if it exists, else write it")
        .key("episode_len", int64_t{300}, "training window in steps (umaze 300, medium 600, large 600)")
        .key("action_std", 2.0, "action normalisation std (the maintainer's planning fix); 0 = reference stds")
        .key("eval_episodes", int64_t{32}, "df_maze_eval defaults")
        .key("eval_seed", planner.seed)
        .key("eval_steps", int64_t{0}, "steps per evaluation episode; 0 = the env's limit (300 / 600 / 800)")
        .key("replan_every", int64_t{1}, "tokens executed between DF plans")
        .key("open_loop_horizon", planner.open_loop_steps,
             "steps executed between DF plans (reference's name); overrides replan_every")
        .key("max_horizon", planner.max_horizon, "tokens planned; 0 = to the end of the episode (flexible horizon)")
        .key("diffuser_horizon", planner.diffuser_horizon_steps,
             "steps of the Diffuser baselines' single plan; 0 = episode (Diffuser: 128/256/384)")
        .yaml();
  }
  ModelShape model_shape(const Config& c) const override {
    ModelShape s;
    s.x_shape = {maze_token_layout(c).token_dim()};
    s.observation_dim = 4;
    return s;
  }
  std::map<std::string, double> benchmark_sampling(DiffusionForcingModel& model, const Config& c,
                                                   int repeats) const override {
    // One replanning step of df_maze_eval: a pyramid plan over the whole episode from reset states,
    // guided toward the goal with the config's guidance scale and MCG samples; and the same plan unguided.
    const auto layout = maze_token_layout(c);
    const auto spec = maze_env_spec(c.get_string("maze.env"));
    const int64_t horizon = (spec.max_episode_steps + layout.frame_stack() - 1) / layout.frame_stack();
    std::map<std::string, double> result;
    for (const int batch : {1, 32}) {
      BatchedMazeEnv envs(spec, std::vector<std::uint64_t>(static_cast<size_t>(batch), 0));
      const auto obs = torch::tensor(envs.reset(), torch::kDouble).view({batch, 4});
      auto goals = torch::empty({batch, 2}, torch::kDouble);
      for (int i = 0; i < batch; ++i) goals[i][0] = envs.env(i).target()[0], goals[i][1] = envs.env(i).target()[1];
      for (const bool guided : {true, false}) {
        auto options = read_planner_options(c);
        if (!guided) options.sampler.guidance_scale = 0.0, options.sampler.mcg_samples = 1;
        MazePlanner planner(model, layout, options);
        auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
        const auto name = std::string(guided ? "plan_guided_mcg" : "plan_unguided") + "_b" + std::to_string(batch) +
                          "_h" + std::to_string(horizon) + "_s";
        result[name] = median_seconds([&] { planner.plan_pyramid(obs, goals, horizon, gen); }, repeats, 1,
                                      model.device());
      }
    }
    return result;
  }
  std::vector<std::string> trained_keys() const override { return {"maze.env", "maze.action_std"}; }
  void add_rules(Config& c) const override {
    for (const auto* key : {"maze.generate_steps", "maze.episode_len", "maze.eval_episodes", "maze.replan_every"})
      c.require_positive(key);
    for (const auto* key : {"maze.action_std", "maze.generate_seed", "maze.eval_seed", "maze.eval_steps",
                            "maze.max_horizon", "maze.open_loop_horizon", "maze.diffuser_horizon"})
      c.require_non_negative(key);
  }
  std::unique_ptr<SequenceDataset> make_dataset(const Config& c) const override {
    const auto env = c.get_string("maze.env");
    pl::maze_env_spec(env);  // fails early on an unknown id
    check(c.get_string("model.initial_latent") == "observation_encoder",
          "model.initial_latent: the maze planner encodes z_0 from o_0; set it to observation_encoder");
    const auto data = load_or_generate(c);
    const auto layout = maze_token_layout(c);
    auto windows = std::make_unique<pl::MazeWindowDataset>(data, layout, c.get_int("maze.episode_len"));
    spdlog::info("maze: {} steps, {} windows of {} tokens x {}", data.size(), windows->num_windows(),
                 windows->num_tokens(), layout.token_dim());
    return windows;
  }
  std::vector<FingerprintRun> fingerprint_runs(const FingerprintPaths& paths) const override {
    // configs/maze2d_*_cpu.yaml in miniature (the keys they set, at tiny sizes; the others stay at their
    // defaults): U-Maze data generated by the expert into an HDF5 cache, a DF model and the trained
    // full-sequence model of scripts/maze2d_table.sh. The second run reads the cache the first one wrote.
    auto run = [&](const std::string& name, const std::string& noise) {
      return FingerprintRun{name, R"(
experiment: {name: fingerprint_maze, domain: maze, seed: 0}
model: {kind: resmlp_gru, network_size: 4, z_dim: 8, num_mlp_layers: 2, num_gru_layers: 1,
        initial_latent: observation_encoder}
diffusion: {schedule: linear, timesteps: 1000, objective: x0, loss_weighting: constant, frame_stack: 10,
            loss_scale: 10.0, sampling_steps: 3, eta: 0.0, training_noise: )" + noise + R"(}
training: {steps: 4, batch_size: 4, lr: 0.001, weight_decay: 0.0001, warmup_steps: 2, lr_schedule: cosine,
           min_lr_ratio: 0.02, grad_clip: 1.0, log_every: 2, checkpoint_every: 2}
sampling: {matrix: pyramid, uncertainty_scale: 1.0, reference_walk: true, overwrite_finished: false,
           guidance_scale: 10.0, mcg_samples: 2}
maze: {env: maze2d-umaze-v1, dataset: generate, generate_steps: 2000, generate_seed: 0, episode_len: 60,
       diffuser_horizon: 30, action_std: 2.0, eval_episodes: 2, eval_steps: 20, max_horizon: 3,
       dataset_cache: ")" + paths.work_dir + R"(/maze2d-umaze-generated.hdf5"}
)"};
    };
    return {run("diffusion_forcing", "independent"), run("full_sequence", "full_sequence")};
  }
  void fingerprint_evaluation(DiffusionForcingModel& model, const Config& c, const FingerprintPaths&,
                              NumericsDigest& digest) const override {
    // df_maze_eval as scripts/maze2d_table.sh runs it: every method (and DF with PD tracking) on the
    // single-goal env and its random-goal variant, episodes seeded from maze.eval_seed.
    const auto env_id = c.get_string("maze.env");
    const std::string suffix = "-v1";
    check(env_id.size() > suffix.size() && env_id.compare(env_id.size() - suffix.size(), suffix.size(), suffix) == 0,
          "maze.env: expected a maze2d-*-v1 id, got \"" + env_id + "\"");
    const auto multi_id = env_id.substr(0, env_id.size() - suffix.size()) + "-multi" + suffix;
    const auto layout = maze_token_layout(c);
    const auto base = read_planner_options(c);
    struct Variant {
      PlanMethod method;
      bool pd_tracking;
    };
    const Variant variants[] = {{PlanMethod::kDiffusionForcing, false},
                                {PlanMethod::kDiffusionForcingNoMcg, false},
                                {PlanMethod::kDiffusionForcing, true},
                                {PlanMethod::kDiffuser, false},
                                {PlanMethod::kDiffuserActions, false}};
    auto flat = [](const std::vector<Vec2>& points) {
      std::vector<double> v;
      for (const auto& p : points) v.insert(v.end(), p.begin(), p.end());
      return v;
    };
    for (const auto& id : {env_id, multi_id}) {
      const auto spec = maze_env_spec(id);
      const auto steps = c.get_int("maze.eval_steps") > 0 ? static_cast<int>(c.get_int("maze.eval_steps"))
                                                          : spec.max_episode_steps;
      for (const auto& variant : variants) {
        auto options = base;
        options.method = variant.method;
        options.pd_tracking = variant.pd_tracking;
        MazePlanner planner(model, layout, options);
        std::vector<std::uint64_t> seeds;
        for (int64_t i = 0; i < c.get_int("maze.eval_episodes"); ++i) seeds.push_back(base.seed + i);
        BatchedMazeEnv envs(spec, seeds);
        const auto r = planner.run_episodes(envs, steps);
        const auto label = id + "/" + to_string(variant.method) + (variant.pd_tracking ? "_pd" : "") + ".";
        std::vector<double> scores;
        for (const double ret : r.returns) scores.push_back(normalized_score(id, ret));
        digest.add(label + "returns", r.returns);
        digest.add(label + "scores", scores);
        digest.add(label + "first_arrival", std::vector<int64_t>(r.first_arrival.begin(), r.first_arrival.end()));
        digest.add(label + "plan_horizons", r.plan_horizons);
        digest.add(label + "goals", flat(r.goals));
        for (size_t e = 0; e < r.paths.size(); ++e) {
          digest.add(label + "path" + std::to_string(e), flat(r.paths[e]));
          digest.add(label + "first_plan" + std::to_string(e), flat(r.first_plans[e]));
        }
      }
    }
  }
};

}  // namespace

MazeTokenLayout maze_token_layout(const Config& c) {
  return MazeTokenLayout(c.get_int("diffusion.frame_stack"),
                         reference_normalization(c.get_string("maze.env"), c.get_double("maze.action_std")));
}

PlannerOptions read_planner_options(const Config& c) {
  PlannerOptions o;
  o.sampler = read_sampler_options(c);
  o.uncertainty_scale = c.get_double("sampling.uncertainty_scale");
  const int64_t open_loop_horizon = c.get_int("maze.open_loop_horizon");
  o.open_loop_steps =
      open_loop_horizon > 0 ? open_loop_horizon : c.get_int("diffusion.frame_stack") * c.get_int("maze.replan_every");
  o.max_horizon = c.get_int("maze.max_horizon");
  o.diffuser_horizon_steps = c.get_int("maze.diffuser_horizon");
  o.seed = static_cast<uint64_t>(c.get_int("maze.eval_seed"));
  return o;
}

std::unique_ptr<Domain> make_maze_domain() { return std::make_unique<MazeDomain>(); }

}  // namespace df::planning
