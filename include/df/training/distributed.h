// Data-parallel training on PyTorch's distributed engine (c10d): ProcessGroupGloo on CPU, ProcessGroupNCCL on
// CUDA. The processes find each other the way torchrun starts them, from the environment:
//   RANK, WORLD_SIZE, LOCAL_RANK (LOCAL_WORLD_SIZE), MASTER_ADDR, MASTER_PORT
// (df_train --nproc N sets them for N processes on one machine, see df/training/launcher.h).
//
//   auto env = df::DistributedEnvironment::from_environment();      // world_size 1 when WORLD_SIZE is unset
//   auto device = df::device_for_rank(df::resolve_device("auto"), env);
//   auto group = df::ProcessGroup::connect(env, device, df::DistributedOptions{});  // rendezvous (TCPStore)
//   df::Trainer trainer(model, data, options, hooks, group.get());  // gradients averaged in buckets
//
// Every collective has a timeout (DistributedOptions::timeout_seconds): a rank that dies or hangs makes the
// others throw df::Error naming the operation, the rank and the cause, instead of waiting forever.
// c10d and Gloo stay out of this header (pimpl), so including it costs nothing beyond <torch/types.h>.
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "df/core/enum_names.h"

namespace df {

// Which c10d backend carries the collectives: auto = NCCL for CUDA models, Gloo for CPU ones.
enum class DistributedBackend { Auto, Gloo, Nccl };
template <>
struct EnumNames<DistributedBackend> {
  static constexpr const char* what = "distributed backend";
  static constexpr EnumName<DistributedBackend> table[] = {
      {DistributedBackend::Auto, "auto"}, {DistributedBackend::Gloo, "gloo"}, {DistributedBackend::Nccl, "nccl"}};
};

struct DistributedOptions {
  DistributedBackend backend = DistributedBackend::Auto;
  // Rendezvous and every collective give up after this long. It must exceed the longest time one rank can
  // spend away from the others: validation runs on rank 0 while the others wait for its outcome.
  double timeout_seconds = 300.0;
  // Gradients are flattened into contiguous buckets of about this size, one all-reduce each.
  double bucket_mb = 25.0;
};

// The torchrun variables. Absent WORLD_SIZE means one process (rank 0 of 1).
struct DistributedEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // torchrun's agent hosts the TCPStore itself (TORCHELASTIC_USE_AGENT_STORE=True): rank 0 connects to it
  // instead of serving one.
  bool agent_store = false;

  bool multi_process() const { return world_size > 1; }
  // Reads the environment; throws df::Error naming a malformed or inconsistent variable.
  static DistributedEnvironment from_environment();
};

// The device of this rank: a CUDA device becomes cuda:LOCAL_RANK when this process sees several GPUs (one
// GPU per process), cuda:0 when it sees one (CUDA_VISIBLE_DEVICES set per process); CPU stays CPU.
torch::Device device_for_rank(torch::Device resolved, const DistributedEnvironment& env);

// Whether this build of the library and of LibTorch has the backend ("gloo", "nccl").
bool distributed_backend_available(DistributedBackend backend);

class ProcessGroup {
 public:
  // Rendezvous through a c10d TCPStore at MASTER_ADDR:MASTER_PORT (served by rank 0, or by torchrun's agent),
  // then a Gloo or NCCL process group over all ranks. Throws df::Error when the backend is missing, a
  // variable is wrong, or the others do not arrive within the timeout. Sets SIGPIPE to be ignored when its
  // action is the default (termination): a rank whose peer dies then gets an error, not a silent death.
  static std::unique_ptr<ProcessGroup> connect(const DistributedEnvironment& env, torch::Device device,
                                               const DistributedOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const;
  int world_size() const;
  bool is_root() const { return rank() == 0; }
  std::string backend_name() const;  // "gloo" or "nccl"

  // Replaces every defined gradient of `parameters` by its mean over the ranks: the gradients are flattened
  // into buckets of about bucket_mb, all buckets are all-reduced (sum) at once, then divided and copied back.
  // Every rank must pass the same parameters with the same defined gradients (checked on the first call and
  // whenever the layout changes). `what` names the call in errors (e.g. "gradients of step 12").
  void average_gradients(const std::vector<torch::Tensor>& parameters, const std::string& what);

  // Element-wise sum over the ranks of a few numbers (control messages: losses, flags).
  std::vector<double> sum(const std::vector<double>& values, const std::string& what);
  // `values` of rank `root` on every rank (same length everywhere).
  std::vector<double> broadcast(const std::vector<double>& values, int root, const std::string& what);
  // Throws df::Error unless every rank passes the same value (e.g. a fingerprint of the weights).
  void require_equal(uint64_t value, const std::string& what);
  void barrier(const std::string& what);

  // Number of all-reduce operations the last average_gradients launched (tests check the bucketing).
  int64_t last_bucket_count() const;

 private:
  struct Impl;
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A 64-bit hash of the exact bytes of tensors (in order), for require_equal on weights.
uint64_t tensor_fingerprint(const std::vector<torch::Tensor>& tensors);

}  // namespace df
