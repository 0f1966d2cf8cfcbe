// Named parameters and buffers of a module as a flat map ("model.gru_stack.0.weight_ih" -> tensor),
// and strict loading by name with errors that name the missing/unexpected key or the shape mismatch.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

namespace df {

using TensorMap = std::map<std::string, torch::Tensor>;

TensorMap state_dict(const torch::nn::Module& module);

// Copies every entry into the module's parameters/buffers of the same name. With strict = true, a key
// missing on either side is an error. `source` names where the tensors came from (for messages).
void load_state_dict(torch::nn::Module& module, const TensorMap& tensors, const std::string& source, bool strict = true);

}  // namespace df
