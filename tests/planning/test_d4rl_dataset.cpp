#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "df/core/error.h"
#include "df/planning/d4rl_dataset.h"
#include "df/planning/d4rl_hdf5.h"

namespace df::planning {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("df_planning_test_" + name)).string();
}

D4rlDataset small_umaze_dataset(bool noisy = false) {
  DatasetGenerationOptions options;
  options.env_id = "maze2d-umaze-v1";
  options.num_samples = 3000;
  options.noisy = noisy;
  options.seed = 11;
  return generate_maze2d_dataset(options);
}

TEST(D4rlDataset, GeneratorKeepsTheOriginalQuirks) {
  const D4rlDataset d = small_umaze_dataset();
  ASSERT_EQ(d.size(), 3000u);
  d.check_consistent("test");
  int cuts = 0;
  for (size_t i = 0; i + 1 < d.size(); ++i) {
    EXPECT_EQ(d.terminals[i], 0);
    if (d.timeouts[i] == 0) continue;
    ++cuts;
    // The record after a cut repeats the observation, while infos/qpos holds the advanced state.
    for (size_t k = 0; k < 4; ++k) EXPECT_EQ(d.observations[4 * (i + 1) + k], d.observations[4 * i + k]);
    // A new navigation goal starts at the cut.
    EXPECT_TRUE(d.goals[2 * (i + 1)] != d.goals[2 * i] || d.goals[2 * i + 3] != d.goals[2 * i + 1]);
  }
  EXPECT_GT(cuts, 5) << "the expert reaches several random goals in 3000 steps";
  // Outside cuts, observations are the simulator state (infos/qpos, infos/qvel).
  EXPECT_EQ(d.observations[0], d.qpos[0]);
  EXPECT_EQ(d.observations[3], d.qvel[1]);
  // Rewards are relabelled against the fixed goal (1, 1).
  for (size_t i = 0; i < d.size(); ++i) {
    const double dist = std::hypot(d.observations[4 * i] - 1.0, d.observations[4 * i + 1] - 1.0);
    ASSERT_EQ(d.rewards[i], dist <= 0.5 ? 1.0F : 0.0F) << i;
  }
  for (float a : d.actions) ASSERT_LE(std::abs(a), 1.0F);
}

TEST(D4rlDataset, NoisyActionsSpreadMore) {
  const DatasetStatistics clean = compute_statistics(small_umaze_dataset(false));
  const DatasetStatistics noisy = compute_statistics(small_umaze_dataset(true));
  EXPECT_GT(noisy.action_std[0], 0.5);
  EXPECT_GT(clean.reward_mean, 0.0);
  EXPECT_NE(clean.action_std[0], noisy.action_std[0]);
}

TEST(D4rlDataset, StatisticsOfAHandMadeDataset) {
  D4rlDataset d;
  d.observations = {0, 0, 0, 0, 2, 4, 6, 8};
  d.actions = {1, -1, -1, 1};
  d.rewards = {0, 1};
  d.terminals = {0, 0};
  const DatasetStatistics s = compute_statistics(d);
  EXPECT_DOUBLE_EQ(s.observation_mean[1], 2.0);
  EXPECT_DOUBLE_EQ(s.observation_std[3], 4.0);  // population std
  EXPECT_DOUBLE_EQ(s.action_mean[0], 0.0);
  EXPECT_DOUBLE_EQ(s.action_std[1], 1.0);
  EXPECT_DOUBLE_EQ(s.reward_mean, 0.5);
}

TEST(D4rlHdf5, RoundTripKeepsEveryKeyExactly) {
  const D4rlDataset d = small_umaze_dataset(true);
  for (bool compress : {true, false}) {
    const std::string path = temp_path(compress ? "roundtrip_gz.hdf5" : "roundtrip.hdf5");
    write_d4rl_hdf5(d, path, compress);
    const D4rlDataset back = read_d4rl_hdf5(path);
    EXPECT_EQ(back.observations, d.observations);
    EXPECT_EQ(back.actions, d.actions);
    EXPECT_EQ(back.rewards, d.rewards);
    EXPECT_EQ(back.terminals, d.terminals);
    EXPECT_EQ(back.timeouts, d.timeouts);
    EXPECT_EQ(back.goals, d.goals);
    EXPECT_EQ(back.qpos, d.qpos);
    EXPECT_EQ(back.qvel, d.qvel);
    std::filesystem::remove(path);
  }
}

