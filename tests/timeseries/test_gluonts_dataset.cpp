#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "df/core/error.h"
#include "df/timeseries/gluonts_dataset.h"
#include "archive_writer.h"

namespace dt = df::timeseries;
namespace fs = std::filesystem;

namespace {

const std::string kRepo = DF_SOURCE_DIR;

// A fresh empty folder per test, removed by the fixture.
class TempDir {
 public:
  explicit TempDir(const std::string& tag)
      : path_(fs::temp_directory_path() / ("df_ts_" + tag + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A small GluonTS set: 3 series, train length 5 from 2021-03-01 00:00 (hourly), 2 rolling windows of
// lengths 7 and 9, a "NaN" string in the train and test, and feat_static_cat.
const char* kTrain =
    "{\"start\": \"2021-03-01 00:00:00\", \"target\": [1.0, 2.0, \"NaN\", 4.0, 5.0], \"feat_static_cat\": [0]}\n"
    "{\"start\": \"2021-03-01 00:00:00\", \"target\": [10, 20, 30, 40, 50], \"feat_static_cat\": [1]}\n"
    "{\"start\": \"2021-03-01 00:00:00\", \"target\": [-1.5e-3, 0, 1E2, 7.25, 8], \"feat_static_cat\": [2], \"item_id\": \"c\"}\n";
const char* kTest =
    "{\"start\": \"2021-03-01 00:00:00\", \"target\": [1, 2, \"NaN\", 4, 5, 6, 7], \"feat_static_cat\": [0]}\n"
    "{\"start\": \"2021-03-01 00:00:00\", \"target\": [10, 20, 30, 40, 50, 60, 70], \"feat_static_cat\": [1]}\n"
    "{\"start\": \"2021-03-01 00:00:00\", \"target\": [-1.5e-3, 0, 100, 7.25, 8, 9, 10], \"feat_static_cat\": [2]}\n"
    "\n"
    "{\"start\": \"2021-03-01 00:00:00\", \"target\": [1, 2, \"NaN\", 4, 5, 6, 7, 8, 9], \"feat_static_cat\": [0]}\n"
    "{\"start\": \"2021-03-01 00:00:00\", \"target\": [10, 20, 30, 40, 50, 60, 70, 80, 90], \"feat_static_cat\": [1]}\n"
    "{\"start\": \"2021-03-01 00:00:00\", \"target\": [-1.5e-3, 0, 100, 7.25, 8, 9, 10, 11, 12], \"feat_static_cat\": [2]}\n";
const char* kMetadata = "{\"freq\": \"H\", \"prediction_length\": 2, \"feat_static_cat\": [{\"name\": \"c\", \"cardinality\": \"3\"}]}";

bool same_with_nan(const torch::Tensor& a, const torch::Tensor& b) {
  return a.sizes() == b.sizes() && torch::allclose(a, b, 0.0, 0.0, /*equal_nan=*/true);
}

void expect_small_dataset(const dt::GluonTSDataset& data) {
  EXPECT_EQ(data.name, "tiny_set");
  EXPECT_EQ(data.freq, "H");
  ASSERT_TRUE(data.prediction_length.has_value());
  EXPECT_EQ(*data.prediction_length, 2);
  EXPECT_EQ(data.num_series, 3);
  EXPECT_EQ(data.target_dim, 3);
  EXPECT_EQ(data.train_start, dt::make_timestamp(2021, 3, 1));
  const float nan = std::nanf("");
  const torch::Tensor train = torch::tensor({1.0f, 2.0f, nan, 4.0f, 5.0f, 10.0f, 20.0f, 30.0f, 40.0f, 50.0f, -1.5e-3f, 0.0f, 100.0f, 7.25f, 8.0f})
                                  .view({3, 5}).t();
  EXPECT_TRUE(same_with_nan(data.train, train));
  ASSERT_EQ(data.num_test_windows(), 2);
  EXPECT_EQ(data.test_windows[0].sizes(), torch::IntArrayRef({7, 3}));
  EXPECT_EQ(data.test_windows[1].sizes(), torch::IntArrayRef({9, 3}));
  EXPECT_TRUE(same_with_nan(data.test_windows[1].narrow(0, 0, 5), train));
  EXPECT_EQ(data.test_windows[1][8][2].item<float>(), 12.0f);
  EXPECT_EQ(data.feat_static_cat, (std::vector<int64_t>{0, 1, 2}));
}

// The df::Error message of `read`, or "" (and a test failure) when it does not throw one.
template <typename Read>
std::string error_of(Read read) {
  try {
    read();
  } catch (const df::Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected df::Error";
  return "";
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Three hourly series of 4000 pseudo-random values (~100 KB): large enough that a cut through the
// compressed archive lands inside this member.
std::string long_train_text() {
  std::string text;
  uint32_t state = 12345;
  for (int series = 0; series < 3; ++series) {
    text += "{\"start\": \"2021-03-01 00:00:00\", \"target\": [";
    for (int t = 0; t < 4000; ++t) {
      state = state * 1664525u + 1013904223u;
      text += (t > 0 ? ", " : "") + std::to_string(state % 100000) + "." + std::to_string(state % 97);
    }
    text += "]}\n";
  }
  return text;
}

}  // namespace

TEST(GluonTSDatasetTest, ReadsExchangeRateArchive) {
  const std::string archive = kRepo + "/data/timeseries/exchange_rate_nips.tar.gz";
  ASSERT_TRUE(fs::exists(archive)) << archive << " is missing: the repository ships it (data/timeseries/SOURCE.md)";
  const dt::GluonTSDataset data = dt::read_gluonts_dataset(archive);
  EXPECT_EQ(data.name, "exchange_rate_nips");
  EXPECT_EQ(data.freq, "B");
  EXPECT_EQ(data.prediction_length.value_or(-1), 30);  // from the registry spec (metadata has only the freq)
  EXPECT_EQ(data.train_start, dt::parse_timestamp("1990-01-01 00:00:00"));
  EXPECT_EQ(data.train.sizes(), torch::IntArrayRef({6071, 8}));
  ASSERT_EQ(data.num_test_windows(), 5);
  for (int64_t k = 0; k < 5; ++k) {
    EXPECT_EQ(data.test_windows[k].sizes(), torch::IntArrayRef({6071 + 30 * (k + 1), 8}));
    EXPECT_TRUE(torch::equal(data.test_windows[k].narrow(0, 0, 6071), data.train)) << "window " << k;
    EXPECT_EQ(data.test_starts[k], data.train_start);
  }
  EXPECT_FLOAT_EQ(data.train[0][0].item<float>(), 0.7855f);


  // An independent source of the same series: LSTNet's exchange_rate.txt.gz (github
  // laiguokun/multivariate-time-series-data, sha256 6a4fbb56...; no licence stated, so not shipped), whose
  // first 6221 rows are the longest test window. Read from it: rows 6070, 6071 and 6220, and the column sums
  // of its float32 values over rows 0..6220 (exact sums, math.fsum).
  const torch::Tensor window = data.test_windows[4];  // [6221, 8]
  const float lstnet_rows[3][8] = {
      {1.025347f, 1.606813f, 1.022066f, 1.070526f, 0.159363f, 0.012697f, 0.819001f, 0.818424f},   // 6070
      {1.026905f, 1.611733f, 1.014096f, 1.079214f, 0.159627f, 0.012674f, 0.813603f, 0.819672f},   // 6071
      {1.044998f, 1.517934f, 0.978378f, 1.054118f, 0.161071f, 0.010645f, 0.834620f, 0.803607f}};  // 6220
  const int64_t row_index[3] = {6070, 6071, 6220};
  for (int r = 0; r < 3; ++r)
    for (int64_t d = 0; d < 8; ++d)
      EXPECT_EQ(window[row_index[r]][d].item<float>(), lstnet_rows[r][d]) << "row " << row_index[r] << " dim " << d;
  const double lstnet_sums[8] = {4762.422899186611, 10319.613229632378, 5081.143320977688, 4992.081112861633,
                                 867.0947703197598, 58.30835100216791,  3930.6151865422726, 4046.564116001129};
  const auto sums = window.to(torch::kDouble).sum(0);
  for (int64_t d = 0; d < 8; ++d) EXPECT_NEAR(sums[d].item<double>(), lstnet_sums[d], 1e-9 * lstnet_sums[d]) << d;
}

TEST(GluonTSDatasetTest, MaxTargetDimKeepsFirstSeries) {
  dt::GluonTSReadOptions options;
  options.max_target_dim = 3;
  const dt::GluonTSDataset full = dt::read_gluonts_dataset(kRepo + "/data/timeseries/exchange_rate_nips.tar.gz");
  const dt::GluonTSDataset cut = dt::read_gluonts_dataset(kRepo + "/data/timeseries/exchange_rate_nips.tar.gz", options);
  EXPECT_EQ(cut.num_series, 8);
  EXPECT_EQ(cut.target_dim, 3);
  EXPECT_TRUE(torch::equal(cut.train, full.train.narrow(1, 0, 3)));
  EXPECT_TRUE(torch::equal(cut.test_windows[2], full.test_windows[2].narrow(1, 0, 3)));
}

TEST(GluonTSDatasetTest, ReadsGeneratedArchiveWithPaxHeadersNanAndCategories) {
  TempDir dir("archive");
  const std::string archive = (dir.path() / "tiny_set.tar.gz").string();
  // The train member's name is too long for a ustar header and has an extended attribute: libarchive
  // writes a pax 'x' header for it, as macOS tar does.
  const std::string long_train_name = "tiny_set/train/" + std::string(120, 't') + ".json";
  df_test::write_tar_gz(archive, {
                                     {"tiny_set/", "", /*directory=*/true},
                                     {"tiny_set/metadata/metadata.json", kMetadata},
                                     {long_train_name, kTrain, /*directory=*/false, /*pax_header=*/true},
                                     {"tiny_set/test/test.json", kTest},
                                     {"tiny_set/README.txt", "ignored"},
                                 });
  expect_small_dataset(dt::read_gluonts_dataset(archive));
}

TEST(GluonTSDatasetTest, ExtractedDirectoryReadsIdentically) {
  TempDir dir("folder");
  const fs::path root = dir.path() / "tiny_set";
  // train is gzipped (as newer GluonTS caches write data.json.gz), test is plain text.
  fs::create_directories(root / "train");
  df_test::write_gzip_file((root / "train" / "data.json.gz").string(), kTrain);
  write_text(root / "test" / "test.json", kTest);
  write_text(root / "metadata" / "metadata.json", kMetadata);
  expect_small_dataset(dt::read_gluonts_dataset(root.string()));

  // Same content as an archive gives identical tensors.
  const std::string archive = (dir.path() / "tiny_set.tar.gz").string();
  df_test::write_tar_gz(archive, {{"tiny_set/metadata/metadata.json", kMetadata},
                                  {"tiny_set/train/train.json", kTrain},
                                  {"tiny_set/test/test.json", kTest}});
  const dt::GluonTSDataset from_folder = dt::read_gluonts_dataset(root.string());
  const dt::GluonTSDataset from_archive = dt::read_gluonts_dataset(archive);
  EXPECT_TRUE(same_with_nan(from_folder.train, from_archive.train));
  for (int64_t k = 0; k < 2; ++k) EXPECT_TRUE(same_with_nan(from_folder.test_windows[k], from_archive.test_windows[k]));
}

TEST(GluonTSDatasetTest, MalformedJsonLineNamesFileAndLine) {
  TempDir dir("malformed");
  const fs::path root = dir.path() / "bad_set";
  std::string train = kTrain;
  const size_t third_line = train.find("{\"start\"", train.find('\n', train.find('\n') + 1));
  train.insert(train.find(']', third_line), ",");  // "[..., 8,]" on line 3
  write_text(root / "train" / "train.json", train);
  write_text(root / "test" / "test.json", kTest);
  try {
    dt::read_gluonts_dataset(root.string());
    FAIL() << "expected df::Error";
  } catch (const df::Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find((root / "train" / "train.json").string() + ":3"), std::string::npos) << message;
    EXPECT_NE(message.find("column"), std::string::npos) << message;
  }

  // In an archive the message names archive, member and line.
  const std::string archive = (dir.path() / "bad_set.tar.gz").string();
  df_test::write_tar_gz(archive, {{"bad_set/train/train.json", train}, {"bad_set/test/test.json", kTest}});
  try {
    dt::read_gluonts_dataset(archive);
    FAIL() << "expected df::Error";
  } catch (const df::Error& error) {
    EXPECT_NE(std::string(error.what()).find(archive + ":bad_set/train/train.json:3"), std::string::npos) << error.what();
  }

  // A non-numeric target string and a test split that is not a multiple of train are reported too.
  write_text(root / "train" / "train.json", "{\"start\": \"2021-01-01\", \"target\": [1, \"abc\"]}\n");
  EXPECT_THROW(dt::read_gluonts_dataset(root.string()), df::Error);
  write_text(root / "train" / "train.json", kTrain);
  write_text(root / "test" / "test.json", "{\"start\": \"2021-03-01\", \"target\": [1]}\n");
  try {
    dt::read_gluonts_dataset(root.string());
    FAIL() << "expected df::Error";
  } catch (const df::Error& error) {
    EXPECT_NE(std::string(error.what()).find("not a multiple"), std::string::npos) << error.what();
  }
}

TEST(GluonTSDatasetTest, SpecsOfThePaperDatasets) {
  ASSERT_EQ(dt::known_time_series_specs().size(), 6u);
  const auto taxi = dt::find_time_series_spec("taxi_30min");
  ASSERT_TRUE(taxi.has_value());
  EXPECT_EQ(taxi->freq, "30min");
  EXPECT_EQ(taxi->prediction_length, 24);
  EXPECT_EQ(taxi->rolling_windows, 56);
  EXPECT_EQ(dt::find_time_series_spec("wiki-rolling_nips")->rolling_windows, 5);
  EXPECT_FALSE(dt::find_time_series_spec("wiki2000_nips").has_value());
}

TEST(GluonTSDatasetTest, LstnetReaderChecksColumns) {
  TempDir dir("lstnet");
  write_text(dir.path() / "m.txt", "1,2,3\n4,5,6\n");
  const torch::Tensor matrix = dt::read_lstnet_matrix((dir.path() / "m.txt").string());
  EXPECT_TRUE(torch::equal(matrix, torch::tensor({1.f, 2.f, 3.f, 4.f, 5.f, 6.f}).view({2, 3})));
  write_text(dir.path() / "bad.txt", "1,2,3\n4,5\n");
  try {
    dt::read_lstnet_matrix((dir.path() / "bad.txt").string());
    FAIL() << "expected df::Error";
  } catch (const df::Error& error) {
    EXPECT_NE(std::string(error.what()).find("bad.txt:2"), std::string::npos) << error.what();
  }
}

TEST(GluonTSDatasetTest, TruncatedArchiveNamesArchiveAndMember) {
  TempDir dir("truncated");
  const std::string archive = (dir.path() / "cut_set.tar.gz").string();
  df_test::write_tar_gz(archive, {{"cut_set/test/test.json", kTest}, {"cut_set/train/train.json", long_train_text()}});
  EXPECT_NO_THROW(dt::read_gluonts_dataset(archive));  // intact, it reads
  fs::resize_file(archive, fs::file_size(archive) * 6 / 10);
  const std::string message = error_of([&] { dt::read_gluonts_dataset(archive); });
  EXPECT_NE(message.find(archive + ": member 'cut_set/train/train.json': "), std::string::npos) << message;
  EXPECT_NE(lowercase(message).find("truncated"), std::string::npos) << message;
}

TEST(GluonTSDatasetTest, BadJsonLineNamesFileLineAndColumn) {
  TempDir dir("badjson");
  const fs::path root = dir.path() / "bad_set";
  const std::string bad_line = "{\"start\": \"2020-01-01\", \"target\": [1, 2,}";
  const size_t column = bad_line.find(",}") + 2;  // 1-based column of the '}' where a value must come
  write_text(root / "train" / "train.json", "{\"start\": \"2020-01-01\", \"target\": [1, 2]}\n" + bad_line + "\n");
  write_text(root / "test" / "test.json", kTest);
  const std::string message = error_of([&] { dt::read_gluonts_dataset(root.string()); });
  EXPECT_NE(message.find((root / "train" / "train.json").string() + ":2: column " + std::to_string(column) +
                         ": invalid JSON"),
            std::string::npos)
      << message;

  // Metadata errors count lines across the whole file.
  write_text(root / "train" / "train.json", kTrain);
  write_text(root / "metadata" / "metadata.json", "{\n  \"freq\": \"H\",\n  \"prediction_length\": 2x\n}");
  const std::string metadata_message = error_of([&] { dt::read_gluonts_dataset(root.string()); });
  EXPECT_NE(metadata_message.find((root / "metadata" / "metadata.json").string() + ":3: column 25: invalid JSON"),
            std::string::npos)
      << metadata_message;
}

TEST(GluonTSDatasetTest, MissingTargetKeyNamesMemberAndLine) {
  TempDir dir("notarget");
  const std::string archive = (dir.path() / "bad_set.tar.gz").string();
  const std::string train = std::string(kTrain) + "{\"start\": \"2021-03-01 00:00:00\", \"values\": [1, 2, 3, 4, 5]}\n";
  df_test::write_tar_gz(archive, {{"bad_set/train/train.json", train}, {"bad_set/test/test.json", kTest}});
  const std::string message = error_of([&] { dt::read_gluonts_dataset(archive); });
  EXPECT_NE(message.find(archive + ":bad_set/train/train.json:4: missing array key \"target\""), std::string::npos)
      << message;
}

TEST(GluonTSDatasetTest, NonGzipJsonGzNamesFile) {
  TempDir dir("notgzip");
  const fs::path root = dir.path() / "bad_set";
  write_text(root / "train" / "data.json.gz", kTrain);  // plain text under a .gz name
  write_text(root / "test" / "test.json", kTest);
  const std::string path = (root / "train" / "data.json.gz").string();
  std::string message = error_of([&] { dt::read_gluonts_dataset(root.string()); });
  EXPECT_NE(message.find(path + ": not gzip data"), std::string::npos) << message;

  // The same inside an archive names archive and member.
  const std::string archive = (dir.path() / "bad_set.tar.gz").string();
  df_test::write_tar_gz(archive, {{"bad_set/train/data.json.gz", kTrain}, {"bad_set/test/test.json", kTest}});
  message = error_of([&] { dt::read_gluonts_dataset(archive); });
  EXPECT_NE(message.find(archive + ":bad_set/train/data.json.gz: not gzip data"), std::string::npos) << message;

  // Gzip data cut short is reported as such.
  df_test::write_gzip_file(path, long_train_text());
  fs::resize_file(path, fs::file_size(path) / 2);
  message = error_of([&] { dt::read_gluonts_dataset(root.string()); });
  EXPECT_NE(message.find(path + ": cannot read: "), std::string::npos) << message;
  EXPECT_NE(lowercase(message).find("truncated"), std::string::npos) << message;
}

TEST(GluonTSDatasetTest, ConcatenatedGzipMembersReadAsOneFile) {
  // `cat a.gz b.gz > c.gz` is a valid gzip file holding a then b (gzip -d and Python read both parts).
  TempDir dir("concat");
  const fs::path root = dir.path() / "tiny_set";
  const std::string train = kTrain;
  const size_t split = train.find('\n') + 1;
  df_test::write_gzip_file((dir.path() / "a.gz").string(), train.substr(0, split));
  df_test::write_gzip_file((dir.path() / "b.gz").string(), train.substr(split));
  std::ifstream a(dir.path() / "a.gz", std::ios::binary);
  std::ifstream b(dir.path() / "b.gz", std::ios::binary);
  fs::create_directories(root / "train");
  std::ofstream(root / "train" / "train.json.gz", std::ios::binary) << a.rdbuf() << b.rdbuf();
  write_text(root / "test" / "test.json", kTest);
  write_text(root / "metadata" / "metadata.json", kMetadata);
  expect_small_dataset(dt::read_gluonts_dataset(root.string()));
}

TEST(GluonTSDatasetTest, LstnetReaderReadsGzip) {
  TempDir dir("lstnet_gz");
  const std::string path = (dir.path() / "m.txt.gz").string();
  df_test::write_gzip_file(path, "1,2\n3,4.5\n");
  EXPECT_TRUE(torch::equal(dt::read_lstnet_matrix(path), torch::tensor({1.f, 2.f, 3.f, 4.5f}).view({2, 2})));
  write_text(path, "1,2\n3,4.5\n");
  const std::string message = error_of([&] { dt::read_lstnet_matrix(path); });
  EXPECT_NE(message.find(path + ": not gzip data"), std::string::npos) << message;
}
