// df_bench: training-step throughput of a config (median of repeated timed windows), for benchmarks and
// the GPU check. Timing lives here, never in tests.
//   df_bench --config configs/maze2d_medium.yaml [--set training.batch_size=256] [--steps 20] [--repeats 5]
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>

#include "../common/tool_main.h"
#include "df/core/device.h"
#include "df/core/error.h"
#include "df/experiment/registry.h"
#include "df/training/trainer.h"

int main(int argc, char** argv) {
  CLI::App cli{"Measure training throughput (steps/s) of a config"};
  std::string config_file;
  std::vector<std::string> overrides;
  int64_t steps = 10, repeats = 5, warmup = 3;
  cli.add_option("--config", config_file, "YAML config")->required();
  cli.add_option("--set", overrides, "override a key (repeatable)");
  cli.add_option("--steps", steps, "steps per timed window");
  cli.add_option("--repeats", repeats, "timed windows (the median is reported)");
  cli.add_option("--warmup", warmup, "untimed steps first");
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    auto config = df::load_config(config_file, overrides);
    const auto device = df::setup_runtime(config);
    const auto& domain = df::find_domain(config.get_string("experiment.domain"));
    torch::manual_seed(0);
    auto dataset = domain.make_dataset(config);
    auto model = df::make_model(config, domain.model_shape(config), device);
    auto options = df::read_trainer_options(config, "");
    options.optimizer.warmup_steps = 0;
    df::Trainer trainer(*model, *dataset, options);
    auto sync = [&] {
      if (device.is_cuda()) torch::cuda::synchronize();
    };
    int64_t step = 0;
    for (int64_t i = 0; i < warmup; ++i) trainer.train_step(step++);
    sync();
    std::vector<double> rates;
    for (int64_t r = 0; r < repeats; ++r) {
      const auto start = std::chrono::steady_clock::now();
      for (int64_t i = 0; i < steps; ++i) trainer.train_step(step++);
      sync();
      rates.push_back(steps / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(rates.begin(), rates.end());
    const double median = rates[rates.size() / 2];
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();
    const int64_t batch = options.batch_size, tokens = dataset->num_tokens();
    spdlog::info("{}: {} on {}, {:.2f} M params, batch {} x {} tokens, precision {}", config_file,
                 config.get_string("model.kind"), df::describe_device(device), params / 1e6, batch, tokens,
                 config.get_string("training.precision"));
    std::printf("median %.3f steps/s (min %.3f, max %.3f over %lld windows of %lld steps) = %.0f sequences/s\n", median,
                rates.front(), rates.back(), static_cast<long long>(repeats), static_cast<long long>(steps),
                median * batch);
    return 0;
  });
}
