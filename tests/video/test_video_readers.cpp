// The video loaders on files the tests write (TECO DMLab .npz, Minecraft .mp4 + .npz, a folder of the user's
// videos), Debian's real opencv-doc clips when installed, and the errors on bad input.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "df/core/error.h"
#include "df/plot/plot.h"
#include "df/video/npz_archive.h"
#include "df/video/teco_dataset.h"
#include "df/video/video_file.h"
#include "df/video/video_folder.h"
#include "../error_of.h"
#include "video_test_data.h"

using namespace df::video;
namespace fs = std::filesystem;
using df::error_of;

namespace {

// A moving bright square on a dark background, [T, size, size, 3] uint8: x position 2t.
torch::Tensor square_video(int64_t frames, int64_t size) {
  auto v = torch::full({frames, size, size, 3}, 20, torch::kUInt8);
  for (int64_t t = 0; t < frames; ++t) v[t].slice(0, size / 4, size / 2).slice(1, 2 * t, 2 * t + size / 4).fill_(230);
  return v;
}

}  // namespace

TEST(Npz, RoundTripsStoredAndDeflatedArraysOfEveryTecoType) {
  const auto dir = test::temp_dir("npz");
  const std::map<std::string, torch::Tensor> arrays = {{"video", test::dmlab_video(5, 8)},
                                                       {"actions", torch::arange(5)},
                                                       {"ints", torch::arange(6, torch::kInt32).view({2, 3})},
                                                       {"values", torch::randn({3, 2})}};
  for (bool compressed : {false, true}) {
    const auto path = dir + (compressed ? "/c.npz" : "/s.npz");
    write_npz(path, arrays, compressed);
    const auto back = read_npz(path);
    ASSERT_EQ(back.size(), arrays.size());
    for (const auto& [name, tensor] : arrays) {
      EXPECT_EQ(back.at(name).scalar_type(), tensor.scalar_type()) << name;
      EXPECT_TRUE(torch::equal(back.at(name), tensor)) << name;
    }
  }
  EXPECT_LT(fs::file_size(dir + "/c.npz"), fs::file_size(dir + "/s.npz"));  // deflate did compress
}

TEST(TecoDmlab, EpisodesAndRandomClipsComeFromTheFiles) {
  const auto root = test::temp_dir("dmlab");
  test::write_dmlab_episode(root + "/train/0/a.npz", 40, 64, 0);
  test::write_dmlab_episode(root + "/train/1/b.npz", 40, 64, 100);
  test::write_dmlab_episode(root + "/test/0/c.npz", 30, 64, 7);
  EXPECT_EQ(list_teco_episodes(root, TecoDataset::Dmlab, VideoSplit::Train).size(), 2u);

  const auto e = read_teco_episode(root + "/test/0/c.npz", TecoDataset::Dmlab, 0);
  EXPECT_TRUE(torch::equal(e.frames, test::dmlab_video(30, 64, 7)));
  EXPECT_TRUE(torch::equal(e.actions, torch::arange(30) % 3));
  EXPECT_EQ(read_teco_episode(root + "/test/0/c.npz", TecoDataset::Dmlab, 32).frames.sizes(),
            torch::IntArrayRef({30, 32, 32, 3}));

  // Random training windows of 12 frames: every clip is 12 consecutive frames of one file, scaled to [0, 1],
  // with that window's actions; the data set one-hots them per token (frame_stack 4 -> 4 x 3 values).
  const auto source = make_teco_source(root, TecoDataset::Dmlab, VideoSplit::Train, 64);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  for (int i = 0; i < 6; ++i) {
    const auto clip = source->random_clip(12, gen);
    ASSERT_EQ(clip.frames.sizes(), torch::IntArrayRef({12, 3, 64, 64}));
    const auto first = (clip.frames[0][0][0][0] * 255).round().item<int64_t>();  // (3 t + offset) % 256
    const int64_t offset = first % 3 == 0 ? 0 : 100, start = ((first - offset) % 256 + 256) % 256 / 3;
    const auto expected = test::dmlab_video(40, 64, offset).slice(0, start, start + 12).permute({0, 3, 1, 2});
    EXPECT_TRUE(torch::equal((clip.frames * 255).round().to(torch::kUInt8), expected)) << "clip " << i;
    EXPECT_TRUE(torch::equal(clip.actions, (torch::arange(12) + start) % 3));
  }
  VideoClipDataset data(source, 12, 4, true);
  EXPECT_EQ(data.cond_dim(), 12);
  const auto batch = data.sample(2, gen);
  ASSERT_EQ(batch.x.sizes(), torch::IntArrayRef({3, 2, 12, 64, 64}));
  ASSERT_EQ(batch.cond.sizes(), torch::IntArrayRef({3, 2, 12}));
  EXPECT_TRUE(torch::equal(batch.cond.sum(2), torch::full({3, 2}, 4.0f)));  // one action per frame
  EXPECT_GE(batch.x.min().item<float>(), -1.0f);
  EXPECT_LE(batch.x.max().item<float>(), 1.0f);
}

