#include "df/video/video_domain.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "df/core/compat.h"
#include "df/core/error.h"
#include "df/core/timing.h"
#include "df/data/npy.h"
#include "df/experiment/experiment_config.h"
#include "df/sampling/sampler.h"
#include "df/video/mnist_digits.h"
#include "df/video/moving_mnist.h"
#include "df/video/rollout_writer.h"
#include "df/video/teco_dataset.h"
#include "df/video/trivial_predictors.h"
#include "df/video/video_file.h"
#include "df/video/video_folder.h"
#include "df/video/video_metrics.h"

namespace df::video {
namespace {

int64_t channels_of(VideoDatasetKind kind) { return kind == VideoDatasetKind::MovingMnist ? 1 : 3; }

int64_t num_actions_of(VideoDatasetKind kind) {
  if (kind == VideoDatasetKind::Dmlab) return teco_num_actions(TecoDataset::Dmlab);
  if (kind == VideoDatasetKind::Minecraft) return teco_num_actions(TecoDataset::Minecraft);
  return 0;
}

std::string cache_key(const VideoOptions& o, VideoSplit split) {
  return to_string(o.dataset) + "|" + o.root + "|" + std::to_string(o.resolution) + "|" + std::to_string(o.n_frames) +
         "|" + std::to_string(o.num_digits) + "|" + std::to_string(o.digit_speed) + "|" +
         std::to_string(o.test_fraction) + "|" + std::to_string(o.data_seed) + "|" +
         std::to_string(o.max_frames_per_video) + "|" + (split == VideoSplit::Train ? "train" : "test");
}

}  // namespace

std::shared_ptr<const ClipSource> make_video_source(const VideoOptions& o, VideoSplit split) {
  switch (o.dataset) {
    case VideoDatasetKind::MovingMnist: {
      const auto digits =
          split_digits(read_mnist_digits(o.root), split == VideoSplit::Train ? DigitSplit::Train : DigitSplit::Test,
                       o.test_fraction);
      MovingMnistOptions m;
      m.resolution = o.resolution;
      m.num_digits = o.num_digits;
      m.speed = o.digit_speed;
      m.seed = static_cast<uint64_t>(o.data_seed) * 2 + (split == VideoSplit::Test ? 1 : 0);
      return make_moving_mnist_source(digits.images, m);
    }
    case VideoDatasetKind::Dmlab:
      return make_teco_source(o.root, TecoDataset::Dmlab, split, o.resolution);
    case VideoDatasetKind::Minecraft:
      return make_teco_source(o.root, TecoDataset::Minecraft, split, o.resolution);
    case VideoDatasetKind::Folder: {
      VideoFolderOptions f;
      f.root = o.root;
      f.resolution = o.resolution;
      f.clip_frames = o.n_frames;
      f.test_fraction = o.test_fraction;
      f.max_frames_per_video = o.max_frames_per_video;
      return make_video_folder_source(f, split);
    }
  }
  throw Error("video.dataset: unknown dataset");
}

namespace {

// Actions [n_frames, B] of evaluation clips [first, first + B); past a clip's end its last action repeats.
torch::Tensor evaluation_actions(const ClipSource& source, int64_t first, int64_t batch, int64_t n_frames) {
  std::vector<torch::Tensor> actions;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t length = source.clip_length(first + b);
    const int64_t available = length < 0 ? n_frames : std::min(length, n_frames);
    auto a = source.clip(first + b, 0, available).actions;
    if (available < n_frames) a = torch::cat({a, a.slice(0, available - 1).expand({n_frames - available})});
    actions.push_back(a);
  }
  return torch::stack(actions, 1);
}

class VideoDomain : public Domain {
 public:
  std::string name() const override { return "video"; }
  std::string defaults_yaml() const override {
    const VideoOptions o;
    return ConfigDefaults()
        .section("video")
        .key("dataset", o.dataset)
        .key("root", o.root, "MNIST digits (scripts/fetch_mnist.sh) / TECO root / folder of videos")
        .key("resolution", o.resolution, "frames are resolution x resolution")
        .key("n_frames", o.n_frames, "frames per training clip (L)")
        .key("context_frames", o.context_frames, "ground-truth frames a rollout continues; a multiple of frame_stack")
        .key("use_actions", o.use_actions, "condition on one-hot actions (dmlab / minecraft); the paper's runs do not")
        .key("num_digits", o.num_digits, "moving_mnist: digits per clip")
        .key("digit_speed", o.digit_speed, "moving_mnist: pixels per frame on the 64-pixel canvas")
        .key("test_fraction", o.test_fraction, "moving_mnist digits / folder frames held out for the test split")
        .key("data_seed", o.data_seed, "moving_mnist: test clips")
        .key("max_frames_per_video", o.max_frames_per_video, "folder: frames read per file (-1 = all)")
        .key("validation_clips", o.validation_clips, "test clips rolled out at every validation")
        .key("range_clips", o.range_clips,
             "training clips that set the range of the frame statistics and the mean training frame")
        .key("fps", o.fps, "df_sample's MP4")
        .key("strip_columns", o.strip_columns, "generated frames in df_sample's PNG strip")
        .key("strip_rows", o.strip_rows, "sequences in df_sample's PNG strip")
        .key("mp4_rows", o.mp4_rows, "sequences in df_sample's MP4")
        .key("tile_pixels", o.tile_pixels, "frames are enlarged to at least this size in the strip")
        .key("mp4_tile_pixels", o.mp4_tile_pixels, "frames are enlarged to at least this size in the MP4")
        .yaml();
  }
  void add_rules(Config& c) const override {
    c.require_enum<VideoDatasetKind>("video.dataset");
    for (const auto* key : {"video.resolution", "video.n_frames", "video.num_digits", "video.validation_clips",
                            "video.range_clips", "video.fps", "video.strip_columns", "video.strip_rows",
                            "video.mp4_rows", "video.tile_pixels", "video.mp4_tile_pixels"})
      c.require_positive(key);
    for (const auto* key : {"video.context_frames", "video.digit_speed", "video.data_seed"})
      c.require_non_negative(key);
    c.require_range("video.test_fraction", 1e-6, 0.999999);
  }
  std::vector<std::string> trained_keys() const override {
    return {"video.dataset", "video.resolution", "video.use_actions"};
  }
  ModelShape model_shape(const Config& c) const override {
    const auto o = read_video_options(c);
    const int64_t fs = c.get_int("diffusion.frame_stack");
    ModelShape s;
    s.x_shape = {fs * channels_of(o.dataset), o.resolution, o.resolution};
    if (o.use_actions) {
      check(num_actions_of(o.dataset) > 0, "video.use_actions: " + to_string(o.dataset) + " has no actions");
      s.cond_dim = fs * num_actions_of(o.dataset);
    }
    return s;
  }
  std::unique_ptr<SequenceDataset> make_dataset(const Config& c) const override {
    const auto o = read_video_options(c);
    return std::make_unique<VideoClipDataset>(source(c, VideoSplit::Train), o.n_frames,
                                              c.get_int("diffusion.frame_stack"), o.use_actions);
  }
  torch::Tensor default_context(const Config& c, int64_t batch, uint64_t seed) const override {
    const auto o = read_video_options(c);
    if (o.context_frames == 0) return {};
    const auto clips =
        evaluation_clips(*source(c, VideoSplit::Test), first_clip(batch, seed), batch, 0, o.context_frames);
    return frames_to_tokens(clips.frames, c.get_int("diffusion.frame_stack"));
  }
  torch::Tensor read_context(const Config& c, const std::string& path, int64_t batch) const override {
    const auto o = read_video_options(c);
    const int64_t fs = c.get_int("diffusion.frame_stack"), C = channels_of(o.dataset), R = o.resolution;
    torch::Tensor frames;  // [T, H, W, C'] uint8 or float in [0, 1]
    if (std::filesystem::path(path).extension() == ".npy") {
      const auto a = read_npy(path);
      if (a.dim() == 5) {  // tokens as df_sample writes them
        check(a.size(1) == batch && a.size(2) == fs * C && a.size(3) == R && a.size(4) == R,
              path + ": context tokens must be [Tc, " + std::to_string(batch) + ", " + std::to_string(fs * C) + ", " +
                  std::to_string(R) + ", " + std::to_string(R) + "], got " + shape_str(a));
        return a.to(torch::kFloat32);
      }
      check(a.dim() == 4 && a.size(1) == R && a.size(2) == R && (a.size(3) == 1 || a.size(3) == 3),
            path + ": expected context tokens [Tc, B, fs*C, H, W] or frames [T, " + std::to_string(R) + ", " +
                std::to_string(R) + ", 1 or 3] (uint8, or float in [0, 1]), got " + shape_str(a));
      frames = a;
    } else {
      VideoReadOptions read;
      read.resolution = R;
      read.max_frames = o.context_frames;
      frames = read_video_file(path, read);
    }
    check(frames.size(0) >= o.context_frames,
          path + ": " + std::to_string(frames.size(0)) +
              " frames, fewer than video.context_frames = " + std::to_string(o.context_frames));
    auto x = frames.slice(0, 0, o.context_frames).to(torch::kFloat32);
    if (frames.scalar_type() == torch::kUInt8) x = x / 255.0;
    x = x.permute({0, 3, 1, 2});  // [T, C', H, W]
    if (x.size(1) != C) x = C == 1 ? x.mean(1, true) : x.expand({-1, 3, -1, -1});
    return frames_to_tokens(x.unsqueeze(1).expand({-1, batch, -1, -1, -1}).contiguous(), fs);
  }
  torch::Tensor sampling_condition(const Config& c, int64_t tokens, int64_t batch, uint64_t seed) const override {
    const auto o = read_video_options(c);
    if (!o.use_actions) return {};
    const int64_t fs = c.get_int("diffusion.frame_stack");
    const auto test = source(c, VideoSplit::Test);
    return actions_to_condition(evaluation_actions(*test, first_clip(batch, seed), batch, tokens * fs), fs,
                                test->num_actions());
  }
  std::vector<FingerprintRun> fingerprint_runs(const FingerprintPaths& paths) const override {
    // configs/video_mnist_cpu.yaml in miniature (its keys at tiny sizes) on digits made here (the real MNIST
    // files are not in the repository): 4 random 28 x 28 images per class with 3-decimal values, as stored.
    const auto digits_dir = paths.work_dir + "/digits";
    auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
    const auto images = (torch::rand({40, 28, 28}, gen) * 1000).round() / 1000;
    write_mnist_digits(digits_dir, {images, torch::arange(40, torch::kLong).remainder(10)});
    return {{"moving_mnist", R"(
experiment: {name: fingerprint_video, domain: video, seed: 0}
model: {kind: unet_conv_gru, network_size: 8, z_channels: 4, dim_mults: [1, 2], attn_heads: 1, attn_dim_head: 8,
        head_channels: 4, num_gru_layers: 1, initial_latent: learned}
diffusion: {schedule: sigmoid, timesteps: 1000, objective: v, loss_weighting: fused_min_snr, snr_clip: 5.0,
            cum_snr_decay: 0.8, frame_stack: 2, clip_noise: 6.0, sampling_steps: 2, eta: 0.0,
            training_noise: independent}
training: {steps: 3, batch_size: 2, lr: 0.0004, weight_decay: 0.002, betas: [0.9, 0.99], warmup_steps: 1,
           lr_schedule: constant, grad_clip: 1.0, ema_decay: 0, log_every: 3, validate_every: 3,
           checkpoint_every: 3}
sampling: {matrix: autoregressive, chunk_size: 1}
video: {dataset: moving_mnist, resolution: 16, n_frames: 6, context_frames: 2, num_digits: 2,
        validation_clips: 2, range_clips: 2, root: ")" + digits_dir + R"("}
)"}};
  }
  std::map<std::string, double> validate(DiffusionForcingModel& model, const Config& c, int64_t) const override {
    const auto o = read_video_options(c);
    const int64_t fs = c.get_int("diffusion.frame_stack"), B = o.validation_clips;
    const auto test = source(c, VideoSplit::Test);
    const auto truth = evaluation_clips(*test, 0, B, 0, o.n_frames);  // frames [L, B, C, H, W]
    const auto context = frames_to_tokens(truth.frames.slice(0, 0, o.context_frames), fs).to(model.device());
    const int64_t tokens = o.n_frames / fs, n_context = o.context_frames / fs;
    torch::Tensor cond;
    if (o.use_actions) cond = actions_to_condition(truth.actions, fs, test->num_actions()).to(model.device());
    Sampler sampler(model, read_sampler_options(c));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(12345);
    const auto x = rollout_after_context(sampler, read_chunk_plan(c), n_context > 0 ? context : torch::Tensor(), B,
                                         tokens - n_context, cond, gen);
    const auto frames = tokens_to_frames(x.to(torch::kCPU), fs, test->channels());
    const auto target = truth.frames.slice(0, o.context_frames);
    const auto e = compare_frames(frames.clamp(0.0, 1.0), target);
    const auto outside = out_of_range(frame_statistics(frames, default_min_blob_pixels(o.resolution)), range(c));
    return {{"mse", e.mse.mean().item<double>()},
            {"psnr", e.psnr.mean().item<double>()},
            {"ssim", e.ssim.mean().item<double>()},
            {"out_of_range", outside.to(torch::kFloat64).mean().item<double>()}};
  }
  std::map<std::string, double> benchmark_sampling(DiffusionForcingModel& model, const Config& c,
                                                   int repeats) const override {
    // df_sample's work on a video model: after the context, a rollout of four training lengths, chunk by
    // chunk as configured (sampling.matrix, sampling.chunk_size, sampling.window), at batch 1 and 8. The
    // content does not change the cost, so the context is blank frames and no data is read.
    const auto o = read_video_options(c);
    const int64_t fs = c.get_int("diffusion.frame_stack"), n_context = o.context_frames / fs;
    const int64_t tokens = 4 * (o.n_frames / fs), frames = tokens * fs;
    const auto shape = model_shape(c);
    Sampler sampler(model, read_sampler_options(c));
    const auto plan = read_chunk_plan(c);
    std::map<std::string, double> result;
    for (const int64_t batch : {int64_t{1}, int64_t{8}}) {
      std::vector<int64_t> context_shape{n_context, batch};
      context_shape.insert(context_shape.end(), shape.x_shape.begin(), shape.x_shape.end());
      const auto context = n_context > 0 ? torch::zeros(context_shape, torch::TensorOptions().device(model.device()))
                                         : torch::Tensor();
      torch::Tensor cond;
      if (shape.cond_dim > 0)
        cond = torch::zeros({n_context + tokens, batch, shape.cond_dim}, torch::TensorOptions().device(model.device()));
      auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
      const double seconds = median_seconds(
          [&] {
            torch::NoGradGuard no_grad;
            rollout_after_context(sampler, plan, context, batch, tokens, cond, gen, [](const torch::Tensor&) {});
          },
          repeats, 1, model.device());
      const auto b = "_b" + std::to_string(batch);
      result["rollout_" + std::to_string(frames) + "_frames" + b + "_s"] = seconds;
      result["rollout_frames" + b + "_fps"] = static_cast<double>(frames * batch) / seconds;
    }
    return result;
  }
  std::unique_ptr<SampleWriter> make_sample_writer(const Config& c, const std::string& dir, const std::string& label,
                                                   int64_t batch, uint64_t seed) const override {
    const auto o = read_video_options(c);
    RolloutWriterOptions w;
    w.dir = dir;
    w.label = label;
    w.frame_stack = c.get_int("diffusion.frame_stack");
    w.channels = channels_of(o.dataset);
    w.training_frames = o.n_frames;
    w.fps = o.fps;
    w.strip_columns = o.strip_columns;
    w.strip_rows = o.strip_rows;
    w.mp4_rows = o.mp4_rows;
    w.min_tile_pixels = o.tile_pixels;
    w.min_mp4_tile_pixels = o.mp4_tile_pixels;
    w.min_blob_pixels = default_min_blob_pixels(o.resolution);
    const auto mean = mean_frame(c);
    w.mean_frame = mean.frame;
    w.mean_frame_count = mean.frames;
    return std::make_unique<VideoRolloutWriter>(w, range(c), ground_truth(c, first_clip(batch, seed), batch));
  }

 private:
  // df_sample's sequences continue evaluation clips [seed * batch, seed * batch + batch).
  static int64_t first_clip(int64_t batch, uint64_t seed) { return static_cast<int64_t>(seed) * batch; }

  // The split of the configured dataset, built once per configuration (reading digits or listing episodes
  // is slow; df_sample and validation ask repeatedly).
  std::shared_ptr<const ClipSource> source(const Config& c, VideoSplit split) const {
    const auto o = read_video_options(c);
    const auto key = cache_key(o, split);
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = sources_.find(key); it != sources_.end()) return it->second;
    auto made = make_video_source(o, split);
    spdlog::info("video {} split: {}", split == VideoSplit::Train ? "training" : "test", made->describe());
    return sources_[key] = made;
  }