TEST(D4rlHdf5, ReplacesAnExistingFileWholeAndLeavesNoTemporaryFile) {
  // A dataset cache shared by runs: the write goes to a temporary name and is renamed into place.
  const std::string dir = temp_path("atomic_write");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/cache.hdf5";
  const D4rlDataset small = small_umaze_dataset();
  const D4rlDataset full = small_umaze_dataset(true);
  ASSERT_NE(small.observations, full.observations);
  write_d4rl_hdf5(small, path);
  // A second name for the first file stands for a run that is reading it: a replacement must not touch it
  // (a write in place would truncate and rewrite what that reader sees).
  const std::string reader_view = dir + "/reader_view.hdf5";
  std::filesystem::create_hard_link(path, reader_view);
  write_d4rl_hdf5(full, path);
  EXPECT_EQ(read_d4rl_hdf5(path).observations, full.observations);
  EXPECT_EQ(read_d4rl_hdf5(reader_view).observations, small.observations);
  std::filesystem::remove(reader_view);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
  // A failed write (the target is a directory) keeps nothing and says where.
  const std::string blocked = dir + "/blocked.hdf5";
  std::filesystem::create_directories(blocked + "/inside");
  try {
    write_d4rl_hdf5(small, blocked);
    ADD_FAILURE() << "writing over a directory succeeded";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(blocked), std::string::npos) << e.what();
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 2);
  std::filesystem::remove_all(dir);
}

TEST(D4rlHdf5, WritesTheD4rlLayoutAndH5pyBooleans) {
  const D4rlDataset d = small_umaze_dataset();
  const std::string path = temp_path("layout.hdf5");
  write_d4rl_hdf5(d, path);
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  for (const char* key : {"observations", "actions", "rewards", "terminals", "timeouts", "infos/goal", "infos/qpos",
                          "infos/qvel"}) {
    hid_t ds = H5Dopen2(file, key, H5P_DEFAULT);
    ASSERT_GE(ds, 0) << key;
    hid_t type = H5Dget_type(ds);
    const std::string k = key;
    if (k == "terminals" || k == "timeouts") {
      EXPECT_EQ(H5Tget_class(type), H5T_ENUM) << key;
      EXPECT_EQ(H5Tget_size(type), 1u) << key;
    } else {
      EXPECT_EQ(H5Tget_class(type), H5T_FLOAT) << key;
      EXPECT_EQ(H5Tget_size(type), 4u) << key;
    }
    H5Tclose(type);
    H5Dclose(ds);
  }
  H5Fclose(file);
  std::filesystem::remove(path);
}

// Writes a file with only some D4RL keys, built by hand (float64 rewards, uint8 terminals as in other
// producers) to test reading of foreign files.
void write_partial_file(const std::string& path, bool with_actions, hsize_t obs_cols) {
  hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  auto put = [file](const char* key, hid_t file_type, hid_t mem_type, const void* data, int rank, const hsize_t* dims) {
    hid_t space = H5Screate_simple(rank, dims, nullptr);
    hid_t ds = H5Dcreate2(file, key, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(ds);
    H5Sclose(space);
  };
  const std::vector<double> obs(3 * obs_cols, 0.25);
  const std::vector<double> actions(6, -0.5);
  const std::vector<double> rewards = {0.0, 1.0, 0.0};
  const std::vector<unsigned char> terminals = {0, 0, 1};
  const hsize_t obs_dims[2] = {3, obs_cols};
  const hsize_t act_dims[2] = {3, 2};
  const hsize_t vec_dims[1] = {3};
  put("observations", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, obs.data(), 2, obs_dims);
  if (with_actions) put("actions", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, actions.data(), 2, act_dims);
  put("rewards", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rewards.data(), 1, vec_dims);
  put("terminals", H5T_STD_U8LE, H5T_NATIVE_UCHAR, terminals.data(), 1, vec_dims);
  H5Fclose(file);
}

TEST(D4rlHdf5, ReadsForeignTypesAndOptionalKeys) {
  const std::string path = temp_path("foreign.hdf5");
  write_partial_file(path, true, 4);
  const D4rlDataset d = read_d4rl_hdf5(path);
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.observations[5], 0.25F);
  EXPECT_EQ(d.actions[1], -0.5F);
  EXPECT_EQ(d.rewards[1], 1.0F);
  EXPECT_EQ(d.terminals, (std::vector<std::uint8_t>{0, 0, 1}));
  EXPECT_TRUE(d.timeouts.empty());
  EXPECT_TRUE(d.goals.empty());
  std::filesystem::remove(path);
}

TEST(D4rlHdf5, ErrorsNameTheFileAndTheMissingKey) {
  const std::string path = temp_path("no_actions.hdf5");
  write_partial_file(path, false, 4);
  try {
    read_d4rl_hdf5(path);
    FAIL() << "expected df::Error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << what;
    EXPECT_NE(what.find("'actions'"), std::string::npos) << what;
  }
  std::filesystem::remove(path);
}

TEST(D4rlHdf5, ErrorsNameTheWrongShapeAndMissingFiles) {
  const std::string path = temp_path("bad_shape.hdf5");
  write_partial_file(path, true, 3);
  try {
    read_d4rl_hdf5(path);
    FAIL() << "expected df::Error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'observations'"), std::string::npos) << what;
    EXPECT_NE(what.find("(3, 3)"), std::string::npos) << what;
  }
  std::filesystem::remove(path);
  const std::string missing = temp_path("does_not_exist.hdf5");
  try {
    read_d4rl_hdf5(missing);
    FAIL() << "expected df::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos);
  }
}

}  // namespace
}  // namespace df::planning