TEST(TecoMinecraft, VideoBesideItsActionsWithTheFirstActionDropped) {
  if (!df::plot::plotting_available()) GTEST_SKIP() << "built without OpenCV";
  const auto root = test::temp_dir("minecraft");
  fs::create_directories(root + "/test");
  auto frames = torch::zeros({10, 128, 128, 3}, torch::kUInt8);
  for (int64_t t = 0; t < 10; ++t) frames[t].slice(0, 0, 64).fill_(static_cast<uint8_t>(20 * t));  // top half: t
  df::plot::write_video(root + "/test/ep.mp4", frames, 10);
  write_npz(root + "/test/ep.npz", {{"actions", torch::tensor({3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1})}});
  const auto e = read_teco_episode(root + "/test/ep.mp4", TecoDataset::Minecraft, 0);
  ASSERT_EQ(e.frames.sizes(), torch::IntArrayRef({10, 128, 128, 3}));
  EXPECT_TRUE(torch::equal(e.actions, torch::tensor({0, 1, 2, 3, 0, 1, 2, 3, 0, 1})));
  for (int64_t t = 0; t < 10; ++t)  // mp4v is lossy: the mean level of the top half within a few steps
    EXPECT_NEAR(e.frames[t].slice(0, 8, 56).to(torch::kFloat).mean().item<double>(), 20.0 * t, 6.0) << t;
  EXPECT_EQ(make_teco_source(root, TecoDataset::Minecraft, VideoSplit::Test, 64)->clip(0, 2, 4).frames.sizes(),
            torch::IntArrayRef({4, 3, 64, 64}));
}

TEST(VideoFolder, TheUsersVideosAreResizedAndSplitInTime) {
  if (!df::plot::plotting_available()) GTEST_SKIP() << "built without OpenCV";
  const auto root = test::temp_dir("folder");
  df::plot::write_video(root + "/walk.mp4", square_video(40, 64), 10);
  const auto frames = read_video_file(root + "/walk.mp4", {32, true, -1});
  ASSERT_EQ(frames.sizes(), torch::IntArrayRef({40, 32, 32, 3}));
  // The square's left edge moves right by 1 pixel per frame at 32x32.
  for (int64_t t : {0, 10, 20}) {
    const auto row = frames[t][12].select(1, 0).to(torch::kFloat);  // a row through the square
    EXPECT_GT(row[t + 3].item<float>(), 150.0f) << t;
    EXPECT_LT(row[(t + 12) % 32].item<float>(), 80.0f) << t;
  }
  VideoFolderOptions o;
  o.root = root;
  o.resolution = 32;
  o.clip_frames = 8;
  o.test_fraction = 0.25;
  const auto train = make_video_folder_source(o, VideoSplit::Train),
             test = make_video_folder_source(o, VideoSplit::Test);
  EXPECT_EQ(test->clip_length(0), 10);  // the last quarter of 40 frames
  EXPECT_LT((test->clip(0, 0, 8).frames - frames.slice(0, 30, 38).permute({0, 3, 1, 2}).to(torch::kFloat) / 255)
                .abs()
                .max()
                .item<float>(),
            1e-6f);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  EXPECT_EQ(train->random_clip(8, gen).frames.sizes(), torch::IntArrayRef({8, 3, 32, 32}));
  o.clip_frames = 20;  // longer than the test part: nothing to evaluate on
  EXPECT_NE(error_of([&] { make_video_folder_source(o, VideoSplit::Test); }).find("no video has 20 frames"),
            std::string::npos);
}

