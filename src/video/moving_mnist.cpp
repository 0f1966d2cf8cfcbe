#include "df/video/moving_mnist.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::video {
namespace {

constexpr int64_t kDigit = 28;
constexpr double kPi = 3.14159265358979323846;

// A per-clip random stream: std::mt19937_64 is specified bit for bit by the standard; the conversion to
// [0, 1) is done here (std's distributions differ between standard libraries).
class ClipRandom {
 public:
  ClipRandom(uint64_t seed, int64_t index) : engine_(mix(seed, static_cast<uint64_t>(index))) {}
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  int64_t below(int64_t n) { return static_cast<int64_t>(uniform() * static_cast<double>(n)); }

 private:
  static uint64_t mix(uint64_t seed, uint64_t index) {  // splitmix64 of the pair
    uint64_t z = seed * 0x9E3779B97F4A7C15ULL + index + 0x632BE59BD9B4E019ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  std::mt19937_64 engine_;
};

}  // namespace

double bounce(double free_position, double range) {
  if (range <= 0) return 0.0;
  const double period = 2.0 * range;
  double u = std::fmod(free_position, period);
  if (u < 0) u += period;
  return u <= range ? u : period - u;
}

MovingMnist::MovingMnist(torch::Tensor digits, MovingMnistOptions options)
    : digits_(digits.to(torch::kCPU, torch::kFloat32).contiguous()), options_(options) {
  check(digits_.dim() == 3 && digits_.size(0) > 0 && digits_.size(1) == kDigit && digits_.size(2) == kDigit,
        "MovingMnist: digits must be [N, 28, 28] with N > 0, got " + shape_str(digits_));
  check(options_.canvas >= kDigit,
        "MovingMnist: canvas " + std::to_string(options_.canvas) + " is smaller than a digit (28)");
  check(options_.resolution > 0 && options_.canvas % options_.resolution == 0,
        "MovingMnist: resolution " + std::to_string(options_.resolution) + " must divide the canvas " +
            std::to_string(options_.canvas));
  check(options_.num_digits >= 1, "MovingMnist: num_digits must be >= 1");
  check(options_.speed >= 0 && std::isfinite(options_.speed), "MovingMnist: speed must be a finite number >= 0");
}

std::vector<DigitMotion> MovingMnist::motion(int64_t index) const {
  check(index >= 0, "MovingMnist: clip index must be >= 0, got " + std::to_string(index));
  ClipRandom random(options_.seed, index);
  const double range = static_cast<double>(options_.canvas - kDigit);
  std::vector<DigitMotion> digits;
  for (int64_t d = 0; d < options_.num_digits; ++d) {
    DigitMotion m;
    m.image = random.below(digits_.size(0));
    m.x = random.uniform() * range;
    m.y = random.uniform() * range;
    const double angle = 2.0 * kPi * random.uniform();
    m.vx = options_.speed * std::cos(angle);
    m.vy = options_.speed * std::sin(angle);
    digits.push_back(m);
  }
  return digits;
}

torch::Tensor MovingMnist::positions(int64_t index, int64_t start, int64_t length) const {
  check(start >= 0 && length >= 0, "MovingMnist: frames need start >= 0 and length >= 0");
  const auto digits = motion(index);
  const double range = static_cast<double>(options_.canvas - kDigit);
  auto out = torch::empty({length, options_.num_digits, 2}, torch::kFloat64);
  auto a = out.accessor<double, 3>();
  for (int64_t t = 0; t < length; ++t) {
    const auto time = static_cast<double>(start + t);
    for (int64_t d = 0; d < options_.num_digits; ++d) {
      const auto& m = digits[static_cast<size_t>(d)];
      a[t][d][0] = bounce(m.x + m.vx * time, range);
      a[t][d][1] = bounce(m.y + m.vy * time, range);
    }
  }
  return out;
}

torch::Tensor MovingMnist::frames(int64_t index, int64_t start, int64_t length) const {
  const auto digits = motion(index);
  const auto where = positions(index, start, length);
  const auto a = where.accessor<double, 3>();
  const int64_t C = options_.canvas, limit = C - kDigit;
  auto canvas = torch::zeros({length, C, C}, torch::kFloat32);
  float* out = canvas.data_ptr<float>();
  const float* images = digits_.data_ptr<float>();
  for (int64_t t = 0; t < length; ++t) {
    float* frame = out + t * C * C;
    for (int64_t d = 0; d < options_.num_digits; ++d) {
      const float* digit = images + digits[static_cast<size_t>(d)].image * kDigit * kDigit;
      const int64_t x0 = std::clamp<int64_t>(std::llround(a[t][d][0]), 0, limit);
      const int64_t y0 = std::clamp<int64_t>(std::llround(a[t][d][1]), 0, limit);
      for (int64_t r = 0; r < kDigit; ++r)
        for (int64_t c = 0; c < kDigit; ++c) {
          float& p = frame[(y0 + r) * C + x0 + c];
          p = std::max(p, digit[r * kDigit + c]);
        }
    }
  }
  auto result = canvas.unsqueeze(1);  // [T, 1, C, C]
  const int64_t factor = C / options_.resolution;
  if (factor > 1) result = torch::avg_pool2d(result, {factor, factor});
  return result.contiguous();
}

namespace {

class MovingMnistClips : public ClipSource {
 public:
  MovingMnistClips(torch::Tensor digits, MovingMnistOptions options) : mnist_(std::move(digits), options) {}
  VideoClip random_clip(int64_t n_frames, torch::Generator& generator) const override {
    const int64_t index = torch::randint(int64_t{1} << 62, {1}, generator, torch::kLong).item<int64_t>();
    return {mnist_.frames(index, 0, n_frames), {}};
  }
  VideoClip clip(int64_t index, int64_t start, int64_t n_frames) const override {
    return {mnist_.frames(index, start, n_frames), {}};
  }
  int64_t clip_length(int64_t) const override { return -1; }
  int64_t num_clips() const override { return -1; }
  int64_t channels() const override { return 1; }
  int64_t resolution() const override { return mnist_.options().resolution; }
  std::string describe() const override {
    return "Moving MNIST (" + std::to_string(mnist_.num_images()) + " digit images, " +
           std::to_string(mnist_.options().num_digits) + " digits per clip, " +
           std::to_string(mnist_.options().resolution) + "x" + std::to_string(mnist_.options().resolution) + ")";
  }

 private:
  MovingMnist mnist_;
};

}  // namespace

std::shared_ptr<ClipSource> make_moving_mnist_source(torch::Tensor digits, MovingMnistOptions options) {
  return std::make_shared<MovingMnistClips>(std::move(digits), options);
}

}  // namespace df::video
