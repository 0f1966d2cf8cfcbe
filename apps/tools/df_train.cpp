// df_train: train a Diffusion Forcing model from a YAML config.
//   df_train --config configs/compositional.yaml [--set training.steps=2000 ...] [--run-dir DIR] [--resume]
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "../common/tool_main.h"
#include "df/core/error.h"
#include "df/core/stop_signal.h"
#include "df/experiment/registry.h"
#include "df/training/trainer.h"

int main(int argc, char** argv) {
  CLI::App cli{"Train a Diffusion Forcing model (defaults -> --config file -> --set overrides)"};
  std::string config_file, run_dir;
  std::vector<std::string> overrides;
  bool resume = false, print_config = false;
  cli.add_option("--config", config_file, "YAML config (configs/*.yaml)");
  cli.add_option("--set", overrides, "override one key, e.g. --set training.steps=500 (repeatable)");
  cli.add_option("--run-dir", run_dir, "output directory (default: experiment.run_dir)");
  cli.add_flag("--resume", resume, "continue from <run-dir>/checkpoint.pt with the run's stored config");
  cli.add_flag("--print-config", print_config, "print the resolved config and exit");
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    if (resume && config_file.empty() && !run_dir.empty()) config_file = run_dir + "/config.yaml";
    auto config = df::load_config(config_file, overrides);
    if (print_config) {
      std::cout << config.to_yaml();
      return 0;
    }
    if (run_dir.empty()) run_dir = config.get_string("experiment.run_dir");
    if (resume)
      df::check(std::filesystem::exists(run_dir + "/checkpoint.pt"), run_dir + "/checkpoint.pt: nothing to resume");
    std::filesystem::create_directories(run_dir);
    config.write(run_dir + "/config.yaml");
    df::app::write_command(run_dir + "/command.txt", argc, argv, /*append=*/true);
    const auto device = df::setup_runtime(config);
    const auto& domain = df::find_domain(config.get_string("experiment.domain"));
    torch::manual_seed(static_cast<uint64_t>(config.get_int("experiment.seed")));  // weight initialisation
    auto dataset = domain.make_dataset(config);
    auto model = df::make_model(config, domain.model_shape(config), device);
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();
    spdlog::info("{}: domain {}, model {} ({:.3f} M parameters), run dir {}",
                 config.source().empty() ? "defaults" : config.source(), domain.name(),
                 config.get_string("model.kind"), params / 1e6, run_dir);
    df::TrainerHooks hooks;
    hooks.validate = [&](df::DiffusionForcingModel& m, int64_t step) { return domain.validate(m, config, step); };
    // SIGTERM / SIGINT: checkpoint at the current step and exit with 128 + signal, as a killed job would.
    df::StopSignalGuard stop_signal;
    hooks.should_stop = [&stop_signal] { return stop_signal.requested(); };
    df::Trainer trainer(*model, *dataset, df::read_trainer_options(config, run_dir), hooks);
    const auto summary = trainer.run(resume);
    if (summary.interrupted) {
      spdlog::warn("stopped by {} at step {}; checkpoint {}/checkpoint.pt; continue with: "
                   "df_train --resume --run-dir {}",
                   df::StopSignalGuard::name(stop_signal.signal()), summary.steps_done, run_dir, run_dir);
      return 128 + stop_signal.signal();
    }
    spdlog::info("done: {} steps, last loss {:.5f}; checkpoint {}/checkpoint.pt", summary.steps_done,
                 summary.last_loss, run_dir);
    return 0;
  });
}
