// The domains this build contains and the steps every tool shares: resolving a configuration over their
// schema, setting up the runtime (device, CPU threads), and loading a trained model from a checkpoint.
//
//   auto trained = df::load_trained_model("runs/x/checkpoint.pt", {{}, {"sampling.matrix=pyramid"}});
//   df::Sampler sampler(*trained.model, df::read_sampler_options(trained.config));
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "df/core/config.h"
#include "df/experiment/domain.h"

namespace df {

// Every domain built into this library (compositional, timeseries, maze, video, robot, as enabled).
const std::vector<std::unique_ptr<Domain>>& domains();
// Throws df::Error naming the unknown domain and the built ones.
const Domain& find_domain(const std::string& name);

// Schema = core sections + every domain's sections. Merges `text` (e.g. a checkpoint's stored config,
// named `text_source` in messages), then the file (if any), then the "key.path=value" overrides, and
// validates.
Config load_config(const std::string& file, const std::vector<std::string>& overrides, const std::string& text = "",
                   const std::string& text_source = "");

// Evaluation tools merge --config/--set over a checkpoint's stored config to tune sampling; what fixed the
// network and its tokens at training (core model/diffusion keys plus the domain's trained_keys) must stay
// as stored. Throws naming the key and both values.
void require_as_trained(const Config& config, const std::string& stored_yaml, const std::string& checkpoint);

// Resolves experiment.device and sets the CPU threads from experiment.threads; logs both.
torch::Device setup_runtime(const Config& config);

struct LoadOptions {
  std::string config_file;             // YAML merged over the stored config ("" = none)
  std::vector<std::string> overrides;  // "key.path=value", applied last
  bool prefer_ema = true;              // the EMA weights when the checkpoint has them
};

struct TrainedModel {
  Config config;                                  // stored config + options
  const Domain* domain = nullptr;
  torch::Device device{torch::kCPU};
  std::shared_ptr<DiffusionForcingModel> model;  // inference weights loaded, eval mode
  int64_t step = 0;                               // training steps of the checkpoint
};

// Loads a checkpoint written by df_train: its stored config with the options applied (refusing changes to
// trained keys), the runtime, the model with its inference weights, in eval mode.
TrainedModel load_trained_model(const std::string& checkpoint, const LoadOptions& options = {});

}  // namespace df
