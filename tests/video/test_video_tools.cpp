// The tools end to end on the tiny video config and digits the test writes: df_train (Diffusion Forcing and
// the two baselines), df_sample rolling out past the training length into MP4 / PNG strip / per-frame CSV,
// df_video_metrics comparing the runs, and clear errors for bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <opencv2/videoio.hpp>

#include "df/plot/plot.h"
#include "df/video/rollout_report.h"
#include "../apps/tool_process.h"
#include "video_test_data.h"

using namespace df::video;
namespace fs = std::filesystem;

namespace {

using df::test_tools::run;



std::string tool(const std::string& dir, const std::string& name) {
  return std::string(DF_BINARY_DIR) + "/apps/" + dir + "/" + name;
}
std::string tiny_config() { return std::string(DF_SOURCE_DIR) + "/configs/tiny_video.yaml"; }

int mp4_frames(const std::string& path) {
  cv::VideoCapture capture(path);
  if (!capture.isOpened()) return -1;
  int n = 0;
  cv::Mat frame;
  while (capture.read(frame)) ++n;
  return n;
}

}  // namespace

TEST(VideoTools, TrainSampleAndCompareEndToEnd) {
  const auto dir = test::temp_dir("tools");
  write_mnist_digits(dir + "/digits", test::synthetic_digits(3));
  const std::string data = " --set video.root=" + dir + "/digits";
  struct Model {
    std::string name, sets;
  };
  // Diffusion Forcing, next-frame diffusion with teacher forcing, causal full-sequence diffusion.
  const std::vector<Model> models = {
      {"df", ""},
      {"tf", " --set diffusion.training_noise=teacher_forcing"},
      {"fs", " --set diffusion.training_noise=full_sequence --set diffusion.first_token_clean_prob=1"}};
  for (const auto& m : models) {
    const auto r = run(tool("tools", "df_train") + " --config " + tiny_config() + data + m.sets + " --run-dir " + dir +
                       "/" + m.name);
    ASSERT_EQ(r.status, 0) << r.output;
    std::ifstream validation(dir + "/" + m.name + "/validation.csv");
    std::string header;
    std::getline(validation, header);
    EXPECT_NE(header.find("psnr"), std::string::npos) << header;
  }
  // 20 tokens = 40 frames = 5 x the training length of 8 frames, from 1 context token.
  const std::string sample = tool("tools", "df_sample") + " --batch 2 --tokens 20";
  auto r = run(sample + " --checkpoint " + dir + "/df/checkpoint.pt --out " + dir + "/out --label df");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("rollout: 38/38 frames"), std::string::npos) << r.output;  // progress in frames
  r = run(sample + " --checkpoint " + dir + "/tf/checkpoint.pt --out " + dir + "/out --label tf");
  ASSERT_EQ(r.status, 0) << r.output;
  // The full-sequence baseline past its training length: a sliding window of 4 tokens, 3 new per window.
  r = run(sample + " --checkpoint " + dir + "/fs/checkpoint.pt --out " + dir +
          "/out --label fs --matrix full_sequence --chunk-size 3 --window 4");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("sliding window 4"), std::string::npos) << r.output;

  for (const auto* label : {"df", "tf", "fs"}) {
    const std::string prefix = dir + "/out/" + std::string(label);
    EXPECT_EQ(mp4_frames(prefix + ".mp4"), 40) << label;
    EXPECT_TRUE(fs::exists(prefix + "_strip.png")) << label;
    const auto curves = read_rollout_csv(prefix + "_frames.csv", label);
    ASSERT_EQ(curves.frames(), 40u) << label;
    // The context came from the test clips, so the generator's truth scores every frame; values are finite.
    for (const auto* column : {"mse", "ssim", "mean", "sharpness", "out_of_range"})
      for (double v : curves.column(column)) ASSERT_TRUE(std::isfinite(v)) << label << " " << column;
    EXPECT_LT(curves.column("mse")[0], 1e-12) << label;  // frame 0 is context: the truth itself
    std::ifstream metrics(prefix + "_metrics.csv");
    std::string all((std::istreambuf_iterator<char>(metrics)), std::istreambuf_iterator<char>());
    EXPECT_NE(all.find("psnr_within_L,"), std::string::npos) << all;
    EXPECT_NE(all.find("first_out_of_range_frame,"), std::string::npos) << all;
    // The trivial predictors scored on the same clips, the mean frame from 4 training clips of 8 frames.
    EXPECT_NE(all.find("mean_frame_training_frames,32"), std::string::npos) << all;
    EXPECT_NE(all.find("last_frame_psnr_within_L,"), std::string::npos) << all;
    EXPECT_NE(all.find("gate_passes,"), std::string::npos) << all;
  }
  // The user's own footage as the context: the first 2 frames of a video file (no ground truth then).
  auto footage = torch::zeros({6, 48, 48, 3}, torch::kUInt8);
  for (int64_t t = 0; t < 6; ++t) footage[t].slice(0, 10, 30).slice(1, 4 * t, 4 * t + 16).fill_(255);
  df::plot::write_video(dir + "/mine.mp4", footage, 10);
  r = run(sample + " --checkpoint " + dir + "/df/checkpoint.pt --out " + dir + "/out --label mine --context " + dir +
          "/mine.mp4");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("not the test clips' beginning"), std::string::npos) << r.output;
  const auto mine = read_rollout_csv(dir + "/out/mine_frames.csv", "mine");
  ASSERT_EQ(mine.frames(), 40u);
  EXPECT_TRUE(std::isnan(mine.column("psnr")[5]));
  EXPECT_GT(mine.column("mean")[0], 0.05);  // the footage's bright bar is in the first frame
  r = run(tool("video", "df_video_metrics") + " --training-frames 8 --out " + dir + "/cmp --run DF=" + dir +
          "/out/df_frames.csv --run TF=" + dir + "/out/tf_frames.csv --run FS=" + dir + "/out/fs_frames.csv");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("| FS |"), std::string::npos) << r.output;
  // The three runs continued the same test clips: the trivial predictors once, and a gate verdict per run.
  EXPECT_NE(r.output.find("| trivial: last context frame repeated | 40 |"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("clips of"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("best trivial predictor within L"), std::string::npos) << r.output;
  for (const auto* f : {"psnr.png", "ssim.png", "out_of_range.png", "blobs.png", "summary.csv", "summary.md", "gate.md"})
    EXPECT_TRUE(fs::exists(dir + "/cmp/" + f)) << f;
}

TEST(VideoTools, BadInputIsAClearError) {
  const auto dir = test::temp_dir("tools_bad");
  auto r = run(tool("tools", "df_train") + " --config " + tiny_config() + " --set video.root=" + dir +
               "/nowhere --run-dir " + dir + "/run");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("nowhere: no MNIST digits"), std::string::npos) << r.output;
  r = run(tool("tools", "df_train") + " --config " + tiny_config() + " --set video.context_frames=3 --print-config");
  EXPECT_EQ(r.status, 0) << r.output;  // the schema accepts it; the data set refuses it:
  r = run(tool("tools", "df_train") + " --config " + tiny_config() + " --set video.context_frames=3 --run-dir " + dir +
          "/run2");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("video.context_frames: 3 must be a multiple of diffusion.frame_stack 2"), std::string::npos)
      << r.output;
  r = run(tool("tools", "df_train") + " --config " + tiny_config() +
          " --set video.dataset=dmlab --set video.root=" + dir + " --run-dir " + dir + "/run3");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("/train: no such folder"), std::string::npos) << r.output;
}