  // The statistics' range on training frames: range_clips clips drawn with a fixed generator.
  StatisticRange range(const Config& c) const {
    const auto o = read_video_options(c);
    const auto key = cache_key(o, VideoSplit::Train) + "|" + std::to_string(o.range_clips);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = ranges_.find(key); it != ranges_.end()) return it->second;
    }
    const auto train = source(c, VideoSplit::Train);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(987654321);
    std::vector<torch::Tensor> stats;
    for (int64_t i = 0; i < o.range_clips; ++i) {
      const auto clip = train->random_clip(o.n_frames, gen);
      stats.push_back(frame_statistics(clip.frames.unsqueeze(1), default_min_blob_pixels(o.resolution)));
    }
    const auto r = statistic_range(torch::cat(stats));
    std::lock_guard<std::mutex> lock(mutex_);
    return ranges_[key] = r;
  }

  // The mean training frame (a trivial predictor): range_clips training clips of L frames, drawn with a fixed
  // generator.
  MeanFrame mean_frame(const Config& c) const {
    const auto o = read_video_options(c);
    const auto key = cache_key(o, VideoSplit::Train) + "|" + std::to_string(o.range_clips);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = mean_frames_.find(key); it != mean_frames_.end()) return it->second;
    }
    auto gen = at::make_generator<at::CPUGeneratorImpl>(24681357);
    const auto mean = mean_training_frame(*source(c, VideoSplit::Train), o.range_clips, o.n_frames, gen);
    spdlog::info("mean training frame: {} training frames averaged", mean.frames);
    std::lock_guard<std::mutex> lock(mutex_);
    return mean_frames_[key] = mean;
  }

  GroundTruthFrames ground_truth(const Config& c, int64_t first, int64_t batch) const {
    const auto test = source(c, VideoSplit::Test);
    if (test->clip_length(first) < 0)  // a generator: any frame of any clip
      return [test, first, batch](int64_t start, int64_t n) {
        return evaluation_clips(*test, first, batch, start, n).frames;
      };
    // Recorded clips end: hold them (uint8) and stop where the shortest ends.
    std::vector<torch::Tensor> clips;
    int64_t length = -1;
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t n = test->clip_length(first + b);
      clips.push_back(test->clip(first + b, 0, n).frames.mul(255.0).round().to(torch::kUInt8));
      length = length < 0 ? n : std::min(length, n);
    }
    return [clips, length](int64_t start, int64_t n) -> torch::Tensor {
      if (start + n > length) return {};
      std::vector<torch::Tensor> parts;
      for (const auto& clip : clips) parts.push_back(clip.slice(0, start, start + n).to(torch::kFloat32).div(255.0));
      return torch::stack(parts, 1);
    };
  }

  mutable std::mutex mutex_;
  mutable std::map<std::string, std::shared_ptr<const ClipSource>> sources_;
  mutable std::map<std::string, StatisticRange> ranges_;
  mutable std::map<std::string, MeanFrame> mean_frames_;
};

}  // namespace

