// Demonstrations: generation (half per start, expert success), the folder round trip, and bad folders
// failing with the file named.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "df/core/error.h"
#include "df/data/npy.h"
#include "df/robot/demo_dataset.h"
#include "df/robot/demonstrations.h"

namespace df::robot {
namespace {
namespace fs = std::filesystem;

std::string temp_dir(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("df_robot_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir.string();
}

// Expects `body` to throw df::Error whose message contains every one of `parts`.
template <typename F>
void expect_error(F body, const std::vector<std::string>& parts) {
  try {
    body();
    ADD_FAILURE() << "expected df::Error";
  } catch (const df::Error& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

class RobotDemonstrations : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    DemoGenerationOptions o;
    o.num_demos = 2;
    o.resolution = 16;
    o.seed = 7;
    set_ = generate_demonstrations(o);
  }
  static DemoSet set_;
};
DemoSet RobotDemonstrations::set_;

TEST_F(RobotDemonstrations, GeneratedHalfPerStartAndSucceeded) {
  ASSERT_EQ(set_.demos.size(), 2u);
  EXPECT_EQ(set_.demos[0].start.apple_slot, Slot::A);
  EXPECT_EQ(set_.demos[1].start.apple_slot, Slot::B);
  for (const auto& d : set_.demos) {
    EXPECT_EQ(d.frames.sizes(), (std::vector<int64_t>{40, 2, 16, 16, 3}));
    EXPECT_EQ(d.actions.sizes(), (std::vector<int64_t>{39 * 15, 4}));
    EXPECT_GT(d.success_step, 0);
    EXPECT_LE(d.success_step, 39 * 15);
    EXPECT_FALSE(torch::equal(d.frames[0], d.frames[39]));  // the fruits moved
  }
  EXPECT_NE(set_.demos[0].seed, set_.demos[1].seed);
}

// The token layout and the acting loop agree: from the state of frame j, executing the action chunk that
// token j+1 holds (unpacked from the packed channels, as the policy does) leads to frame j+1.
TEST_F(RobotDemonstrations, ExecutingTokenJPlus1ActionsFromFrameJReproducesFrameJPlus1) {
  const auto& demo = set_.demos[1];
  const RobotTokenLayout layout(16, 15);
  const auto actions = layout.actions_of(demonstration_tokens(demo, PixelTokenCodec(layout)));  // [40, 15, 4]
  auto model = std::make_shared<const SwapModel>();
  SceneRenderer renderer(*model);
  SwapEnv env(model, demo.seed);
  env.reset();
  StartState start = env.start();
  start.apple_slot = demo.start.apple_slot;
  env.reset_to(start);
  EXPECT_TRUE(torch::equal(renderer.observe(env, 16), demo.frames[0]));
  double worst = 0;
  for (int64_t j = 0; j + 1 < demo.frames.size(0); ++j) {
    const auto chunk = actions[j + 1];
    for (int64_t t = 0; t < 15; ++t)
      env.step({chunk[t][0].item<double>(), chunk[t][1].item<double>(), chunk[t][2].item<double>(),
                chunk[t][3].item<double>()});
    const auto diff = (renderer.observe(env, 16).to(torch::kFloat) - demo.frames[j + 1].to(torch::kFloat)).abs();
    worst = std::max(worst, diff.mean().item<double>());
  }
  EXPECT_LT(worst, 0.5) << "mean grey-level difference of the worst frame";
  EXPECT_TRUE(env.success());
}

TEST_F(RobotDemonstrations, FolderRoundTrip) {
  const auto dir = temp_dir("roundtrip");
  write_demonstrations(set_, dir);
  const auto back = read_demonstrations(dir);
  EXPECT_EQ(back.resolution, 16);
  EXPECT_EQ(back.frame_every, 15);
  ASSERT_EQ(back.demos.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.demos[i].name, set_.demos[i].name);
    EXPECT_EQ(back.demos[i].start.apple_slot, set_.demos[i].start.apple_slot);
    EXPECT_EQ(back.demos[i].seed, set_.demos[i].seed);
    EXPECT_EQ(back.demos[i].success_step, set_.demos[i].success_step);
    EXPECT_TRUE(torch::equal(back.demos[i].frames, set_.demos[i].frames));
    EXPECT_TRUE(torch::equal(back.demos[i].states, set_.demos[i].states));
    EXPECT_TRUE(torch::equal(back.demos[i].actions, set_.demos[i].actions));
  }
  fs::remove_all(dir);
}

TEST(RobotStateDemonstrations, StateOnlyFolderRoundTripWithoutCameras) {
  DemoGenerationOptions o;
  o.num_demos = 2;
  o.pixels = false;
  o.expert.missed_grasp_share = 0.25;
  const auto set = generate_demonstrations(o);
  ASSERT_EQ(set.demos.size(), 2u);
  EXPECT_FALSE(set.demos[0].frames.defined());
  EXPECT_EQ(set.demos[0].states.sizes(), (std::vector<int64_t>{40, kStateDim}));
  EXPECT_GT(set.demos[0].success_step, 0);
  const auto dir = temp_dir("state_only");
  write_demonstrations(set, dir);
  EXPECT_FALSE(fs::exists(dir + "/demo_0000/frames.npy"));
  const auto back = read_demonstrations(dir);
  EXPECT_FALSE(back.pixels);
  EXPECT_DOUBLE_EQ(back.missed_grasp_share, 0.25);
  EXPECT_TRUE(torch::equal(back.demos[1].states, set.demos[1].states));
  // A pixel policy cannot train on it: the error says why.
  expect_error([&] { RobotDemoDataset(back, {0}, std::make_shared<PixelTokenCodec>(RobotTokenLayout(32, 15)), 40); },
               {"robot.observation is pixels", "states only"});
  fs::remove(dir + "/demo_0001/states.npy");
  expect_error([&] { read_demonstrations(dir); }, {dir + "/demo_0001/states.npy", "missing"});
  std::ofstream(dir + "/format.txt") << "df-robot-demos 2\nframe_every 15\nobservations state\nmissed_grasps 1.5\n";
  expect_error([&] { read_demonstrations(dir); }, {dir + "/format.txt", "missed_grasps", "[0, 1]"});
  fs::remove_all(dir);
}

TEST_F(RobotDemonstrations, BadFoldersNameTheFile) {
  const auto dir = temp_dir("bad");
  expect_error([&] { read_demonstrations(dir); }, {dir, "no such demonstration folder"});
  write_demonstrations(set_, dir);
  const auto demo1 = dir + "/" + set_.demos[1].name;

  // A missing file.
  fs::rename(demo1 + "/actions.npy", demo1 + "/moved.npy");
  expect_error([&] { read_demonstrations(dir); }, {demo1 + "/actions.npy", "missing", "demos.csv:3"});
  // An action chunk of the wrong length (one step short).
  write_npy(demo1 + "/actions.npy", set_.demos[1].actions.narrow(0, 0, 39 * 15 - 1));
  expect_error([&] { read_demonstrations(dir); }, {demo1 + "/actions.npy", "584 actions", "need 585"});
  // Actions of the wrong width.
  write_npy(demo1 + "/actions.npy", torch::zeros({39 * 15, 3}));
  expect_error([&] { read_demonstrations(dir); }, {demo1 + "/actions.npy", "[585,3]"});
  fs::rename(demo1 + "/moved.npy", demo1 + "/actions.npy");
  // Frames that do not match format.txt's resolution.
  write_npy(demo1 + "/frames.npy", torch::zeros({40, 2, 8, 8, 3}, torch::kUInt8));
  expect_error([&] { read_demonstrations(dir); }, {demo1 + "/frames.npy", "[40,2,16,16,3]", "[40,2,8,8,3]"});
  write_npy(demo1 + "/frames.npy", set_.demos[1].frames);
  EXPECT_NO_THROW(read_demonstrations(dir));
  // States: missing, or of the wrong size.
  fs::rename(demo1 + "/states.npy", demo1 + "/moved.npy");
  expect_error([&] { read_demonstrations(dir); }, {demo1 + "/states.npy", "missing", "demos.csv:3"});
  write_npy(demo1 + "/states.npy", torch::zeros({40, 10}));
  expect_error([&] { read_demonstrations(dir); }, {demo1 + "/states.npy", "[40, 11]", "[40,10]"});
  fs::rename(demo1 + "/moved.npy", demo1 + "/states.npy");
  EXPECT_NO_THROW(read_demonstrations(dir));
  // A mismatched list and a broken format file.
  std::ofstream(dir + "/demos.csv", std::ios::app) << "demo_9999,A,1,40,10\n";
  expect_error([&] { read_demonstrations(dir); }, {dir + "/demo_9999/states.npy", "missing", "demos.csv:4"});
  std::ofstream(dir + "/demos.csv") << "name,slot\n";
  expect_error([&] { read_demonstrations(dir); }, {dir + "/demos.csv", "header"});
  std::ofstream(dir + "/format.txt") << "df-robot-demos 2\nobservations state pixels\nresolution 16\n";
  expect_error([&] { read_demonstrations(dir); }, {dir + "/format.txt", "frame_every"});
  std::ofstream(dir + "/format.txt") << "df-robot-demos 1\nresolution 16\nframe_every 15\n";
  expect_error([&] { read_demonstrations(dir); }, {dir + "/format.txt", "leaked the start", "regenerate"});
  fs::remove(dir + "/format.txt");
  expect_error([&] { read_demonstrations(dir); }, {dir + "/format.txt", "missing"});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace df::robot
