// Wall-clock timing for benchmarks (never for pass/fail tests): the median of repeated runs after a
// warm-up, with the device synchronised around each run so GPU work is counted.
#pragma once
#include <torch/types.h>

#include <functional>

namespace df {

// Seconds of one run of `work`: median of `repeats` runs after `warmup` untimed ones.
double median_seconds(const std::function<void()>& work, int repeats, int warmup, const torch::Device& device);

}  // namespace df
