// The video model and its rollouts: the U-Net's action condition (absent when cond_dim is 0), a short
// rollout's shape and values, the sliding window of the full-sequence baseline, and the streaming writer's
// MP4 (read back with OpenCV), strip and per-frame CSV.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>

#include "df/core/error.h"
#include "df/experiment/experiment_config.h"
#include "df/models/unet_conv_gru.h"
#include "df/plot/plot.h"
#include "df/sampling/sampler.h"
#include "df/video/rollout_report.h"
#include "df/video/rollout_writer.h"
#include "df/video/video_clips.h"
#include "video_test_data.h"

using namespace df::video;

namespace {

df::UnetConvGruOptions tiny_unet(int64_t cond_dim = 0) {
  df::UnetConvGruOptions o;
  o.x_shape = {2, 16, 16};  // frame_stack 2 of grey frames
  o.z_shape = {4, 16, 16};
  o.network_size = 8;
  o.dim_mults = {1, 2};
  o.num_gru_layers = 1;
  o.attn_heads = 2;
  o.attn_dim_head = 8;
  o.cond_dim = cond_dim;
  return o;
}

std::shared_ptr<df::DiffusionForcingModel> tiny_model(int64_t cond_dim = 0) {
  torch::manual_seed(0);
  df::DiffusionOptions d;
  d.schedule.kind = df::ScheduleKind::Sigmoid;
  d.objective = df::Objective::V;
  d.clip_noise = 6.0;
  d.sampling_steps = 3;
  auto model = std::make_shared<df::DiffusionForcingModel>(
      std::make_shared<df::UnetConvGruDenoiser>(tiny_unet(cond_dim)), d, torch::kCPU);
  model->eval();
  return model;
}

}  // namespace

TEST(VideoModel, ActionConditionAddsItsMlpOnlyWhenAsked) {
  const df::UnetConvGruDenoiser plain(tiny_unet(0)), conditioned(tiny_unet(6));
  int64_t plain_count = 0, conditioned_count = 0;
  for (const auto& p : plain.named_parameters()) {
    EXPECT_EQ(p.key().find("external_cond_mlp"), std::string::npos) << p.key();
    plain_count += p.value().numel();
  }
  bool has_mlp = false;
  for (const auto& p : conditioned.named_parameters()) {
    has_mlp = has_mlp || p.key().rfind("model.external_cond_mlp.0.weight", 0) == 0;
    conditioned_count += p.value().numel();
  }
  EXPECT_TRUE(has_mlp);
  // The MLP (6 -> 16 -> 16) and the wider FiLM inputs (32 + 16 instead of 32 per ResBlock mlp) are the difference.
  EXPECT_GT(conditioned_count, plain_count + 6 * 16 + 16 * 16);
  EXPECT_EQ(conditioned.cond_dim(), 6);

  auto model = std::make_shared<df::UnetConvGruDenoiser>(tiny_unet(6));
  const auto z = torch::randn({2, 4, 16, 16}), x = torch::randn({2, 2, 16, 16});
  const auto levels = torch::full({2}, 500, torch::kLong);
  auto a = torch::zeros({2, 6}), b = torch::zeros({2, 6});
  a.select(1, 0).fill_(1);
  b.select(1, 4).fill_(1);
  torch::NoGradGuard no_grad;
  EXPECT_GT((model->step(z, x, levels, a).out - model->step(z, x, levels, b).out).abs().max().item<float>(), 1e-6f);
  EXPECT_THROW(model->step(z, x, levels, torch::zeros({2, 5})), df::Error);
  EXPECT_THROW(model->step(z, x, levels, {}), df::Error);
  EXPECT_THROW(df::UnetConvGruDenoiser(tiny_unet(0)).step(z, x, levels, a), df::Error);
}

