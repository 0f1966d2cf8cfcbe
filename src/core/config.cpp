#include "df/core/config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "df/core/atomic_file.h"
#include "df/core/error.h"

namespace df {

namespace {

enum class Kind { Bool, Int, Number, String, List, Map, Null };

bool parses_as_int(const std::string& s) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

bool parses_as_number(const std::string& s) {
  if (s == ".inf" || s == "-.inf" || s == ".nan") return true;
  try {
    size_t used = 0;
    std::stod(s, &used);
    return used == s.size();
  } catch (...) {
    return false;
  }
}

bool parses_as_bool(const std::string& s) {
  return s == "true" || s == "false" || s == "True" || s == "False" || s == "yes" || s == "no";
}

Kind scalar_kind(const YAML::Node& n) {
  const auto& s = n.Scalar();
  if (n.Tag() == "!") return Kind::String;  // quoted
  if (parses_as_bool(s)) return Kind::Bool;
  if (parses_as_int(s)) return Kind::Int;
  if (parses_as_number(s)) return Kind::Number;
  return Kind::String;
}

Kind kind_of(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return Kind::Null;
  if (n.IsMap()) return Kind::Map;
  if (n.IsSequence()) return Kind::List;
  return scalar_kind(n);
}

std::string kind_name(Kind k) {
  switch (k) {
    case Kind::Bool: return "a boolean";
    case Kind::Int: return "an integer";
    case Kind::Number: return "a number";
    case Kind::String: return "a string";
    case Kind::List: return "a list";
    case Kind::Map: return "a mapping";
    case Kind::Null: return "null";
  }
  return "?";
}

std::string plural_name(Kind k) {
  switch (k) {
    case Kind::Bool: return "booleans";
    case Kind::Int: return "integers";
    case Kind::Number: return "numbers";
    case Kind::String: return "strings";
    default: return "values";
  }
}

std::string show(const YAML::Node& n) {
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

// Is `value` acceptable where the default is `def`? Integers are accepted for numbers.
bool compatible(Kind def, Kind value) {
  if (def == Kind::Null) return true;  // optional value with no default: anything scalar or list
  if (def == value) return true;
  if (def == Kind::Number && value == Kind::Int) return true;
  if (def == Kind::String && (value == Kind::Int || value == Kind::Number || value == Kind::Bool)) return false;
  return false;
}

// `schema` is the untouched defaults: types are checked against it, not against the current value, so a
// number written as "0" by one merge (e.g. a stored config) still accepts "2.0" from the next.
void merge_into(YAML::Node target, const YAML::Node& schema, const YAML::Node& source, const std::string& prefix,
                const std::string& origin) {
  check(source.IsMap(), origin + ": " + (prefix.empty() ? std::string("top level") : prefix) +
                            ": expected a mapping, got " + show(source));
  for (const auto& entry : source) {
    const auto key = entry.first.as<std::string>();
    const auto path = prefix.empty() ? key : prefix + "." + key;
    if (!target.IsMap() || !target[key].IsDefined()) {
      std::string allowed;
      for (const auto& e : target) allowed += (allowed.empty() ? "" : ", ") + e.first.as<std::string>();
      throw Error(origin + ": " + path + ": unknown key (allowed here: " + allowed + ")");
    }
    const YAML::Node def = schema[key];
    const auto& value = entry.second;
    const Kind dk = kind_of(def), vk = kind_of(value);
    if (dk == Kind::Map) {
      merge_into(target[key], def, value, path, origin);
      continue;
    }
    if (dk == Kind::List) {
      check(vk == Kind::List, origin + ": " + path + ": expected a list, got " + show(value));
      // Element type: that of the default's first element, if any.
      if (def.size() > 0) {
        const Kind ek = kind_of(def[0]);
        for (const auto& item : value)
          check(compatible(ek, kind_of(item)), origin + ": " + path + ": expected a list of " + plural_name(ek) +
                                                   ", got " + show(value));
      }
    } else if (vk != Kind::Null) {
      check(compatible(dk, vk), origin + ": " + path + ": expected " + kind_name(dk) + ", got \"" + show(value) + "\"");
    }
    target[key] = YAML::Clone(value);
  }
}

YAML::Node find(const YAML::Node& root, const std::string& path) {
  YAML::Node node = YAML::Clone(root);
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '.')) {
    check(node.IsMap() && node[part].IsDefined(), "config: no key " + path);
    node = node[part];
  }
  return node;
}

}  // namespace

