// The trivial predictors and the prediction gate against hand-computed values: constant frames, where PSNR
// is -20 log10 |a - b| and SSIM (2ab + c1) / (a^2 + b^2 + c1); squares on black, where the MSE is the share
// of differing pixels; a direct double-precision SSIM of one 11x11 window; the mean training frame of clips
// whose mean is known; the gate's verdict at its boundaries; and the per-frame CSV of the rollout writer and
// the comparison report read back.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "df/core/error.h"
#include "df/video/prediction_gate.h"
#include "df/video/rollout_report.h"
#include "df/video/rollout_writer.h"
#include "df/video/trivial_predictors.h"
#include "video_test_data.h"

using namespace df::video;

namespace {

constexpr double c1 = 1e-4, c2 = 9e-4;  // (0.01)^2, (0.03)^2: SSIM's constants at data range 1

double ssim_constant(double a, double b) { return (2 * a * b + c1) / (a * a + b * b + c1); }

// A clip source whose clip t-th frame is pattern * (t + 1) / n_frames wherever the clip starts: the mean of
// the frames of any clips of n frames is pattern * (n + 1) / (2n).
class RampClips : public ClipSource {
 public:
  explicit RampClips(torch::Tensor pattern) : pattern_(std::move(pattern)) {}
  VideoClip random_clip(int64_t n_frames, torch::Generator& generator) const override {
    torch::randint(1000, {1}, generator);  // draws like a real source
    return clip(0, 0, n_frames);
  }
  VideoClip clip(int64_t, int64_t, int64_t n_frames) const override {
    const auto t = (torch::arange(n_frames, torch::kFloat32) + 1) / static_cast<double>(n_frames);
    return {t.view({-1, 1, 1, 1}) * pattern_.unsqueeze(0), {}};
  }
  int64_t clip_length(int64_t) const override { return -1; }
  int64_t num_clips() const override { return -1; }
  int64_t channels() const override { return pattern_.size(0); }
  int64_t resolution() const override { return pattern_.size(1); }
  std::string describe() const override { return "ramps"; }

 private:
  torch::Tensor pattern_;  // [C, H, W]
};

}  // namespace

TEST(TrivialPredictors, ConstantFramesScoreTheirClosedForms) {
  // 3 generated frames x 2 sequences of constant 11x11 frames (one SSIM window); the last context frames
  // 0.6 and 0.9, the mean training frame 0.25.
  const double truth_values[3][2] = {{0.2, 0.5}, {0.4, 0.1}, {0.7, 0.3}};
  const double last[2] = {0.6, 0.9}, mean = 0.25;
  auto truth = torch::empty({3, 2, 1, 11, 11}, torch::kFloat64);
  for (int t = 0; t < 3; ++t)
    for (int b = 0; b < 2; ++b) truth[t][b].fill_(truth_values[t][b]);
  auto last_context = torch::empty({2, 1, 11, 11}, torch::kFloat64);
  for (int b = 0; b < 2; ++b) last_context[b].fill_(last[b]);
  const auto mean_frame = torch::full({1, 11, 11}, mean, torch::kFloat64);

  const auto black = score_trivial_predictor(TrivialPredictor::Black, truth, last_context, mean_frame);
  const auto repeat = score_trivial_predictor(TrivialPredictor::LastFrame, truth, last_context, mean_frame);
  const auto average = score_trivial_predictor(TrivialPredictor::MeanFrame, truth, last_context, mean_frame);
  for (int t = 0; t < 3; ++t)
    for (int b = 0; b < 2; ++b) {
      const double v = truth_values[t][b];
      EXPECT_NEAR(black.mse[t][b].item<double>(), v * v, 1e-12);
      EXPECT_NEAR(black.psnr[t][b].item<double>(), -20.0 * std::log10(v), 1e-9);
      EXPECT_NEAR(black.ssim[t][b].item<double>(), c1 / (v * v + c1), 1e-9);
      EXPECT_NEAR(repeat.psnr[t][b].item<double>(), -20.0 * std::log10(std::abs(last[b] - v)), 1e-9);
      EXPECT_NEAR(repeat.ssim[t][b].item<double>(), ssim_constant(last[b], v), 1e-9);
      EXPECT_NEAR(average.psnr[t][b].item<double>(), -20.0 * std::log10(std::abs(mean - v)), 1e-9);
      EXPECT_NEAR(average.ssim[t][b].item<double>(), ssim_constant(mean, v), 1e-9);
    }
  // Worked by hand: the black frame against 0.5 is 6.0206 dB, the last frame 0.6 against 0.2 is 7.9588 dB.
  EXPECT_NEAR(black.psnr[0][1].item<double>(), 6.0206, 1e-4);
  EXPECT_NEAR(repeat.psnr[0][0].item<double>(), 7.9588, 1e-4);
}

