// Helpers of the hand-written CPU kernels of the U-Net's bf16 path (private to src/models): the multiversioning
// macro, a vectorisable exp, and bf16 <-> fp32 conversion of rows. Included by one .cpp per kernel; everything
// has internal linkage.
#pragma once
#include <cstdint>
#include <cstring>

namespace df::unet {
namespace {

// The kernels are plain loops that the compiler vectorises; on x86-64 each DF_ROW_KERNEL function is also
// compiled for AVX-512 and AVX2 and the widest the CPU runs is picked at load time (the library itself targets
// baseline x86-64). Reductions keep partial sums per lane, so that they vectorise without reassociating
// floating point (the result does not depend on the CPU).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DF_ROW_KERNEL __attribute__((target_clones("avx512f", "avx2", "default"))) __attribute__((noinline))
#else
#define DF_ROW_KERNEL
#endif

// exp(x) for sigmoid and softmax, branch-free so that it vectorises (std::exp does not without -ffast-math):
// Cody-Waite reduction x = n ln2 + r and Cephes' degree-6 polynomial for e^r, relative error about 2e-7 on
// [-87, 88]; x is clamped to that range (sigmoid saturates long before; softmax's e^(x - max) < e^-87 is 0 to
// fp32 against a term of 1).
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

}  // namespace
}  // namespace df::unet
