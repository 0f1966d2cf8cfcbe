// df_sample: load a checkpoint and sample sequences with a chosen scheduling matrix.
//   df_sample --checkpoint runs/x/checkpoint.pt --tokens 64 --matrix pyramid --chunk-size 8 [--memory 1 ...]
// Writes samples.npy ([N, B, ...token], context included), metrics, pictures, and the exact command and config.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "../common/domain.h"
#include "../common/tool_main.h"
#include "df/core/device.h"
#include "df/core/error.h"
#include "df/core/compat.h"
#include "df/data/npy.h"
#include "df/models/state_dict.h"
#include "df/sampling/sampler.h"
#include "df/training/checkpoint.h"

namespace {

// Sampling without memory beyond `memory` tokens (model-predictive style): every `replan` tokens the latent
// is reset to z_0 and only the last `memory` tokens are fed back as context.
torch::Tensor sample_with_limited_memory(df::Sampler& sampler, df::DiffusionForcingModel& model,
                                         const torch::Tensor& context, int64_t batch, int64_t tokens, int64_t memory,
                                         int64_t replan, const df::ChunkPlan& plan, torch::Generator& gen) {
  std::vector<torch::Tensor> all;
  if (context.defined())
    for (int64_t t = 0; t < context.size(0); ++t) all.push_back(context[t]);
  const int64_t S = model.grid().sampling_steps();
  while (static_cast<int64_t>(all.size()) < tokens) {
    auto z = model.denoiser().initial_latent(batch, {});
    const int64_t have = static_cast<int64_t>(all.size());
    const int64_t keep = std::min(memory, have);
    if (keep > 0) {
      std::vector<torch::Tensor> recent(all.end() - keep, all.end());
      z = sampler.absorb_context(z, torch::stack(recent));
    }
    const int64_t h = std::min(replan, tokens - have);
    for (int64_t start = 0; start < h; start += plan.chunk_size) {
      const int64_t c = std::min(plan.chunk_size, h - start);
      auto r = sampler.sample_chunk(z, df::SchedulingMatrix::make(plan.matrix, c, S, plan.uncertainty_scale), {}, {},
                                    nullptr, gen);
      for (int64_t t = 0; t < c; ++t) all.push_back(r.x[t]);
      z = r.z;
    }
  }
  return torch::stack(all);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Sample from a trained Diffusion Forcing model"};
  std::string checkpoint, out_dir, context_file, label = "samples";
  std::vector<std::string> overrides;
  int64_t tokens = 0, batch = 16, context_tokens = -1, memory = -1, replan = 0;
  uint64_t seed = 0;
  bool no_ema = false;
  cli.add_option("--checkpoint", checkpoint, "checkpoint.pt written by df_train")->required();
  cli.add_option("--out", out_dir, "output directory (default: <checkpoint dir>/samples)");
  cli.add_option("--label", label, "name of this sampling run (file prefix)");
  cli.add_option("--tokens", tokens, "total tokens per sequence incl. context (default: the training length)");
  cli.add_option("--batch", batch, "number of sequences");
  cli.add_option("--seed", seed, "sampling seed");
  cli.add_option("--context", context_file, ".npy of context tokens [Tc, B, ...] (default: the domain's context)");
  cli.add_option("--context-tokens", context_tokens, "how many of the domain's context tokens to use");
  cli.add_option("--memory", memory, "tokens of memory kept when replanning (-1 = full memory, no resets)");
  cli.add_option("--replan-every", replan, "with --memory: tokens generated between latent resets");
  cli.add_option("--set", overrides, "override a sampling/diffusion key, e.g. --set sampling.matrix=pyramid");
  std::string matrix, stab_input;
  double u = -1, eta = -1;
  int64_t chunk = 0, stab_level = -2, steps = 0;
  int reference_walk = -1;
  cli.add_option("--matrix", matrix, "autoregressive | full_sequence | pyramid | trapezoid");
  cli.add_option("--uncertainty-scale", u, "pyramid / trapezoid slope");
  cli.add_option("--chunk-size", chunk, "tokens denoised together");
  cli.add_option("--sampling-steps", steps, "DDIM steps S");
  cli.add_option("--eta", eta, "DDIM eta");
  cli.add_option("--reference-walk", reference_walk, "1 = the authors' walk, 0 = Algorithm 2 + stabilization");
  cli.add_option("--stabilization-level", stab_level, "noise level of re-read clean tokens (-1 = grid level 1)");
  cli.add_option("--stabilization-input", stab_input, "clean | scaled | noised");
  cli.add_flag("--no-ema", no_ema, "use the training weights even if EMA weights exist");
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    const auto ckpt = df::load_checkpoint(checkpoint);
    if (!matrix.empty()) overrides.push_back("sampling.matrix=" + matrix);
    if (u >= 0) overrides.push_back("sampling.uncertainty_scale=" + std::to_string(u));
    if (chunk > 0) overrides.push_back("sampling.chunk_size=" + std::to_string(chunk));
    if (steps > 0) overrides.push_back("diffusion.sampling_steps=" + std::to_string(steps));
    if (eta >= 0) overrides.push_back("diffusion.eta=" + std::to_string(eta));
    if (reference_walk >= 0) overrides.push_back(std::string("sampling.reference_walk=") + (reference_walk ? "true" : "false"));
    if (stab_level >= -1) overrides.push_back("sampling.stabilization_level=" + std::to_string(stab_level));
    if (!stab_input.empty()) overrides.push_back("sampling.stabilization_input=" + stab_input);
    auto config = df::app::load_config("", overrides, ckpt.config_yaml, checkpoint + " (stored config)");
    df::app::require_as_trained(config, ckpt.config_yaml, checkpoint);
    if (out_dir.empty()) out_dir = (std::filesystem::path(checkpoint).parent_path() / "samples").string();
    std::filesystem::create_directories(out_dir);
    config.write(out_dir + "/" + label + "_config.yaml");
    df::app::write_command(out_dir + "/" + label + "_command.txt", argc, argv);
    const auto device = df::resolve_device(config.get_string("experiment.device"));
    const auto& domain = df::app::find_domain(config.get_string("experiment.domain"));
    auto dataset = domain.make_dataset(config);
    auto model = df::make_model(config, domain.model_shape(config, *dataset), device);
    df::load_inference_weights(*model, ckpt, checkpoint, !no_ema);
    model->eval();
    if (tokens <= 0) tokens = dataset->num_tokens();

    torch::Tensor context;
    if (!context_file.empty()) {
      context = df::read_npy(context_file).to(device, torch::kFloat);
      df::check(context.dim() >= 2 && context.size(1) == batch,
                context_file + ": context must be [Tc, " + std::to_string(batch) + ", ...token]");
    } else {
      context = domain.default_context(config, batch, seed);
      if (context.defined()) {
        if (context_tokens >= 0) context = context.slice(0, 0, context_tokens);
        context = context.size(0) > 0 ? context.to(device) : torch::Tensor();
      }
    }
    const int64_t n_context = context.defined() ? context.size(0) : 0;
    df::check(tokens > n_context, "--tokens must exceed the number of context tokens (" + std::to_string(n_context) + ")");
    const auto plan = df::read_chunk_plan(config);
    df::Sampler sampler(*model, df::read_sampler_options(config));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    torch::manual_seed(seed);
    spdlog::info("sampling {} x {} tokens ({} context) with {} matrix, chunk {}, S = {}, memory {}", batch, tokens,
                 n_context, df::to_string(plan.matrix), plan.chunk_size, model->grid().sampling_steps(),
                 memory < 0 ? std::string("full") : std::to_string(memory));
    torch::Tensor samples;
    if (memory < 0) {
      auto z = model->denoiser().initial_latent(batch, {});
      if (n_context > 0) z = sampler.absorb_context(z, context);
      auto generated = sampler.rollout(z, tokens - n_context, plan.chunk_size, plan.matrix, plan.uncertainty_scale, {}, gen);
      samples = n_context > 0 ? torch::cat({context, generated}, 0) : generated;
    } else {
      df::check(replan > 0, "--memory needs --replan-every > 0");
      samples = sample_with_limited_memory(sampler, *model, context, batch, tokens, memory, replan, plan, gen);
    }
    const auto npy = out_dir + "/" + label + ".npy";
    df::write_npy(npy, samples.to(torch::kCPU));
    const auto metrics = domain.evaluate_samples(config, samples.to(torch::kCPU), out_dir, label);
    std::ofstream metrics_file(out_dir + "/" + label + "_metrics.csv");
    metrics_file << "metric,value\n";
    for (const auto& [k, v] : metrics) {
      metrics_file << k << "," << v << "\n";
      spdlog::info("{}: {} = {:.4f}", label, k, v);
    }
    spdlog::info("wrote {} ({}), metrics and pictures to {}", npy, df::shape_str(samples), out_dir);
    return 0;
  });
}