struct Rule {
  std::string path;
  std::function<std::string(const YAML::Node&)> violation;  // empty string = ok
};

struct Config::State {
  YAML::Node root;
  YAML::Node schema;  // the defaults as given to from_defaults (never merged into)
  std::string source;
  std::vector<Rule> rules;
};

Config::Config() : state_(std::make_unique<State>()) {
  state_->root = YAML::Node(YAML::NodeType::Map);
  state_->schema = YAML::Node(YAML::NodeType::Map);
}
Config::~Config() = default;
Config::Config(const Config& other) : state_(std::make_unique<State>(*other.state_)) {
  state_->root = YAML::Clone(other.state_->root);
  state_->schema = YAML::Clone(other.state_->schema);
}
Config& Config::operator=(const Config& other) {
  if (this != &other) {
    *state_ = *other.state_;
    state_->root = YAML::Clone(other.state_->root);
    state_->schema = YAML::Clone(other.state_->schema);
  }
  return *this;
}

Config Config::from_defaults(const std::string& defaults_yaml) {
  Config c;
  try {
    c.state_->root = YAML::Load(defaults_yaml);
    c.state_->schema = YAML::Clone(c.state_->root);
  } catch (const YAML::Exception& e) {
    throw Error(std::string("config defaults: ") + e.what());
  }
  return c;
}

void Config::merge_text(const std::string& yaml, const std::string& source) {
  YAML::Node node;
  try {
    node = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw Error(source + ": YAML syntax error at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!node.IsDefined() || node.IsNull()) return;
  merge_into(state_->root, state_->schema, node, "", source);
  state_->source = source;
}

void Config::merge_file(const std::string& path) {
  std::ifstream in(path);
  check(in.good(), path + ": cannot open config file");
  std::stringstream ss;
  ss << in.rdbuf();
  merge_text(ss.str(), path);
}

void Config::set(const std::string& assignment, const std::string& source) {
  const auto eq = assignment.find('=');
  check(eq != std::string::npos && eq > 0, source + " " + assignment + ": expected key.path=value");
  const auto path = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  // Build {a: {b: value}} and merge it, so the same validation applies.
  std::string yaml, indent;
  std::stringstream ss(path);
  std::string part;
  std::vector<std::string> parts;
  while (std::getline(ss, part, '.')) parts.push_back(part);
  for (size_t i = 0; i < parts.size(); ++i) {
    yaml += indent + parts[i] + ":" + (i + 1 == parts.size() ? " " + value : "") + "\n";
    indent += "  ";
  }
  const auto file_source = state_->source;  // messages keep naming the config file, not --set
  merge_text(yaml, source);
  state_->source = file_source;
}

namespace {
std::string number_violation(const YAML::Node& n, const std::function<bool(double)>& ok, const std::string& what) {
  if (n.IsNull()) return "";
  const double v = n.as<double>();
  return ok(v) ? "" : "expected " + what + ", got " + n.Scalar();
}
}  // namespace

void Config::require_positive(const std::string& path) {
  state_->rules.push_back({path, [](const YAML::Node& n) {
                             return number_violation(n, [](double v) { return v > 0; }, "a number > 0");
                           }});
}
void Config::require_non_negative(const std::string& path) {
  state_->rules.push_back({path, [](const YAML::Node& n) {
                             return number_violation(n, [](double v) { return v >= 0; }, "a number >= 0");
                           }});
}
void Config::require_range(const std::string& path, double min, double max) {
  std::ostringstream what;
  what << "a number in [" << min << ", " << max << "]";
  state_->rules.push_back({path, [min, max, w = what.str()](const YAML::Node& n) {
                             return number_violation(n, [&](double v) { return v >= min && v <= max; }, w);
                           }});
}
void Config::require_choice(const std::string& path, const std::vector<std::string>& choices) {
  state_->rules.push_back({path, [choices](const YAML::Node& n) {
                             const auto v = n.Scalar();
                             std::string all;
                             for (const auto& c : choices) {
                               if (c == v) return std::string();
                               all += (all.empty() ? "" : ", ") + c;
                             }
                             return "expected one of " + all + ", got \"" + v + "\"";
                           }});
}

void Config::validate() const {
  for (const auto& rule : state_->rules) {
    const auto node = find(state_->root, rule.path);
    const auto message = rule.violation(node);
    check(message.empty(), (state_->source.empty() ? std::string("config") : state_->source) + ": " + rule.path +
                               ": " + message);
  }
}

bool Config::has(const std::string& path) const {
  try {
    find(state_->root, path);
    return true;
  } catch (const Error&) {
    return false;
  }
}

namespace {
template <typename T>
T read_as(const YAML::Node& root, const std::string& path, const char* what) {
  const auto n = find(root, path);
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    throw Error("config: " + path + ": expected " + what + ", got " + show(n));
  }
}
}  // namespace

int64_t Config::get_int(const std::string& path) const { return read_as<int64_t>(state_->root, path, "an integer"); }
double Config::get_double(const std::string& path) const { return read_as<double>(state_->root, path, "a number"); }
bool Config::get_bool(const std::string& path) const { return read_as<bool>(state_->root, path, "a boolean"); }
std::string Config::get_string(const std::string& path) const {
  const auto n = find(state_->root, path);
  return n.IsNull() ? std::string() : read_as<std::string>(state_->root, path, "a string");
}
std::vector<int64_t> Config::get_int_list(const std::string& path) const {
  return read_as<std::vector<int64_t>>(state_->root, path, "a list of integers");
}
std::vector<double> Config::get_double_list(const std::string& path) const {
  return read_as<std::vector<double>>(state_->root, path, "a list of numbers");
}
std::vector<std::string> Config::get_string_list(const std::string& path) const {
  return read_as<std::vector<std::string>>(state_->root, path, "a list of strings");
}

std::string Config::to_yaml() const {
  YAML::Emitter e;
  e << state_->root;
  return std::string(e.c_str()) + "\n";
}

void Config::write(const std::string& path) const {
  // Atomically: a reader (another rank of the run resuming from it) sees the old file or the new one, never a
  // half-written one.
  write_file_atomically(path, [&](const std::string& temp) {
    std::ofstream out(temp);
    check(out.good(), path + ": cannot write the resolved config");
    out << to_yaml();
    out.flush();
    check(out.good(), temp + ": cannot write the resolved config");
  });
}

const std::string& Config::source() const { return state_->source; }

}  // namespace df