// model.head_channels widens only the x_from_z readout (ResBlock z -> head, 1x1 head -> x); 0 keeps the
// authors' head (head = x channels), so their state dicts and the parity fixtures still load. The wider head
// exists because the authors' one, at x_ch = 4 grey frames, lost a whole frame of the stack to a dead ReLU.
TEST(VideoModel, HeadChannelsWidenOnlyTheReadout) {
  auto shapes = [](const df::UnetConvGruDenoiser& d) {
    std::map<std::string, std::vector<int64_t>> out;
    for (const auto& p : d.named_parameters()) out[p.key()] = p.value().sizes().vec();
    return out;
  };
  auto wide_options = tiny_unet();
  wide_options.head_channels = 8;
  const auto authors = shapes(df::UnetConvGruDenoiser(tiny_unet())),
             wide = shapes(df::UnetConvGruDenoiser(wide_options));
  EXPECT_EQ(authors.at("x_from_z.0.conv1.weight"), (std::vector<int64_t>{2, 4, 3, 3}));
  EXPECT_EQ(authors.at("x_from_z.0.conv2.weight"), (std::vector<int64_t>{2, 2, 3, 3}));
  EXPECT_EQ(authors.at("x_from_z.1.weight"), (std::vector<int64_t>{2, 2, 1, 1}));
  EXPECT_EQ(wide.at("x_from_z.0.conv1.weight"), (std::vector<int64_t>{8, 4, 3, 3}));
  EXPECT_EQ(wide.at("x_from_z.0.shortcut.0.weight"), (std::vector<int64_t>{8, 4, 1, 1}));
  EXPECT_EQ(wide.at("x_from_z.1.weight"), (std::vector<int64_t>{2, 8, 1, 1}));
  ASSERT_EQ(authors.size(), wide.size());
  for (const auto& [name, shape] : authors) {
    if (name.rfind("x_from_z.", 0) != 0) {  // braces: EXPECT_EQ expands to an if-else
      EXPECT_EQ(wide.at(name), shape) << name;
    }
  }

  // Through the config: the key reaches the model, a negative width is an error naming the key.
  auto config = df::make_experiment_config();
  config.merge_text("model: {kind: unet_conv_gru, z_channels: 4, network_size: 8, dim_mults: [1, 2], head_channels: 8}",
                    "test");
  config.validate();
  const auto denoiser = df::make_denoiser(config, {{2, 16, 16}});
  bool found = false;
  for (const auto& p : denoiser->named_parameters()) {
    if (p.key() == "x_from_z.1.weight") found = p.value().size(1) == 8;
  }
  EXPECT_TRUE(found);
  auto bad = df::make_experiment_config();
  bad.merge_text("model: {head_channels: -1}", "test");
  try {
    bad.validate();
    FAIL() << "a negative model.head_channels was accepted";
  } catch (const df::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.head_channels"), std::string::npos) << e.what();
  }
}

TEST(VideoRollout, ShortRolloutHasTheRightShapeAndFiniteValues) {
  auto model = tiny_model();
  df::Sampler sampler(*model, {});
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto context = torch::rand({1, 2, 2, 16, 16}) * 2 - 1;
  df::ChunkPlan plan;
  plan.matrix = df::ScheduleMatrixKind::Autoregressive;
  plan.chunk_size = 2;
  std::vector<int64_t> chunk_sizes;
  df::rollout_after_context(sampler, plan, context, 2, 5, {}, gen,
                            [&](const torch::Tensor& chunk) { chunk_sizes.push_back(chunk.size(0)); });
  EXPECT_EQ(chunk_sizes, (std::vector<int64_t>{2, 2, 1}));
  gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto x = df::rollout_after_context(sampler, plan, context, 2, 5, {}, gen);
  ASSERT_EQ(x.sizes(), torch::IntArrayRef({5, 2, 2, 16, 16}));
  EXPECT_TRUE(torch::isfinite(x).all().item<bool>());
  EXPECT_LT(x.abs().max().item<float>(), 100.0f);
}

