// The pipeline check before any long video run (issue: video models that predict): the recipes of
// configs/video_mnist1_cpu*.yaml (Diffusion Forcing, teacher forcing, full-sequence), on a smaller network at
// 16x16, overfit four fixed clips and then sample their continuation with the real sampler from their first
// token: at least 25 dB PSNR on those clips. A pipeline that cannot memorise four clips (token scaling and
// frame stacking, noise levels, loss weighting, the sampler's walk, frame order) cannot learn Moving MNIST
// either, and a long run would only find that out after hours.
//
// Not a ctest: the three recipes take minutes of one core (scripts/video_pipeline_check.sh gives the
// measured time), too long for the suite. scripts/video_mnist_experiment.sh runs it first and stops on a
// failure; `bash scripts/video_pipeline_check.sh` runs it alone.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "df/experiment/experiment_config.h"
#include "df/experiment/registry.h"
#include "df/video/moving_mnist.h"
#include "df/video/video_metrics.h"
#include "video_test_data.h"

using namespace df::video;

namespace {

// `count` clips of `n_frames` frames (clips 0.. of `source`); a training draw is one of them, whole.
class FixedClips : public ClipSource {
 public:
  FixedClips(const ClipSource& source, int64_t count, int64_t n_frames)
      : clips_(evaluation_clips(source, 0, count, 0, n_frames).frames),
        channels_(source.channels()),
        resolution_(source.resolution()) {}
  VideoClip random_clip(int64_t n_frames, torch::Generator& generator) const override {
    const auto i = torch::randint(clips_.size(1), {1}, generator).item<int64_t>();
    return clip(i, 0, n_frames);
  }
  VideoClip clip(int64_t index, int64_t start, int64_t n_frames) const override {
    return {clips_.select(1, index % clips_.size(1)).slice(0, start, start + n_frames).clone(), {}};
  }
  int64_t clip_length(int64_t) const override { return clips_.size(0); }
  int64_t num_clips() const override { return clips_.size(1); }
  int64_t channels() const override { return channels_; }
  int64_t resolution() const override { return resolution_; }
  std::string describe() const override { return std::to_string(clips_.size(1)) + " fixed clips"; }
  const torch::Tensor& frames() const { return clips_; }  // [T, B, C, H, W]

 private:
  torch::Tensor clips_;
  int64_t channels_, resolution_;
};

struct Recipe {
  std::string name, config;
  int64_t steps;                       // training steps to memorise the clips (full-sequence needs more)
  std::vector<std::string> overrides;  // what the smaller clips change in the sampling plan
};

class VideoPipelineCheck : public ::testing::TestWithParam<Recipe> {};

}  // namespace

TEST_P(VideoPipelineCheck, OverfitsFixedClipsAndSamplesTheirContinuation) {
  const auto& recipe = GetParam();
  const int64_t steps = recipe.steps;
  const int64_t resolution = 16, context_frames = 4, n_frames = 12, clips = 4;
  std::vector<std::string> overrides = {
      "experiment.threads=1", "video.resolution=" + std::to_string(resolution),
      "video.n_frames=" + std::to_string(n_frames), "video.context_frames=" + std::to_string(context_frames),
      "model.network_size=8", "model.dim_mults=[1,2]",
      "training.steps=" + std::to_string(steps), "training.batch_size=4", "training.lr=0.005", "training.warmup_steps=20",
      "training.lr_schedule=constant", "training.decay_start=0",
      "training.ema_decay=0", "training.checkpoint_every=0", "training.validate_every=0", "training.log_every=100000",
      "diffusion.sampling_steps=20"};
  overrides.insert(overrides.end(), recipe.overrides.begin(), recipe.overrides.end());
  const auto config = df::load_config(std::string(DF_SOURCE_DIR) + "/configs/" + recipe.config, overrides);
  const int64_t fs = config.get_int("diffusion.frame_stack");

  MovingMnistOptions m;
  m.resolution = resolution;
  m.num_digits = config.get_int("video.num_digits");
  m.speed = config.get_double("video.digit_speed");
  const auto generator_source = make_moving_mnist_source(test::synthetic_digits(3).images, m);
  auto fixed = std::make_shared<FixedClips>(*generator_source, clips, n_frames);
  VideoClipDataset dataset(fixed, n_frames, fs, false);

  torch::manual_seed(0);
  const auto& domain = df::find_domain("video");
  auto model = df::make_model(config, domain.model_shape(config), torch::kCPU);
  const auto dir = test::temp_dir("pipeline_" + recipe.name);
  df::Trainer trainer(*model, dataset, df::read_trainer_options(config, dir));
  const auto summary = trainer.run();
  ASSERT_EQ(summary.steps_done, steps);
  model->eval();

  // Their continuation from the first token (4 frames), as df_sample walks it.
  const auto truth = fixed->frames();  // [T, B, 1, H, W]
  const auto context = frames_to_tokens(truth.slice(0, 0, context_frames), fs);
  df::Sampler sampler(*model, df::read_sampler_options(config));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(7);
  torch::NoGradGuard no_grad;
  const auto tokens = df::rollout_after_context(sampler, df::read_chunk_plan(config), context, clips,
                                                (n_frames - context_frames) / fs, {}, gen);
  const auto frames = tokens_to_frames(tokens, fs, 1).clamp(0.0, 1.0);
  const auto e = compare_frames(frames, truth.slice(0, context_frames));
  const double psnr = e.psnr.mean().item<double>();
  std::cout << recipe.name << ": " << steps << " steps, last loss " << summary.last_loss
            << ", PSNR of the sampled continuation " << psnr << " dB (per frame:";
  for (int64_t t = 0; t < e.psnr.size(0); ++t) std::cout << " " << e.psnr[t].mean().item<double>();
  std::cout << ")\n";
  EXPECT_GE(psnr, 25.0) << recipe.name << ": the pipeline does not reproduce clips it was trained on";
}

INSTANTIATE_TEST_SUITE_P(
    Recipes, VideoPipelineCheck,
    ::testing::Values(Recipe{"diffusion_forcing", "video_mnist1_cpu.yaml", 800, {}},
                      Recipe{"teacher_forcing", "video_mnist1_cpu_teacher_forcing.yaml", 1600, {}},
                      Recipe{"full_sequence", "video_mnist1_cpu_full_sequence.yaml", 2400,
                             {"sampling.chunk_size=2", "sampling.window=3"}}),
    [](const ::testing::TestParamInfo<Recipe>& info) { return info.param.name; });
