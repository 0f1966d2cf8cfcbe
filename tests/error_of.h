// The df::Error message of a call, or "" when it throws none: tests check that an error names its file,
// key or shape. Shared by the test programs (include "../error_of.h").
#pragma once
#include <string>

#include "df/core/error.h"

namespace df {

template <typename F>
std::string error_of(F&& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace df
