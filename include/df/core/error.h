// Error type of the library. Every message names what is wrong and where (file, key path, tensor name
// or shape), so that a user can fix the input without reading the code.
#pragma once
#include <stdexcept>
#include <string>

namespace df {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Throws df::Error(message) when `condition` is false.
void check(bool condition, const std::string& message);

}  // namespace df
