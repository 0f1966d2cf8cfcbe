// Per-frame metrics against closed forms: MSE / PSNR / SSIM, the no-ground-truth statistics, the training
// data's range and the frames that leave it; the comparison report read back from its CSV.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "df/core/error.h"
#include "df/video/rollout_report.h"
#include "df/video/video_metrics.h"
#include "video_test_data.h"

using namespace df::video;

namespace {

// [T, B, 1, H, W] frames with `squares` bright 6x6 squares (1.0) on black, one per 10 columns.
torch::Tensor squares_frames(int64_t T, int64_t B, int64_t squares, int64_t size = 32) {
  auto f = torch::zeros({T, B, 1, size, size});
  for (int64_t s = 0; s < squares; ++s) f.slice(3, 4, 10).slice(4, 2 + 10 * s, 8 + 10 * s).fill_(1.0);
  return f;
}

}  // namespace

TEST(VideoMetrics, MsePsnrSsimMatchClosedForms) {
  const auto truth = torch::rand({3, 2, 3, 16, 16}, torch::kFloat64) * 0.8;
  const auto shifted = truth + 0.1;  // every pixel off by 0.1: MSE 0.01, PSNR 20 dB
  const auto e = compare_frames(shifted, truth);
  EXPECT_NEAR(e.mse.max().item<double>(), 0.01, 1e-9);
  EXPECT_NEAR(e.psnr.min().item<double>(), 20.0, 1e-6);
  EXPECT_NEAR(ssim(truth, truth).min().item<double>(), 1.0, 1e-12);
  // Constant images a, b: variances vanish and SSIM = (2ab + c1) / (a^2 + b^2 + c1), c1 = 0.01^2.
  const double a = 0.3, b = 0.6, c1 = 1e-4;
  const auto s = ssim(torch::full({1, 1, 1, 12, 12}, a), torch::full({1, 1, 1, 12, 12}, b));
  EXPECT_NEAR(s.item<double>(), (2 * a * b + c1) / (a * a + b * b + c1), 1e-9);
  EXPECT_THROW(compare_frames(truth, truth.slice(0, 0, 2)), df::Error);
  EXPECT_THROW(ssim(torch::zeros({1, 1, 1, 8, 8}), torch::zeros({1, 1, 1, 8, 8})), df::Error);  // < 11x11
}

// Slow reference: the centroid of one grey frame [H, W] (channels of clamped values averaged) by loops in
// double precision (NaN without ink).
std::pair<double, double> loop_centroid(const torch::Tensor& grey) {
  const auto g = grey.to(torch::kFloat64).contiguous();
  const auto a = g.accessor<double, 2>();
  double mass = 0, row = 0, col = 0;
  for (int64_t r = 0; r < g.size(0); ++r)
    for (int64_t c = 0; c < g.size(1); ++c) {
      const double v = std::min(1.0, std::max(0.0, a[r][c]));
      mass += v;
      row += v * r;
      col += v * c;
    }
  if (mass <= 1e-9) return {NAN, NAN};
  return {row / mass, col / mass};
}

