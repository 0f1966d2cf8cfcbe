// Training checkpoints: model, optimizer, EMA, step, loss scale, best metric and the resolved config in
// one file, written atomically (temp file + rename), so a run killed at any moment leaves the previous
// checkpoint readable. Randomness needs no saved state: the trainer derives every draw from (seed, step).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>

#include "df/models/state_dict.h"

namespace df {

struct Checkpoint {
  int64_t step = 0;                       // optimizer steps completed
  std::string config_yaml;                // resolved configuration of the run
  TensorMap model;                        // state dict of the model
  TensorMap ema;                          // shadow weights (empty when EMA is off)
  std::string optimizer_state;            // serialized optimizer archive (bytes)
  std::map<std::string, double> scalars;  // loss scale, best validation metric, patience, ...
};

// Writes `path` atomically. `before_commit` runs after the temp file is complete and before the rename
// (tests use it to simulate a crash at the worst moment).
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint,
                     const std::function<void()>& before_commit = nullptr);
Checkpoint load_checkpoint(const std::string& path);

// Loads a checkpoint's weights into `module` for inference: the EMA weights when the checkpoint has them
// and `prefer_ema` is set, else the training weights. `source` names the file in error messages.
void load_inference_weights(torch::nn::Module& module, const Checkpoint& checkpoint, const std::string& source,
                            bool prefer_ema = true);

// The part of a checkpoint inference needs, e.g. to ship trained weights: step, config and the weights
// load_inference_weights would pick (the EMA weights when present and prefer_ema), floating tensors cast to
// half precision with `half` (they load into float models as any checkpoint); no EMA copy, no optimizer state.
Checkpoint inference_checkpoint(const Checkpoint& checkpoint, bool half, bool prefer_ema = true);

// Optimizer state <-> bytes.
std::string serialize_optimizer(const torch::optim::Optimizer& optimizer);
void deserialize_optimizer(torch::optim::Optimizer& optimizer, const std::string& bytes, const std::string& source);

}  // namespace df
