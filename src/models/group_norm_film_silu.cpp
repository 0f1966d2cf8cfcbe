#include "group_norm_film_silu.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::unet {

namespace {

// The row kernels below are plain loops that the compiler vectorises; on x86-64 each is also compiled for
// AVX-512 and AVX2 and the widest the CPU runs is picked at load time (the library itself targets baseline
// x86-64). Reductions keep 16 partial sums, so that they vectorise without reassociating floating point.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DF_ROW_KERNEL __attribute__((target_clones("avx512f", "avx2", "default"))) __attribute__((noinline))
#else
#define DF_ROW_KERNEL
#endif

constexpr int kLanes = 16;

// exp(x) for the sigmoid, branch-free so that it vectorises (std::exp does not without -ffast-math): Cody-Waite
// reduction x = n ln2 + r and Cephes' degree-6 polynomial for e^r, relative error about 2e-7 on [-87, 88];
// x is clamped to that range (sigmoid saturates long before).
inline float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return p * two_n;
}

DF_ROW_KERNEL void bf16_to_float(const uint16_t* in, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t bits = static_cast<uint32_t>(in[i]) << 16;
    std::memcpy(out + i, &bits, sizeof(float));
  }
}

// Round to nearest even, as LibTorch's float -> bf16 cast (finite values).
DF_ROW_KERNEL void float_to_bf16(const float* in, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, in + i, sizeof bits);
    bits += 0x7FFFu + ((bits >> 16) & 1u);
    out[i] = static_cast<uint16_t>(bits >> 16);
  }
}

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
                               int64_t groups, double eps) {
    const auto x = x_in.contiguous();
    const Shape s = shape_of(x, groups);
    const auto w = weight.to(torch::kFloat).contiguous(), bi = bias.to(torch::kFloat).contiguous();
    const bool film = scale.numel() > 0;  // an empty placeholder: no FiLM
    const auto sc = film ? scale.to(torch::kFloat).reshape({s.batch, s.channels}).contiguous() : scale;
    const auto sh = film ? shift.to(torch::kFloat).reshape({s.batch, s.channels}).contiguous() : shift;
    auto y = torch::empty(x.sizes(), x.options().dtype(torch::kFloat));
    auto mean = torch::empty({s.batch, s.groups}, x.options().dtype(torch::kFloat));
    auto rstd = torch::empty_like(mean);
    const float *wp = w.data_ptr<float>(), *bp = bi.data_ptr<float>();
    const float *scp = film ? sc.data_ptr<float>() : nullptr, *shp = film ? sh.data_ptr<float>() : nullptr;
    float *yp = y.data_ptr<float>(), *mp = mean.data_ptr<float>(), *rp = rstd.data_ptr<float>();
    at::parallel_for(0, s.batch * s.groups, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> scratch;
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
          row_affine_silu(xg + k * s.pixels, yp + (n * s.channels + c) * s.pixels, s.pixels, map.a, map.b);
        }
      }
    });
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
    const bool film = sc.numel() > 0;
    const auto gy = grads[0].to(torch::kFloat).contiguous();
    auto gx = torch::empty(x.sizes(), x.options());
    // Per (sample, channel): the FiLM gradients and the terms of the affine parameters' gradients, summed over
    // the batch afterwards (in a fixed order, so the result does not depend on the thread count).
    auto g_scale = torch::empty({s.batch, s.channels}, x.options().dtype(torch::kFloat));
    auto g_shift = torch::empty_like(g_scale), g_weight_terms = torch::empty_like(g_scale);
    auto g_bias_terms = torch::empty_like(g_scale);
    const float *wp = w.data_ptr<float>(), *bp = bi.data_ptr<float>(), *gyp = gy.data_ptr<float>();
    const float *scp = film ? sc.data_ptr<float>() : nullptr, *shp = film ? sh.data_ptr<float>() : nullptr;
    const float *mp = mean.data_ptr<float>(), *rp = rstd.data_ptr<float>();
    float *gsc = g_scale.data_ptr<float>(), *gsh = g_shift.data_ptr<float>();
    float *gwt = g_weight_terms.data_ptr<float>(), *gbt = g_bias_terms.data_ptr<float>();
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
    const auto weight_dtype = static_cast<torch::ScalarType>(ctx->saved_data["weight_dtype"].toInt());
    torch::Tensor d_scale, d_shift;
    if (film) {
      const auto scale_dtype = static_cast<torch::ScalarType>(ctx->saved_data["scale_dtype"].toInt());
      const auto sizes = ctx->saved_data["scale_sizes"].toIntVector();
      d_scale = g_scale.reshape(sizes).to(scale_dtype);
      d_shift = g_shift.reshape(sizes).to(scale_dtype);
    }
    return {gx, g_weight_terms.sum(0).to(weight_dtype), g_bias_terms.sum(0).to(weight_dtype), d_scale, d_shift,
            torch::Tensor(), torch::Tensor()};
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
                                   double eps) {
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
    return GroupNormFilmSiluFunction::apply(x, weight, bias, none, none, groups, eps);
  }
  return GroupNormFilmSiluFunction::apply(x, weight, bias, scale, shift, groups, eps);
}

}  // namespace df::unet
