#include "df/models/state_dict.h"

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df {

TensorMap state_dict(const torch::nn::Module& module) {
  TensorMap map;
  for (const auto& p : module.named_parameters(true)) map[p.key()] = p.value();
  for (const auto& b : module.named_buffers(true)) map[b.key()] = b.value();
  return map;
}

void load_state_dict(torch::nn::Module& module, const TensorMap& tensors, const std::string& source, bool strict) {
  torch::NoGradGuard no_grad;
  auto own = state_dict(module);
  for (auto& [name, target] : own) {
    const auto it = tensors.find(name);
    if (it == tensors.end()) {
      check(!strict, source + ": missing tensor \"" + name + "\" " + shape_str(target));
      continue;
    }
    check(it->second.sizes() == target.sizes(), source + ": tensor \"" + name + "\" has shape " +
                                                    shape_str(it->second) + ", the model expects " + shape_str(target));
    target.copy_(it->second);
  }
  if (strict) {
    for (const auto& [name, value] : tensors)
      check(own.count(name) == 1, source + ": unexpected tensor \"" + name + "\" " + shape_str(value) +
                                      " (the model has no parameter or buffer of that name)");
  }
}

}  // namespace df
