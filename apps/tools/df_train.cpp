// df_train: train a Diffusion Forcing model from a YAML config.
//   df_train --config configs/compositional.yaml [--set training.steps=2000 ...] [--run-dir DIR] [--resume]
//   df_train --nproc 4 --config ... --set training.data_shards=4   # 4 data-parallel processes on this machine
// Started by torchrun (or with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT set), it is one rank of
// a data-parallel job; see README "Training on several processes, GPUs and machines".
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "../common/tool_main.h"
#include "df/core/blas_kernels.h"
#include "df/core/error.h"
#include "df/core/stop_signal.h"
#include "df/experiment/experiment_config.h"
#include "df/experiment/registry.h"
#include "df/training/distributed.h"
#include "df/training/launcher.h"
#include "df/training/trainer.h"

int main(int argc, char** argv) {
  df::select_blas_kernels(argv);  // first: may start this program again (df/core/blas_kernels.h)
  CLI::App cli{"Train a Diffusion Forcing model (defaults -> --config file -> --set overrides)"};
  std::string config_file, run_dir;
  std::vector<std::string> overrides;
  bool resume = false, print_config = false;
  int nproc = 0;
  cli.add_option("--config", config_file, "YAML config (configs/*.yaml)");
  cli.add_option("--set", overrides, "override one key, e.g. --set training.steps=500 (repeatable)");
  cli.add_option("--run-dir", run_dir, "output directory (default: experiment.run_dir)");
  cli.add_flag("--resume", resume, "continue from <run-dir>/checkpoint.pt with the run's stored config");
  cli.add_flag("--print-config", print_config, "print the resolved config and exit");
  cli.add_option("--nproc", nproc,
                 "start N data-parallel training processes on this machine (c10d: Gloo on CPU, NCCL on CUDA); "
                 "training.data_shards must be a multiple of N")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(cli, argc, argv);
  return df::app::run_tool([&] {
    if (resume && config_file.empty() && !run_dir.empty()) config_file = run_dir + "/config.yaml";
    auto config = df::load_config(config_file, overrides);
    if (print_config) {
      std::cout << config.to_yaml();
      return 0;
    }
    if (nproc > 1) {  // the launcher: N copies of this command, without --nproc, as ranks 0..N-1
      df::check(!std::getenv("WORLD_SIZE"),
                "--nproc: WORLD_SIZE is already set (started by torchrun?); use either --nproc or torchrun");
      const auto shards = config.get_int("training.data_shards");
      df::check(shards % nproc == 0, "--nproc " + std::to_string(nproc) + ": training.data_shards (" +
                                         std::to_string(shards) + ") must be a multiple of the number of processes; "
                                         "add --set training.data_shards=" + std::to_string(nproc));
      df::LaunchOptions launch;
      launch.nproc = nproc;
      return df::launch_local_processes(df::current_executable(), df::arguments_without(argc, argv, "--nproc"), launch);
    }
    const auto env = df::DistributedEnvironment::from_environment();
    if (env.rank > 0) {  // rank 0 reports progress; the others only warnings and errors, tagged
      spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [rank " + std::to_string(env.rank) + "] [%^%l%$] %v");
      spdlog::set_level(spdlog::level::warn);
    }
    if (run_dir.empty()) run_dir = config.get_string("experiment.run_dir");
    if (resume)
      df::check(std::filesystem::exists(run_dir + "/checkpoint.pt"), run_dir + "/checkpoint.pt: nothing to resume");
    if (env.rank == 0) {
      std::filesystem::create_directories(run_dir);
      config.write(run_dir + "/config.yaml");
      df::app::write_command(run_dir + "/command.txt", argc, argv, /*append=*/true);
    }
    const auto device = df::device_for_rank(df::setup_runtime(config), env);
    std::unique_ptr<df::ProcessGroup> group;
    if (env.multi_process()) {
      group = df::ProcessGroup::connect(env, device, df::read_distributed_options(config));
      spdlog::info("rank 0 of {} ({}, {}), data shards {}", env.world_size, group->backend_name(), device.str(),
                   config.get_int("training.data_shards"));
    }
    const auto& domain = df::find_domain(config.get_string("experiment.domain"));
    torch::manual_seed(static_cast<uint64_t>(config.get_int("experiment.seed")));  // weight initialisation
    auto dataset = domain.make_dataset(config);
    auto model = df::make_model(config, domain.model_shape(config), device);
    int64_t params = 0;
    for (const auto& p : model->parameters()) params += p.numel();
    bool bf16_slower = false;
    const auto precision = df::precision_note(config.get_enum<df::Precision>("training.precision"), device, &bf16_slower);
    spdlog::info("{}: domain {}, model {} ({:.3f} M parameters), precision {}, run dir {}",
                 config.source().empty() ? "defaults" : config.source(), domain.name(),
                 config.get_string("model.kind"), params / 1e6, precision, run_dir);
    if (bf16_slower) spdlog::warn("training.precision: {}", precision);
    df::TrainerHooks hooks;
    hooks.validate = [&](df::DiffusionForcingModel& m, int64_t step) { return domain.validate(m, config, step); };
    // SIGTERM / SIGINT: checkpoint at the current step and exit with 128 + signal, as a killed job would.
    df::StopSignalGuard stop_signal;
    hooks.should_stop = [&stop_signal] { return stop_signal.requested(); };
    df::Trainer trainer(*model, *dataset, df::read_trainer_options(config, run_dir), hooks, group.get());
    const auto summary = trainer.run(resume);
    if (summary.interrupted) {
      // With several processes a rank may stop because another one was signalled: it exits like that one.
      const int signal_number = stop_signal.signal() ? stop_signal.signal() : SIGTERM;
      if (env.rank == 0)
        spdlog::warn("stopped by {} at step {}; checkpoint {}/checkpoint.pt; continue with: "
                     "df_train --resume --run-dir {}",
                     stop_signal.signal() ? df::StopSignalGuard::name(signal_number) : "a stop request of another rank",
                     summary.steps_done, run_dir, run_dir);
      return 128 + signal_number;
    }
    spdlog::info("done: {} steps, last loss {:.5f}; checkpoint {}/checkpoint.pt", summary.steps_done,
                 summary.last_loss, run_dir);
    return 0;
  });
}
