#include "rms_norm_channels.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cpu_kernels.h"
#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::unet {

namespace {

constexpr float kMinSquares = 1e-24f;  // the clamp of the squared norm (normalize's eps 1e-12, squared)
constexpr int kLanes = 16;

// Sum of x^2 over a row of c values, in kLanes partial sums (vectorises without reassociation).
inline float row_squares(const float* __restrict x, int64_t c) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= c; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += x[i + j] * x[i + j];
  float total = 0;
  for (int j = 0; j < kLanes; ++j) total += lanes[j];
  for (; i < c; ++i) total += x[i] * x[i];
  return total;
}

// y[p, :] = x[p, :] * r_p * w, r_p = 1 / sqrt(max(sum x[p, :]^2, kMinSquares)), for rows p of c channels.
DF_ROW_KERNEL void rows_forward(const float* __restrict x, int64_t rows, int64_t c, const float* __restrict w,
                                float* __restrict y) {
  for (int64_t p = 0; p < rows; ++p) {
    const float* xr = x + p * c;
    const float ss = row_squares(xr, c);
    const float r = 1.0f / std::sqrt(ss > kMinSquares ? ss : kMinSquares);
    float* yr = y + p * c;
    for (int64_t i = 0; i < c; ++i) yr[i] = xr[i] * r * w[i];
  }
}

// gx[p, :] = r gy w - [clamp inactive] r^3 x sum(gy w x); g_terms[:] += gy x r (the weight's gradient before
// the factor sqrt(C)), summed in fp32 over blocks of 64 rows and in double across blocks.
DF_ROW_KERNEL void rows_backward(const float* __restrict x, const float* __restrict gy, int64_t rows, int64_t c,
                                 const float* __restrict w, float* __restrict gx, double* __restrict g_terms,
                                 float* __restrict partial) {
  for (int64_t p0 = 0; p0 < rows; p0 += 64) {
    const int64_t p1 = p0 + 64 < rows ? p0 + 64 : rows;
    for (int64_t i = 0; i < c; ++i) partial[i] = 0;
    for (int64_t p = p0; p < p1; ++p) {
      const float* xr = x + p * c;
      const float* gr = gy + p * c;
      const float ss = row_squares(xr, c);
      const bool clamped = !(ss >= kMinSquares);  // clamp_min passes the gradient where ss >= the minimum
      const float r = 1.0f / std::sqrt(clamped ? kMinSquares : ss);
      float lanes[kLanes] = {};
      int64_t i = 0;
      for (; i + kLanes <= c; i += kLanes)
        for (int j = 0; j < kLanes; ++j) lanes[j] += gr[i + j] * w[i + j] * xr[i + j];
      float dot = 0;
      for (int j = 0; j < kLanes; ++j) dot += lanes[j];
      for (; i < c; ++i) dot += gr[i] * w[i] * xr[i];
      const float k = clamped ? 0.0f : r * r * r * dot;
      float* out = gx + p * c;
      for (int64_t j = 0; j < c; ++j) {
        out[j] = r * gr[j] * w[j] - k * xr[j];
        partial[j] += gr[j] * xr[j] * r;
      }
    }
    for (int64_t i = 0; i < c; ++i) g_terms[i] += partial[i];
  }
}

// The float view of sample n ([pixels, channels] in channels-last memory): the tensor's memory for fp32, a
// converted copy for bf16.
const float* sample_rows(const torch::Tensor& t, int64_t n, int64_t count, std::vector<float>& scratch) {
  if (t.scalar_type() == torch::kFloat) return t.data_ptr<float>() + n * count;
  scratch.resize(static_cast<size_t>(count));
  bf16_to_float(reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>()) + n * count, scratch.data(), count);
  return scratch.data();
}

torch::Tensor channels_last(const torch::Tensor& t) { return t.contiguous(torch::MemoryFormat::ChannelsLast); }

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class RmsNormChannelsFunction : public torch::autograd::Function<RmsNormChannelsFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& g,
                               bool bf16_output) {
    const auto x = channels_last(x_in);
    const int64_t batch = x.size(0), c = x.size(1), pixels = x.size(2) * x.size(3), count = c * pixels;
    const auto w = weights(g, c);
    auto y = torch::empty(x.sizes(), x.options()
                                         .dtype(bf16_output ? torch::kBFloat16 : torch::kFloat)
                                         .memory_format(torch::MemoryFormat::ChannelsLast));
    const float* wp = w.data_ptr<float>();
    at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> scratch, out;
      for (int64_t n = begin; n < end; ++n) {
        const float* xs = sample_rows(x, n, count, scratch);
        float* dest =
            bf16_output ? (out.resize(static_cast<size_t>(count)), out.data()) : y.data_ptr<float>() + n * count;
        rows_forward(xs, pixels, c, wp, dest);
        if (bf16_output)
          float_to_bf16(dest, reinterpret_cast<uint16_t*>(y.data_ptr<at::BFloat16>()) + n * count, count);
      }
    });
    ctx->save_for_backward({x, g});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &g = saved[1];
    const int64_t batch = x.size(0), c = x.size(1), pixels = x.size(2) * x.size(3), count = c * pixels;
    const auto w = weights(g, c);
    const auto gy = channels_last(grads[0].to(torch::kFloat));
    auto gx = torch::empty(x.sizes(), x.options().memory_format(torch::MemoryFormat::ChannelsLast));
    // Per sample, summed over the batch afterwards in a fixed order (the bits do not depend on the threads).
    auto g_terms = torch::zeros({batch, c}, x.options().dtype(torch::kDouble));
    const float* wp = w.data_ptr<float>();
    const float* gyp = gy.data_ptr<float>();
    double* gtp = g_terms.data_ptr<double>();
    const bool bf16 = x.scalar_type() == torch::kBFloat16;
    at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> scratch, out, partial(static_cast<size_t>(c));
      for (int64_t n = begin; n < end; ++n) {
        const float* xs = sample_rows(x, n, count, scratch);
        float* dest = bf16 ? (out.resize(static_cast<size_t>(count)), out.data()) : gx.data_ptr<float>() + n * count;
        rows_backward(xs, gyp + n * count, pixels, c, wp, dest, gtp + n * c, partial.data());
        if (bf16) float_to_bf16(dest, reinterpret_cast<uint16_t*>(gx.data_ptr<at::BFloat16>()) + n * count, count);
      }
    });
    const auto g_grad = (g_terms.sum(0) * std::sqrt(static_cast<double>(c))).to(g.scalar_type()).reshape(g.sizes());
    return {gx, g_grad, torch::Tensor()};
  }

 private:
  static torch::Tensor weights(const torch::Tensor& g, int64_t c) {  // g * sqrt(C) as fp32 [C]
    return (g.detach().to(torch::kFloat).reshape({c}) * static_cast<float>(std::sqrt(static_cast<double>(c))))
        .contiguous();
  }
};

}  // namespace

torch::Tensor rms_norm_channels(const torch::Tensor& x, const torch::Tensor& g, bool bf16_output) {
  check(x.dim() == 4 && x.is_cpu() && (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kBFloat16),
        "rms_norm_channels: x must be a CPU fp32 or bf16 [B, C, H, W] tensor, got " + shape_str(x.sizes().vec()));
  check(g.numel() == x.size(1),
        "rms_norm_channels: g must have C = " + std::to_string(x.size(1)) + " elements, got " +
            shape_str(g.sizes().vec()));
  return RmsNormChannelsFunction::apply(x, g, bf16_output);
}

}  // namespace df::unet
