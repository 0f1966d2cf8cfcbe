#include "df/compositional/compositional_domain.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "df/compositional/cross_dataset.h"
#include "df/compositional/cross_metrics.h"
#include "df/core/error.h"
#include "df/core/timing.h"
#include "df/data/frame_stack.h"
#include "df/sampling/sampler.h"
#include "df/plot/plot.h"

namespace df::compositional {
namespace {

namespace comp = df::compositional;

comp::CrossDatasetOptions dataset_options(const Config& c) {
  comp::CrossDatasetOptions o;
  o.num_trajectories = c.get_int("compositional.num_trajectories");
  o.trajectory_length = c.get_int("compositional.trajectory_length");
  o.position_noise = c.get_double("compositional.position_noise");
  o.seed = static_cast<uint64_t>(c.get_int("compositional.data_seed"));
  o.left_to_right = c.get_bool("compositional.left_to_right");
  return o;
}

class CrossWindows : public SequenceDataset {
 public:
  CrossWindows(torch::Tensor trajectories, int64_t window, int64_t frame_stack)
      : trajectories_(std::move(trajectories)), window_(window), frame_stack_(frame_stack) {}
  SequenceBatch sample(int64_t batch_size, torch::Generator& gen) override {
    SequenceBatch b;
    b.x = stack_frames(comp::sample_windows(trajectories_, window_, batch_size, gen), frame_stack_);
    return b;
  }
  std::vector<int64_t> token_shape() const override { return {2 * frame_stack_}; }
  int64_t num_tokens() const override { return window_ / frame_stack_; }

