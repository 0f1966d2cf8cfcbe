#include "df/video/video_metrics.h"

#include <algorithm>
#include <cmath>

#include "df/core/compat.h"
#include "df/core/error.h"

namespace df::video {
namespace {

void check_frames(const torch::Tensor& frames, const char* what) {
  check(frames.defined() && frames.dim() == 5, std::string(what) + ": frames must be [T, B, C, H, W], got " +
                                                   (frames.defined() ? shape_str(frames) : std::string("none")));
}

// Normalised 1-D Gaussian of 11 taps, sigma 1.5, as a [1, 1, 11, 11] outer product.
torch::Tensor gaussian_window(const torch::TensorOptions& options) {
  const auto x = torch::arange(11, options) - 5.0;
  auto g = torch::exp(-x.pow(2) / (2 * 1.5 * 1.5));
  g = g / g.sum();
  return torch::outer(g, g).view({1, 1, 11, 11});
}

// Number of 4-connected regions of `mask` (H x W, row-major) with at least `min_pixels` pixels.
int64_t count_blobs(const std::vector<uint8_t>& mask, int64_t H, int64_t W, int64_t min_pixels,
                    std::vector<int32_t>& stack, std::vector<uint8_t>& seen) {
  seen.assign(mask.size(), 0);
  int64_t blobs = 0;
  for (int64_t start = 0; start < H * W; ++start) {
    if (!mask[static_cast<size_t>(start)] || seen[static_cast<size_t>(start)]) continue;
    int64_t size = 0;
    stack.clear();
    stack.push_back(static_cast<int32_t>(start));
    seen[static_cast<size_t>(start)] = 1;
    while (!stack.empty()) {
      const int64_t p = stack.back();
      stack.pop_back();
      ++size;
      const int64_t r = p / W, c = p % W;
      const int64_t neighbours[4][2] = {{r - 1, c}, {r + 1, c}, {r, c - 1}, {r, c + 1}};
      for (const auto& n : neighbours) {
        if (n[0] < 0 || n[0] >= H || n[1] < 0 || n[1] >= W) continue;
        const auto q = static_cast<size_t>(n[0] * W + n[1]);
        if (mask[q] && !seen[q]) {
          seen[q] = 1;
          stack.push_back(static_cast<int32_t>(q));
        }
      }
    }
    if (size >= min_pixels) ++blobs;
  }
  return blobs;
}

}  // namespace

torch::Tensor ssim(const torch::Tensor& predicted, const torch::Tensor& truth) {
  check_frames(predicted, "ssim");
  check(predicted.sizes() == truth.sizes(), "ssim: shapes differ: " + shape_str(predicted) + " vs " + shape_str(truth));
  const int64_t T = predicted.size(0), B = predicted.size(1), C = predicted.size(2), H = predicted.size(3),
                W = predicted.size(4);
  check(H >= 11 && W >= 11, "ssim: frames must be at least 11x11, got " + shape_str(predicted));
  const auto x = predicted.to(torch::kFloat64).reshape({T * B * C, 1, H, W});
  const auto y = truth.to(x.device(), torch::kFloat64).reshape({T * B * C, 1, H, W});
  const auto w = gaussian_window(x.options());
  auto blur = [&](const torch::Tensor& v) { return torch::conv2d(v, w); };
  const auto mx = blur(x), my = blur(y);
  const auto sxx = blur(x * x) - mx * mx, syy = blur(y * y) - my * my, sxy = blur(x * y) - mx * my;
  constexpr double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;  // (K * data range)^2, data range 1
  const auto map = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2));
  return map.mean({1, 2, 3}).view({T, B, C}).mean(2);
}

FrameErrors compare_frames(const torch::Tensor& predicted, const torch::Tensor& truth) {
  check_frames(predicted, "compare_frames");
  check(predicted.sizes() == truth.sizes(),
        "compare_frames: shapes differ: " + shape_str(predicted) + " vs " + shape_str(truth));
  FrameErrors e;
  const auto diff = predicted.to(torch::kFloat64) - truth.to(predicted.device(), torch::kFloat64);
  e.mse = diff.pow(2).mean({2, 3, 4});
  e.psnr = -10.0 * torch::log10(e.mse);  // data range 1
  e.ssim = ssim(predicted, truth);
  return e;
}

