#include "onednn_conv.h"

#include <ATen/record_function.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "df/core/compat.h"
#include "df/core/error.h"
#include "df/models/cpu_convolutions.h"

#ifdef DF_HAVE_ONEDNN
#include <dnnl.hpp>

#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>
#endif

namespace df::unet {

#ifndef DF_HAVE_ONEDNN

bool onednn_conv_enabled() { return false; }
void set_onednn_conv_enabled(bool) {}
bool onednn_conv_supports(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&) { return false; }
torch::Tensor onednn_conv2d(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, int64_t, int64_t) {
  throw Error("onednn_conv2d: this build has no oneDNN (CMake DF_ONEDNN; Debian: libdnnl-dev)");
}

#else

namespace {

using dnnl::memory;
using dt = memory::data_type;
using tag = memory::format_tag;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

// One stream per thread: the shard threads of a training step run their convolutions at the same time.
dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

struct ConvShape {
  int64_t n, c, h, w, o, kh, kw, pad_h, pad_w;
  bool bias;
  memory::data_type type;  // of the activations and of the weights the primitives read (bf16 or f32)
  int64_t out_h() const { return h + 2 * pad_h - kh + 1; }
  int64_t out_w() const { return w + 2 * pad_w - kw + 1; }
  memory::dims padding() const { return {pad_h, pad_w}; }  // the same on both sides
  memory::desc weights(memory::data_type type, memory::format_tag layout) const {
    return {{o, c, kh, kw}, type, layout};
  }
  bool operator==(const ConvShape& b) const {
    return n == b.n && c == b.c && h == b.h && w == b.w && o == b.o && kh == b.kh && kw == b.kw &&
           pad_h == b.pad_h && pad_w == b.pad_w && bias == b.bias && type == b.type;
  }
};

struct ConvShapeHash {
  size_t operator()(const ConvShape& s) const {
    size_t h = static_cast<size_t>(s.bias) * 31u + static_cast<size_t>(s.type);
    for (int64_t v : {s.n, s.c, s.h, s.w, s.o, s.kh, s.kw, s.pad_h, s.pad_w})
      h = h * 1000003u ^ static_cast<size_t>(v);
    return h;
  }
};

// The primitives of one convolution shape: forward at once, the two backward ones at the first backward.
struct ConvPrimitives {
  memory::desc src, dst, bias, weights_user;  // the tensors' own layouts (weights_user: fp32 weights and gradients)
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_forward forward;
  bool has_backward = false;
  dnnl::convolution_backward_data::primitive_desc backward_data_pd;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights::primitive_desc backward_weights_pd;
  dnnl::convolution_backward_weights backward_weights;
  bool weights_grad_needs_reorder = false;
};

memory::dims dims(std::initializer_list<int64_t> values) { return memory::dims(values.begin(), values.end()); }

ConvPrimitives& primitives_for(const ConvShape& s) {
  thread_local std::unordered_map<ConvShape, std::unique_ptr<ConvPrimitives>, ConvShapeHash> cache;
  auto& slot = cache[s];
  if (slot) return *slot;
  auto p = std::make_unique<ConvPrimitives>();
  auto& engine = cpu_engine();
  p->src = memory::desc(dims({s.n, s.c, s.h, s.w}), s.type, tag::nhwc);
  p->dst = memory::desc(dims({s.n, s.o, s.out_h(), s.out_w()}), s.type, tag::nhwc);
  p->bias = memory::desc(dims({s.o}), dt::f32, tag::x);
  p->weights_user = s.weights(dt::f32, tag::oihw);
  // The weights' layout is oneDNN's choice (its fast kernels want a blocked one).
  const auto weights_any = s.weights(s.type, tag::any);
  const auto strides = dims({1, 1}), padding = s.padding();
  const auto forward_desc =
      s.bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                               p->src, weights_any, p->bias, p->dst, strides, padding, padding)
             : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                               p->src, weights_any, p->dst, strides, padding, padding);
  p->forward_pd = dnnl::convolution_forward::primitive_desc(forward_desc, engine);
  p->forward = dnnl::convolution_forward(p->forward_pd);
  slot = std::move(p);
  return *slot;
}

void make_backward(const ConvShape& s, ConvPrimitives& p) {
  if (p.has_backward) return;
  auto& engine = cpu_engine();
  const auto strides = dims({1, 1}), padding = s.padding();
  const dnnl::convolution_backward_data::desc data_desc(dnnl::algorithm::convolution_direct, p.src,
                                                         s.weights(s.type, tag::any),
                                                         p.dst, strides, padding, padding);
  p.backward_data_pd = dnnl::convolution_backward_data::primitive_desc(data_desc, engine, p.forward_pd);
  p.backward_data = dnnl::convolution_backward_data(p.backward_data_pd);
  // fp32 weight (and bias) gradients: the masters' dtype, summed over the tokens without bf16 rounding.
  const auto weights_grad_any = s.weights(dt::f32, tag::any);
  const auto weights_desc =
      s.bias ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, p.src, weights_grad_any,
                                                        p.bias, p.dst, strides, padding, padding)
             : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, p.src, weights_grad_any,
                                                        p.dst, strides, padding, padding);
  p.backward_weights_pd = dnnl::convolution_backward_weights::primitive_desc(weights_desc, engine, p.forward_pd);
  p.backward_weights = dnnl::convolution_backward_weights(p.backward_weights_pd);
  p.weights_grad_needs_reorder = !(p.backward_weights_pd.diff_weights_desc() == p.weights_user);
  p.has_backward = true;
}