VideoOptions read_video_options(const Config& c) {
  VideoOptions o;
  o.dataset = c.get_enum<VideoDatasetKind>("video.dataset");
  o.root = c.get_string("video.root");
  o.resolution = c.get_int("video.resolution");
  o.n_frames = c.get_int("video.n_frames");
  o.context_frames = c.get_int("video.context_frames");
  o.use_actions = c.get_bool("video.use_actions");
  o.num_digits = c.get_int("video.num_digits");
  o.digit_speed = c.get_double("video.digit_speed");
  o.test_fraction = c.get_double("video.test_fraction");
  o.data_seed = c.get_int("video.data_seed");
  o.max_frames_per_video = c.get_int("video.max_frames_per_video");
  o.validation_clips = c.get_int("video.validation_clips");
  o.range_clips = c.get_int("video.range_clips");
  o.fps = c.get_double("video.fps");
  o.strip_columns = c.get_int("video.strip_columns");
  o.strip_rows = c.get_int("video.strip_rows");
  o.mp4_rows = c.get_int("video.mp4_rows");
  o.tile_pixels = c.get_int("video.tile_pixels");
  o.mp4_tile_pixels = c.get_int("video.mp4_tile_pixels");
  const int64_t fs = c.get_int("diffusion.frame_stack");
  check(o.n_frames % fs == 0, "video.n_frames: " + std::to_string(o.n_frames) +
                                  " must be a multiple of diffusion.frame_stack " + std::to_string(fs));
  check(o.context_frames % fs == 0 && o.context_frames < o.n_frames,
        "video.context_frames: " + std::to_string(o.context_frames) + " must be a multiple of diffusion.frame_stack " +
            std::to_string(fs) + " and less than video.n_frames " + std::to_string(o.n_frames));
  check(o.dataset != VideoDatasetKind::MovingMnist || 64 % o.resolution == 0,
        "video.resolution: moving_mnist renders a 64-pixel canvas; the resolution must divide 64, got " +
            std::to_string(o.resolution));
  return o;
}

std::unique_ptr<Domain> make_video_domain() { return std::make_unique<VideoDomain>(); }

}  // namespace df::video