TEST(VideoRollout, SlidingWindowForgetsWhatLeftTheWindow) {
  auto model = tiny_model();
  df::Sampler sampler(*model, {});
  const auto context = torch::rand({2, 1, 2, 16, 16}) * 2 - 1;
  auto changed_first = context.clone(), changed_last = context.clone();
  changed_first[0].neg_();
  changed_last[1].neg_();
  auto run = [&](const torch::Tensor& ctx, int64_t window, int64_t chunk = 1) {
    df::ChunkPlan plan;
    plan.matrix = df::ScheduleMatrixKind::FullSequence;
    plan.chunk_size = chunk;
    plan.window = window;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
    return df::rollout_after_context(sampler, plan, ctx, 1, 3, {}, gen);
  };
  // Window 2, chunk 1: every chunk sees only the one token before it, so context token 0 is never read.
  EXPECT_TRUE(torch::equal(run(context, 2), run(changed_first, 2)));
  EXPECT_FALSE(torch::equal(run(context, 2), run(changed_last, 2)));
  // Without a window the latent carries all of the context.
  EXPECT_FALSE(torch::equal(run(context, 0), run(changed_first, 0)));
  // A window holding the context and the one chunk of new tokens is no window at all.
  EXPECT_TRUE(torch::equal(run(context, 5, 3), run(context, 0, 3)));
}

TEST(VideoRolloutWriter, StreamsAnMp4StripAndPerFrameMetrics) {
  if (!df::plot::plotting_available()) GTEST_SKIP() << "built without OpenCV";
  const auto dir = test::temp_dir("writer");
  // Truth: 3 sequences of 40 grey 16x16 frames; samples = truth + 0.1 (PSNR 20 dB), frame_stack 2.
  const auto truth = torch::rand({40, 3, 1, 16, 16}) * 0.8;
  const auto tokens = frames_to_tokens(truth + 0.1, 2);  // [20, 3, 2, 16, 16]
  const auto truth_tokens = frames_to_tokens(truth, 2);
  RolloutWriterOptions o;
  o.dir = dir;
  o.label = "run";
  o.frame_stack = 2;
  o.channels = 1;
  o.training_frames = 8;
  o.strip_columns = 5;
  o.strip_rows = 2;
  o.mp4_rows = 2;
  o.min_tile_pixels = 32;
  o.min_mp4_tile_pixels = 32;
  const auto range = statistic_range(frame_statistics(truth, 2), 0.0);
  VideoRolloutWriter writer(o, range, [&](int64_t first, int64_t n) -> torch::Tensor {
    if (first + n > 40) return {};
    return truth.slice(0, first, first + n);
  });
  writer.write_context(truth_tokens.slice(0, 0, 1));  // the context is the truth's first token
  for (int64_t t = 1; t < 20; t += 3) writer.write(tokens.slice(0, t, std::min<int64_t>(t + 3, 20)));
  const auto m = writer.finish();
  EXPECT_EQ(m.at("frames"), 40);
  EXPECT_EQ(m.at("context_frames"), 2);
  EXPECT_NEAR(m.at("psnr_within_L"), 20.0, 1e-4);
  EXPECT_NEAR(m.at("psnr_all"), 20.0, 1e-4);

  cv::VideoCapture mp4(dir + "/run.mp4");
  ASSERT_TRUE(mp4.isOpened());
  int count = 0;
  cv::Mat frame;
  while (mp4.read(frame)) {
    // 2 sequences side by side, truth below: 2 tiles of 32 + 3 gaps of 2 wide, 16 header + 2 rows + 3 gaps high.
    EXPECT_EQ(frame.cols, 2 * 32 + 3 * 2);
    EXPECT_EQ(frame.rows, 16 + 2 * 32 + 3 * 2);
    ++count;
  }
  EXPECT_EQ(count, 40);
  const auto strip = cv::imread(dir + "/run_strip.png");
  ASSERT_FALSE(strip.empty());
  // Labels, 2 context columns, generated frames 0, 16, 32 (the smallest power-of-two stride giving at most
  // strip_columns - 1 of the 38) and the last one; rows: sample 1, truth 1, sample 2, truth 2.
  EXPECT_EQ(strip.cols, 56 + (2 + 4) * (32 + 3) + 3);
  EXPECT_EQ(strip.rows, 18 + 4 * (32 + 3) + 3);

  const auto curves = read_rollout_csv(dir + "/run_frames.csv", "run");
  ASSERT_EQ(curves.frames(), 40u);
  EXPECT_NEAR(curves.column("psnr")[10], 20.0, 1e-4);
  EXPECT_NEAR(curves.column("psnr_range2")[10], 20.0 + 20.0 * std::log10(2.0), 1e-4);
  EXPECT_EQ(curves.column("context")[1], 1.0);
  EXPECT_EQ(curves.column("context")[2], 0.0);
  EXPECT_NEAR(curves.column("ssim")[0], 1.0, 1e-9);  // the context is the truth itself
  EXPECT_NEAR(curves.column("centroid_error")[0], 0.0, 1e-6);  // float32 frames
  // A brightness offset moves the centroid of random frames by less than half a pixel: nothing to align.
  EXPECT_LT(curves.column("centroid_error")[10], 0.5);
  EXPECT_NEAR(curves.column("psnr_aligned")[10], curves.column("psnr")[10], 1e-4);
  EXPECT_TRUE(std::filesystem::exists(dir + "/run_psnr.png"));
}

