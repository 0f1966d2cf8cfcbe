// One table of names per enum, shared by parsing, printing and config validation, so a name is written
// once. An enum opts in by specialising EnumNames next to its declaration:
//
//   enum class ScheduleKind { Linear, Cosine, Sigmoid };
//   template <> struct EnumNames<ScheduleKind> {
//     static constexpr const char* what = "noise schedule";
//     static constexpr EnumName<ScheduleKind> table[] = {{ScheduleKind::Linear, "linear"}, ...};
//   };
//
// Later entries with an already listed value are aliases: accepted by parse_enum, never printed.
#pragma once
#include <string>
#include <type_traits>
#include <vector>

#include "df/core/error.h"

namespace df {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

template <typename E>
struct EnumNames;  // specialised per enum

namespace detail {
template <typename E, typename = void>
struct has_enum_names : std::false_type {};
template <typename E>
struct has_enum_names<E, std::void_t<decltype(EnumNames<E>::table)>> : std::true_type {};
}  // namespace detail

template <typename E>
using if_named_enum = std::enable_if_t<detail::has_enum_names<E>::value, int>;

// The canonical names, in table order (aliases left out): the choices a config accepts.
template <typename E, if_named_enum<E> = 0>
std::vector<std::string> enum_names() {
  std::vector<std::string> names;
  for (const auto& entry : EnumNames<E>::table) {
    bool alias = false;
    for (const auto& earlier : EnumNames<E>::table) {
      if (&earlier == &entry) break;
      alias = alias || earlier.value == entry.value;
    }
    if (!alias) names.emplace_back(entry.name);
  }
  return names;
}

template <typename E, if_named_enum<E> = 0>
std::string to_string(E value) {
  for (const auto& entry : EnumNames<E>::table)
    if (entry.value == value) return entry.name;
  return "?";
}

// Throws df::Error naming the enum and the accepted names.
template <typename E, if_named_enum<E> = 0>
E parse_enum(const std::string& name) {
  for (const auto& entry : EnumNames<E>::table)
    if (name == entry.name) return entry.value;
  std::string all;
  for (const auto& n : enum_names<E>()) all += (all.empty() ? "" : ", ") + n;
  throw Error(std::string(EnumNames<E>::what) + ": expected one of " + all + ", got \"" + name + "\"");
}

}  // namespace df
