// Experiment configuration: YAML with a defaults -> file -> `--set key.path=value` override order and
// strict validation. The defaults document *is* the schema: a key that is not in the defaults is an
// error, and every value must have the type of its default (bool, integer, number, string or a list of
// those). Range rules are checked after merging. Every message names the source (file or --set) and
// the key path, e.g. `configs/maze.yaml: training.lr: expected a number > 0, got -1`.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "df/core/enum_names.h"

namespace df {

// Writes a defaults document (the schema) from typed values, so that option structs stay the one source
// of every default: `ConfigDefaults().section("training").key("steps", TrainerOptions{}.steps, "...")`.
// Numbers always keep a decimal point (the schema then types them as numbers), enums are written by name
// with their choices in the comment.
class ConfigDefaults {
 public:
  ConfigDefaults& section(const std::string& name);
  ConfigDefaults& key(const std::string& name, int64_t value, const std::string& comment = "");
  ConfigDefaults& key(const std::string& name, int value, const std::string& comment = "") {
    return key(name, static_cast<int64_t>(value), comment);
  }
  ConfigDefaults& key(const std::string& name, uint64_t value, const std::string& comment = "") {
    return key(name, static_cast<int64_t>(value), comment);
  }
  ConfigDefaults& key(const std::string& name, double value, const std::string& comment = "");
  ConfigDefaults& key(const std::string& name, bool value, const std::string& comment = "");
  ConfigDefaults& key(const std::string& name, const std::string& value, const std::string& comment = "");
  ConfigDefaults& key(const std::string& name, const char* value, const std::string& comment = "") {
    return key(name, std::string(value), comment);
  }
  ConfigDefaults& key(const std::string& name, const std::vector<int64_t>& value, const std::string& comment = "");
  ConfigDefaults& key(const std::string& name, const std::vector<double>& value, const std::string& comment = "");
  template <typename E, if_named_enum<E> = 0>
  ConfigDefaults& key(const std::string& name, E value, const std::string& comment = "") {
    std::string choices;
    for (const auto& n : enum_names<E>()) choices += (choices.empty() ? "" : " | ") + n;
    return raw(name, to_string(value), choices + (comment.empty() ? "" : "; " + comment));
  }
  // A value written as given (already YAML).
  ConfigDefaults& raw(const std::string& name, const std::string& yaml_value, const std::string& comment = "");

  const std::string& yaml() const { return text_; }

 private:
  std::string text_;
};

class Config {
 public:
  Config();
  ~Config();
  Config(const Config&);
  Config& operator=(const Config&);

  // The schema and default values, as a YAML document.
  static Config from_defaults(const std::string& defaults_yaml);

  // Merges a YAML file / a YAML text / one "key.path=value" override on top (validated).
  void merge_file(const std::string& path);
  void merge_text(const std::string& yaml, const std::string& source);
  void set(const std::string& assignment, const std::string& source = "--set");

  // Range rules, checked by validate(). `path` names one key.
  void require_positive(const std::string& path);
  void require_non_negative(const std::string& path);
  void require_range(const std::string& path, double min, double max);
  void require_choice(const std::string& path, const std::vector<std::string>& choices);
  // The value must be one of the enum's names (its EnumNames table).
  template <typename E, if_named_enum<E> = 0>
  void require_enum(const std::string& path) {
    require_choice(path, enum_names<E>());
  }
  // Reads the value as the enum (validated by require_enum at load time).
  template <typename E, if_named_enum<E> = 0>
  E get_enum(const std::string& path) const {
    return parse_enum<E>(get_string(path));
  }
  void validate() const;

  bool has(const std::string& path) const;
  int64_t get_int(const std::string& path) const;
  double get_double(const std::string& path) const;
  bool get_bool(const std::string& path) const;
  std::string get_string(const std::string& path) const;
  std::vector<int64_t> get_int_list(const std::string& path) const;
  std::vector<double> get_double_list(const std::string& path) const;
  std::vector<std::string> get_string_list(const std::string& path) const;

  // The resolved configuration as YAML (written into every run directory).
  std::string to_yaml() const;
  void write(const std::string& path) const;
  // Where the last merged file came from ("" for defaults only).
  const std::string& source() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace df