 private:
  torch::Tensor trajectories_;
  int64_t window_, frame_stack_;
};

class CompositionalDomain : public Domain {
 public:
  std::string name() const override { return "compositional"; }
  std::string defaults_yaml() const override {
    const comp::CrossDatasetOptions o;
    return ConfigDefaults()
        .section("compositional")
        .key("num_trajectories", o.num_trajectories, "cross-shaped trajectories, corner to opposite corner")
        .key("trajectory_length", o.trajectory_length, "points per trajectory")
        .key("window", o.trajectory_length, "training window in points (random offsets)")
        .key("position_noise", o.position_noise)
        .key("left_to_right", o.left_to_right, "start at the left corners only (paper figure 7)")
        .key("data_seed", o.seed)
        .key("validation_batch", int64_t{256})
        .yaml();
  }
  ModelShape model_shape(const Config& c) const override {
    ModelShape s;
    s.x_shape = {2 * c.get_int("diffusion.frame_stack")};
    return s;
  }
  void add_rules(Config& c) const override {
    for (const auto* key : {"compositional.num_trajectories", "compositional.trajectory_length",
                            "compositional.window", "compositional.validation_batch"})
      c.require_positive(key);
    c.require_non_negative("compositional.position_noise");
  }
  std::unique_ptr<SequenceDataset> make_dataset(const Config& c) const override {
    const int64_t window = c.get_int("compositional.window"), fs = c.get_int("diffusion.frame_stack");
    check(window <= c.get_int("compositional.trajectory_length"),
          "compositional.window: must be <= compositional.trajectory_length");
    check(window % fs == 0, "compositional.window: must be divisible by diffusion.frame_stack");
    return std::make_unique<CrossWindows>(comp::make_cross_trajectories(dataset_options(c)), window, fs);
  }
  torch::Tensor default_context(const Config& c, int64_t batch, uint64_t seed) const override {
    // The first token of fresh trajectories (a start corner), drawn with the sampling seed.
    auto o = dataset_options(c);
    o.num_trajectories = batch;
    o.seed = seed + 1000003;
    const int64_t fs = c.get_int("diffusion.frame_stack");
    const auto first = comp::make_cross_trajectories(o).slice(1, 0, fs).transpose(0, 1);  // [fs, B, 2]
    return stack_frames(first, fs);
  }
  std::map<std::string, double> validate(DiffusionForcingModel& model, const Config& c, int64_t step) const override {
    const int64_t B = c.get_int("compositional.validation_batch"), fs = c.get_int("diffusion.frame_stack");
    const int64_t tokens = c.get_int("compositional.trajectory_length") / fs;
    Sampler sampler(model, read_sampler_options(c));
    const auto plan = read_chunk_plan(c);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(12345);
    const auto context = default_context(c, B, 0).to(model.device());
    auto z = sampler.absorb_context(model.denoiser().initial_latent(B, {}), context);
    const auto x = sampler.rollout(z, tokens - context.size(0), plan.chunk_size, plan.matrix, plan.uncertainty_scale, {}, gen);
    const auto paths = unstack_frames(torch::cat({context, x}), fs).transpose(0, 1).to(torch::kCPU);
    const auto m = comp::compute_cross_metrics(paths);
    return {{"cross_share", m.cross_share}, {"distance_to_diagonal", m.mean_distance_to_diagonal}};
  }
  std::vector<FingerprintRun> fingerprint_runs(const FingerprintPaths&) const override {
    // configs/compositional.yaml in miniature (its keys at tiny sizes); evaluated as df_sample samples.
    return {{"cross", R"(
experiment: {name: fingerprint_compositional, domain: compositional, seed: 0}
model: {kind: resmlp_gru, network_size: 4, z_dim: 16, num_mlp_layers: 2, num_gru_layers: 1}
diffusion: {schedule: cosine, objective: v, loss_weighting: constant, sampling_steps: 4, eta: 0.0}
training: {steps: 6, batch_size: 8, lr: 0.001, weight_decay: 0.0001, warmup_steps: 2, grad_clip: 1.0, log_every: 3,
           validate_every: 3, checkpoint_every: 3}
sampling: {matrix: autoregressive, chunk_size: 1}
compositional: {num_trajectories: 32, trajectory_length: 8, window: 8, validation_batch: 8}
)"}};
  }
  std::map<std::string, double> benchmark_sampling(DiffusionForcingModel& model, const Config& c,
                                                   int repeats) const override {
    // Pyramid plans over the training window from the initial latent, the work of the authors' pyramid
    // loop (../shared/bench/authors_bench.py) on this domain's network, so that configs/bench_maze_model.yaml
    // times the maze networks' plans on machines without MuJoCo (the GPU check). Unguided, and guided with
    // 8 Monte Carlo guidance futures toward the opposite corner (the cost of a guided replanning step).
    const int64_t fs = c.get_int("diffusion.frame_stack"), horizon = c.get_int("compositional.window") / fs;
    const auto matrix = SchedulingMatrix::pyramid(horizon, c.get_int("diffusion.sampling_steps"));
    const GuidanceCost to_corner = [](const torch::Tensor& x0) {  // x0 [R, H, B, 2 fs]: last point near (1, 1)
      return (x0.select(1, x0.size(1) - 1).narrow(-1, x0.size(-1) - 2, 2) - 1.0).pow(2).sum();
    };
    std::map<std::string, double> result;
    for (const int64_t batch : {int64_t{1}, int64_t{32}}) {
      const auto z = model.denoiser().initial_latent(batch, {});
      for (const bool guided : {false, true}) {
        auto options = read_sampler_options(c);
        options.guidance_scale = guided ? std::max(options.guidance_scale, 1.0) : 0.0;
        options.mcg_samples = guided ? 8 : 1;
        Sampler sampler(model, options);
        const auto name = std::string(guided ? "plan_guided_mcg8" : "plan_pyramid") + "_b" + std::to_string(batch) +
                          "_h" + std::to_string(horizon) + "_s";
        // No generator: the device's own (a CPU one would draw every cell's noise on the host and copy it).
        result[name] = median_seconds(
            [&] { sampler.sample_chunk(z, matrix, {}, {}, guided ? to_corner : GuidanceCost{}); }, repeats, 1,
            model.device());
      }
    }
    return result;
  }
  std::map<std::string, double> evaluate_samples(const Config& c, const torch::Tensor& tokens, const std::string& dir,
                                                 const std::string& label) const override {
    const int64_t fs = c.get_int("diffusion.frame_stack");
    const auto paths = unstack_frames(tokens, fs).transpose(0, 1).contiguous();  // [B, L, 2]
    const auto m = comp::compute_cross_metrics(paths);
    if (plot::plotting_available()) {
      auto data_options = dataset_options(c);
      data_options.num_trajectories = std::min<int64_t>(data_options.num_trajectories, 64);
      const auto data = comp::make_cross_trajectories(data_options);
      const auto shown = paths.slice(0, 0, std::min<int64_t>(paths.size(0), 64));
      plot::write_trajectory_panels(dir + "/" + label + ".png",
                                     {{"training data", {data}, plot::colors::kBlack},
                                      {label, {shown}, plot::colors::kBlue}});
    } else {
      spdlog::warn("built without OpenCV: no picture for {}", label);
    }
    return {{"cross_share", m.cross_share},
            {"changed_diagonal_share", m.changed_diagonal_share},
            {"back_to_start_share", m.back_to_start_share},
            {"nowhere_share", m.nowhere_share},
            {"distance_to_diagonal", m.mean_distance_to_diagonal},
            {"count", static_cast<double>(m.count)}};
  }
};

}  // namespace

std::unique_ptr<Domain> make_compositional_domain() { return std::make_unique<CompositionalDomain>(); }

}  // namespace df::compositional