TEST(VideoFolder, RealClipsOfDebiansOpencvDoc) {
  const std::string dir = "/usr/share/doc/opencv-doc/examples/data";
  if (!fs::exists(dir + "/vtest.avi") || !fs::exists(dir + "/tree.avi"))
    GTEST_SKIP() << "opencv-doc is not installed (apt-get install opencv-doc): no real clips to read";
  for (const char* name : {"vtest.avi", "tree.avi"}) {
    const auto frames = read_video_file(dir + "/" + name, {32, true, 60});
    ASSERT_EQ(frames.sizes(), torch::IntArrayRef({60, 32, 32, 3})) << name;
    const auto f = frames.to(torch::kFloat);
    EXPECT_GT(f.std().item<float>(), 10.0f) << name;                     // real content
    EXPECT_GT((f[59] - f[0]).abs().mean().item<float>(), 0.5f) << name;  // it moves
    EXPECT_LT((f[1] - f[0]).abs().mean().item<float>(), 40.0f) << name;  // smoothly
  }
  VideoFolderOptions o;
  o.root = dir;  // the folder holds both clips (and Megamind*.avi)
  o.resolution = 32;
  o.clip_frames = 16;
  o.max_frames_per_video = 80;
  o.test_fraction = 0.5;
  const auto test = make_video_folder_source(o, VideoSplit::Test);
  EXPECT_GE(test->num_clips(), 2);
  EXPECT_EQ(test->clip(1, 0, 16).frames.sizes(), torch::IntArrayRef({16, 3, 32, 32}));
}

TEST(VideoReaders, BadInputGivesAnErrorNamingTheFile) {
  const auto root = test::temp_dir("bad");
  // A missing folder.
  EXPECT_NE(error_of([&] {
              list_teco_episodes(root + "/nowhere", TecoDataset::Dmlab, VideoSplit::Train);
            }).find("nowhere: no such folder"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { list_teco_episodes(root, TecoDataset::Dmlab, VideoSplit::Train); }).find("/train: no such folder"),
      std::string::npos);
  // An npz without `video`.
  fs::create_directories(root + "/train");
  write_npz(root + "/train/novideo.npz", {{"actions", torch::arange(4)}});
  auto message = error_of([&] { read_teco_episode(root + "/train/novideo.npz", TecoDataset::Dmlab, 64); });
  EXPECT_NE(message.find("novideo.npz: no `video` array (found: actions)"), std::string::npos) << message;
  // Frames of the wrong size for DMLab (32x32 instead of 64x64).
  test::write_dmlab_episode(root + "/train/small.npz", 10, 32);
  message = error_of([&] { read_teco_episode(root + "/train/small.npz", TecoDataset::Dmlab, 64); });
  EXPECT_NE(message.find("small.npz: frames are 32x32, but DMLab frames are 64x64"), std::string::npos) << message;
  // Actions outside DMLab's three.
  write_npz(root + "/train/badactions.npz",
            {{"video", test::dmlab_video(4, 64)}, {"actions", torch::tensor({0, 1, 5, 2})}});
  message = error_of([&] { read_teco_episode(root + "/train/badactions.npz", TecoDataset::Dmlab, 64); });
  EXPECT_NE(message.find("badactions.npz: actions must be in [0, 3), found 0..5"), std::string::npos) << message;
  // Not an npz at all, and an unreadable video file.
  std::ofstream(root + "/train/garbage.npz") << "this is not a zip archive";
  message = error_of([&] { read_npz(root + "/train/garbage.npz"); });
  EXPECT_NE(message.find("garbage.npz"), std::string::npos) << message;
  std::ofstream(root + "/broken.mp4") << "not a video, just text that no decoder accepts";
  message = error_of([&] { read_video_file(root + "/broken.mp4"); });
  EXPECT_NE(message.find("broken.mp4"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { read_video_file(root + "/absent.mp4"); }).find("absent.mp4: no such video file"),
            std::string::npos);
  // A Minecraft video without its actions file.
  if (df::plot::plotting_available()) {
    fs::create_directories(root + "/mc/train");
    df::plot::write_video(root + "/mc/train/x.mp4", torch::zeros({3, 128, 128, 3}, torch::kUInt8), 10);
    message = error_of([&] { read_teco_episode(root + "/mc/train/x.mp4", TecoDataset::Minecraft, 128); });
    EXPECT_NE(message.find("x.mp4: no actions file"), std::string::npos) << message;
  }
  // A clip longer than the episode.
  test::write_dmlab_episode(root + "/short/train/a.npz", 6);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
  message = error_of(
      [&] { make_teco_source(root + "/short", TecoDataset::Dmlab, VideoSplit::Train, 64)->random_clip(10, gen); });
  EXPECT_NE(message.find("a.npz: 6 frames, fewer than video.n_frames = 10"), std::string::npos) << message;
}
