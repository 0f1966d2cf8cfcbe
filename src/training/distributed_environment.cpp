// The torchrun environment of a rank (RANK, WORLD_SIZE, ...) and the device it trains on.
#include <torch/cuda.h>

#include <charconv>
#include <cstdlib>
#include <cstring>

#include "df/core/error.h"
#include "df/training/distributed.h"

namespace df {

namespace {

const char* env_or_null(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

// `bound` explains max_value when it comes from another variable (e.g. "RANK must be < WORLD_SIZE=4").
int env_int(const char* name, int fallback, int min_value, int max_value, const std::string& bound = "") {
  const char* text = env_or_null(name);
  if (!text) return fallback;
  int value = 0;
  const char* end = text + std::strlen(text);
  const auto parsed = std::from_chars(text, end, value);
  check(parsed.ec == std::errc() && parsed.ptr == end && value >= min_value && value <= max_value,
        std::string("environment variable ") + name + ": expected an integer in [" + std::to_string(min_value) + ", " +
            std::to_string(max_value) + "]" + (bound.empty() ? "" : " (" + bound + ")") + ", got \"" + text + "\"");
  return value;
}

}  // namespace

DistributedEnvironment DistributedEnvironment::from_environment() {
  DistributedEnvironment env;
  env.world_size = env_int("WORLD_SIZE", 1, 1, 1 << 20);
  const std::string world = "WORLD_SIZE=" + std::to_string(env.world_size);
  env.rank = env_int("RANK", 0, 0, env.world_size - 1, "RANK must be < " + world);
  // Without LOCAL_RANK / LOCAL_WORLD_SIZE (a launcher other than torchrun), all ranks are on this machine.
  env.local_world_size = env_int("LOCAL_WORLD_SIZE", env.world_size, 1, env.world_size, "at most " + world);
  env.local_rank = env_int("LOCAL_RANK", env.rank, 0, env.world_size - 1, "LOCAL_RANK must be < " + world);
  if (env.multi_process()) {
    check(env_or_null("MASTER_ADDR") && env_or_null("MASTER_PORT"),
          "environment: WORLD_SIZE=" + std::to_string(env.world_size) +
              " needs MASTER_ADDR and MASTER_PORT (the address and port of rank 0's rendezvous store)");
    env.master_addr = env_or_null("MASTER_ADDR");
    env.master_port = env_int("MASTER_PORT", 0, 1, 65535);
  }
  const char* agent = env_or_null("TORCHELASTIC_USE_AGENT_STORE");
  env.agent_store = agent && (std::string(agent) == "True" || std::string(agent) == "1");
  return env;
}

torch::Device device_for_rank(torch::Device resolved, const DistributedEnvironment& env) {
  if (!resolved.is_cuda() || !env.multi_process()) return resolved;
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (count == 1) return torch::Device(torch::kCUDA, 0);
  check(env.local_rank < count, "device: LOCAL_RANK=" + std::to_string(env.local_rank) + " but this process sees " +
                                    std::to_string(count) + " CUDA devices (one GPU per process; start at most " +
                                    std::to_string(count) + " processes per machine)");
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank));
}

}  // namespace df
