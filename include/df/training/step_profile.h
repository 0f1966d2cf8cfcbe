// Where a training step's time goes: the FLOPs of its convolutions and matrix products, counted from their
// shapes, and the step's time split into convolution, matrix-product and everything else, from LibTorch's
// op-level instrumentation (at::RecordFunction, the mechanism of LibTorch's profiler). df_bench prints it so
// that the distance to the machine's limit is measured, not guessed.
//
//   auto profile = df::profile_ops([&] { trainer.train_step(step++); }, 3);
//   // profile.flops() per call, profile.share(OpClass::Other) of the op time, profile.top_ops(OpClass::Other)
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace df {

enum class OpClass { Convolution = 0, MatrixProduct = 1, Other = 2 };
const char* op_class_name(OpClass c);

// The class of an ATen op by name: convolutions (forward and backward, any backend), matrix products
// (mm, addmm, bmm, baddbmm, matmul, linear, ...), or other. Ops nested inside a classified op inherit its
// class (e.g. the reorders and allocations of a convolution count as convolution).
OpClass classify_op(const std::string& name);

struct OpProfile {
  int calls = 0;  // how many times the profiled function ran
  // Per call of the profiled function:
  std::array<double, 3> flops{};    // by class (Other is always 0)
  std::array<double, 3> seconds{};  // self time of the ops of each class (op time, instrumentation included)
  std::array<std::map<std::string, double>, 3> self_seconds;  // by class, per op name, per call
  std::map<std::string, double> op_flops;      // per counted op name (aten::convolution, aten::mm, ...), per call
  // Self seconds of the one call timed with its inputs recorded (slower: the instrumentation copies them), by
  // "parent > op [input sizes and dtypes]", for finding which call sites of an op cost the time.
  std::map<std::string, double> detailed_self_seconds;
  std::map<std::string, int> detailed_calls;  // how many times each of those ran in that call

  double flops_total() const { return flops[0] + flops[1]; }
  double op_seconds() const { return seconds[0] + seconds[1] + seconds[2]; }
  double share(OpClass c) const { return op_seconds() > 0 ? seconds[static_cast<int>(c)] / op_seconds() : 0.0; }
  // The n ops of a class with the largest self time per call.
  std::vector<std::pair<std::string, double>> top_ops(OpClass c, size_t n = 8) const;
  std::vector<std::pair<std::string, double>> top_detailed_ops(size_t n = 30) const;
};

// Runs `fn` `calls` times on this thread with the op instrumentation on and returns the totals per call.
// FLOPs: a multiply-add counts 2; a convolution 2 * N * C_out * H_out * W_out * C_in / groups * kh * kw
// forward, the same again for each of the input and weight gradients its backward computes; a product
// [.., M, K] x [.., K, N] 2 * batch * M * K * N (counted at mm / addmm / bmm / baddbmm / addbmm / mv / dot,
// so matmul and linear are not counted twice). Time: each op's self time (its time minus that of the ops it
// calls), on the calling thread; the instrumentation costs about a microsecond per op, which shows up in
// the classes of small ops. Time that no op covers (hand loops, the allocator outside ops) is not in it.
OpProfile profile_ops(const std::function<void()>& fn, int calls);

}  // namespace df