TEST(TrivialPredictors, SquaresOnBlackScoreTheShareOfDifferingPixels) {
  // A 6x6 white square on a 12x12 black frame moves 6 pixels right per frame: 36 of 144 pixels are white,
  // so the black frame's MSE is 1/4 (6.02 dB) and the last frame's, which misses the square and draws it
  // where it was, 2 x 36 / 144 = 1/2 (3.01 dB).
  auto frames = torch::zeros({3, 1, 1, 12, 12}, torch::kFloat64);
  frames[0][0][0].slice(0, 3, 9).slice(1, 0, 6).fill_(1.0);
  frames[1][0][0].slice(0, 3, 9).slice(1, 6, 12).fill_(1.0);
  frames[2][0][0].slice(0, 3, 9).slice(1, 0, 6).fill_(1.0);  // bounced back
  const auto last_context = frames[0];                         // [1, 1, 12, 12]
  const auto truth = frames.slice(0, 1);
  const auto mean_frame = torch::full({1, 12, 12}, 0.25, torch::kFloat64);
  const auto black = score_trivial_predictor(TrivialPredictor::Black, truth, last_context, mean_frame);
  const auto repeat = score_trivial_predictor(TrivialPredictor::LastFrame, truth, last_context, mean_frame);
  const auto average = score_trivial_predictor(TrivialPredictor::MeanFrame, truth, last_context, mean_frame);
  EXPECT_NEAR(black.psnr[0][0].item<double>(), 10 * std::log10(4.0), 1e-9);
  EXPECT_NEAR(repeat.psnr[0][0].item<double>(), 10 * std::log10(2.0), 1e-9);
  EXPECT_TRUE(std::isinf(repeat.psnr[1][0].item<double>()));  // back where the context left it: exact
  EXPECT_NEAR(repeat.ssim[1][0].item<double>(), 1.0, 1e-12);
  // Mean frame 0.25 everywhere: 36 pixels off by 0.75, 108 by 0.25: MSE (36 * 0.5625 + 108 * 0.0625) / 144.
  EXPECT_NEAR(average.mse[0][0].item<double>(), (36 * 0.5625 + 108 * 0.0625) / 144, 1e-12);

  // SSIM of the black frame against frame 1, directly: on 12x12 there are 2 x 2 valid 11x11 windows; in each,
  // with Gaussian weights w (sigma 1.5), mu = sum w y, s2 = sum w y^2 - mu^2 and SSIM = c1 c2 / ((mu^2 + c1)
  // (s2 + c2)) since the black frame has mean and variance 0.
  double g[11], total = 0;
  for (int i = 0; i < 11; ++i) total += g[i] = std::exp(-(i - 5) * (i - 5) / (2 * 1.5 * 1.5));
  const auto y = truth[0][0][0];
  double expected = 0;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 2; ++c) {
      double mu = 0, second = 0;
      for (int i = 0; i < 11; ++i)
        for (int j = 0; j < 11; ++j) {
          const double w = g[i] * g[j] / (total * total), v = y[r + i][c + j].item<double>();
          mu += w * v;
          second += w * v * v;
        }
      expected += c1 * c2 / ((mu * mu + c1) * (second - mu * mu + c2)) / 4;
    }
  EXPECT_NEAR(black.ssim[0][0].item<double>(), expected, 1e-9);
  EXPECT_THROW(score_trivial_predictor(TrivialPredictor::LastFrame, truth, frames[0][0], mean_frame), df::Error);
}

TEST(TrivialPredictors, MeanTrainingFrameAveragesTheClipsFrames) {
  auto pattern = torch::arange(2 * 4 * 4, torch::kFloat32).view({2, 4, 4}) / 32.0;
  RampClips source(pattern);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const auto mean = mean_training_frame(source, 5, 8, gen);
  EXPECT_EQ(mean.frames, 40);
  ASSERT_EQ(mean.frame.sizes(), torch::IntArrayRef({2, 4, 4}));
  EXPECT_TRUE(torch::allclose(mean.frame, pattern * (9.0 / 16.0), 1e-6, 1e-7));
  EXPECT_THROW(mean_training_frame(source, 0, 8, gen), df::Error);
}

