// Linear layers that a recurrence applies at every token with the same weights, trained under autocast
// (private to src/models).
//
// Why: under autocast every call of a Linear casts its fp32 weight to bf16 (or fp16), and autograd brings the
// weight gradient back one token at a time: a cast back to fp32 and a full-size fp32 sum per token. On the
// maze-large ResMLP (ten 1024 x 1024 layers, 80 tokens, batch 64, bf16 on 2 CPU cores) those casts and sums took
// 0.6 s of a 1.97 s step, more than the products. Here each weight is cast once per sequence; the backward of a
// token computes only its input gradient and keeps (input, output gradient); when every token is done, the
// weight gradient is one product over all tokens (K = tokens x batch, fp32 accumulation, one rounding to the
// autocast dtype instead of one per token) and the bias gradient one sum, handed to autograd in fp32.
//
// Only for training under bf16 autocast (CPU or CUDA): without grad mode, without autocast, under fp16 autocast
// (whose range a once-rounded sum over all tokens could exceed) or for non-fp32 weights, TokenLinears calls the
// layers as they are, so fp32 numerics (and the numerics fingerprints) are unchanged.
// DF_SEQUENCE_WEIGHT_GRADS=0 in the environment turns it off (for comparisons on one build).
#pragma once
#include <torch/torch.h>

#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace df {

// What the tokens of one sequence share for one layer: the bias in the autocast dtype and, filled by the tokens'
// backward, their (input, output gradient) pairs.
struct TokenSharedWeight : torch::CustomClassHolder {
  torch::Tensor bias_lp;  // [O] (no autograd history), or undefined
  std::mutex mutex;       // one graph's backward runs on one thread; the lock keeps it safe anyway
  std::vector<torch::Tensor> inputs, output_grads;
};

// One weight [O, I] (and bias [O] or undefined) for one sequence in `dtype`; call it once per token.
class TokenSharedLinear {
 public:
  TokenSharedLinear(const torch::Tensor& weight, const torch::Tensor& bias, torch::ScalarType dtype);
  // x [B, I] -> add + x W^T (add [B, O]; undefined: the bias, or nothing), in the autocast dtype.
  torch::Tensor operator()(const torch::Tensor& x, const torch::Tensor& add = {}) const;

 private:
  c10::intrusive_ptr<TokenSharedWeight> state_;
  torch::Tensor weight_lp_;  // the root node's output: the graph's edge to the weight and bias
};

// The per-token Linear layers of one forward pass over a sequence.
class TokenLinears {
 public:
  // Inactive: operator() is layer->forward(x).
  TokenLinears() = default;
  // Active when grad mode is on, bf16 autocast is on for `like`'s device, `like` is fp32 and the environment
  // allows.
  static TokenLinears for_training(const torch::Tensor& like);

  bool active() const { return active_; }
  // The dtype of the shared copies: bf16, the only autocast dtype the path takes.
  static constexpr torch::ScalarType dtype() { return torch::kBFloat16; }
  torch::Tensor operator()(const torch::nn::Linear& layer, const torch::Tensor& x);

 private:
  bool active_ = false;
  std::unordered_map<const torch::nn::LinearImpl*, TokenSharedLinear> shared_;
};

// Whether weight gradients may be computed once per sequence: DF_SEQUENCE_WEIGHT_GRADS != 0 in the environment,
// or as last set (for tests and comparisons in one process).
bool sequence_weight_grads_enabled();
void set_sequence_weight_grads_enabled(bool enabled);

}  // namespace df