TEST(VideoMetrics, AlignedErrorsSeparatePositionFromAppearance) {
  // The same 6x6 square moved by (3, 4) pixels: the centroids are 5 pixels apart, plain PSNR is finite and
  // the aligned prediction is exact.
  auto truth = torch::zeros({1, 2, 1, 32, 32});
  truth.slice(3, 4, 10).slice(4, 2, 8).fill_(1.0);
  truth[0][1] = truth[0][0];
  auto moved = torch::zeros_like(truth);
  moved[0][0].slice(1, 7, 13).slice(2, 6, 12).fill_(1.0);
  // Sequence 1: a different shape on the same centroid (a 2x18 bar): no move, aligned PSNR = plain PSNR.
  moved[0][1].slice(1, 6, 8).slice(2, 0, 10).fill_(1.0);
  const auto e = compare_aligned(moved, truth);
  const auto plain = compare_frames(moved, truth);
  EXPECT_NEAR(e.centroid_error[0][0].item<double>(), 5.0, 1e-9);
  EXPECT_TRUE(std::isinf(e.aligned_psnr[0][0].item<double>()));
  EXPECT_TRUE(std::isfinite(plain.psnr[0][0].item<double>()));
  EXPECT_NEAR(e.centroid_error[0][1].item<double>(), 0.0, 1e-9);  // both at (6.5, 4.5)
  EXPECT_NEAR(e.aligned_psnr[0][1].item<double>(), plain.psnr[0][1].item<double>(), 1e-9);

  // A square pushed half out of the frame: what leaves is dropped and zeros come in, so the aligned error is
  // the lost half's ink: 18 of 1024 pixels wrong by 1.
  auto edge_truth = torch::zeros({1, 1, 1, 32, 32});
  edge_truth[0][0].slice(1, 10, 16).slice(2, 10, 16).fill_(1.0);
  auto edge = torch::zeros_like(edge_truth);
  edge[0][0].slice(1, 10, 16).slice(2, 29, 32).fill_(1.0);  // the right half is off the frame
  const auto cut = compare_aligned(edge, edge_truth);
  EXPECT_NEAR(cut.centroid_error[0][0].item<double>(), 30.0 - 12.5, 1e-9);  // columns 29-31 vs 10-15
  EXPECT_NEAR(cut.aligned_psnr[0][0].item<double>(), -10.0 * std::log10(18.0 / 1024.0), 1e-9);

  // Random frames against the loop reference; a black prediction has no centroid and is not moved.
  torch::manual_seed(3);
  const auto a = torch::rand({2, 3, 3, 16, 16}, torch::kFloat64) * 1.2 - 0.1;
  const auto b = torch::rand({2, 3, 3, 16, 16}, torch::kFloat64).pow(4);
  const auto r = compare_aligned(a, b);
  for (int64_t t = 0; t < 2; ++t)
    for (int64_t i = 0; i < 3; ++i) {
      const auto ca = loop_centroid(a[t][i].clamp(0.0, 1.0).mean(0));
      const auto cb = loop_centroid(b[t][i].clamp(0.0, 1.0).mean(0));
      EXPECT_NEAR(r.centroid_error[t][i].item<double>(), std::hypot(ca.first - cb.first, ca.second - cb.second),
                  1e-9);
    }
  // The lag against the loop reference: frame 1's motion is from truth frame 0, frame 0 has none (no previous
  // frame given).
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(std::isnan(r.centroid_lag[0][i].item<double>()));
    const auto ca = loop_centroid(a[1][i].clamp(0.0, 1.0).mean(0));
    const auto cb = loop_centroid(b[1][i].clamp(0.0, 1.0).mean(0));
    const auto cb0 = loop_centroid(b[0][i].clamp(0.0, 1.0).mean(0));
    const double my = cb.first - cb0.first, mx = cb.second - cb0.second, norm = std::hypot(my, mx);
    const double expected = norm < 0.25 ? NAN : ((ca.first - cb.first) * my + (ca.second - cb.second) * mx) / norm;
    if (std::isnan(expected))
      EXPECT_TRUE(std::isnan(r.centroid_lag[1][i].item<double>()));
    else
      EXPECT_NEAR(r.centroid_lag[1][i].item<double>(), expected, 1e-9);
  }
  const auto black = compare_aligned(torch::zeros({1, 1, 3, 16, 16}), b.slice(0, 0, 1).slice(1, 0, 1));
  EXPECT_TRUE(std::isnan(black.centroid_error.item<double>()));
  EXPECT_NEAR(black.aligned_psnr.item<double>(),
              compare_frames(torch::zeros({1, 1, 3, 16, 16}), b.slice(0, 0, 1).slice(1, 0, 1)).psnr.item<double>(),
              1e-9);
  EXPECT_THROW(compare_aligned(a, b.slice(0, 0, 1)), df::Error);
}

