// A small JSON reader for GluonTS files (JSON lines and metadata.json); the project has no JSON library.
// Besides standard JSON it accepts the non-standard numbers Python's json.dump writes (NaN, Infinity,
// -Infinity). Every error names the source (file and line) and the column.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace df::timeseries {

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0.0;
  std::string text;                                       // kString
  std::vector<JsonValue> items;                           // kArray
  std::vector<std::pair<std::string, JsonValue>> members; // kObject, in file order

  // Member `key` of an object, or nullptr when absent (or when this is not an object).
  const JsonValue* find(std::string_view key) const;
};

// Parses one complete JSON document. `source` ("path:line") prefixes every error message.
JsonValue parse_json(std::string_view text, const std::string& source);

// A JSON number, or a string spelling a float ("NaN", "nan", "Infinity", "-inf", "1.5"), or null (NaN):
// GluonTS targets may hold any of these. Throws df::Error naming `source` and `what` otherwise.
double json_to_double(const JsonValue& value, const std::string& source, const std::string& what);

}  // namespace df::timeseries
