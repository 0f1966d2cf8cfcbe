#include "df/planning/numpy_legacy_random.h"
#include "sha512.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "df/core/error.h"

namespace df::planning {

namespace {
constexpr int kN = 624;
constexpr int kM = 397;
}  // namespace

NumpyLegacyRandom::NumpyLegacyRandom(std::uint32_t seed) {
  state_[0] = seed;
  for (int i = 1; i < kN; ++i) {
    const std::uint32_t prev = state_[static_cast<size_t>(i - 1)];
    state_[static_cast<size_t>(i)] = 1812433253U * (prev ^ (prev >> 30)) + static_cast<std::uint32_t>(i);
  }
}

NumpyLegacyRandom::NumpyLegacyRandom(const std::vector<std::uint32_t>& key) : NumpyLegacyRandom(19650218U) {
  check(!key.empty(), "NumpyLegacyRandom: the seed key must not be empty");
  // MT19937 init_by_array, as NumPy's mt19937_init_by_array.
  const int length = static_cast<int>(key.size());
  int i = 1;
  int j = 0;
  for (int k = std::max(kN, length); k > 0; --k) {
    const std::uint32_t prev = state_[static_cast<size_t>(i - 1)];
    state_[static_cast<size_t>(i)] =
        (state_[static_cast<size_t>(i)] ^ ((prev ^ (prev >> 30)) * 1664525U)) + key[static_cast<size_t>(j)] +
        static_cast<std::uint32_t>(j);
    ++i;
    ++j;
    if (i >= kN) {
      state_[0] = state_[kN - 1];
      i = 1;
    }
    if (j >= length) j = 0;
  }
  for (int k = kN - 1; k > 0; --k) {
    const std::uint32_t prev = state_[static_cast<size_t>(i - 1)];
    state_[static_cast<size_t>(i)] =
        (state_[static_cast<size_t>(i)] ^ ((prev ^ (prev >> 30)) * 1566083941U)) - static_cast<std::uint32_t>(i);
    ++i;
    if (i >= kN) {
      state_[0] = state_[kN - 1];
      i = 1;
    }
  }
  state_[0] = 0x80000000U;  // non-zero initial state guaranteed
}

std::vector<std::uint32_t> NumpyLegacyRandom::gym_seed_key(std::uint64_t seed) {
  const std::string text = std::to_string(seed);
  const auto digest = sha512(std::vector<std::uint8_t>(text.begin(), text.end()));
  std::uint64_t value = 0;
  for (int b = 7; b >= 0; --b) value = (value << 8) | digest[static_cast<size_t>(b)];  // little-endian bytes
  if (value == 0) return {0};
  std::vector<std::uint32_t> key;
  while (value > 0) {
    key.push_back(static_cast<std::uint32_t>(value & 0xFFFFFFFFULL));
    value >>= 32;
  }
  return key;
}

NumpyLegacyRandom NumpyLegacyRandom::gym_seeded(std::uint64_t seed) { return NumpyLegacyRandom(gym_seed_key(seed)); }

void NumpyLegacyRandom::generate() {
  constexpr std::uint32_t kUpper = 0x80000000U;
  constexpr std::uint32_t kLower = 0x7fffffffU;
  constexpr std::uint32_t kMatrix = 0x9908b0dfU;
  for (int k = 0; k < kN; ++k) {
    const std::uint32_t y =
        (state_[static_cast<size_t>(k)] & kUpper) | (state_[static_cast<size_t>((k + 1) % kN)] & kLower);
    state_[static_cast<size_t>(k)] =
        state_[static_cast<size_t>((k + kM) % kN)] ^ (y >> 1) ^ ((y & 1U) != 0 ? kMatrix : 0U);
  }
  position_ = 0;
}

std::uint32_t NumpyLegacyRandom::next_uint32() {
  if (position_ >= kN) generate();
  std::uint32_t y = state_[static_cast<size_t>(position_++)];
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= (y >> 18);
  return y;
}

double NumpyLegacyRandom::random_sample() {
  const std::uint32_t a = next_uint32() >> 5;
  const std::uint32_t b = next_uint32() >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

double NumpyLegacyRandom::standard_normal() {
  if (has_cached_normal_) {
    has_cached_normal_ = false;
    return cached_normal_;
  }
  double x1 = 0.0;
  double x2 = 0.0;
  double r2 = 0.0;
  do {
    x1 = 2.0 * random_sample() - 1.0;
    x2 = 2.0 * random_sample() - 1.0;
    r2 = x1 * x1 + x2 * x2;
  } while (r2 >= 1.0 || r2 == 0.0);
  const double f = std::sqrt(-2.0 * std::log(r2) / r2);
  cached_normal_ = f * x1;
  has_cached_normal_ = true;
  return f * x2;
}

std::int64_t NumpyLegacyRandom::randint(std::int64_t n) {
  check(n > 0 && n <= (std::int64_t{1} << 32),
        "NumpyLegacyRandom::randint: n must be in [1, 2^32], got " + std::to_string(n));
  const std::uint32_t max = static_cast<std::uint32_t>(n - 1);
  if (max == 0) return 0;
  std::uint32_t mask = max;  // smallest all-ones mask covering max
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  std::uint32_t value = 0;
  while ((value = (next_uint32() & mask)) > max) {
  }
  return value;
}

std::array<std::uint8_t, 64> sha512(const std::vector<std::uint8_t>& bytes) {
  static constexpr std::uint64_t kRound[80] = {
      0x428a2f98d728ae22ULL, 0x7137449123ef65cdULL, 0xb5c0fbcfec4d3b2fULL, 0xe9b5dba58189dbbcULL,
      0x3956c25bf348b538ULL, 0x59f111f1b605d019ULL, 0x923f82a4af194f9bULL, 0xab1c5ed5da6d8118ULL,
      0xd807aa98a3030242ULL, 0x12835b0145706fbeULL, 0x243185be4ee4b28cULL, 0x550c7dc3d5ffb4e2ULL,
      0x72be5d74f27b896fULL, 0x80deb1fe3b1696b1ULL, 0x9bdc06a725c71235ULL, 0xc19bf174cf692694ULL,
      0xe49b69c19ef14ad2ULL, 0xefbe4786384f25e3ULL, 0x0fc19dc68b8cd5b5ULL, 0x240ca1cc77ac9c65ULL,
      0x2de92c6f592b0275ULL, 0x4a7484aa6ea6e483ULL, 0x5cb0a9dcbd41fbd4ULL, 0x76f988da831153b5ULL,
      0x983e5152ee66dfabULL, 0xa831c66d2db43210ULL, 0xb00327c898fb213fULL, 0xbf597fc7beef0ee4ULL,
      0xc6e00bf33da88fc2ULL, 0xd5a79147930aa725ULL, 0x06ca6351e003826fULL, 0x142929670a0e6e70ULL,
      0x27b70a8546d22ffcULL, 0x2e1b21385c26c926ULL, 0x4d2c6dfc5ac42aedULL, 0x53380d139d95b3dfULL,
      0x650a73548baf63deULL, 0x766a0abb3c77b2a8ULL, 0x81c2c92e47edaee6ULL, 0x92722c851482353bULL,
      0xa2bfe8a14cf10364ULL, 0xa81a664bbc423001ULL, 0xc24b8b70d0f89791ULL, 0xc76c51a30654be30ULL,
      0xd192e819d6ef5218ULL, 0xd69906245565a910ULL, 0xf40e35855771202aULL, 0x106aa07032bbd1b8ULL,
      0x19a4c116b8d2d0c8ULL, 0x1e376c085141ab53ULL, 0x2748774cdf8eeb99ULL, 0x34b0bcb5e19b48a8ULL,
      0x391c0cb3c5c95a63ULL, 0x4ed8aa4ae3418acbULL, 0x5b9cca4f7763e373ULL, 0x682e6ff3d6b2b8a3ULL,
      0x748f82ee5defb2fcULL, 0x78a5636f43172f60ULL, 0x84c87814a1f0ab72ULL, 0x8cc702081a6439ecULL,
      0x90befffa23631e28ULL, 0xa4506cebde82bde9ULL, 0xbef9a3f7b2c67915ULL, 0xc67178f2e372532bULL,
      0xca273eceea26619cULL, 0xd186b8c721c0c207ULL, 0xeada7dd6cde0eb1eULL, 0xf57d4f7fee6ed178ULL,
      0x06f067aa72176fbaULL, 0x0a637dc5a2c898a6ULL, 0x113f9804bef90daeULL, 0x1b710b35131c471bULL,
      0x28db77f523047d84ULL, 0x32caab7b40c72493ULL, 0x3c9ebe0a15c9bebcULL, 0x431d67c49c100d4cULL,
      0x4cc5d4becb3e42b6ULL, 0x597f299cfc657e2aULL, 0x5fcb6fab3ad6faecULL, 0x6c44198c4a475817ULL};
  std::uint64_t h[8] = {0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
                        0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
                        0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};
  auto rotr = [](std::uint64_t x, int n) { return (x >> n) | (x << (64 - n)); };

  // Padding: 0x80, zeros, then the bit length as a 128-bit big-endian number (messages here are short).
  std::vector<std::uint8_t> message = bytes;
  const std::uint64_t bit_length = static_cast<std::uint64_t>(bytes.size()) * 8;
  message.push_back(0x80);
  while (message.size() % 128 != 112) message.push_back(0);
  for (int k = 0; k < 8; ++k) message.push_back(0);
  for (int k = 7; k >= 0; --k) message.push_back(static_cast<std::uint8_t>(bit_length >> (8 * k)));

  for (size_t block = 0; block < message.size(); block += 128) {
    std::uint64_t w[80];
    for (int t = 0; t < 16; ++t) {
      std::uint64_t word = 0;
      for (int b = 0; b < 8; ++b) word = (word << 8) | message[block + static_cast<size_t>(8 * t + b)];
      w[t] = word;
    }
    for (int t = 16; t < 80; ++t) {
      const std::uint64_t s0 = rotr(w[t - 15], 1) ^ rotr(w[t - 15], 8) ^ (w[t - 15] >> 7);
      const std::uint64_t s1 = rotr(w[t - 2], 19) ^ rotr(w[t - 2], 61) ^ (w[t - 2] >> 6);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    std::uint64_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 80; ++t) {
      const std::uint64_t t1 = hh + (rotr(e, 14) ^ rotr(e, 18) ^ rotr(e, 41)) + ((e & f) ^ (~e & g)) + kRound[t] + w[t];
      const std::uint64_t t2 = (rotr(a, 28) ^ rotr(a, 34) ^ rotr(a, 39)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
  std::array<std::uint8_t, 64> digest{};
  for (int k = 0; k < 8; ++k) {
    for (int b = 0; b < 8; ++b)
      digest[static_cast<size_t>(8 * k + b)] = static_cast<std::uint8_t>(h[k] >> (56 - 8 * b));
  }
  return digest;
}

}  // namespace df::planning