TEST(VideoRolloutWriter, TheLagColumnFollowsTheTruthAcrossWrites) {
  // Truth: a 3x3 square moving right 1 pixel a frame; the samples draw it 1 pixel behind. Written as a context
  // token and then tokens of two frames, one call each: the first generated frame's motion comes from the last
  // context frame, so every generated frame lags by exactly 1 pixel.
  const auto dir = test::temp_dir("writer_lag");
  auto truth = torch::zeros({12, 2, 1, 16, 16}), behind = torch::zeros_like(truth);
  for (int64_t t = 0; t < 12; ++t) {
    truth.select(0, t).slice(2, 6, 9).slice(3, 1 + t, 4 + t).fill_(1.0);
    behind.select(0, t).slice(2, 6, 9).slice(3, t, 3 + t).fill_(1.0);
  }
  RolloutWriterOptions o;
  o.dir = dir;
  o.label = "lag";
  o.frame_stack = 2;
  o.channels = 1;
  o.training_frames = 12;
  VideoRolloutWriter writer(o, statistic_range(frame_statistics(truth, 2), 0.0),
                            [&](int64_t first, int64_t n) -> torch::Tensor {
                              if (first + n > 12) return {};
                              return truth.slice(0, first, first + n);
                            });
  writer.write_context(frames_to_tokens(truth, 2).slice(0, 0, 1));
  const auto tokens = frames_to_tokens(behind, 2);
  for (int64_t t = 1; t < 6; ++t) writer.write(tokens.slice(0, t, t + 1));
  writer.finish();
  const auto curves = read_rollout_csv(dir + "/lag_frames.csv", "lag");
  ASSERT_EQ(curves.frames(), 12u);
  const auto lag = curves.column("centroid_lag");
  EXPECT_TRUE(std::isnan(lag[0]));  // no frame before the clip
  EXPECT_NEAR(lag[1], 0.0, 1e-5);   // the context is the truth
  for (size_t f = 2; f < 12; ++f) {
    EXPECT_NEAR(lag[f], -1.0, 1e-5) << f;
    EXPECT_NEAR(curves.column("centroid_along")[f], 1.0, 1e-5) << f;
    EXPECT_NEAR(curves.column("centroid_across")[f], 0.0, 1e-2) << f;  // sqrt of a float32 rounding
  }
  EXPECT_NEAR(curves.column("centroid_error")[5], 1.0, 1e-5);
}