TEST(PredictionGate, VerdictAtItsBoundaries) {
  GateScores s;
  s.psnr_first_token = 20.0;
  s.ssim_first_token = 0.8;
  s.last_frame_psnr_first_token = 18.0;
  s.last_frame_ssim_first_token = 0.7;
  s.psnr_within_L = 21.0;
  s.trivial_psnr_within_L = {{"all-black frame", 14.5}, {"last context frame repeated", 12.3},
                             {"mean training frame", 18.0}};
  auto v = judge_prediction_gate(s);
  EXPECT_TRUE(v.known);
  EXPECT_TRUE(v.passes()) << v.explain();  // exactly 3 dB above the mean frame: passes
  EXPECT_EQ(v.best_trivial, "mean training frame");
  EXPECT_DOUBLE_EQ(v.best_trivial_psnr_within_L, 18.0);
  EXPECT_DOUBLE_EQ(v.margin_db, 3.0);
  EXPECT_EQ(v.explain(), "passes");

  s.psnr_within_L = 20.99;
  v = judge_prediction_gate(s);
  EXPECT_FALSE(v.passes());
  EXPECT_EQ(v.explain(), "fails: within L +2.99 dB over the mean training frame, needs +3 dB");
  s.psnr_within_L = 30.0;
  s.ssim_first_token = 0.7;  // a tie with the last frame is no win
  v = judge_prediction_gate(s);
  EXPECT_FALSE(v.passes());
  EXPECT_TRUE(v.beats_last_frame_psnr);
  EXPECT_EQ(v.explain(), "fails: first token SSIM not above the last frame's");
  s.psnr_first_token = 17.0;
  s.psnr_within_L = 14.0;  // below the mean frame
  v = judge_prediction_gate(s);
  EXPECT_EQ(v.explain(), "fails: first token PSNR not above the last frame's; first token SSIM not above the last "
                         "frame's; within L -4.00 dB over the mean training frame, needs +3 dB");
  s.trivial_psnr_within_L["mean training frame"] = NAN;  // no ground truth
  v = judge_prediction_gate(s);
  EXPECT_FALSE(v.known);
  EXPECT_FALSE(v.passes());
  EXPECT_EQ(v.explain().rfind("unknown", 0), 0u);
}

TEST(PredictionGate, ReportReadsTheGateFromTheCsv) {
  const auto dir = test::temp_dir("gate_report");
  auto write = [&](const std::string& name, double model_offset) {
    std::ofstream csv(dir + "/" + name + "_frames.csv");
    csv << "frame,context,mse,psnr,psnr_range2,ssim,mean,contrast,midtone,sharpness,blobs,out_of_range,truth_blobs,"
           "truth_out_of_range,token,mse_black,psnr_black,ssim_black,mse_last_frame,psnr_last_frame,ssim_last_frame,"
           "mse_mean_frame,psnr_mean_frame,ssim_mean_frame\n";
    // Frame stack 2: context frames 0, 1 (token 0); the first generated token is frames 2, 3; L = 6.
    // Model PSNR 20 + offset on frames 2, 3 and 16 + offset after; SSIM 0.6. Last frame: 19 dB, SSIM 0.5 on the
    // first token, 10 dB after; black 14, mean frame 15 (the best trivial one within L).
    for (int f = 0; f < 8; ++f) {
      const bool context = f < 2, first = f == 2 || f == 3;
      const double psnr = (first ? 20.0 : 16.0) + model_offset;
      csv << f << "," << context << ",0.01," << (context ? 99.0 : psnr) << ",0,0.6,0.1,0.2,0.01,0.1,1,0,1,0," << f / 2;
      if (context)
        csv << ",nan,nan,nan,nan,nan,nan,nan,nan,nan\n";
      else
        csv << ",0.04,14,0.1,0.05," << (first ? 19 : 10) << "," << (first ? 0.5 : 0.2) << ",0.03,15,0.3\n";
    }
  };
  write("good", 2.0);  // within L (frames 2..5): (22 + 22 + 18 + 18) / 4 = 20 = 15 + 5 dB
  write("weak", 0.0);  // 18 dB: 3 dB over the mean frame exactly, passes too
  write("poor", -1.5);  // first token 18.5 < 19: fails twice
  const auto good = read_rollout_csv(dir + "/good_frames.csv", "good");
  const auto m = summarize_rollout(good, 6);
  EXPECT_DOUBLE_EQ(m.at("psnr_first_token"), 22.0);
  EXPECT_DOUBLE_EQ(m.at("last_frame_psnr_first_token"), 19.0);
  EXPECT_DOUBLE_EQ(m.at("last_frame_ssim_first_token"), 0.5);
  EXPECT_DOUBLE_EQ(m.at("psnr_within_L"), 20.0);
  EXPECT_DOUBLE_EQ(m.at("last_frame_psnr_within_L"), 14.5);  // (19 + 19 + 10 + 10) / 4
  EXPECT_DOUBLE_EQ(m.at("mean_frame_psnr_within_L"), 15.0);
  EXPECT_DOUBLE_EQ(m.at("black_psnr_within_L"), 14.0);
  EXPECT_DOUBLE_EQ(m.at("best_trivial_psnr_within_L"), 15.0);
  EXPECT_DOUBLE_EQ(m.at("gate_margin_db"), 5.0);
  EXPECT_EQ(m.at("gate_passes"), 1.0);
  EXPECT_EQ(summarize_rollout(read_rollout_csv(dir + "/weak_frames.csv", "weak"), 6).at("gate_passes"), 1.0);
  const auto poor = rollout_gate(read_rollout_csv(dir + "/poor_frames.csv", "poor"), 6);
  EXPECT_FALSE(poor.passes());
  EXPECT_EQ(poor.explain(), "fails: first token PSNR not above the last frame's; within L +1.50 dB over the "
                            "mean training frame, needs +3 dB");

  write_rollout_comparison({good, read_rollout_csv(dir + "/poor_frames.csv", "poor")}, dir + "/cmp", 6);
  std::ifstream summary(dir + "/cmp/summary.md"), gate(dir + "/cmp/gate.md");
  const std::string summary_text((std::istreambuf_iterator<char>(summary)), {});
  const std::string gate_text((std::istreambuf_iterator<char>(gate)), {});
  // Both runs continued the same clips: the trivial predictors appear once, after the models.
  EXPECT_NE(summary_text.find("| trivial: mean training frame | 8 | 15 | 0.3 | 0.03 | 15 | - | - | - |"),
            std::string::npos)
      << summary_text;
  EXPECT_EQ(summary_text.find("clips of"), std::string::npos) << summary_text;
  EXPECT_NE(gate_text.find("| good | 22 | 19 | 0.6 | 0.5 | 20 | 15 (mean training frame) | +5 | **passes** |"), std::string::npos) << gate_text;
  EXPECT_NE(gate_text.find("| poor | 18.5 | 19 |"), std::string::npos) << gate_text;
}

