// df_sample: load a checkpoint (or a weights file from df_export_weights) and sample sequences with a chosen
// scheduling matrix.
//   df_sample --checkpoint runs/x/checkpoint.pt --tokens 64 --matrix pyramid --chunk-size 8 [--window 8 ...]
//   df_sample --checkpoint weights/video_mnist1/df.pt --tokens 251 --batch 1   # shipped weights, no training
// Writes the samples (context included) through the domain's writer (default: <label>.npy, metrics,
// pictures; video streams MP4 / PNG strip / per-frame CSV), and the exact command and config.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "../common/tool_main.h"
#include "df/core/blas_kernels.h"
#include "df/core/error.h"
#include "df/core/progress.h"
#include "df/experiment/registry.h"
#include "df/sampling/sampler.h"

int main(int argc, char** argv) {
  df::select_blas_kernels(argv);  // first: may start this program again (df/core/blas_kernels.h)
  CLI::App cli{"Sample from a trained Diffusion Forcing model"};
  std::string checkpoint, out_dir, context_file, label = "samples", matrix, stab_input;
  std::vector<std::string> overrides;
  int64_t tokens = 0, batch = 16, context_tokens = -1, memory = -1, replan = 0, chunk = 0, stab_level = -2, steps = 0,
          window = -1;
  uint64_t seed = 0;
  double u = -1, eta = -1;
  int reference_walk = -1;
  bool no_ema = false;
  cli.add_option("--checkpoint", checkpoint, "checkpoint.pt written by df_train, or a weights file (df_export_weights)")
      ->required();
  cli.add_option("--out", out_dir, "output directory (default: <checkpoint dir>/samples)");
  cli.add_option("--label", label, "name of this sampling run (file prefix)");
  auto* tokens_option =
      cli.add_option("--tokens", tokens, "total tokens per sequence incl. context (default: the training length)");
  cli.add_option("--batch", batch, "number of sequences");
  cli.add_option("--seed", seed, "sampling seed");
  cli.add_option("--context", context_file,
                 ".npy of context tokens [Tc, B, ...] or a file the domain reads, e.g. a video (default: the "
                 "domain's context)");
  cli.add_option("--context-tokens", context_tokens, "how many of the domain's context tokens to use");
  cli.add_option("--memory", memory, "tokens of memory kept when replanning (-1 = full memory, no resets)");
  cli.add_option("--replan-every", replan, "with --memory: tokens generated between latent resets");
  cli.add_option("--window", window, "sliding window in tokens (sampling.window; 0 = none)");
  cli.add_option("--set", overrides, "override a sampling/diffusion key, e.g. --set sampling.matrix=pyramid");
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
    // Checked before anything is loaded: 0 once silently meant "the training length".
    df::check(tokens_option->count() == 0 || tokens > 0,
              "--tokens: expected a positive number of tokens (context included), got " + std::to_string(tokens) +
                  "; leave it out for the training length");
    df::check(batch > 0, "--batch: expected a positive number of sequences, got " + std::to_string(batch));
    auto set = [&](const std::string& key, const std::string& value) { overrides.push_back(key + "=" + value); };
    if (!matrix.empty()) set("sampling.matrix", matrix);
    if (u >= 0) set("sampling.uncertainty_scale", std::to_string(u));
    if (chunk > 0) set("sampling.chunk_size", std::to_string(chunk));
    if (window >= 0) set("sampling.window", std::to_string(window));
    if (steps > 0) set("diffusion.sampling_steps", std::to_string(steps));
    if (eta >= 0) set("diffusion.eta", std::to_string(eta));
    if (reference_walk >= 0) set("sampling.reference_walk", reference_walk ? "true" : "false");
    if (stab_level >= -1) set("sampling.stabilization_level", std::to_string(stab_level));
    if (!stab_input.empty()) set("sampling.stabilization_input", stab_input);
    auto trained = df::load_trained_model(checkpoint, {"", overrides, !no_ema});
    // The step, for reports made from a checkpoint of a run still training (scripts read this line).
    spdlog::info("checkpoint {}: {} training steps", checkpoint, trained.step);
    const auto& config = trained.config;
    auto& model = *trained.model;
    if (out_dir.empty()) out_dir = (std::filesystem::path(checkpoint).parent_path() / "samples").string();
    std::filesystem::create_directories(out_dir);
    config.write(out_dir + "/" + label + "_config.yaml");
    df::app::write_command(out_dir + "/" + label + "_command.txt", argc, argv);
    if (tokens_option->count() == 0) tokens = trained.domain->make_dataset(config)->num_tokens();

    torch::Tensor context;
    if (!context_file.empty()) {
      context = trained.domain->read_context(config, context_file, batch).to(trained.device);
    } else {
      context = trained.domain->default_context(config, batch, seed);
      if (context.defined() && context_tokens >= 0) context = context.slice(0, 0, context_tokens);
      context = context.defined() && context.size(0) > 0 ? context.to(trained.device) : torch::Tensor();
    }
    const int64_t n_context = context.defined() ? context.size(0) : 0;
    df::check(tokens > n_context, "--tokens must exceed the number of context tokens (" + std::to_string(n_context) + ")");
    // Conditions of the whole sequence (context tokens first) for conditioned models, else undefined.
    auto cond = trained.domain->sampling_condition(config, tokens, batch, seed);
    if (cond.defined()) cond = cond.to(trained.device);
    const auto plan = df::read_chunk_plan(config);
    df::Sampler sampler(model, df::read_sampler_options(config));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    torch::manual_seed(seed);
    spdlog::info("sampling {} x {} tokens ({} context) with {} matrix, chunk {}, S = {}, {}", batch, tokens, n_context,
                 df::to_string(plan.matrix), plan.chunk_size, model.grid().sampling_steps(),
                 memory >= 0       ? "memory " + std::to_string(memory)
                 : plan.window > 0 ? "sliding window " + std::to_string(plan.window)
                                   : std::string("no window"));
    auto writer = trained.domain->make_sample_writer(config, out_dir, label, batch, seed);
    if (n_context > 0) writer->write_context(context);
    // Progress in frames (tokens x frame_stack): the unit a video user counts.
    const int64_t fs = config.get_int("diffusion.frame_stack");
    df::ProgressMeter progress("rollout", fs > 1 ? "frames" : "tokens", (tokens - n_context) * fs);
    int64_t done = 0;
    auto on_chunk = [&](const torch::Tensor& chunk) {
      writer->write(chunk);
      progress.update((done += chunk.size(0)) * fs);
    };
    if (memory >= 0) {
      df::check(replan > 0, "--memory needs --replan-every > 0");
      sampler.rollout_with_limited_memory(context, batch, tokens - n_context, memory, replan, plan.chunk_size,
                                          plan.matrix, plan.uncertainty_scale, gen, cond, on_chunk);
    } else {
      df::rollout_after_context(sampler, plan, context, batch, tokens - n_context, cond, gen, on_chunk);
    }
    const auto metrics = writer->finish();
    std::ofstream metrics_file(out_dir + "/" + label + "_metrics.csv");
    metrics_file << "metric,value\n";
    for (const auto& [k, v] : metrics) {
      metrics_file << k << "," << v << "\n";
      spdlog::info("{}: {} = {:.4f}", label, k, v);
    }
    spdlog::info("wrote samples, metrics and pictures to {}", out_dir);
    return 0;
  });
}
