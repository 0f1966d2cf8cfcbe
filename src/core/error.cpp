#include "df/core/error.h"

namespace df {

void check(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace df