TEST(VideoMetrics, TheLagIsThePositionErrorAlongTheTruthsMotion) {
  // The truth: a 4x4 square moving right 2 pixels a frame (frames 1-3; frame 0 is the previous frame). Sequence
  // 0's prediction is 1 pixel behind and 3 below: lag -1, centroid error sqrt(10). Sequence 1's is 2 ahead.
  auto square_at = [](int64_t row, int64_t col) {
    auto f = torch::zeros({1, 20, 20});
    f.slice(1, row, row + 4).slice(2, col, col + 4).fill_(1.0);
    return f;
  };
  auto truth = torch::zeros({3, 2, 1, 20, 20}), predicted = torch::zeros_like(truth);
  for (int64_t t = 0; t < 3; ++t) {
    const int64_t col = 2 + 2 * (t + 1);
    truth[t][0] = truth[t][1] = square_at(5, col);
    predicted[t][0] = square_at(8, col - 1);
    predicted[t][1] = square_at(5, col + 2);
  }
  const auto previous = torch::stack({square_at(5, 2), square_at(5, 2)});  // [B, C, H, W]
  const auto e = compare_aligned(predicted, truth, previous);
  for (int64_t t = 0; t < 3; ++t) {
    EXPECT_NEAR(e.centroid_lag[t][0].item<double>(), -1.0, 1e-9) << t;
    EXPECT_NEAR(e.centroid_lag[t][1].item<double>(), 2.0, 1e-9) << t;
    EXPECT_NEAR(e.centroid_error[t][0].item<double>(), std::sqrt(10.0), 1e-9) << t;
    EXPECT_NEAR(e.centroid_across[t][0].item<double>(), 3.0, 1e-9) << t;
    EXPECT_NEAR(e.centroid_across[t][1].item<double>(), 0.0, 1e-6) << t;
  }
  // Without the previous frame the first frame has no motion; a truth that stands still has no direction.
  EXPECT_TRUE(std::isnan(compare_aligned(predicted, truth).centroid_lag[0][0].item<double>()));
  EXPECT_NEAR(compare_aligned(predicted, truth).centroid_lag[1][0].item<double>(), -1.0, 1e-9);
  const auto still = truth[0].unsqueeze(0).expand({3, 2, 1, 20, 20}).contiguous();
  EXPECT_TRUE(torch::isnan(compare_aligned(predicted, still, truth[0]).centroid_lag).all().item<bool>());
  EXPECT_THROW(compare_aligned(predicted, truth, previous.slice(0, 0, 1)), df::Error);
}

TEST(VideoMetrics, StatisticsCountBlobsAndMeasureTheImage) {
  const auto names = frame_statistic_names();
  ASSERT_EQ(names.size(), 5u);
  ASSERT_EQ(names[4], "blobs");
  for (int64_t n : {0, 1, 3}) {
    const auto stats = frame_statistics(squares_frames(2, 2, n), 10);  // [T, B, S]
    EXPECT_EQ(stats[0][0][4].item<double>(), static_cast<double>(n)) << n;
    EXPECT_NEAR(stats[1][1][0].item<double>(), n * 36.0 / 1024.0, 1e-12);  // mean grey
    EXPECT_EQ(stats[0][0][2].item<double>(), 0.0);                         // no mid-tones in 0/1 images
  }
  // Specks smaller than the blob size are not counted; a constant image has zero sharpness.
  auto specks = torch::zeros({1, 1, 1, 32, 32});
  specks[0][0][0][5][5] = 1.0;
  specks[0][0][0][20][20] = 1.0;
  EXPECT_EQ(frame_statistics(specks, 2)[0][0][4].item<double>(), 0.0);
  EXPECT_EQ(frame_statistics(torch::full({1, 1, 3, 16, 16}, 0.5), 2)[0][0][3].item<double>(), 0.0);
  EXPECT_EQ(frame_statistics(torch::full({1, 1, 3, 16, 16}, 0.5), 2)[0][0][2].item<double>(), 1.0);  // all mid-tone
  EXPECT_EQ(default_min_blob_pixels(64), 37);
  EXPECT_EQ(default_min_blob_pixels(32), 9);
}

