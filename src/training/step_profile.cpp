#include "df/training/step_profile.h"

#include <ATen/record_function.h>
#include <ATen/core/ivalue.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "df/core/error.h"

namespace df {

namespace {

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

double numel(c10::IntArrayRef sizes) {
  double n = 1;
  for (auto s : sizes) n *= static_cast<double>(s);
  return n;
}

// Output size of a convolution along one spatial axis.
int64_t conv_out(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  return (in + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
}

int64_t list_at(const c10::IValue& v, size_t i, int64_t fallback) {
  if (!v.isIntList()) return fallback;
  const auto l = v.toIntVector();
  if (l.empty()) return fallback;
  return l.size() == 1 ? l[0] : l[std::min(i, l.size() - 1)];
}

bool is_counted(const std::string& name) {
  static const char* counted[] = {"aten::mm",          "aten::addmm",
                                  "aten::bmm",         "aten::baddbmm",
                                  "aten::addbmm",      "aten::mv",
                                  "aten::addmv",       "aten::dot",
                                  "aten::convolution", "aten::convolution_backward",
                                  "df::onednn_conv2d", "df::onednn_conv2d_backward"};
  for (const char* c : counted)
    if (name == c) return true;
  return false;
}

// FLOPs of the ops that are counted (see the header); 0 for every other op.
double op_flops(const std::string& name, c10::ArrayRef<const c10::IValue> in) {
  const auto tensor = [&](size_t i) -> const at::Tensor* {
    return i < in.size() && in[i].isTensor() ? &in[i].toTensor() : nullptr;
  };
  if (name == "aten::mm" || name == "aten::addmm" || name == "aten::bmm" || name == "aten::baddbmm" ||
      name == "aten::addbmm") {
    const size_t first = (name == "aten::mm" || name == "aten::bmm") ? 0 : 1;
    const auto* a = tensor(first);
    const auto* b = tensor(first + 1);
    if (!a || !b || a->dim() < 2 || b->dim() < 2) return 0;
    // [.., M, K] x [.., K, N]: 2 * batch * M * K * N
    return 2.0 * numel(a->sizes()) * static_cast<double>(b->size(-1));
  }
  if (name == "aten::mv" || name == "aten::addmv") {
    const auto* a = tensor(name == "aten::mv" ? 0 : 1);
    return a ? 2.0 * numel(a->sizes()) : 0;
  }
  if (name == "aten::dot") {
    const auto* a = tensor(0);
    return a ? 2.0 * numel(a->sizes()) : 0;
  }
  if (name == "aten::convolution") {
    // (input, weight, bias, stride, padding, dilation, transposed, output_padding, groups)
    const auto* x = tensor(0);
    const auto* w = tensor(1);
    if (!x || !w || x->dim() < 3 || in.size() < 7) return 0;
    const bool transposed = in[6].isBool() && in[6].toBool();
    double positions = 1;  // output positions (input positions when transposed) per sample
    for (int64_t d = 2; d < x->dim(); ++d) {
      const auto i = static_cast<size_t>(d - 2);
      positions *= transposed ? static_cast<double>(x->size(d))
                              : static_cast<double>(conv_out(x->size(d), w->size(d), list_at(in[3], i, 1),
                                                             list_at(in[4], i, 0), list_at(in[5], i, 1)));
    }
    return 2.0 * static_cast<double>(x->size(0)) * positions * numel(w->sizes());
  }
  if (name == "df::onednn_conv2d" || name == "df::onednn_conv2d_backward") {
    // The U-Net's CPU bf16 convolution on oneDNN (stride 1): forward (x, weight, pad_h, pad_w), backward
    // (grad_y, x, weight, input_grad, weight_grad); each computed gradient costs a forward convolution.
    const bool backward = name == "df::onednn_conv2d_backward";
    const auto* y_or_x = tensor(0);
    const auto* w = tensor(backward ? 2 : 1);
    if (!y_or_x || !w || y_or_x->dim() != 4 || in.size() < (backward ? 5u : 4u)) return 0;
    double positions = 1;
    if (backward) {
      positions = static_cast<double>(y_or_x->size(2) * y_or_x->size(3));
    } else {
      for (int64_t d = 2; d < 4; ++d)
        positions *= static_cast<double>(conv_out(y_or_x->size(d), w->size(d), 1, in[d].toInt(), 1));
    }
    const double one = 2.0 * static_cast<double>(y_or_x->size(0)) * positions * numel(w->sizes());
    if (!backward) return one;
    return (in[3].toBool() ? one : 0.0) + (in[4].toBool() ? one : 0.0);
  }
  if (name == "aten::convolution_backward") {
    // (grad_output, input, weight, bias_sizes, stride, padding, dilation, transposed, output_padding, groups,
    //  output_mask): each of the input and weight gradients costs a forward convolution.
    const auto* gy = tensor(0);
    const auto* x = tensor(1);
    const auto* w = tensor(2);
    if (!gy || !x || !w || in.size() < 11) return 0;
    const bool transposed = in[7].isBool() && in[7].toBool();
    const auto& spatial = transposed ? *x : *gy;
    double positions = 1;
    for (int64_t d = 2; d < spatial.dim(); ++d) positions *= static_cast<double>(spatial.size(d));
    const double one = 2.0 * static_cast<double>(x->size(0)) * positions * numel(w->sizes());
    int grads = 2;
    if (in[10].isBoolList()) {
      const auto mask = in[10].toBoolList();
      grads = (mask.size() > 0 && mask.get(0) ? 1 : 0) + (mask.size() > 1 && mask.get(1) ? 1 : 0);
    }
    return grads * one;
  }
  return 0;
}

struct Frame {
  std::string name;
  std::string detail;  // "parent > name [inputs]" in the pass that records inputs
  std::chrono::steady_clock::time_point start;
  double child_seconds = 0;
  OpClass effective = OpClass::Other;
};

// The collector of the thread that runs profile_ops (callbacks are plain function pointers).
struct Collector {
  bool count_flops = false;
  std::vector<Frame> stack;
  OpProfile totals;  // sums over all calls
};
thread_local Collector* active = nullptr;

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  if (!active) return nullptr;
  Frame f;
  f.name = fn.name();
  const OpClass own = classify_op(f.name);  // Other: not classified, takes its parent's class
  const OpClass parent = active->stack.empty() ? OpClass::Other : active->stack.back().effective;
  f.effective = own != OpClass::Other ? own : parent;
  // Count FLOPs at the outermost counted op only (a product inside a convolution is part of it).
  if (active->count_flops && fn.needsInputs()) {
    const double flops = op_flops(f.name, fn.inputs());
    if (flops > 0) {
      const OpClass c = (f.name.find("conv") != std::string::npos) ? OpClass::Convolution : OpClass::MatrixProduct;
      bool nested = false;
      for (const auto& outer : active->stack)
        if (is_counted(outer.name)) nested = true;
      if (!nested) {
        active->totals.flops[static_cast<int>(c)] += flops;
        active->totals.op_flops[f.name] += flops;
      }
    }
  }
  if (active->count_flops && fn.needsInputs()) {
    f.detail = (active->stack.empty() ? std::string("-") : active->stack.back().name) + " > " + f.name + " [";
    bool first = true;
    for (const auto& v : fn.inputs()) {
      if (!v.isTensor()) continue;
      const auto& t = v.toTensor();
      f.detail += first ? "" : ", ";
      first = false;
      if (!t.defined()) {
        f.detail += "undef";
        continue;
      }
      f.detail += c10::toString(t.scalar_type());
      f.detail += c10::str(t.sizes());
      if (t.dim() == 4 && !t.is_contiguous() && t.is_contiguous(at::MemoryFormat::ChannelsLast)) f.detail += "cl";
    }
    f.detail += "]";
  }
  f.start = std::chrono::steady_clock::now();
  active->stack.push_back(std::move(f));
  return nullptr;
}

void on_end(const at::RecordFunction& /*fn*/, at::ObserverContext* /*ctx*/) {
  if (!active || active->stack.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  Frame f = std::move(active->stack.back());
  active->stack.pop_back();
  const double total = std::chrono::duration<double>(now - f.start).count();
  const double self = std::max(0.0, total - f.child_seconds);
  if (!active->stack.empty()) active->stack.back().child_seconds += total;
  active->totals.seconds[static_cast<int>(f.effective)] += self;
  active->totals.self_seconds[static_cast<int>(f.effective)][f.name] += self;
  if (!f.detail.empty()) {
    active->totals.detailed_self_seconds[f.detail] += self;
    ++active->totals.detailed_calls[f.detail];
  }
}

}  // namespace

const char* op_class_name(OpClass c) {
  switch (c) {
    case OpClass::Convolution: return "convolution";
    case OpClass::MatrixProduct: return "matrix product";
    case OpClass::Other: return "other";
  }
  return "?";
}

OpClass classify_op(const std::string& name) {
  // The engine's wrapper around a backward node also accumulates gradients into the next nodes' buffers:
  // that work is not the node's.
  if (starts_with(name, "autograd::engine::evaluate_function")) return OpClass::Other;
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (lower.find("conv") != std::string::npos) return OpClass::Convolution;
  static const char* products[] = {"aten::mm",     "aten::addmm",  "aten::bmm",    "aten::baddbmm", "aten::addbmm",
                                   "aten::matmul", "aten::linear", "aten::mv",     "aten::addmv",   "aten::dot",
                                   "mmbackward",   "addmmbackward", "bmmbackward", "baddbmmbackward", "mvbackward"};
  for (const char* p : products) {
    const std::string key = p;
    if (starts_with(key, "aten::") ? name == key : starts_with(lower, p)) return OpClass::MatrixProduct;
  }
  return OpClass::Other;
}

namespace {
std::vector<std::pair<std::string, double>> largest(const std::map<std::string, double>& by_name, size_t n) {
  std::vector<std::pair<std::string, double>> ops(by_name.begin(), by_name.end());
  std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  if (ops.size() > n) ops.resize(n);
  return ops;
}
}  // namespace

std::vector<std::pair<std::string, double>> OpProfile::top_detailed_ops(size_t n) const {
  return largest(detailed_self_seconds, n);
}

std::vector<std::pair<std::string, double>> OpProfile::top_ops(OpClass c, size_t n) const {
  return largest(self_seconds[static_cast<int>(c)], n);
}

OpProfile profile_ops(const std::function<void()>& fn, int calls) {
  check(calls >= 1, "profile_ops: calls must be >= 1");
  check(active == nullptr, "profile_ops: already profiling on this thread");
  Collector collector;
  // Pass 1: time, without copying op inputs (the copies would inflate the small ops' share).
  active = &collector;
  auto handle = at::addThreadLocalCallback(at::RecordFunctionCallback(&on_start, &on_end).needsInputs(false));
  try {
    for (int i = 0; i < calls; ++i) fn();
  } catch (...) {
    at::removeCallback(handle);
    active = nullptr;
    throw;
  }
  at::removeCallback(handle);
  OpProfile result = collector.totals;
  // Pass 2: one call with the inputs recorded, for the FLOPs.
  Collector counter;
  counter.count_flops = true;
  active = &counter;
  handle = at::addThreadLocalCallback(at::RecordFunctionCallback(&on_start, &on_end).needsInputs(true));
  try {
    fn();
  } catch (...) {
    at::removeCallback(handle);
    active = nullptr;
    throw;
  }
  at::removeCallback(handle);
  active = nullptr;
  result.calls = calls;
  for (auto& s : result.seconds) s /= calls;
  for (auto& by_name : result.self_seconds)
    for (auto& [name, s] : by_name) s /= calls;
  result.flops = counter.totals.flops;
  result.op_flops = counter.totals.op_flops;
  result.detailed_self_seconds = counter.totals.detailed_self_seconds;
  result.detailed_calls = counter.totals.detailed_calls;
  return result;
}

}  // namespace df
