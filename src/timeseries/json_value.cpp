#include "df/timeseries/json_value.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

#include "df/core/error.h"

namespace df::timeseries {
namespace {

// Recursive-descent parser over a string_view; `pos_` is the byte offset of the next character.
class JsonParser {
 public:
  JsonParser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  JsonValue parse_document() {
    JsonValue value = parse_value(0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected trailing characters");
    return value;
  }

 private:
  static constexpr int kMaxDepth = 256;

  [[noreturn]] void fail(const std::string& message) const {
    throw Error(source_ + ": column " + std::to_string(pos_ + 1) + ": invalid JSON: " + message);
  }

  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool consume_literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  JsonValue parse_value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than 256 levels");
    skip_space();
    if (pos_ >= text_.size()) fail("unexpected end of input, expected a value");
    const char c = text_[pos_];
    JsonValue value;
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') {
      value.kind = JsonValue::Kind::kString;
      value.text = parse_string();
      return value;
    }
    if (consume_literal("true")) {
      value.kind = JsonValue::Kind::kBool;
      value.boolean = true;
      return value;
    }
    if (consume_literal("false")) {
      value.kind = JsonValue::Kind::kBool;
      return value;
    }
    if (consume_literal("null")) return value;
    value.kind = JsonValue::Kind::kNumber;
    value.number = parse_number();
    return value;
  }

  JsonValue parse_object(int depth) {
    JsonValue value;
    value.kind = JsonValue::Kind::kObject;
    ++pos_;  // '{'
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return value;
    }
    while (true) {
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != '"') fail("expected a string key in object");
      std::string key = parse_string();
      skip_space();
      if (pos_ >= text_.size() || text_[pos_] != ':') fail("expected ':' after key \"" + key + "\"");
      ++pos_;
      value.members.emplace_back(std::move(key), parse_value(depth + 1));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        ++pos_;
        return value;
      }
      fail("expected ',' or '}' in object");
    }
  }

  JsonValue parse_array(int depth) {
    JsonValue value;
    value.kind = JsonValue::Kind::kArray;
    ++pos_;  // '['
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return value;
    }
    while (true) {
      value.items.push_back(parse_value(depth + 1));
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        ++pos_;
        return value;
      }
      fail("expected ',' or ']' in array");
    }
  }

  static void append_utf8(std::string& out, uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  uint32_t parse_hex4() {
    if (pos_ + 4 > text_.size()) fail("truncated \\u escape");
    uint32_t code = 0;
    const auto result = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, code, 16);
    if (result.ec != std::errc() || result.ptr != text_.data() + pos_ + 4) fail("invalid \\u escape");
    pos_ += 4;
    return code;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character inside string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t code = parse_hex4();
          if (code >= 0xD800 && code < 0xDC00 && text_.substr(pos_, 2) == "\\u") {  // surrogate pair
            pos_ += 2;
            const uint32_t low = parse_hex4();
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, code);
          break;
        }
        default: fail(std::string("invalid escape '\\") + e + "'");
      }
    }
  }

  double parse_number() {
    if (consume_literal("NaN")) return std::numeric_limits<double>::quiet_NaN();
    if (consume_literal("Infinity")) return std::numeric_limits<double>::infinity();
    if (consume_literal("-Infinity")) return -std::numeric_limits<double>::infinity();
    const char* begin = text_.data() + pos_;
    const char* end = text_.data() + text_.size();
    // from_chars rejects a leading '+', which JSON rejects too; it is locale independent.
    double number = 0.0;
    const auto result = std::from_chars(begin, end, number);
    if (result.ec == std::errc::invalid_argument || result.ptr == begin) fail("expected a value");
    // Out-of-range literals (1e999) overflow to +-inf like Python's float().
    if (result.ec == std::errc::result_out_of_range) number = std::strtod(std::string(begin, result.ptr).c_str(), nullptr);
    pos_ += static_cast<size_t>(result.ptr - begin);
    return number;
  }

  std::string_view text_;
  const std::string& source_;
  size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
  if (kind != Kind::kObject) return nullptr;
  for (const auto& [name, value] : members) {
    if (name == key) return &value;
  }
  return nullptr;
}

JsonValue parse_json(std::string_view text, const std::string& source) {
  return JsonParser(text, source).parse_document();
}

double json_to_double(const JsonValue& value, const std::string& source, const std::string& what) {
  switch (value.kind) {
    case JsonValue::Kind::kNumber: return value.number;
    case JsonValue::Kind::kNull: return std::numeric_limits<double>::quiet_NaN();
    case JsonValue::Kind::kString: {
      std::string lower;
      for (char c : value.text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "nan") return std::numeric_limits<double>::quiet_NaN();
      if (lower == "inf" || lower == "infinity") return std::numeric_limits<double>::infinity();
      if (lower == "-inf" || lower == "-infinity") return -std::numeric_limits<double>::infinity();
      double number = 0.0;
      const char* begin = value.text.data();
      const char* end = begin + value.text.size();
      const auto result = std::from_chars(begin, end, number);
      if (result.ec == std::errc() && result.ptr == end) return number;
      throw Error(source + ": " + what + ": string \"" + value.text + "\" is not a number");
    }
    default: throw Error(source + ": " + what + ": expected a number");
  }
}

}  // namespace df::timeseries
