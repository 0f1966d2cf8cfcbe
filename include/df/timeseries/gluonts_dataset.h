// GluonTS multivariate datasets (exchange_rate_nips, solar_nips, ...) read without Python.
//
// Input: either the GluonTS archive `<name>.tar.gz` or the extracted directory
//   <name>/train/*.json[.gz]     one JSON line per series: {"start": "...", "target": [...], ...}
//   <name>/test/*.json[.gz]      rolling test windows, window-major (lines 0..N-1 = window 1, ...)
//   <name>/metadata/metadata.json (optional) {"freq"|"time_granularity": "B", "prediction_length": 30, ...}
// Output: one multivariate series, grouped like GluonTS' MultivariateGrouper:
//   train        [T_train, D]
//   test windows [T_k, D] each, read as given (never rebuilt from train); the last
//                prediction_length rows of each window are its forecast target.
// D = min(max_target_dim, N): the first D series are kept. Values are float32; "NaN" strings, NaN and
// null targets become NaN.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "df/timeseries/timestamp.h"

namespace df::timeseries {

// The GluonTS registry values of a dataset (gluonts/dataset/repository/_gp_copula_2019.py).
struct TimeSeriesSpec {
  std::string name;               // GluonTS name, e.g. "exchange_rate_nips"
  std::string freq;               // pandas frequency string, e.g. "B"
  int64_t prediction_length = 0;  // forecast horizon (= context length in Diffusion Forcing)
  int64_t rolling_windows = 0;    // number of rolling test windows
};

// The six datasets of the paper, in the order exchange, solar, electricity, traffic, taxi, wikipedia.
const std::vector<TimeSeriesSpec>& known_time_series_specs();
// The spec named `name` (GluonTS name), or nullopt.
std::optional<TimeSeriesSpec> find_time_series_spec(const std::string& name);

struct GluonTSReadOptions {
  int64_t max_target_dim = 2000;  // MultivariateGrouper(max_target_dim = min(2000, N))
};

struct GluonTSDataset {
  std::string name;                    // top folder of the archive / directory name
  std::string freq;                    // metadata "freq" or "time_granularity", else the spec's
  std::optional<int64_t> prediction_length;  // metadata value, else the spec's, else unset
  int64_t num_series = 0;              // N: train lines in the files (before max_target_dim)
  int64_t target_dim = 0;              // D = min(max_target_dim, N)
  Timestamp train_start;
  torch::Tensor train;                 // [T_train, D] float32
  std::vector<Timestamp> test_starts;  // one per window
  std::vector<torch::Tensor> test_windows;  // each [T_k, D] float32
  std::vector<int64_t> feat_static_cat;     // first category of each kept train series, or empty

  int64_t num_test_windows() const { return static_cast<int64_t>(test_windows.size()); }
};

// Reads an archive (path ending in .tar.gz / .tgz / .tar) or an extracted dataset directory.
// Throws df::Error naming the file (and member / line) on malformed input: inconsistent series
// lengths or starts inside a window, |test lines| not a multiple of |train lines|, bad JSON.
GluonTSDataset read_gluonts_dataset(const std::string& path, const GluonTSReadOptions& options = {});

// One parsed JSON line of a GluonTS file.
struct GluonTSEntry {
  Timestamp start;
  std::vector<double> target;
  std::vector<int64_t> feat_static_cat;  // empty when absent
};
// Parses JSON lines (blank lines skipped); `source` names the file in errors as "source:line".
std::vector<GluonTSEntry> parse_gluonts_json_lines(const std::string& text, const std::string& source);

// LSTNet matrix (github laiguokun/multivariate-time-series-data): rows of comma-separated numbers,
// no header; `.txt` or `.txt.gz`. Returns [rows, columns] float32.
torch::Tensor read_lstnet_matrix(const std::string& path);

}  // namespace df::timeseries
