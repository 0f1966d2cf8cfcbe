#include "df/timeseries/gluonts_dataset.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "archive_io.h"
#include "df/core/error.h"

namespace df::timeseries {
namespace fs = std::filesystem;
namespace {

// A data file of one split, with the name errors should use for it.
struct SourceFile {
  std::string name;   // "archive.tar.gz:member/path" or a filesystem path
  std::string bytes;  // uncompressed text
};

// The files that make up a dataset, split by role.
struct RawDataset {
  std::string name;
  std::vector<SourceFile> train;
  std::vector<SourceFile> test;
  std::optional<SourceFile> metadata;
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_json_lines_file(const std::string& file_name) {
  if (file_name.rfind("._", 0) == 0) return false;  // macOS AppleDouble resource forks inside archives
  return ends_with(file_name, ".json") || ends_with(file_name, ".json.gz") || ends_with(file_name, ".jsonl") ||
         ends_with(file_name, ".jsonl.gz");
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (begin <= path.size()) {
    const size_t end = std::min(path.find('/', begin), path.size());
    if (end > begin) parts.push_back(path.substr(begin, end - begin));
    begin = end + 1;
  }
  return parts;
}

// Role of an archive member: "train", "test", "metadata" or "" (ignored). `dataset_name` receives the
// folder that holds the split folders, if any.
std::string member_role(const std::string& member_path, std::string& dataset_name) {
  const std::vector<std::string> parts = split_path(member_path);
  if (parts.size() < 2) return "";
  const std::string& folder = parts[parts.size() - 2];
  const std::string& file = parts.back();
  std::string role;
  if ((folder == "train" || folder == "test") && is_json_lines_file(file)) role = folder;
  if (folder == "metadata" && file == "metadata.json") role = "metadata";
  if (!role.empty() && parts.size() >= 3) dataset_name = parts[parts.size() - 3];
  return role;
}

// NaN / Infinity: the tokens Python's json.dump writes for non-finite floats. Full precision: numbers
// round like std::from_chars (the default fast path can be an ulp off). Iterative: deep nesting cannot
// overflow the stack. Python never writes the two inputs that differ from a strict reader: an integer
// "-0" reads as +0 and a literal beyond the double range (1e999) is an error.
constexpr unsigned kJsonFlags =
    rapidjson::kParseNanAndInfFlag | rapidjson::kParseFullPrecisionFlag | rapidjson::kParseIterativeFlag;

// Parses one JSON document; an error names "source:line: column c", counting lines from `first_line`.
void parse_json(std::string_view text, const std::string& source, int64_t first_line, rapidjson::Document& document) {
  document.Parse<kJsonFlags>(text.data(), text.size());
  if (!document.HasParseError()) return;
  const size_t offset = std::min(document.GetErrorOffset(), text.size());
  int64_t line = first_line;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  throw Error(source + ":" + std::to_string(line) + ": column " + std::to_string(offset - line_start + 1) +
              ": invalid JSON: " + rapidjson::GetParseError_En(document.GetParseError()));
}

// Member `key` of `object`, or nullptr when absent or when `object` is not an object.
const rapidjson::Value* find_member(const rapidjson::Value& object, const char* key) {
  if (!object.IsObject()) return nullptr;
  const auto member = object.FindMember(key);
  return member == object.MemberEnd() ? nullptr : &member->value;
}

std::string string_of(const rapidjson::Value& value) { return std::string(value.GetString(), value.GetStringLength()); }

// A JSON number, null (NaN) or a string spelling a float ("NaN", "nan", "-Infinity", "1.5"): GluonTS
// targets hold any of these. Errors name `where`, the key and, when `index` >= 0, the array element
// (messages are built only on error: this runs once per value).
double json_to_double(const rapidjson::Value& value, const std::string& where, const char* key, int64_t index = -1) {
  if (value.IsNumber()) return value.GetDouble();
  if (value.IsNull()) return std::numeric_limits<double>::quiet_NaN();
  double number = 0.0;
  if (value.IsString()) {
    const char* begin = value.GetString();
    const char* end = begin + value.GetStringLength();
    const auto result = std::from_chars(begin, end, number);  // also reads nan / inf / infinity, any case
    if (result.ec == std::errc() && result.ptr == end) return number;
  }
  const std::string what = std::string("key \"") + key + "\"" + (index >= 0 ? " element " + std::to_string(index) : "");
  throw Error(where + ": " + what + ": " +
              (value.IsString() ? "string \"" + string_of(value) + "\" is not a number" : "expected a number"));
}

RawDataset load_archive(const std::string& archive_path) {
  RawDataset raw;
  std::string dataset_name;
  const std::vector<detail::ArchiveMember> members =
      detail::read_archive_members(archive_path, [&](const std::string& path) {
        std::string unused;
        return !member_role(path, unused).empty();
      });
  for (const detail::ArchiveMember& member : members) {
    const std::string source = archive_path + ":" + member.path;
    const std::string role = member_role(member.path, dataset_name);
    SourceFile file{source, detail::gunzip_if_needed(member.bytes, source)};
    if (role == "train") raw.train.push_back(std::move(file));
    if (role == "test") raw.test.push_back(std::move(file));
    if (role == "metadata") raw.metadata = std::move(file);
  }
  // Several shards per split are concatenated in file-name order, like GluonTS' FileDataset.
  const auto by_name = [](const SourceFile& a, const SourceFile& b) { return a.name < b.name; };
  std::sort(raw.train.begin(), raw.train.end(), by_name);
  std::sort(raw.test.begin(), raw.test.end(), by_name);
  if (dataset_name.empty()) {
    std::string stem = fs::path(archive_path).filename().string();
    for (const char* suffix : {".tar.gz", ".tgz", ".tar"}) {
      if (ends_with(stem, suffix)) stem = stem.substr(0, stem.size() - std::strlen(suffix));
    }
    dataset_name = stem;
  }
  raw.name = dataset_name;
  return raw;
}

std::vector<SourceFile> load_split_directory(const fs::path& folder) {
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file() && is_json_lines_file(entry.path().filename().string())) {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  std::vector<SourceFile> files;
  for (const std::string& path : paths) files.push_back({path, detail::read_maybe_gzipped_file(path)});
  return files;
}

RawDataset load_directory(const fs::path& root) {
  RawDataset raw;
  raw.name = root.filename().empty() ? root.parent_path().filename().string() : root.filename().string();
  for (const char* split : {"train", "test"}) {
    check(fs::is_directory(root / split),
          root.string() + ": not a GluonTS dataset directory: missing folder '" + split + "'");
  }
  raw.train = load_split_directory(root / "train");
  raw.test = load_split_directory(root / "test");
  const fs::path metadata = root / "metadata" / "metadata.json";
  if (fs::exists(metadata)) {
    raw.metadata = SourceFile{metadata.string(), detail::read_maybe_gzipped_file(metadata.string())};
  }
  return raw;
}

std::vector<GluonTSEntry> parse_split(const std::vector<SourceFile>& files) {
  std::vector<GluonTSEntry> entries;
  for (const SourceFile& file : files) {
    std::vector<GluonTSEntry> part = parse_gluonts_json_lines(file.bytes, file.name);
    entries.insert(entries.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  return entries;
}

// Stacks entries [first, first + count) of `entries` into [T, D] float32 after checking that they share
// one start and one length (MultivariateGrouper would otherwise pad; no GluonTS set of the paper needs it).
torch::Tensor group_window(const std::vector<GluonTSEntry>& entries, size_t first, int64_t count,
                           const std::string& what) {
  const GluonTSEntry& reference = entries[first];
  const int64_t length = static_cast<int64_t>(reference.target.size());
  torch::Tensor grouped = torch::empty({count, length}, torch::kFloat64);  // [D, T]
  for (int64_t d = 0; d < count; ++d) {
    const GluonTSEntry& entry = entries[first + static_cast<size_t>(d)];
    const std::string series = what + " series " + std::to_string(d) + " (entry " + std::to_string(first + d + 1) + " of the split)";
    check(entry.start == reference.start, series + ": start " + format_timestamp(entry.start) +
                                              " differs from the first series' " + format_timestamp(reference.start));
    check(static_cast<int64_t>(entry.target.size()) == length,
          series + ": length " + std::to_string(entry.target.size()) + " differs from the first series' " +
              std::to_string(length));
    std::memcpy(grouped[d].data_ptr<double>(), entry.target.data(), entry.target.size() * sizeof(double));
  }
  return grouped.t().to(torch::kFloat32).contiguous();  // [T, D]
}

std::optional<int64_t> metadata_integer(const rapidjson::Value* value, const std::string& source,
                                        const std::string& key) {
  if (value == nullptr || value->IsNull()) return std::nullopt;
  const double number = json_to_double(*value, source, key.c_str());
  check(std::isfinite(number) && number == std::floor(number), source + ": key \"" + key + "\" must be an integer");
  return static_cast<int64_t>(number);
}

}  // namespace

const std::vector<TimeSeriesSpec>& known_time_series_specs() {
  static const std::vector<TimeSeriesSpec> kSpecs = {
      {"exchange_rate_nips", "B", 30, 5}, {"solar_nips", "H", 24, 7},   {"electricity_nips", "H", 24, 7},
      {"traffic_nips", "H", 24, 7},       {"taxi_30min", "30min", 24, 56}, {"wiki-rolling_nips", "D", 30, 5},
  };
  return kSpecs;
}

std::optional<TimeSeriesSpec> find_time_series_spec(const std::string& name) {
  for (const TimeSeriesSpec& spec : known_time_series_specs()) {
    if (spec.name == name) return spec;
  }
  return std::nullopt;
}

std::vector<GluonTSEntry> parse_gluonts_json_lines(const std::string& text, const std::string& source) {
  std::vector<GluonTSEntry> entries;
  size_t begin = 0;
  int64_t line_number = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    ++line_number;
    std::string_view line(text.data() + begin, end - begin);
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank line
    const std::string where = source + ":" + std::to_string(line_number);
    rapidjson::Document object;
    parse_json(line, source, line_number, object);
    check(object.IsObject(), where + ": expected a JSON object per line");

    GluonTSEntry entry;
    const rapidjson::Value* start = find_member(object, "start");
    check(start != nullptr && start->IsString(), where + ": missing string key \"start\"");
    try {
      entry.start = parse_timestamp(string_of(*start));
    } catch (const Error& error) {
      throw Error(where + ": key \"start\": " + error.what());
    }
    const rapidjson::Value* target = find_member(object, "target");
    check(target != nullptr && target->IsArray(), where + ": missing array key \"target\"");
    entry.target.reserve(target->Size());
    for (rapidjson::SizeType i = 0; i < target->Size(); ++i) {
      if ((*target)[i].IsArray()) {
        throw Error(where + ": key \"target\" is 2-D (a multivariate entry); expected one univariate series per line");
      }
      entry.target.push_back(json_to_double((*target)[i], where, "target", i));
    }
    if (const rapidjson::Value* categories = find_member(object, "feat_static_cat")) {
      check(categories->IsArray(), where + ": key \"feat_static_cat\" must be an array");
      for (rapidjson::SizeType i = 0; i < categories->Size(); ++i) {
        const double value = json_to_double((*categories)[i], where, "feat_static_cat", i);
        check(std::isfinite(value) && value == std::floor(value),
              where + ": key \"feat_static_cat\" element " + std::to_string(i) + " must be an integer");
        entry.feat_static_cat.push_back(static_cast<int64_t>(value));
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

GluonTSDataset read_gluonts_dataset(const std::string& path, const GluonTSReadOptions& options) {
  check(options.max_target_dim >= 1, "read_gluonts_dataset: max_target_dim must be >= 1");
  check(fs::exists(path), path + ": no such file or directory (expected a GluonTS .tar.gz or dataset folder)");
  const RawDataset raw = fs::is_directory(path) ? load_directory(path) : load_archive(path);
  check(!raw.train.empty(), path + ": no train/*.json[.gz] file found");
  check(!raw.test.empty(), path + ": no test/*.json[.gz] file found");

  GluonTSDataset dataset;
  dataset.name = raw.name;
  const std::optional<TimeSeriesSpec> spec = find_time_series_spec(raw.name);
  if (raw.metadata) {
    rapidjson::Document metadata;
    parse_json(raw.metadata->bytes, raw.metadata->name, 1, metadata);
    const rapidjson::Value* freq = find_member(metadata, "freq");
    if (freq == nullptr) freq = find_member(metadata, "time_granularity");  // older GluonTS archives
    if (freq != nullptr && freq->IsString()) dataset.freq = string_of(*freq);
    dataset.prediction_length =
        metadata_integer(find_member(metadata, "prediction_length"), raw.metadata->name, "prediction_length");
  }
  if (spec) {
    if (dataset.freq.empty()) dataset.freq = spec->freq;
    if (!dataset.prediction_length) dataset.prediction_length = spec->prediction_length;
  }

  const std::vector<GluonTSEntry> train = parse_split(raw.train);
  const std::vector<GluonTSEntry> test = parse_split(raw.test);
  const std::string train_name = raw.train.front().name;
  const std::string test_name = raw.test.front().name;
  check(!train.empty(), train_name + ": no series in the train split");
  dataset.num_series = static_cast<int64_t>(train.size());
  dataset.target_dim = std::min(options.max_target_dim, dataset.num_series);
  check(test.size() % train.size() == 0,
        test_name + ": " + std::to_string(test.size()) + " test lines is not a multiple of the " +
            std::to_string(train.size()) + " train lines (expected window-major rolling windows)");

  dataset.train_start = train.front().start;
  dataset.train = group_window(train, 0, dataset.target_dim, train_name + ": train");
  for (int64_t d = 0; d < dataset.target_dim; ++d) {
    const std::vector<int64_t>& categories = train[static_cast<size_t>(d)].feat_static_cat;
    if (!categories.empty()) dataset.feat_static_cat.push_back(categories.front());
  }
  if (static_cast<int64_t>(dataset.feat_static_cat.size()) != dataset.target_dim) dataset.feat_static_cat.clear();

  const size_t windows = test.size() / train.size();
  for (size_t k = 0; k < windows; ++k) {
    const size_t first = k * train.size();
    dataset.test_starts.push_back(test[first].start);
    dataset.test_windows.push_back(
        group_window(test, first, dataset.target_dim, test_name + ": test window " + std::to_string(k)));
  }
  return dataset;
}

torch::Tensor read_lstnet_matrix(const std::string& path) {
  const std::string text = detail::read_maybe_gzipped_file(path);
  std::vector<double> values;
  int64_t columns = -1;
  int64_t rows = 0;
  size_t begin = 0;
  int64_t line_number = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    ++line_number;
    const char* cursor = text.data() + begin;
    const char* line_end = text.data() + end;
    begin = end + 1;
    while (line_end > cursor && (line_end[-1] == '\r' || line_end[-1] == ' ')) --line_end;
    if (cursor == line_end) continue;
    int64_t count = 0;
    while (true) {
      while (cursor < line_end && *cursor == ' ') ++cursor;
      double value = 0.0;
      const auto result = std::from_chars(cursor, line_end, value);
      check(result.ec == std::errc() && result.ptr != cursor,
            path + ":" + std::to_string(line_number) + ": column " + std::to_string(count + 1) + ": expected a number");
      values.push_back(value);
      ++count;
      cursor = result.ptr;
      while (cursor < line_end && *cursor == ' ') ++cursor;
      if (cursor == line_end) break;
      check(*cursor == ',', path + ":" + std::to_string(line_number) + ": expected ',' after column " + std::to_string(count));
      ++cursor;
    }
    if (columns < 0) columns = count;
    check(count == columns, path + ":" + std::to_string(line_number) + ": " + std::to_string(count) +
                                " columns, but the first row has " + std::to_string(columns));
    ++rows;
  }
  check(rows > 0, path + ": no data rows");
  return torch::from_blob(values.data(), {rows, columns}, torch::kFloat64).to(torch::kFloat32);
}

}  // namespace df::timeseries