namespace df {

namespace {
// Shortest decimal text that reads back as the same double, with a decimal point kept.
std::string number_text(double v) {
  if (std::isnan(v)) return ".nan";
  if (std::isinf(v)) return v > 0 ? ".inf" : "-.inf";
  std::string s;
  for (int precision = 1; precision <= 17; ++precision) {
    std::ostringstream out;
    out.precision(precision);
    out << v;
    s = out.str();
    if (std::stod(s) == v) break;
  }
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string quoted_if_needed(const std::string& s) {
  if (s.empty() || parses_as_number(s) || parses_as_bool(s) || s.find_first_of(":#{}[],&*!|>'\"%@`") != std::string::npos)
    return "\"" + s + "\"";
  return s;
}
}  // namespace

ConfigDefaults& ConfigDefaults::section(const std::string& name) {
  text_ += name + ":\n";
  return *this;
}

ConfigDefaults& ConfigDefaults::raw(const std::string& name, const std::string& yaml_value,
                                    const std::string& comment) {
  std::string line = "  " + name + ": " + yaml_value;
  if (!comment.empty()) {
    if (line.size() < 30) line.resize(30, ' ');
    line += " # " + comment;
  }
  text_ += line + "\n";
  return *this;
}

ConfigDefaults& ConfigDefaults::key(const std::string& name, int64_t value, const std::string& comment) {
  return raw(name, std::to_string(value), comment);
}
ConfigDefaults& ConfigDefaults::key(const std::string& name, double value, const std::string& comment) {
  return raw(name, number_text(value), comment);
}
ConfigDefaults& ConfigDefaults::key(const std::string& name, bool value, const std::string& comment) {
  return raw(name, value ? "true" : "false", comment);
}
ConfigDefaults& ConfigDefaults::key(const std::string& name, const std::string& value, const std::string& comment) {
  return raw(name, quoted_if_needed(value), comment);
}
ConfigDefaults& ConfigDefaults::key(const std::string& name, const std::vector<int64_t>& value,
                                    const std::string& comment) {
  std::string s = "[";
  for (size_t i = 0; i < value.size(); ++i) s += (i ? ", " : "") + std::to_string(value[i]);
  return raw(name, s + "]", comment);
}
ConfigDefaults& ConfigDefaults::key(const std::string& name, const std::vector<double>& value,
                                    const std::string& comment) {
  std::string s = "[";
  for (size_t i = 0; i < value.size(); ++i) s += (i ? ", " : "") + number_text(value[i]);
  return raw(name, s + "]", comment);
}

}  // namespace df
