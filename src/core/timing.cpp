#include "df/core/timing.h"

#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "df/core/error.h"

namespace df {

double median_seconds(const std::function<void()>& work, int repeats, int warmup, const torch::Device& device) {
  check(repeats >= 1, "median_seconds: repeats must be >= 1");
  const auto sync = [&] {
    if (device.is_cuda()) torch::cuda::synchronize();
  };
  for (int i = 0; i < warmup; ++i) work();
  std::vector<double> seconds;
  for (int i = 0; i < repeats; ++i) {
    sync();
    const auto start = std::chrono::steady_clock::now();
    work();
    sync();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

}  // namespace df
