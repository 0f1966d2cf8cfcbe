// df::write_file_atomically: the new content replaces the old one whole; a writer that fails midway, a
// failure before the rename or a failed rename leave the old content and no temporary file; a folder is
// published whole and only once; errors name the path.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "df/core/atomic_file.h"
#include "df/core/error.h"
#include "../error_of.h"

namespace fs = std::filesystem;
using df::error_of;

namespace {

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("df_atomic_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Every entry of the test folder, to see that no temporary is left behind.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  static std::string read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path dir_;
};

}  // namespace

TEST_F(AtomicFileTest, ReplacesTheContentThroughATemporaryBesideIt) {
  const auto target = path("metrics.csv");
  df::write_text_atomically(target, "old\n");
  std::string seen;
  df::write_file_atomically(target, [&](const std::string& temp) {
    seen = temp;
    // In a folder inside the target's (same file system: an atomic rename), under the target's own name.
    EXPECT_EQ(fs::path(temp).parent_path().parent_path(), fs::path(target).parent_path());
    EXPECT_EQ(fs::path(temp).filename(), fs::path(target).filename());
    EXPECT_NE(temp, target);
    EXPECT_EQ(read(target), "old\n");  // the old file is intact while the new one is written
    std::ofstream(temp, std::ios::binary) << std::string("new\0bytes", 9);
  });
  EXPECT_EQ(read(target), std::string("new\0bytes", 9));
  EXPECT_FALSE(fs::exists(seen));
  EXPECT_EQ(entries(), std::vector<std::string>{"metrics.csv"});
}

TEST_F(AtomicFileTest, AWriterThatThrowsMidwayLeavesTheOldFile) {
  const auto target = path("config.yaml");
  df::write_text_atomically(target, "a: 1\n");
  EXPECT_THROW(df::write_file_atomically(target,
                                         [&](const std::string& temp) {
                                           std::ofstream(temp) << "a: 2\nb:";  // half written
                                           throw std::runtime_error("disk full");
                                         }),
               std::runtime_error);  // the writer's own exception goes on
  EXPECT_EQ(read(target), "a: 1\n");
  EXPECT_EQ(entries(), std::vector<std::string>{"config.yaml"});
  // The same when the failure comes after the temporary is complete, before the rename.
  EXPECT_THROW(df::write_file_atomically(
                   target, [&](const std::string& temp) { std::ofstream(temp) << "a: 3\n"; },
                   [] { throw std::runtime_error("crash before rename"); }),
               std::runtime_error);
  EXPECT_EQ(read(target), "a: 1\n");
  EXPECT_EQ(entries(), std::vector<std::string>{"config.yaml"});
}

TEST_F(AtomicFileTest, FailuresNameThePath) {
  // A writer that writes nothing: the flush fails, naming the path.
  const auto target = path("checkpoint.pt");
  auto message = error_of([&] { df::write_file_atomically(target, [](const std::string&) {}); });
  EXPECT_NE(message.find(target), std::string::npos) << message;
  // The rename fails: a file cannot replace a non-empty folder.
  const auto folder = path("taken");
  fs::create_directories(folder + "/inside");
  message = error_of([&] { df::write_text_atomically(folder, "x"); });
  EXPECT_NE(message.find(folder + ": cannot move the new version into place"), std::string::npos) << message;
  EXPECT_TRUE(fs::is_directory(folder + "/inside"));
  // A folder that does not exist.
  message = error_of([&] { df::write_text_atomically(path("missing/file.txt"), "x"); });
  EXPECT_NE(message.find(path("missing/file.txt")), std::string::npos) << message;
  EXPECT_EQ(entries(), std::vector<std::string>{"taken"});
}

TEST_F(AtomicFileTest, AFolderIsPublishedWholeAndOnlyOnce) {
  const auto target = path("demos");
  auto write_demos = [](const std::string& content) {
    return [content](const std::string& temp) {
      fs::create_directories(temp + "/demo_0");
      std::ofstream(temp + "/format.txt") << content;
      std::ofstream(temp + "/demo_0/frames.npy") << content;
    };
  };
  df::write_file_atomically(target, write_demos("first"));
  EXPECT_EQ(read(target + "/format.txt"), "first");
  EXPECT_EQ(read(target + "/demo_0/frames.npy"), "first");
  // A second writer (another rank) loses the race: an error naming the folder, the first copy intact.
  const auto message = error_of([&] { df::write_file_atomically(target, write_demos("second")); });
  EXPECT_NE(message.find(target), std::string::npos) << message;
  EXPECT_EQ(read(target + "/format.txt"), "first");
  EXPECT_EQ(entries(), std::vector<std::string>{"demos"});
}

TEST_F(AtomicFileTest, TheSameArchiveSavedTwiceHasTheSameBytes) {
  // LibTorch names an archive's records after the file it is saved to: a temporary named by process id and
  // call would make every save of the same weights differ (shipped weights, their SHA-256, git diffs).
  const auto target = path("weights.pt");
  auto save = [&] {
    torch::serialize::OutputArchive archive;
    archive.write("w", torch::arange(6, torch::kFloat).view({2, 3}));
    df::write_file_atomically(target, [&](const std::string& temp) { archive.save_to(temp); });
    return read(target);
  };
  const auto first = save();
  const auto second = save();
  ASSERT_GT(first.size(), 100u);
  EXPECT_EQ(first, second);
  EXPECT_NE(first.find("weights/"), std::string::npos);  // the records are named after the final file
  EXPECT_EQ(entries(), std::vector<std::string>{"weights.pt"});
}