namespace {

// [N, 2] (row, column) intensity-weighted centroids of grey frames [N, H, W]; NaN rows for frames without ink.
torch::Tensor centroids(const torch::Tensor& grey) {
  const int64_t H = grey.size(1), W = grey.size(2);
  const auto options = grey.options();
  const auto mass = grey.sum({1, 2});
  const auto row = (grey.sum(2) * torch::arange(H, options)).sum(1) / mass;
  const auto col = (grey.sum(1) * torch::arange(W, options)).sum(1) / mass;
  const auto none = mass <= 1e-9;
  return torch::stack({row.masked_fill(none, NAN), col.masked_fill(none, NAN)}, 1);
}

// frames [N, C, H, W] with frame n moved by (dy[n], dx[n]) whole pixels, zeros where nothing comes in: a gather
// along each axis, so every frame moves at once.
torch::Tensor shift_frames(const torch::Tensor& frames, const torch::Tensor& dy, const torch::Tensor& dx) {
  const int64_t N = frames.size(0), C = frames.size(1), H = frames.size(2), W = frames.size(3);
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong);
  const auto rows = torch::arange(H, long_opts).unsqueeze(0) - dy.unsqueeze(1);  // [N, H]: source row
  const auto cols = torch::arange(W, long_opts).unsqueeze(0) - dx.unsqueeze(1);  // [N, W]
  const auto row_ok = (rows >= 0).logical_and(rows < H).to(frames.dtype());
  const auto col_ok = (cols >= 0).logical_and(cols < W).to(frames.dtype());
  const auto by_rows = frames.gather(2, rows.clamp(0, H - 1).view({N, 1, H, 1}).expand({N, C, H, W}));
  const auto moved = by_rows.gather(3, cols.clamp(0, W - 1).view({N, 1, 1, W}).expand({N, C, H, W}));
  return moved * row_ok.view({N, 1, H, 1}) * col_ok.view({N, 1, 1, W});
}

}  // namespace

AlignedErrors compare_aligned(const torch::Tensor& predicted, const torch::Tensor& truth,
                              const torch::Tensor& previous_truth) {
  check_frames(predicted, "compare_aligned");
  check(predicted.sizes() == truth.sizes(),
        "compare_aligned: shapes differ: " + shape_str(predicted) + " vs " + shape_str(truth));
  const int64_t T = predicted.size(0), B = predicted.size(1);
  check(!previous_truth.defined() || previous_truth.sizes() == truth[0].sizes(),
        "compare_aligned: previous_truth must be one frame per sequence " + shape_str(truth[0]) + ", got " +
            (previous_truth.defined() ? shape_str(previous_truth) : std::string()));
  const auto flat_pred = predicted.detach().to(torch::kCPU, torch::kFloat64).flatten(0, 1);  // [N, C, H, W]
  const auto flat_truth = truth.detach().to(torch::kCPU, torch::kFloat64).flatten(0, 1);
  const auto c_pred = centroids(flat_pred.clamp(0.0, 1.0).mean(1));
  const auto c_truth = centroids(flat_truth.clamp(0.0, 1.0).mean(1));
  const auto offset = c_truth - c_pred;  // [N, 2]
  AlignedErrors e;
  e.centroid_error = offset.pow(2).sum(1).sqrt().view({T, B});
  const auto move = offset.nan_to_num(0.0).round().to(torch::kLong);
  const auto moved = shift_frames(flat_pred, move.select(1, 0), move.select(1, 1));
  e.aligned_psnr = (-10.0 * torch::log10((moved - flat_truth).pow(2).mean({1, 2, 3}))).view({T, B});
  // The truth's motion into each frame, from its previous frame (the one before truth[0] when given).
  const auto truth_path = c_truth.view({T, B, 2});
  const auto first = previous_truth.defined()
                         ? centroids(previous_truth.detach().to(torch::kCPU, torch::kFloat64).clamp(0.0, 1.0).mean(1))
                         : torch::full({B, 2}, NAN, truth_path.options());
  const auto motion = truth_path - torch::cat({first.unsqueeze(0), truth_path.slice(0, 0, T - 1)});  // [T, B, 2]
  const auto distance = motion.pow(2).sum(2).sqrt();
  const auto ahead = -(offset.view({T, B, 2}) * motion).sum(2) / distance;  // (c_pred - c_truth) . direction
  e.centroid_lag = ahead.masked_fill(distance < 0.25, NAN);  // NaN distances stay NaN
  e.centroid_across = (e.centroid_error.pow(2) - e.centroid_lag.pow(2)).clamp_min(0.0).sqrt();
  return e;
}

const std::vector<std::string>& frame_statistic_names() {
  static const std::vector<std::string> names = {"mean", "contrast", "midtone", "sharpness", "blobs"};
  return names;
}

int64_t default_min_blob_pixels(int64_t resolution) {
  // A 28x28 MNIST digit on the 64 canvas has ~150 ink pixels above 0.5; a quarter of it, scaled.
  const double scale = static_cast<double>(resolution) / 64.0;
  return std::max<int64_t>(2, static_cast<int64_t>(std::lround(37.0 * scale * scale)));
}

