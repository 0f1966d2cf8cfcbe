#include "group_norm_film_silu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "cpu_kernels.h"
#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::unet {

namespace {

constexpr int kLanes = 16;

DF_ROW_KERNEL double row_sum(const float* x, int64_t n) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += x[i + j];
  double total = 0;
  for (int j = 0; j < kLanes; ++j) total += lanes[j];
  for (; i < n; ++i) total += x[i];
  return total;
}

DF_ROW_KERNEL double row_centered_squares(const float* x, int64_t n, float mean) {
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const float d = x[i + j] - mean;
      lanes[j] += d * d;
    }
  double total = 0;
  for (int j = 0; j < kLanes; ++j) total += lanes[j];
  for (; i < n; ++i) total += static_cast<double>(x[i] - mean) * (x[i] - mean);
  return total;
}

// y = silu(a x + b)
DF_ROW_KERNEL void row_affine_silu(const float* x, float* y, int64_t n, float a, float b) {
  for (int64_t i = 0; i < n; ++i) {
    const float u = a * x[i] + b;
    y[i] = u / (1.0f + exp_approx(-u));
  }
}

// gu = gy * silu'(a x + b); returns sum(gu) and sum(gu * (x - mean)) through the pointers.
DF_ROW_KERNEL void row_silu_backward(const float* x, const float* gy, float* gu, int64_t n, float a, float b,
                                     float mean, double* sum_gu, double* sum_gu_centered) {
  float s[kLanes] = {}, sc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const float u = a * x[i + j] + b;
      const float sig = 1.0f / (1.0f + exp_approx(-u));
      const float g = gy[i + j] * sig * (1.0f + u * (1.0f - sig));
      gu[i + j] = g;
      s[j] += g;
      sc[j] += g * (x[i + j] - mean);
    }
  double ts = 0, tc = 0;
  for (int j = 0; j < kLanes; ++j) {
    ts += s[j];
    tc += sc[j];
  }
  for (; i < n; ++i) {
    const float u = a * x[i] + b;
    const float sig = 1.0f / (1.0f + exp_approx(-u));
    const float g = gy[i] * sig * (1.0f + u * (1.0f - sig));
    gu[i] = g;
    ts += g;
    tc += static_cast<double>(g) * (x[i] - mean);
  }
  *sum_gu = ts;
  *sum_gu_centered = tc;
}

// out = alpha gu + beta x + gamma
DF_ROW_KERNEL void row_linear_combination(const float* gu, const float* x, float* out, int64_t n, float alpha,
                                          float beta, float gamma) {
  for (int64_t i = 0; i < n; ++i) out[i] = alpha * gu[i] + beta * x[i] + gamma;
}

// Channels-last: a sample is a [pixels, channels] matrix. These kernels run along the channels of each pixel
// with per-channel coefficient vectors; sums over pixels are kept per channel in fp32 over blocks of 64 pixels
// and added up in double.
constexpr int64_t kPixelBlock = 64;

// sums[c] += sum_p x[p, c]
DF_ROW_KERNEL void nhwc_sums(const float* __restrict x, int64_t pixels, int64_t channels, double* __restrict sums,
                             float* __restrict partial) {
  for (int64_t p0 = 0; p0 < pixels; p0 += kPixelBlock) {
    const int64_t p1 = p0 + kPixelBlock < pixels ? p0 + kPixelBlock : pixels;
    for (int64_t c = 0; c < channels; ++c) partial[c] = 0;
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t c = 0; c < channels; ++c) partial[c] += x[p * channels + c];
    for (int64_t c = 0; c < channels; ++c) sums[c] += partial[c];
  }
}

