// Host runtime settings: thread counts and the allocator tuning the tools apply at start-up.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>

#include "df/core/device.h"
#include "df/core/error.h"

namespace df {
namespace {

TEST(Device, ThreadsFollowTheRequestOrTheEnvironment) {
  const int before = at::get_num_threads();
  EXPECT_EQ(configure_cpu_threads(1), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  ::setenv("OMP_NUM_THREADS", "3", 1);
  EXPECT_EQ(configure_cpu_threads(0), 3);
  ::unsetenv("OMP_NUM_THREADS");
  EXPECT_EQ(configure_cpu_threads(0), available_cpu_cores());
  EXPECT_THROW(configure_cpu_threads(-1), Error);
  at::set_num_threads(before);
}

TEST(Device, HostAllocatorTuningCanBeTurnedOffAndKeepsResults) {
  ::setenv("DF_DEFAULT_MALLOC", "1", 1);
  EXPECT_FALSE(tune_host_allocator());
  ::unsetenv("DF_DEFAULT_MALLOC");
#ifdef __GLIBC__
  EXPECT_EQ(tune_host_allocator(), host_malloc() == "glibc");  // mallopt is glibc's
#else
  EXPECT_FALSE(tune_host_allocator());
#endif
  // Large tensors allocated and freed under the new thresholds hold what was written into them.
  for (int i = 0; i < 3; ++i) {
    const auto a = torch::full({1024, 1024}, static_cast<float>(i));
    EXPECT_EQ(a.sum().item<double>(), 1024.0 * 1024.0 * i);
  }
}

// Built with tcmalloc (CMake DF_MALLOC, found): it must be the malloc the process runs on, not merely linked.
// A link line that drops it (--as-needed) or resolves malloc to libc first fails here.
TEST(Device, HostMallocIsTheOneLinked) {
  const std::string name = host_malloc();
#ifdef DF_LINKS_TCMALLOC
  EXPECT_EQ(name, "tcmalloc");
#else
  EXPECT_NE(name, "tcmalloc");
#endif
  EXPECT_NE(name, "unknown");
}

}  // namespace
}  // namespace df
