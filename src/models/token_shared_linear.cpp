#include "token_shared_linear.h"

#include <atomic>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "df/core/compat.h"

namespace df {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

c10::intrusive_ptr<TokenSharedWeight> state_of(AutogradContext* ctx) {
  return c10::static_intrusive_pointer_cast<TokenSharedWeight>(ctx->saved_data["state"].toCapsule());
}

// weight (fp32) -> weight_lp; its backward runs after every token's and turns the kept pairs into the weight and
// bias gradients.
struct SharedWeightRoot : torch::autograd::Function<SharedWeightRoot> {
  // (LibTorch 1.13's Function::apply takes no undefined tensors: an absent bias or add is an empty optional.)
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& weight,
                               const c10::optional<torch::Tensor>& bias, torch::ScalarType dtype,
                               const c10::intrusive_ptr<TokenSharedWeight>& state) {
    ctx->saved_data["state"] = c10::IValue::make_capsule(state);
    ctx->set_materialize_grads(false);  // the tokens send no gradient to weight_lp: do not make zeros for it
    if (bias) state->bias_lp = bias->to(dtype);
    return weight.to(dtype, /*non_blocking=*/false, /*copy=*/true);  // not kept in state: no reference cycle
  }

  static variable_list backward(AutogradContext* ctx, variable_list /*grad_weight_lp: undefined*/) {
    const auto state = state_of(ctx);
    std::vector<torch::Tensor> inputs, grads;
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      inputs.swap(state->inputs);  // emptied: a second backward through a retained graph starts afresh
      grads.swap(state->output_grads);
    }
    if (inputs.empty()) return {torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    const auto x = inputs.size() == 1 ? inputs[0] : torch::cat(inputs);  // [N, I], N = tokens x batch
    const auto g = grads.size() == 1 ? grads[0] : torch::cat(grads);     // [N, O]
    const auto grad_weight = torch::mm(g.t(), x).to(torch::kFloat);
    // (Summed in the autocast dtype, which accumulates in fp32 and rounds once: a kFloat sum would first copy g.)
    const auto grad_bias = state->bias_lp.defined() ? g.sum(0).to(torch::kFloat) : torch::Tensor();
    return {grad_weight, grad_bias, torch::Tensor(), torch::Tensor()};
  }
};

// One token: add + x W^T with the sequence's low-precision weight. Its backward returns the input gradient (and
// add's) and keeps (x, grad) for the root.
struct SharedWeightLinear : torch::autograd::Function<SharedWeightLinear> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight_lp,
                               const c10::optional<torch::Tensor>& add,
                               const c10::intrusive_ptr<TokenSharedWeight>& state) {
    const auto dtype = weight_lp.scalar_type();
    const auto x_lp = x.to(dtype);
    ctx->saved_data["state"] = c10::IValue::make_capsule(state);
    ctx->save_for_backward({weight_lp});
    ctx->saved_data["x_lp"] = x_lp;
    ctx->saved_data["x_dtype"] = static_cast<int64_t>(x.scalar_type());
    ctx->saved_data["has_add"] = add.has_value();
    ctx->saved_data["add_dtype"] = static_cast<int64_t>(add ? add->scalar_type() : dtype);
    auto base = add ? add->to(dtype) : torch::Tensor();
    if (state->bias_lp.defined()) base = base.defined() ? base + state->bias_lp : state->bias_lp;
    return base.defined() ? torch::addmm(base, x_lp, weight_lp.t()) : torch::mm(x_lp, weight_lp.t());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto& g = grad_outputs[0];
    if (!g.defined()) return {torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    const auto state = state_of(ctx);
    const auto x_lp = ctx->saved_data["x_lp"].toTensor();
    const auto weight_lp = ctx->get_saved_variables()[0];
    const auto g_lp = g.to(weight_lp.scalar_type()).contiguous();
    const auto x_dtype = static_cast<torch::ScalarType>(ctx->saved_data["x_dtype"].toInt());
    const auto grad_x = ctx->needs_input_grad(0) ? torch::mm(g_lp, weight_lp).to(x_dtype) : torch::Tensor();
    // Edge 2 exists only with an add (needs_input_grad counts the tensors passed).
    const auto grad_add = ctx->saved_data["has_add"].toBool() && ctx->needs_input_grad(2)
                              ? g_lp.to(static_cast<torch::ScalarType>(ctx->saved_data["add_dtype"].toInt()))
                              : torch::Tensor();
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      state->inputs.push_back(x_lp);
      state->output_grads.push_back(g_lp);
    }
    return {grad_x, torch::Tensor(), grad_add, torch::Tensor()};
  }
};

}  // namespace

TokenSharedLinear::TokenSharedLinear(const torch::Tensor& weight, const torch::Tensor& bias, torch::ScalarType dtype)
    : state_(c10::make_intrusive<TokenSharedWeight>()) {
  weight_lp_ = SharedWeightRoot::apply(weight, bias.defined() ? c10::optional<torch::Tensor>(bias) : c10::nullopt,
                                       dtype, state_);
}

torch::Tensor TokenSharedLinear::operator()(const torch::Tensor& x, const torch::Tensor& add) const {
  return SharedWeightLinear::apply(x, weight_lp_, add.defined() ? c10::optional<torch::Tensor>(add) : c10::nullopt,
                                   state_);
}

namespace {
std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> enabled{[] {
    const char* env = std::getenv("DF_SEQUENCE_WEIGHT_GRADS");
    return !(env && std::string(env) == "0");
  }()};
  return enabled;
}
}  // namespace

bool sequence_weight_grads_enabled() { return enabled_flag().load(); }
void set_sequence_weight_grads_enabled(bool enabled) { enabled_flag().store(enabled); }

TokenLinears TokenLinears::for_training(const torch::Tensor& like) {
  TokenLinears linears;
  // bf16 only: its range is fp32's. A sum over all tokens rounded once to fp16 could overflow under a loss
  // scale where each token's share does not; fp16 keeps autocast's per-call path.
  linears.active_ = torch::GradMode::is_enabled() && like.scalar_type() == torch::kFloat &&
                    autocast_enabled_for(like) && autocast_dtype_for(like) == torch::kBFloat16 &&
                    sequence_weight_grads_enabled();
  return linears;
}

torch::Tensor TokenLinears::operator()(const torch::nn::Linear& layer, const torch::Tensor& x) {
  if (!active_) return layer.ptr()->forward(x);
  auto it = shared_.find(layer.get());
  if (it == shared_.end()) {
    it = shared_.emplace(layer.get(), TokenSharedLinear(layer->weight, layer->bias, dtype())).first;
  }
  return it->second(x);
}

}  // namespace df