// A reorder primitive per (from, to) layout pair and thread.
dnnl::reorder& reorder_for(const memory::desc& from, const memory::desc& to) {
  struct Entry {
    memory::desc from, to;
    dnnl::reorder reorder;
  };
  thread_local std::vector<Entry> cache;
  for (auto& e : cache)
    if (e.from == from && e.to == to) return e.reorder;
  auto& engine = cpu_engine();
  const memory from_memory(from, engine, DNNL_MEMORY_NONE), to_memory(to, engine, DNNL_MEMORY_NONE);
  cache.push_back({from, to, dnnl::reorder(from_memory, to_memory)});
  return cache.back().reorder;
}

void run_reorder(const memory::desc& from, void* from_data, const memory::desc& to, void* to_data) {
  auto& engine = cpu_engine();
  memory from_memory(from, engine, from_data), to_memory(to, engine, to_data);
  reorder_for(from, to).execute(cpu_stream(), {{DNNL_ARG_FROM, from_memory}, {DNNL_ARG_TO, to_memory}});
}

// The fp32 weight in the primitive's type (bf16, or fp32) and the layout `packed` it wants. Kept per thread until
// the weight changes (its version counter moves at every in-place update, e.g. the optimizer's), so a weight used
// by all tokens of a step is converted once per step, not once per call.
void* packed_weights(const torch::Tensor& weight, const memory::desc& user, const memory::desc& packed) {
  struct Entry {
    torch::Tensor weight;  // keeps the tensor alive, so its address is not reused by another
    const void* data;
    int64_t version;
    memory::desc layout;
    torch::Tensor buffer;
  };
  thread_local std::vector<Entry> cache;
  const void* data = weight.data_ptr();
  const int64_t version = weight._version();
  Entry* entry = nullptr;
  for (auto& e : cache)
    if (e.weight.unsafeGetTensorImpl() == weight.unsafeGetTensorImpl() && e.layout == packed) entry = &e;
  if (entry && entry->data == data && entry->version == version) return entry->buffer.data_ptr();
  if (!entry) {
    // Bounded: a process that loads many models (tests, evaluations) drops the copies of weights it no longer uses.
    if (cache.size() >= 1024) cache.clear();
    cache.push_back({weight, data, version, packed,
                     torch::empty({static_cast<int64_t>(packed.get_size())}, torch::dtype(torch::kUInt8))});
    entry = &cache.back();
  }
  entry->data = data;
  entry->version = version;
  run_reorder(user, const_cast<void*>(data), packed, entry->buffer.data_ptr());
  return entry->buffer.data_ptr();
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

ConvShape shape_of(const torch::Tensor& x, const torch::Tensor& weight, bool bias, int64_t pad_h, int64_t pad_w) {
  return {x.size(0), x.size(1), x.size(2), x.size(3), weight.size(0), weight.size(2), weight.size(3),
          pad_h, pad_w, bias, x.scalar_type() == torch::kBFloat16 ? dt::bf16 : dt::f32};
}

class OneDnnConvFunction : public torch::autograd::Function<OneDnnConvFunction> {
 public:
  // bias: an empty placeholder when the convolution has none (LibTorch 1.13's custom functions take no undefined
  // tensors).
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, int64_t pad_h, int64_t pad_w) {
    // Named for profilers (df::profile_ops counts its FLOPs and classes it as a convolution).
    RECORD_FUNCTION("df::onednn_conv2d", std::vector<c10::IValue>({x, weight, pad_h, pad_w}));
    const bool has_bias = bias.numel() > 0;
    const ConvShape s = shape_of(x, weight, has_bias, pad_h, pad_w);
    auto& p = primitives_for(s);
    auto y = torch::empty({s.n, s.o, s.out_h(), s.out_w()},
                          x.options().memory_format(torch::MemoryFormat::ChannelsLast));
    auto& engine = cpu_engine();
    memory src(p.src, engine, x.data_ptr()), dst(p.dst, engine, y.data_ptr());
    memory weights(p.forward_pd.weights_desc(), engine,
                   packed_weights(weight, p.weights_user, p.forward_pd.weights_desc()));
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}};
    torch::Tensor bias_c;
    if (has_bias) {
      bias_c = bias.contiguous();
      args.insert({DNNL_ARG_BIAS, memory(p.bias, engine, bias_c.data_ptr())});
    }
    p.forward.execute(cpu_stream(), args);
    ctx->save_for_backward({x, weight});
    ctx->saved_data["bias"] = has_bias;
    ctx->saved_data["pad_h"] = pad_h;
    ctx->saved_data["pad_w"] = pad_w;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1];
    const bool has_bias = ctx->saved_data["bias"].toBool();
    const int64_t pad_h = ctx->saved_data["pad_h"].toInt(), pad_w = ctx->saved_data["pad_w"].toInt();
    const ConvShape s = shape_of(x, weight, has_bias, pad_h, pad_w);
    const bool input_grad = ctx->needs_input_grad(0);
    const bool weight_grad = ctx->needs_input_grad(1) || (has_bias && ctx->needs_input_grad(2));
    RECORD_FUNCTION("df::onednn_conv2d_backward",
                    std::vector<c10::IValue>({grads[0], x, weight, input_grad, weight_grad}));
    auto& p = primitives_for(s);
    make_backward(s, p);
    const auto gy = grads[0].to(x.scalar_type()).contiguous(torch::MemoryFormat::ChannelsLast);
    auto& engine = cpu_engine();
    memory diff_dst(p.dst, engine, gy.data_ptr());
    torch::Tensor gx, gw, gb;
    if (input_grad) {
      gx = torch::empty_like(x, x.options().memory_format(torch::MemoryFormat::ChannelsLast));
      const auto& layout = p.backward_data_pd.weights_desc();
      memory weights(layout, engine, packed_weights(weight, p.weights_user, layout));
      p.backward_data.execute(cpu_stream(), {{DNNL_ARG_DIFF_DST, diff_dst},
                                             {DNNL_ARG_WEIGHTS, weights},
                                             {DNNL_ARG_DIFF_SRC, memory(p.src, engine, gx.data_ptr())}});
    }
    if (weight_grad) {
      gw = torch::empty(weight.sizes(), weight.options().dtype(torch::kFloat));
      torch::Tensor scratch;
      void* gw_target = gw.data_ptr();
      const auto& layout = p.backward_weights_pd.diff_weights_desc();
      if (p.weights_grad_needs_reorder) {
        scratch = torch::empty({static_cast<int64_t>(layout.get_size())}, torch::dtype(torch::kUInt8));
        gw_target = scratch.data_ptr();
      }
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(p.src, engine, x.data_ptr())},
                                           {DNNL_ARG_DIFF_DST, diff_dst},
                                           {DNNL_ARG_DIFF_WEIGHTS, memory(layout, engine, gw_target)}};
      if (has_bias) {
        gb = torch::empty({s.o}, weight.options().dtype(torch::kFloat));
        args.insert({DNNL_ARG_DIFF_BIAS, memory(p.bias, engine, gb.data_ptr())});
      }
      p.backward_weights.execute(cpu_stream(), args);
      if (p.weights_grad_needs_reorder) run_reorder(layout, gw_target, p.weights_user, gw.data_ptr());
      if (!ctx->needs_input_grad(1)) gw = torch::Tensor();
    }
    return {gx, gw, gb, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> enabled([] {
    const char* env = std::getenv("DF_ONEDNN_CONV");
    return !(env && std::string(env) == "0");
  }());
  return enabled;
}