// sums[c] += sum_p (x[p, c] - center[c])^2
DF_ROW_KERNEL void nhwc_centered_squares(const float* __restrict x, int64_t pixels, int64_t channels,
                                         const float* __restrict center, double* __restrict sums,
                                         float* __restrict partial) {
  for (int64_t p0 = 0; p0 < pixels; p0 += kPixelBlock) {
    const int64_t p1 = p0 + kPixelBlock < pixels ? p0 + kPixelBlock : pixels;
    for (int64_t c = 0; c < channels; ++c) partial[c] = 0;
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t c = 0; c < channels; ++c) {
        const float d = x[p * channels + c] - center[c];
        partial[c] += d * d;
      }
    for (int64_t c = 0; c < channels; ++c) sums[c] += partial[c];
  }
}

// y[p, c] = silu(a[c] x[p, c] + b[c])
DF_ROW_KERNEL void nhwc_affine_silu(const float* __restrict x, float* __restrict y, int64_t pixels, int64_t channels,
                                    const float* __restrict a, const float* __restrict b) {
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c) {
      const float u = a[c] * x[p * channels + c] + b[c];
      y[p * channels + c] = u / (1.0f + exp_approx(-u));
    }
}

// gu = gy * silu'(a x + b) per entry; sum_gu[c] += sum_p gu, sum_gu_centered[c] += sum_p gu (x - center[c]).
DF_ROW_KERNEL void nhwc_silu_backward(const float* __restrict x, const float* __restrict gy, float* __restrict gu,
                                      int64_t pixels, int64_t channels, const float* __restrict a,
                                      const float* __restrict b, const float* __restrict center,
                                      double* __restrict sum_gu, double* __restrict sum_gu_centered,
                                      float* __restrict partial) {
  float* __restrict partial_centered = partial + channels;
  for (int64_t p0 = 0; p0 < pixels; p0 += kPixelBlock) {
    const int64_t p1 = p0 + kPixelBlock < pixels ? p0 + kPixelBlock : pixels;
    for (int64_t c = 0; c < 2 * channels; ++c) partial[c] = 0;
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t i = p * channels + c;
        const float u = a[c] * x[i] + b[c];
        const float sig = 1.0f / (1.0f + exp_approx(-u));
        const float g = gy[i] * sig * (1.0f + u * (1.0f - sig));
        gu[i] = g;
        partial[c] += g;
        partial_centered[c] += g * (x[i] - center[c]);
      }
    for (int64_t c = 0; c < channels; ++c) {
      sum_gu[c] += partial[c];
      sum_gu_centered[c] += partial_centered[c];
    }
  }
}

// out[p, c] = alpha[c] gu[p, c] + beta[c] x[p, c] + gamma[c]
DF_ROW_KERNEL void nhwc_linear_combination(const float* __restrict gu, const float* __restrict x,
                                           float* __restrict out, int64_t pixels, int64_t channels,
                                           const float* __restrict alpha, const float* __restrict beta,
                                           const float* __restrict gamma) {
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t i = p * channels + c;
      out[i] = alpha[c] * gu[i] + beta[c] * x[i] + gamma[c];
    }
}

struct Shape {
  int64_t batch, channels, groups, per_group, pixels;
  int64_t group_elements() const { return per_group * pixels; }
};

// The float view of one (sample, group) block of x: the tensor's own memory for fp32, a converted copy for bf16.
const float* group_block(const torch::Tensor& x, const Shape& s, int64_t n, int64_t g, std::vector<float>& scratch) {
  const int64_t offset = (n * s.channels + g * s.per_group) * s.pixels;
  if (x.scalar_type() == torch::kFloat) return x.data_ptr<float>() + offset;
  scratch.resize(static_cast<size_t>(s.group_elements()));
  bf16_to_float(reinterpret_cast<const uint16_t*>(x.data_ptr<at::BFloat16>()) + offset, scratch.data(),
                s.group_elements());
  return scratch.data();
}

