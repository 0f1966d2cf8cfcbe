// Configuration: defaults -> file -> --set; unknown keys, wrong types and out-of-range values are errors
// that name the source and the key path.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "df/core/config.h"
#include "df/core/error.h"
#include "../error_of.h"

namespace df {
namespace {

const char* kDefaults = R"(
training:
  lr: 0.0002
  steps: 100
  betas: [0.9, 0.999]
  precision: fp32
  ema: false
model:
  z_shape: [16, 8, 8]
)";

Config make() {
  auto c = Config::from_defaults(kDefaults);
  c.require_positive("training.lr");
  c.require_choice("training.precision", {"fp32", "fp16", "bf16"});
  return c;
}

TEST(Config, OverrideOrderDefaultsFileSet) {
  const auto path = (std::filesystem::temp_directory_path() / "df_cfg_ok.yaml").string();
  std::ofstream(path) << "training:\n  lr: 0.001\n  steps: 7\n";
  auto c = make();
  c.merge_file(path);
  c.set("training.steps=9");
  c.set("model.z_shape=[4, 2, 2]");
  c.validate();
  EXPECT_DOUBLE_EQ(c.get_double("training.lr"), 0.001);
  EXPECT_EQ(c.get_int("training.steps"), 9);
  EXPECT_EQ(c.get_int_list("model.z_shape"), (std::vector<int64_t>{4, 2, 2}));
  EXPECT_FALSE(c.get_bool("training.ema"));
  // The resolved YAML round-trips.
  auto again = Config::from_defaults(kDefaults);
  again.merge_text(c.to_yaml(), "resolved");
  EXPECT_EQ(again.get_int("training.steps"), 9);
}

// Types come from the defaults, not from the last merged value: a stored config that wrote a number as
// "0" must still accept "2.0" from a later file (df_maze_eval merges its --config over a checkpoint's).
TEST(Config, TypesFollowTheDefaultsNotTheLastMergedValue) {
  auto c = make();
  c.merge_text("training:\n  lr: 1\n", "stored");
  EXPECT_NO_THROW(c.merge_text("training:\n  lr: 0.002\n", "file"));
  EXPECT_DOUBLE_EQ(c.get_double("training.lr"), 0.002);
  // ... and an integer key stays an integer whatever was merged before.
  c.set("training.steps=3");
  const auto e = error_of([&] { c.set("training.steps=2.5"); });
  EXPECT_NE(e.find("training.steps: expected an integer"), std::string::npos) << e;
  // Copies keep the schema.
  Config copy = c;
  EXPECT_NO_THROW(copy.set("training.lr=0.5"));
}

TEST(Config, ErrorsNameTheFileAndKey) {
  const auto path = (std::filesystem::temp_directory_path() / "df_cfg_bad.yaml").string();
  std::ofstream(path) << "training:\n  lrr: 0.1\n";
  auto e = error_of([&] { make().merge_file(path); });
  EXPECT_NE(e.find(path), std::string::npos) << e;
  EXPECT_NE(e.find("training.lrr: unknown key"), std::string::npos) << e;

  e = error_of([&] { make().set("training.steps=abc"); });
  EXPECT_NE(e.find("training.steps: expected an integer"), std::string::npos) << e;
  EXPECT_NE(e.find("--set"), std::string::npos) << e;

  e = error_of([&] { make().set("model.z_shape=[1, x]"); });
  EXPECT_NE(e.find("model.z_shape: expected a list of integers"), std::string::npos) << e;

  e = error_of([&] {
    auto c = make();
    c.set("training.lr=-1");
    c.validate();
  });
  EXPECT_NE(e.find("training.lr: expected a number > 0, got -1"), std::string::npos) << e;

  e = error_of([&] {
    auto c = make();
    c.set("training.precision=fp8");
    c.validate();
  });
  EXPECT_NE(e.find("training.precision: expected one of fp32, fp16, bf16"), std::string::npos) << e;

  std::ofstream(path) << "training: [unclosed\n";
  e = error_of([&] { make().merge_file(path); });
  EXPECT_NE(e.find("YAML syntax error"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { make().merge_file("/nonexistent/x.yaml"); }).find("/nonexistent/x.yaml"), std::string::npos);
}

}  // namespace
}  // namespace df
