#include "df/training/inference_weights.h"

namespace df {

Checkpoint inference_weights_checkpoint(const Checkpoint& checkpoint, bool prefer_ema, bool half) {
  Checkpoint out;
  out.step = checkpoint.step;
  out.config_yaml = checkpoint.config_yaml;
  const bool ema = prefer_ema && !checkpoint.ema.empty();
  for (const auto& [name, tensor] : checkpoint.model) {
    const auto it = checkpoint.ema.find(name);  // the EMA covers the parameters; buffers stay as trained
    auto t = (ema && it != checkpoint.ema.end() ? it->second : tensor).detach().to(torch::kCPU);
    if (half && t.is_floating_point()) t = t.to(torch::kFloat16);
    out.model[name] = t.contiguous();
  }
  out.scalars["weights_only"] = 1.0;
  out.scalars["weights_ema"] = ema ? 1.0 : 0.0;
  out.scalars["weights_half"] = half ? 1.0 : 0.0;
  return out;
}

}  // namespace df