// The float view of sample n of a channels-last x, a [pixels, channels] matrix: the tensor's own memory for
// fp32, a converted copy for bf16.
const float* sample_block(const torch::Tensor& x, const Shape& s, int64_t n, std::vector<float>& scratch) {
  const int64_t count = s.channels * s.pixels, offset = n * count;
  if (x.scalar_type() == torch::kFloat) return x.data_ptr<float>() + offset;
  scratch.resize(static_cast<size_t>(count));
  bf16_to_float(reinterpret_cast<const uint16_t*>(x.data_ptr<at::BFloat16>()) + offset, scratch.data(), count);
  return scratch.data();
}

// Channels-last memory (NHWC) that is not also NCHW-contiguous (C = 1 or H = W = 1 is both: taken as NCHW).
bool is_channels_last(const torch::Tensor& x) {
  return !x.is_contiguous() && x.is_contiguous(torch::MemoryFormat::ChannelsLast);
}

torch::MemoryFormat memory_format(bool channels_last) {
  return channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
}

// The affine map a x + b per (sample, channel) that GroupNorm, its affine parameters and FiLM make together.
struct ChannelMap {
  float a, b, film;  // film = scale + 1 (1 without FiLM)
};
ChannelMap channel_map(const float* weight, const float* bias, const float* scale, const float* shift, int64_t n,
                       int64_t c, int64_t channels, float mean, float rstd) {
  const float film = scale ? scale[n * channels + c] + 1.0f : 1.0f;
  const float a = rstd * weight[c] * film;
  const float b = (bias[c] - mean * rstd * weight[c]) * film + (shift ? shift[n * channels + c] : 0.0f);
  return {a, b, film};
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class GroupNormFilmSiluFunction : public torch::autograd::Function<GroupNormFilmSiluFunction> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x_in, const torch::Tensor& weight,
                               const torch::Tensor& bias, const torch::Tensor& scale, const torch::Tensor& shift,
                               int64_t groups, double eps, bool bf16_output) {
    const bool nhwc = is_channels_last(x_in);  // the output keeps the input's layout
    const auto x = nhwc ? x_in : x_in.contiguous();
    const Shape s = shape_of(x, groups);
    const auto w = weight.to(torch::kFloat).contiguous(), bi = bias.to(torch::kFloat).contiguous();
    const bool film = scale.numel() > 0;  // an empty placeholder: no FiLM
    const auto sc = film ? scale.to(torch::kFloat).reshape({s.batch, s.channels}).contiguous() : scale;
    const auto sh = film ? shift.to(torch::kFloat).reshape({s.batch, s.channels}).contiguous() : shift;
    auto y = torch::empty(x.sizes(), x.options()
                                         .dtype(bf16_output ? torch::kBFloat16 : torch::kFloat)
                                         .memory_format(memory_format(nhwc)));
    auto mean = torch::empty({s.batch, s.groups}, x.options().dtype(torch::kFloat));
    auto rstd = torch::empty_like(mean);
    const float *wp = w.data_ptr<float>(), *bp = bi.data_ptr<float>();
    const float *scp = film ? sc.data_ptr<float>() : nullptr, *shp = film ? sh.data_ptr<float>() : nullptr;
    float *mp = mean.data_ptr<float>(), *rp = rstd.data_ptr<float>();
    if (nhwc) {
      forward_nhwc(x, s, eps, wp, bp, scp, shp, y, mp, rp);
    } else {
      forward_nchw(x, s, eps, wp, bp, scp, shp, y, mp, rp);
    }
    ctx->save_for_backward({x, w, bi, sc, sh, mean, rstd});
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["weight_dtype"] = static_cast<int64_t>(weight.scalar_type());
    ctx->saved_data["scale_dtype"] = static_cast<int64_t>(film ? scale.scalar_type() : torch::kFloat);
    ctx->saved_data["scale_sizes"] = film ? scale.sizes().vec() : std::vector<int64_t>{};
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1], &bi = saved[2], &sc = saved[3], &sh = saved[4];
    const auto &mean = saved[5], &rstd = saved[6];
    const Shape s = shape_of(x, ctx->saved_data["groups"].toInt());
    const bool film = sc.numel() > 0, nhwc = is_channels_last(x);
    const auto gy = grads[0].to(torch::kFloat).contiguous(memory_format(nhwc));
    auto gx = torch::empty(x.sizes(), x.options().memory_format(memory_format(nhwc)));
    // Per (sample, channel): the FiLM gradients and the terms of the affine parameters' gradients, summed over
    // the batch afterwards (in a fixed order, so the result does not depend on the thread count).
    auto g_scale = torch::empty({s.batch, s.channels}, x.options().dtype(torch::kFloat));
    auto g_shift = torch::empty_like(g_scale), g_weight_terms = torch::empty_like(g_scale);
    auto g_bias_terms = torch::empty_like(g_scale);
    BackwardPointers ptr{w.data_ptr<float>(), bi.data_ptr<float>(), gy.data_ptr<float>(),
                         film ? sc.data_ptr<float>() : nullptr, film ? sh.data_ptr<float>() : nullptr,
                         mean.data_ptr<float>(), rstd.data_ptr<float>(), g_scale.data_ptr<float>(),
                         g_shift.data_ptr<float>(), g_weight_terms.data_ptr<float>(),
                         g_bias_terms.data_ptr<float>()};
    if (nhwc) {
      backward_nhwc(x, s, ptr, gx);
    } else {
      backward_nchw(x, s, ptr, gx);
    }
    const auto weight_dtype = static_cast<torch::ScalarType>(ctx->saved_data["weight_dtype"].toInt());
    torch::Tensor d_scale, d_shift;
    if (film) {
      const auto scale_dtype = static_cast<torch::ScalarType>(ctx->saved_data["scale_dtype"].toInt());
      const auto sizes = ctx->saved_data["scale_sizes"].toIntVector();
      d_scale = g_scale.reshape(sizes).to(scale_dtype);
      d_shift = g_shift.reshape(sizes).to(scale_dtype);
    }
    return {gx, g_weight_terms.sum(0).to(weight_dtype), g_bias_terms.sum(0).to(weight_dtype), d_scale, d_shift,
            torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }

 private:
  struct BackwardPointers {
    const float *weight, *bias, *grad_out, *scale, *shift, *mean, *rstd;
    float *g_scale, *g_shift, *g_weight_terms, *g_bias_terms;
  };

  static void forward_nchw(const torch::Tensor& x, const Shape& s, double eps, const float* wp, const float* bp,
                           const float* scp, const float* shp, torch::Tensor& y, float* mp, float* rp) {
    const bool bf16_out = y.scalar_type() == torch::kBFloat16;
    at::parallel_for(0, s.batch * s.groups, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> scratch, out;
      for (int64_t i = begin; i < end; ++i) {
        const int64_t n = i / s.groups, g = i % s.groups;
        const float* xg = group_block(x, s, n, g, scratch);
        const auto m = static_cast<double>(s.group_elements());
        const auto mu = static_cast<float>(row_sum(xg, s.group_elements()) / m);
        const double var = row_centered_squares(xg, s.group_elements(), mu) / m;  // biased, as GroupNorm
        const auto r = static_cast<float>(1.0 / std::sqrt(var + eps));
        mp[i] = mu;
        rp[i] = r;
        for (int64_t k = 0; k < s.per_group; ++k) {
          const int64_t c = g * s.per_group + k;
          const auto map = channel_map(wp, bp, scp, shp, n, c, s.channels, mu, r);
          const int64_t offset = (n * s.channels + c) * s.pixels;
          float* dest =
              bf16_out ? (out.resize(static_cast<size_t>(s.pixels)), out.data()) : y.data_ptr<float>() + offset;
          row_affine_silu(xg + k * s.pixels, dest, s.pixels, map.a, map.b);
          if (bf16_out) float_to_bf16(dest, reinterpret_cast<uint16_t*>(y.data_ptr<at::BFloat16>()) + offset, s.pixels);
        }
      }
    });
  }

  // One sample per task: its channel sums, then the centered squares around each group's mean, then the output.
  static void forward_nhwc(const torch::Tensor& x, const Shape& s, double eps, const float* wp, const float* bp,
                           const float* scp, const float* shp, torch::Tensor& y, float* mp, float* rp) {
    const bool bf16_out = y.scalar_type() == torch::kBFloat16;
    at::parallel_for(0, s.batch, 1, [&](int64_t begin, int64_t end) {
      const auto channels = static_cast<size_t>(s.channels);
      const int64_t count = s.channels * s.pixels;
      std::vector<float> scratch, out, partial(channels), center(channels), a(channels), b(channels);
      std::vector<double> sums(channels);
      const auto m = static_cast<double>(s.group_elements());
      for (int64_t n = begin; n < end; ++n) {
        const float* xs = sample_block(x, s, n, scratch);
        std::fill(sums.begin(), sums.end(), 0.0);
        nhwc_sums(xs, s.pixels, s.channels, sums.data(), partial.data());
        for (int64_t g = 0; g < s.groups; ++g) {
          double total = 0;
          for (int64_t k = 0; k < s.per_group; ++k) total += sums[g * s.per_group + k];
          const auto mu = static_cast<float>(total / m);
          mp[n * s.groups + g] = mu;
          std::fill_n(center.begin() + g * s.per_group, s.per_group, mu);
        }
        std::fill(sums.begin(), sums.end(), 0.0);
        nhwc_centered_squares(xs, s.pixels, s.channels, center.data(), sums.data(), partial.data());
        for (int64_t g = 0; g < s.groups; ++g) {
          double total = 0;
          for (int64_t k = 0; k < s.per_group; ++k) total += sums[g * s.per_group + k];
          const auto r = static_cast<float>(1.0 / std::sqrt(total / m + eps));  // biased variance, as GroupNorm
          rp[n * s.groups + g] = r;
          for (int64_t k = 0; k < s.per_group; ++k) {
            const int64_t c = g * s.per_group + k;
            const auto map = channel_map(wp, bp, scp, shp, n, c, s.channels, center[c], r);
            a[c] = map.a;
            b[c] = map.b;
          }
        }
        float* dest = bf16_out ? (out.resize(static_cast<size_t>(count)), out.data()) : y.data_ptr<float>() + n * count;
        nhwc_affine_silu(xs, dest, s.pixels, s.channels, a.data(), b.data());
        if (bf16_out) float_to_bf16(dest, reinterpret_cast<uint16_t*>(y.data_ptr<at::BFloat16>()) + n * count, count);
      }
    });
  }

  static void backward_nchw(const torch::Tensor& x, const Shape& s, const BackwardPointers& ptr, torch::Tensor& gx) {
    const float *wp = ptr.weight, *bp = ptr.bias, *gyp = ptr.grad_out, *scp = ptr.scale, *shp = ptr.shift;
    const float *mp = ptr.mean, *rp = ptr.rstd;
    float *gsc = ptr.g_scale, *gsh = ptr.g_shift, *gwt = ptr.g_weight_terms, *gbt = ptr.g_bias_terms;
    const bool bf16 = x.scalar_type() == torch::kBFloat16;
    at::parallel_for(0, s.batch * s.groups, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> scratch, gu(static_cast<size_t>(s.group_elements())), out;
      std::vector<float> map_k(static_cast<size_t>(s.per_group));
      for (int64_t i = begin; i < end; ++i) {
        const int64_t n = i / s.groups, g = i % s.groups;
        const float* xg = group_block(x, s, n, g, scratch);
        const float mu = mp[i], r = rp[i];
        double sum_k_gu = 0, sum_k_gu_hat = 0;  // sums over the group of gxhat and gxhat * xhat
        for (int64_t k = 0; k < s.per_group; ++k) {
          const int64_t c = g * s.per_group + k, nc = n * s.channels + c;
          const auto map = channel_map(wp, bp, scp, shp, n, c, s.channels, mu, r);
          double sum_gu = 0, sum_gu_centered = 0;
          row_silu_backward(xg + k * s.pixels, gyp + nc * s.pixels, gu.data() + k * s.pixels, s.pixels, map.a,
                            map.b, mu, &sum_gu, &sum_gu_centered);
          const double sum_gu_hat = sum_gu_centered * r;  // sum of gu * xhat
          gsh[nc] = static_cast<float>(sum_gu);
          gsc[nc] = static_cast<float>(wp[c] * sum_gu_hat + bp[c] * sum_gu);
          gwt[nc] = static_cast<float>(map.film * sum_gu_hat);
          gbt[nc] = static_cast<float>(map.film * sum_gu);
          map_k[k] = wp[c] * map.film;  // d xhat-gradient / d gu
          sum_k_gu += map_k[k] * sum_gu;
          sum_k_gu_hat += map_k[k] * sum_gu_hat;
        }
        // GroupNorm's input gradient: rstd (gxhat - mean(gxhat) - xhat mean(gxhat xhat)), gxhat = k gu.
        const auto m = static_cast<double>(s.group_elements());
        const auto m1 = static_cast<float>(sum_k_gu / m), m2 = static_cast<float>(sum_k_gu_hat / m);
        const int64_t offset = (n * s.channels + g * s.per_group) * s.pixels;
        float* dest = bf16 ? (out.resize(static_cast<size_t>(s.group_elements())), out.data())
                           : gx.data_ptr<float>() + offset;
        for (int64_t k = 0; k < s.per_group; ++k)
          row_linear_combination(gu.data() + k * s.pixels, xg + k * s.pixels, dest + k * s.pixels, s.pixels,
                                 r * map_k[k], -r * r * m2, r * (mu * r * m2 - m1));
        if (bf16)
          float_to_bf16(dest, reinterpret_cast<uint16_t*>(gx.data_ptr<at::BFloat16>()) + offset, s.group_elements());
      }
    });
  }

  // One sample per task: the silu backward with per-channel sums, then GroupNorm's input gradient.
  static void backward_nhwc(const torch::Tensor& x, const Shape& s, const BackwardPointers& ptr, torch::Tensor& gx) {
    const bool bf16 = x.scalar_type() == torch::kBFloat16;
    at::parallel_for(0, s.batch, 1, [&](int64_t begin, int64_t end) {
      const auto channels = static_cast<size_t>(s.channels), groups = static_cast<size_t>(s.groups);
      const int64_t count = s.channels * s.pixels;
      std::vector<float> scratch, gu(static_cast<size_t>(count)), out, partial(2 * channels), center(channels);
      std::vector<float> a(channels), b(channels), film(channels), map_k(channels), alpha(channels), beta(channels);
      std::vector<float> gamma(channels);
      std::vector<double> sum_gu(channels), sum_gu_centered(channels), sum_k_gu(groups), sum_k_gu_hat(groups);
      const auto m = static_cast<double>(s.group_elements());
      for (int64_t n = begin; n < end; ++n) {
        const float* xs = sample_block(x, s, n, scratch);
        for (int64_t c = 0; c < s.channels; ++c) {
          const int64_t i = n * s.groups + c / s.per_group;
          const auto map = channel_map(ptr.weight, ptr.bias, ptr.scale, ptr.shift, n, c, s.channels, ptr.mean[i],
                                       ptr.rstd[i]);
          a[c] = map.a;
          b[c] = map.b;
          center[c] = ptr.mean[i];
          film[c] = map.film;
          map_k[c] = ptr.weight[c] * map.film;  // d xhat-gradient / d gu
        }
        std::fill(sum_gu.begin(), sum_gu.end(), 0.0);
        std::fill(sum_gu_centered.begin(), sum_gu_centered.end(), 0.0);
        nhwc_silu_backward(xs, ptr.grad_out + n * count, gu.data(), s.pixels, s.channels, a.data(), b.data(),
                           center.data(), sum_gu.data(), sum_gu_centered.data(), partial.data());
        std::fill(sum_k_gu.begin(), sum_k_gu.end(), 0.0);
        std::fill(sum_k_gu_hat.begin(), sum_k_gu_hat.end(), 0.0);
        for (int64_t c = 0; c < s.channels; ++c) {
          const int64_t g = c / s.per_group, nc = n * s.channels + c;
          const double sum_gu_hat = sum_gu_centered[c] * ptr.rstd[n * s.groups + g];  // sum of gu * xhat
          ptr.g_shift[nc] = static_cast<float>(sum_gu[c]);
          ptr.g_scale[nc] = static_cast<float>(ptr.weight[c] * sum_gu_hat + ptr.bias[c] * sum_gu[c]);
          ptr.g_weight_terms[nc] = static_cast<float>(film[c] * sum_gu_hat);
          ptr.g_bias_terms[nc] = static_cast<float>(film[c] * sum_gu[c]);
          sum_k_gu[g] += map_k[c] * sum_gu[c];
          sum_k_gu_hat[g] += map_k[c] * sum_gu_hat;
        }
        // GroupNorm's input gradient: rstd (gxhat - mean(gxhat) - xhat mean(gxhat xhat)), gxhat = k gu.
        for (int64_t c = 0; c < s.channels; ++c) {
          const int64_t g = c / s.per_group;
          const float r = ptr.rstd[n * s.groups + g], mu = center[c];
          const auto m1 = static_cast<float>(sum_k_gu[g] / m), m2 = static_cast<float>(sum_k_gu_hat[g] / m);
          alpha[c] = r * map_k[c];
          beta[c] = -r * r * m2;
          gamma[c] = r * (mu * r * m2 - m1);
        }
        float* dest = bf16 ? (out.resize(static_cast<size_t>(count)), out.data()) : gx.data_ptr<float>() + n * count;
        nhwc_linear_combination(gu.data(), xs, dest, s.pixels, s.channels, alpha.data(), beta.data(), gamma.data());
        if (bf16) float_to_bf16(dest, reinterpret_cast<uint16_t*>(gx.data_ptr<at::BFloat16>()) + n * count, count);
      }
    });
  }

 private:
  static Shape shape_of(const torch::Tensor& x, int64_t groups) {
    const int64_t c = x.size(1);
    return {x.size(0), c, groups, c / groups, x.size(2) * x.size(3)};
  }
};

}  // namespace

