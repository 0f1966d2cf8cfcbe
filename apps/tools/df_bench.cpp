// df_bench: training-step time and the domain's sampling benchmarks of a config (medians of repeated runs
// after a warm-up), for benchmarks and the GPU check. Timing lives here, never in tests.
//   df_bench --config configs/maze2d_medium.yaml [--set training.batch_size=256] [--steps 20] [--repeats 5]
//            [--sampling] [--no-train] [--profile] [--json out.json]
// --profile: the training step's FLOPs (from the convolution and matrix-product shapes), the achieved GFLOP/s
// and the share of op time in convolutions, matrix products and everything else (df/training/step_profile.h).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>

#include "../common/tool_main.h"
#include "df/core/blas_kernels.h"
#include "df/core/device.h"
#include "df/core/error.h"
#include "df/core/timing.h"
#include "df/experiment/registry.h"
#include "df/training/step_profile.h"
#include "df/training/trainer.h"

int main(int argc, char** argv) {
  df::select_blas_kernels(argv);  // first: may start this program again (df/core/blas_kernels.h)
  CLI::App cli{"Measure training-step and sampling time of a config"};
  std::string config_file, json_file;
  std::vector<std::string> overrides;
  int steps = 10, repeats = 5, warmup = 3;
  bool sampling = false, no_train = false, profile = false;
  int profile_steps = 3;
  int profile_detail = 0;
  cli.add_option("--config", config_file, "YAML config")->required();
  cli.add_option("--set", overrides, "override a key (repeatable)");
  cli.add_option("--steps", steps, "training steps per timed window");
  cli.add_option("--repeats", repeats, "timed windows / sampling runs (the median is reported)");
  cli.add_option("--warmup", warmup, "untimed training steps first");
  cli.add_flag("--sampling", sampling, "also time the domain's sampling (plans, forecasts, rollouts)");
  cli.add_flag("--no-train", no_train, "skip the training-step benchmark");
  cli.add_flag("--profile", profile, "FLOPs, GFLOP/s and time by op class of the training step");
  cli.add_option("--profile-steps", profile_steps, "training steps profiled (after the timed windows)");
  cli.add_option("--profile-detail", profile_detail,
                 "with --profile: the N largest ops by call site (parent op, input sizes and dtypes)");
  cli.add_option("--json", json_file, "write the results as JSON");
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    auto config = df::load_config(config_file, overrides);
    const auto device = df::setup_runtime(config);
    const auto& domain = df::find_domain(config.get_string("experiment.domain"));
    torch::manual_seed(0);
    auto dataset = domain.make_dataset(config);
    auto model = df::make_model(config, domain.model_shape(config), device);
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();
    auto options = df::read_trainer_options(config, "");
    options.optimizer.warmup_steps = 0;
    std::map<std::string, double> results;
    if (!no_train) {
      df::Trainer trainer(*model, *dataset, options);
      int64_t step = 0;
      for (int i = 0; i < warmup; ++i) trainer.train_step(step++);
      const double window = df::median_seconds(
          [&] {
            for (int i = 0; i < steps; ++i) trainer.train_step(step++);
          },
          repeats, 0, device);
      results["train_step_s"] = window / steps;
      // The first words are parsed by ../shared/bench/side_by_side_cpu.sh.
      std::printf("median %.4f steps/s over %d windows of %d steps = %.0f sequences/s (%.4f s/step, batch %lld x %lld tokens)\n",
                  steps / window, repeats, steps, steps / window * options.batch_size, window / steps,
                  static_cast<long long>(options.batch_size), static_cast<long long>(dataset->num_tokens()));
      if (profile) {
        const auto p = df::profile_ops([&] { trainer.train_step(step++); }, profile_steps);
        const double step_s = window / steps;
        // The instrumentation sees the calling thread only. With shard threads that thread trains one of
        // shard_threads equal parts of the step: the step's FLOPs are its FLOPs times shard_threads, and the
        // time shares are that part's.
        const double parts = static_cast<double>(std::max<int64_t>(1, options.shard_threads));
        results["flops_per_step"] = parts * p.flops_total();
        results["conv_flops_per_step"] = parts * p.flops[0];
        results["matmul_flops_per_step"] = parts * p.flops[1];
        results["gflops_per_s"] = results["flops_per_step"] / step_s / 1e9;
        results["op_seconds_per_step"] = p.op_seconds();
        results["share_conv"] = p.share(df::OpClass::Convolution);
        results["share_matmul"] = p.share(df::OpClass::MatrixProduct);
        results["share_other"] = p.share(df::OpClass::Other);
        std::printf("profile: %.3f GFLOP per step (convolutions %.3f, matrix products %.3f) = %.1f GFLOP/s at the "
                    "median step time%s\n",
                    results["flops_per_step"] / 1e9, results["conv_flops_per_step"] / 1e9,
                    results["matmul_flops_per_step"] / 1e9, results["gflops_per_s"],
                    parts > 1 ? " (counted on the calling thread's shard part, times the shard threads)" : "");
        std::printf("profile: op time %.4f s per step%s (instrumented; the step took %.4f s): convolutions %.1f%%, "
                    "matrix products %.1f%%, other %.1f%%\n",
                    p.op_seconds(), parts > 1 ? " on the calling thread" : "", step_s, 100 * results["share_conv"], 100 * results["share_matmul"],
                    100 * results["share_other"]);
        for (const auto c : {df::OpClass::Other, df::OpClass::Convolution, df::OpClass::MatrixProduct}) {
          std::printf("profile: largest %s ops (self ms per step):", df::op_class_name(c));
          for (const auto& [name, sec] : p.top_ops(c, 8)) std::printf(" %s %.1f;", name.c_str(), 1e3 * sec);
          std::printf("\n");
        }
        if (profile_detail > 0) {
          std::printf("profile: largest call sites (self ms in one step timed with its inputs recorded):\n");
          for (const auto& [site, sec] : p.top_detailed_ops(static_cast<size_t>(profile_detail)))
            std::printf("  %7.2f ms %5d calls  %s\n", 1e3 * sec, p.detailed_calls.at(site), site.c_str());
        }
      }
    }
    if (sampling) {
      model->eval();
      for (const auto& [name, value] : domain.benchmark_sampling(*model, config, repeats)) {
        results[name] = value;  // *_s: median seconds; *_fps: frames per second of that median
        const bool rate = name.size() > 4 && name.compare(name.size() - 4, 4, "_fps") == 0;
        std::printf("sampling: %s median %.4f %s\n", name.c_str(), value, rate ? "frames/s" : "s");
      }
    }
    spdlog::info("{}: {} on {}, {} threads, {:.2f} M params, precision {}", config_file,
                 config.get_string("model.kind"), df::describe_device(device), at::get_num_threads(), params / 1e6,
                 df::precision_note(config.get_enum<df::Precision>("training.precision"), device));
    if (!json_file.empty()) {
      std::ofstream out(json_file);
      out << "{\"config\": \"" << config_file << "\", \"device\": \"" << df::describe_device(device)
          << "\", \"threads\": " << at::get_num_threads() << ", \"params\": " << params
          << ", \"batch\": " << options.batch_size << ", \"tokens\": " << dataset->num_tokens();
      for (const auto& [name, value] : results) out << ", \"" << name << "\": " << value;
      out << "}\n";
    }
    return 0;
  });
}