bool onednn_conv_enabled() { return enabled_flag().load(std::memory_order_relaxed); }
void set_onednn_conv_enabled(bool enabled) { enabled_flag().store(enabled, std::memory_order_relaxed); }

bool onednn_conv_supports(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  return x.dim() == 4 && x.is_cpu() && (x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kFloat) &&
         x.is_contiguous(torch::MemoryFormat::ChannelsLast) && weight.dim() == 4 && weight.is_cpu() &&
         weight.scalar_type() == torch::kFloat && weight.is_contiguous() && weight.size(1) == x.size(1) &&
         (!bias.defined() || (bias.scalar_type() == torch::kFloat && bias.numel() == weight.size(0)));
}

torch::Tensor onednn_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                            int64_t pad_h, int64_t pad_w) {
  check(onednn_conv_supports(x, weight, bias),
        "onednn_conv2d: wants a CPU bf16 or fp32 channels-last [N, C, H, W] input and contiguous fp32 [O, C, kh, kw] "
        "weights, got " +
            shape_str(x.sizes().vec()) + " and " + shape_str(weight.sizes().vec()));
  check(pad_h >= 0 && pad_w >= 0 && x.size(2) + 2 * pad_h >= weight.size(2) && x.size(3) + 2 * pad_w >= weight.size(3),
        "onednn_conv2d: kernel larger than the padded input");
  const auto placeholder = bias.defined() ? bias : torch::empty({0}, weight.options());
  return OneDnnConvFunction::apply(x, weight, placeholder, pad_h, pad_w);
}

#endif

}  // namespace df::unet

std::string df::cpu_convolutions() { return unet::onednn_conv_enabled() ? "oneDNN direct" : "LibTorch"; }