torch::Tensor group_norm_film_silu(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                   const torch::Tensor& scale, const torch::Tensor& shift, int64_t groups,
                                   double eps, bool bf16_output) {
  check(x.dim() == 4 && x.is_cpu() && (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kBFloat16),
        "group_norm_film_silu: x must be a CPU fp32 or bf16 [B, C, H, W] tensor, got " + shape_str(x.sizes().vec()));
  const int64_t c = x.size(1);
  check(groups > 0 && c % groups == 0,
        "group_norm_film_silu: " + std::to_string(c) + " channels are not divisible by " + std::to_string(groups) +
            " groups");
  check(weight.numel() == c && bias.numel() == c, "group_norm_film_silu: weight and bias must have C elements");
  check(scale.defined() == shift.defined(), "group_norm_film_silu: scale and shift come together");
  if (scale.defined())
    check(scale.numel() == x.size(0) * c && shift.numel() == x.size(0) * c,
          "group_norm_film_silu: scale and shift must have B x C elements, got " + shape_str(scale.sizes().vec()));
  // LibTorch 1.13's custom functions do not take undefined tensors: no FiLM is passed as empty placeholders.
  if (!scale.defined()) {
    const auto none = torch::empty({0}, x.options().dtype(torch::kFloat));
    return GroupNormFilmSiluFunction::apply(x, weight, bias, none, none, groups, eps, bf16_output);
  }
  return GroupNormFilmSiluFunction::apply(x, weight, bias, scale, shift, groups, eps, bf16_output);
}

}  // namespace df::unet