TEST(VideoMetrics, FramesOutsideTheTrainingRangeAreFlagged) {
  // Training frames: 1 or 2 squares. Range of every statistic from them; then noise, blur and a blank frame.
  const auto data = torch::cat({squares_frames(50, 1, 1), squares_frames(50, 1, 2)});
  const auto range = statistic_range(frame_statistics(data, 10), 0.0);
  EXPECT_EQ(range.low[4], 1.0);
  EXPECT_EQ(range.high[4], 2.0);
  EXPECT_FALSE(out_of_range(frame_statistics(squares_frames(4, 3, 2), 10), range).any().item<bool>());
  const auto noise = torch::rand({1, 1, 1, 32, 32});
  const auto blurred = torch::avg_pool2d(squares_frames(1, 1, 2)[0], 5, 1, 2).unsqueeze(0);
  const auto blank = torch::zeros({1, 1, 1, 32, 32});
  for (const auto& frames : {noise, blurred, blank})
    EXPECT_TRUE(out_of_range(frame_statistics(frames, 10), range).all().item<bool>());
  EXPECT_THROW(statistic_range(torch::zeros({0, 1, 5})), df::Error);
}

TEST(RolloutReport, SummaryFollowsTheCsv) {
  const auto dir = test::temp_dir("report");
  {
    std::ofstream csv(dir + "/a_frames.csv");
    csv << "frame,context,mse,psnr,psnr_range2,ssim,mean,contrast,midtone,sharpness,blobs,out_of_range,truth_blobs,"
           "truth_out_of_range\n";
    // 2 context frames, then 6 generated: PSNR 30 within L = 4, 10 after; out of range from frame 6 on.
    for (int f = 0; f < 8; ++f)
      csv << f << "," << (f < 2) << ",0.001," << (f < 4 ? 30 : 10) << ",36,0.9,0.1,0.2,0.01,0.1,2,"
          << (f >= 6 ? 0.75 : 0.0) << ",2,0\n";
  }
  const auto curves = read_rollout_csv(dir + "/a_frames.csv", "A");
  const auto m = summarize_rollout(curves, 4);
  EXPECT_EQ(m.at("frames"), 8);
  EXPECT_EQ(m.at("context_frames"), 2);
  EXPECT_DOUBLE_EQ(m.at("psnr_within_L"), 30.0);                  // frames 2, 3
  EXPECT_DOUBLE_EQ(m.at("psnr_all"), (30.0 * 2 + 10.0 * 4) / 6);  // frames 2..7
  EXPECT_DOUBLE_EQ(m.at("out_of_range_share"), 1.5 / 6);
  EXPECT_EQ(m.at("first_out_of_range_frame"), 5);  // frames 5..7 (window L = 4, cut at the end) average 0.5
  // The first lasting exit: single odd frames do not count, a window averaging half the sequences does.
  EXPECT_EQ(first_frame_out_of_range({0, 1, 0, 0, 0, 0, 1, 1}, 0, 3), 5);
  EXPECT_EQ(first_frame_out_of_range({0, 1, 0, 0, 0, 0, 0, 0}, 0, 3), -1);
  EXPECT_EQ(first_frame_out_of_range({1, 1, 0, 0.5}, 2, 1), 3);
  write_rollout_comparison({curves}, dir + "/cmp", 4);
  std::ifstream summary(dir + "/cmp/summary.csv");
  std::string header, row;
  std::getline(summary, header);
  std::getline(summary, row);
  EXPECT_EQ(row.substr(0, 2), "A,");
  EXPECT_TRUE(std::filesystem::exists(dir + "/cmp/psnr.png"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/cmp/out_of_range.png"));
  std::ofstream(dir + "/bad.csv") << "frame,context\n0,x\n";
  EXPECT_THROW(read_rollout_csv(dir + "/bad.csv", "B"), df::Error);
}