torch::Tensor frame_statistics(const torch::Tensor& frames, int64_t min_blob_pixels) {
  check_frames(frames, "frame_statistics");
  const int64_t T = frames.size(0), B = frames.size(1), H = frames.size(3), W = frames.size(4);
  const auto grey = frames.detach().to(torch::kCPU, torch::kFloat64).clamp(0.0, 1.0).mean(2);  // [T, B, H, W]
  const auto flat = grey.reshape({T, B, H * W});
  const auto mean = flat.mean(2);
  const auto contrast = (flat - mean.unsqueeze(2)).pow(2).mean(2).sqrt();
  const auto midtone = ((flat > 0.25) & (flat < 0.75)).to(torch::kFloat64).mean(2);
  // 5-point Laplacian on the interior pixels.
  const auto g = grey.reshape({T * B, 1, H, W});
  const auto kernel = torch::tensor({0.0, 1.0, 0.0, 1.0, -4.0, 1.0, 0.0, 1.0, 0.0}, torch::kFloat64).view({1, 1, 3, 3});
  const auto sharpness = torch::conv2d(g, kernel).abs().mean({1, 2, 3}).view({T, B});

  auto blobs = torch::zeros({T, B}, torch::kFloat64);
  auto blob_access = blobs.accessor<double, 2>();
  const auto bright = (grey > 0.5).to(torch::kUInt8).contiguous();
  const uint8_t* bits = bright.data_ptr<uint8_t>();
  std::vector<uint8_t> mask(static_cast<size_t>(H * W)), seen;
  std::vector<int32_t> stack;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) {
      std::copy_n(bits + (t * B + b) * H * W, H * W, mask.begin());
      blob_access[t][b] = static_cast<double>(count_blobs(mask, H, W, min_blob_pixels, stack, seen));
    }
  return torch::stack({mean, contrast, midtone, sharpness, blobs}, 2);  // [T, B, S]
}

StatisticRange statistic_range(const torch::Tensor& statistics, double q) {
  check(statistics.dim() == 3 && statistics.size(0) * statistics.size(1) > 0,
        "statistic_range: statistics must be [T, B, S] with frames, got " + shape_str(statistics));
  check(q >= 0.0 && q < 0.5, "statistic_range: quantile must be in [0, 0.5)");
  const auto flat = statistics.reshape({-1, statistics.size(2)}).to(torch::kFloat64);
  const auto sorted = std::get<0>(flat.sort(0));
  const int64_t n = sorted.size(0);
  const auto lo_index = static_cast<int64_t>(std::floor(q * static_cast<double>(n - 1)));
  const auto hi_index = static_cast<int64_t>(std::ceil((1.0 - q) * static_cast<double>(n - 1)));
  StatisticRange range;
  for (int64_t s = 0; s < sorted.size(1); ++s) {
    range.low.push_back(sorted[lo_index][s].item<double>());
    range.high.push_back(sorted[hi_index][s].item<double>());
  }
  return range;
}

torch::Tensor out_of_range(const torch::Tensor& statistics, const StatisticRange& range, double margin) {
  const int64_t S = statistics.size(2);
  check(static_cast<int64_t>(range.low.size()) == S && static_cast<int64_t>(range.high.size()) == S,
        "out_of_range: the range has " + std::to_string(range.low.size()) + " statistics, the frames " +
            std::to_string(S));
  auto out = torch::zeros({statistics.size(0), statistics.size(1)}, torch::kBool);
  for (int64_t s = 0; s < S; ++s) {
    const auto i = static_cast<size_t>(s);
    const double pad = margin * (range.high[i] - range.low[i]);
    const auto v = statistics.select(2, s);
    out = out | (v < range.low[i] - pad) | (v > range.high[i] + pad);
  }
  return out;
}

int64_t first_frame_out_of_range(const std::vector<double>& share, int64_t first, int64_t window) {
  const auto n = static_cast<int64_t>(share.size());
  window = std::max<int64_t>(1, window);
  std::vector<double> prefix(static_cast<size_t>(n) + 1, 0.0);  // sums of finite shares
  for (int64_t i = 0; i < n; ++i)
    prefix[static_cast<size_t>(i) + 1] =
        prefix[static_cast<size_t>(i)] +
        (std::isfinite(share[static_cast<size_t>(i)]) ? share[static_cast<size_t>(i)] : 0.0);
  for (int64_t f = std::max<int64_t>(0, first); f < n; ++f) {
    const int64_t end = std::min(n, f + window);
    if ((prefix[static_cast<size_t>(end)] - prefix[static_cast<size_t>(f)]) / static_cast<double>(end - f) >= 0.5)
      return f;
  }
  return -1;
}

}  // namespace df::video