TEST(PredictionGate, RolloutWriterScoresTheTrivialPredictorsOnItsClips) {
  const auto dir = test::temp_dir("gate_writer");
  // Truth: 2 sequences of 12 grey 16x16 frames; samples = truth + 0.1; frame stack 2, context 1 token.
  torch::manual_seed(5);
  const auto truth = torch::rand({12, 2, 1, 16, 16}) * 0.8;
  RolloutWriterOptions o;
  o.dir = dir;
  o.label = "run";
  o.frame_stack = 2;
  o.channels = 1;
  o.training_frames = 8;
  o.mean_frame = torch::full({1, 16, 16}, 0.4);
  o.mean_frame_count = 123;
  const auto range = statistic_range(frame_statistics(truth, 2), 0.0);
  VideoRolloutWriter writer(o, range, [&](int64_t first, int64_t n) { return truth.slice(0, first, first + n); });
  writer.write_context(frames_to_tokens(truth.slice(0, 0, 2), 2));
  writer.write(frames_to_tokens(truth.slice(0, 2) + 0.1, 2));
  const auto m = writer.finish();
  EXPECT_EQ(m.at("mean_frame_training_frames"), 123);
  const auto curves = read_rollout_csv(dir + "/run_frames.csv", "run");
  EXPECT_TRUE(std::isnan(curves.column("psnr_black")[1]));  // context frames: nothing predicted
  EXPECT_EQ(curves.column("token")[5], 2.0);
  for (int f = 2; f < 12; ++f) {
    // Batch means of the per-sequence values, directly.
    const auto y = truth[f].to(torch::kFloat64);
    const auto black = (-10 * torch::log10(y.pow(2).mean({1, 2, 3}))).mean().item<double>();
    const auto last = (-10 * torch::log10((truth[1].to(torch::kFloat64) - y).pow(2).mean({1, 2, 3}))).mean().item<double>();
    const auto mean = (-10 * torch::log10((y - 0.4).pow(2).mean({1, 2, 3}))).mean().item<double>();
    EXPECT_NEAR(curves.column("psnr_black")[f], black, 1e-4) << f;
    EXPECT_NEAR(curves.column("psnr_last_frame")[f], last, 1e-4) << f;
    EXPECT_NEAR(curves.column("psnr_mean_frame")[f], mean, 1e-4) << f;
  }
  // Truth + 0.1 is 20 dB; uniform frames in [0, 0.8] score ~12.7 dB against their mean 0.4 and ~9.7 dB
  // against another such frame: the samples pass the gate, and the writer says so.
  EXPECT_NEAR(m.at("psnr_first_token"), 20.0, 1e-3);
  EXPECT_EQ(m.at("gate_passes"), 1.0);
  EXPECT_NEAR(m.at("mean_frame_psnr_within_L"), 12.7, 0.5);
}
