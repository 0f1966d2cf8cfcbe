#include "df/training/distributed.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "c10d_compat.h"
#include "df/core/error.h"

namespace df {

namespace {

const char* env_or_null(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

}  // namespace

bool distributed_backend_available(DistributedBackend backend) {
  switch (backend) {
    case DistributedBackend::Gloo:
#if defined(DF_HAVE_GLOO)
      return true;
#else
      return false;
#endif
    case DistributedBackend::Nccl:
#if defined(DF_HAVE_NCCL)
      return true;
#else
      return false;
#endif
    case DistributedBackend::Auto:
      return distributed_backend_available(DistributedBackend::Gloo) ||
             distributed_backend_available(DistributedBackend::Nccl);
  }
  return false;
}

uint64_t tensor_fingerprint(const std::vector<torch::Tensor>& tensors) {
  uint64_t hash = 0xCBF29CE484222325ULL;  // FNV-1a
  const auto mix = [&hash](const void* data, size_t bytes) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < bytes; ++i) hash = (hash ^ p[i]) * 0x100000001B3ULL;
  };
  for (const auto& t : tensors) {
    if (!t.defined()) continue;
    const auto cpu = t.detach().to(torch::kCPU).contiguous();
    const auto dtype = static_cast<int>(cpu.scalar_type());
    mix(&dtype, sizeof dtype);
    for (const auto size : cpu.sizes()) mix(&size, sizeof size);
    mix(cpu.data_ptr(), cpu.numel() * cpu.element_size());
  }
  return hash;
}

struct ProcessGroup::Impl {
  int rank = 0;
  int world_size = 1;
  std::string backend;  // "gloo" / "nccl"
  torch::Device comm_device{torch::kCPU};  // where collective buffers live: CPU for Gloo, the GPU for NCCL
  std::chrono::milliseconds timeout{0};
  int64_t bucket_bytes = 0;
  std::vector<int64_t> verified_layout;  // gradient layout already checked to agree across ranks
  int64_t last_bucket_count = 0;
#if defined(DF_HAVE_C10D)
  c10::intrusive_ptr<::c10d::Store> store;
  c10::intrusive_ptr<c10d_compat::Collectives> collectives;
#endif

  // What failed, where, and the likely cause, from an exception thrown by c10d / Gloo / NCCL.
  [[noreturn]] void fail(const std::string& what, const std::string& cause) const {
    std::ostringstream message;
    message << "distributed: " << what << " failed on rank " << rank << " of " << world_size << " (" << backend
            << ", timeout " << timeout.count() / 1000.0 << " s): " << cause
            << " -- another rank has probably exited or stopped responding; see its log";
    throw Error(message.str());
  }
  template <typename F>
  auto guarded(const std::string& what, F&& body) const {
    try {
      return body();
    } catch (const Error&) {
      throw;
    } catch (const c10::Error& e) {
      fail(what, e.what_without_backtrace());
    } catch (const std::exception& e) {
      fail(what, e.what());
    }
  }

#if defined(DF_HAVE_C10D)
  // Runs one collective on `tensors` and waits for it.
  template <typename Launch>
  void run(const std::string& what, Launch&& launch) {
    guarded(what, [&] {
      auto work = launch();
      wait(work);
      return 0;
    });
  }
  template <typename Work>
  void wait(Work& work) const {
    // Gloo gives up after the group's timeout by itself; the explicit bound is a second guard.
    if (backend == "gloo") {
      check(work->wait(timeout), "timed out after " + std::to_string(timeout.count()) + " ms");
    } else {
      work->wait();
    }
  }
  void allreduce(torch::Tensor& tensor, ::c10d::ReduceOp op, const std::string& what) {
    std::vector<torch::Tensor> tensors{tensor};
    ::c10d::AllreduceOptions options;
    options.reduceOp = op;
    run(what, [&] { return collectives->allreduce(tensors, options); });
  }
#endif
};

namespace {

#if defined(DF_HAVE_GLOO)
// The local address on the route to MASTER_ADDR (a UDP connect sends nothing): the Gloo device binds there, so
// ranks on other machines reach it even where the hostname resolves to a loopback address (Debian's
// /etc/hosts maps it to 127.0.1.1). GLOO_SOCKET_IFNAME (as in PyTorch) names interfaces instead.
std::string local_address_towards(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  check(rc == 0 && found, "MASTER_ADDR: cannot resolve \"" + host + "\": " + gai_strerror(rc));
  std::string address;
  for (auto* a = found; a && address.empty(); a = a->ai_next) {
    const int fd = socket(a->ai_family, SOCK_DGRAM, 0);
    if (fd < 0) continue;
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    char text[INET6_ADDRSTRLEN] = {};
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
      const void* raw = local.ss_family == AF_INET6
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
      if (inet_ntop(local.ss_family, raw, text, sizeof text)) address = text;
    }
    close(fd);
  }
  freeaddrinfo(found);
  check(!address.empty(), "MASTER_ADDR: no local network route to \"" + host + "\"");
  return address;
}

std::vector<std::shared_ptr<::gloo::transport::Device>> gloo_devices(const DistributedEnvironment& env) {
  std::vector<std::shared_ptr<::gloo::transport::Device>> devices;
  if (const char* names = env_or_null("GLOO_SOCKET_IFNAME")) {
    std::stringstream list(names);
    for (std::string name; std::getline(list, name, ',');)
      if (!name.empty()) devices.push_back(::c10d::ProcessGroupGloo::createDeviceForInterface(name));
  } else {
    devices.push_back(
        ::c10d::ProcessGroupGloo::createDeviceForHostname(local_address_towards(env.master_addr, env.master_port)));
  }
  return devices;
}
#endif

DistributedBackend choose_backend(DistributedBackend requested, const torch::Device& device) {
  if (requested != DistributedBackend::Auto) return requested;
  return device.is_cuda() ? DistributedBackend::Nccl : DistributedBackend::Gloo;
}

// A write to a rank that has died raises SIGPIPE, whose default action ends this process without a word (Gloo
// writes with writev, which cannot pass MSG_NOSIGNAL); whether a rank is writing or reading when its peer dies
// is a matter of timing. Ignored, the write fails with EPIPE and the collective throws an error that names the
// rank, as it does when the rank is reading (the Python runtime ignores SIGPIPE for PyTorch the same way). A
// handler the program installed itself is kept.
void ignore_broken_pipe_signal() {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() = default;

std::unique_ptr<ProcessGroup> ProcessGroup::connect(const DistributedEnvironment& env, torch::Device device,
                                                    const DistributedOptions& options) {
  check(options.timeout_seconds > 0, "distributed.timeout_seconds: expected a number > 0");
  check(options.bucket_mb > 0, "distributed.bucket_mb: expected a number > 0");
  const auto backend = choose_backend(options.backend, device);
  const std::string name = to_string(backend);
  check(distributed_backend_available(backend),
        "distributed.backend: " + name + " is not available in this build (" +
            (backend == DistributedBackend::Nccl
                 ? std::string("LibTorch without CUDA/NCCL; use distributed.backend: gloo or a CUDA build of LibTorch")
                 : std::string("LibTorch without torch.distributed/Gloo, or Gloo's headers (Debian: libgloo-dev) "
                               "were not found when the library was configured")) +
            ")");
  check(backend != DistributedBackend::Nccl || device.is_cuda(),
        "distributed.backend: nccl needs a CUDA device, the model is on " + device.str());
  ignore_broken_pipe_signal();
  auto impl = std::make_unique<Impl>();
  impl->rank = env.rank;
  impl->world_size = env.world_size;
  impl->backend = name;
  impl->comm_device = backend == DistributedBackend::Nccl ? device : torch::Device(torch::kCPU);
  impl->timeout = std::chrono::milliseconds(static_cast<int64_t>(options.timeout_seconds * 1000.0));
  impl->bucket_bytes = std::max<int64_t>(1, static_cast<int64_t>(options.bucket_mb * 1024.0 * 1024.0));
#if defined(DF_HAVE_C10D)
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  impl->guarded("rendezvous at " + where, [&] {
    ::c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(env.master_port);
    store_options.isServer = env.rank == 0 && !env.agent_store;
    if (!env.agent_store) store_options.numWorkers = static_cast<std::size_t>(env.world_size);
    store_options.waitWorkers = !env.agent_store;
    store_options.timeout = impl->timeout;
    c10::intrusive_ptr<::c10d::Store> tcp = c10::make_intrusive<::c10d::TCPStore>(env.master_addr, store_options);
    // torchrun's agent store outlives restarts: a prefix per attempt keeps our keys apart.
    const char* restart = env_or_null("TORCHELASTIC_RESTART_COUNT");
    impl->store = c10::make_intrusive<::c10d::PrefixStore>(std::string("df/") + (restart ? restart : "0"), tcp);
    impl->store->setTimeout(impl->timeout);
    return 0;
  });
  impl->guarded("connecting the " + name + " process group (" + where + ")", [&] {
#if defined(DF_HAVE_GLOO)
    if (backend == DistributedBackend::Gloo) {
      auto gloo_options = ::c10d::ProcessGroupGloo::Options::create(impl->timeout);
      gloo_options->devices = gloo_devices(env);
      impl->collectives =
          c10::make_intrusive<::c10d::ProcessGroupGloo>(impl->store, env.rank, env.world_size, gloo_options);
    }
#endif
#if defined(DF_HAVE_NCCL)
    if (backend == DistributedBackend::Nccl) {
      c10::cuda::set_device(device.index());
      auto nccl_options = ::c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = impl->timeout;
      impl->collectives =
          c10::make_intrusive<::c10d::ProcessGroupNCCL>(impl->store, env.rank, env.world_size, nccl_options);
    }
#endif
    return 0;
  });
  std::unique_ptr<ProcessGroup> group(new ProcessGroup(std::move(impl)));
  group->barrier("the first collective after connecting");
  return group;
#else
  throw Error("distributed: this LibTorch was built without torch.distributed (c10d)");
#endif
}

int ProcessGroup::rank() const { return impl_->rank; }
int ProcessGroup::world_size() const { return impl_->world_size; }
std::string ProcessGroup::backend_name() const { return impl_->backend; }
int64_t ProcessGroup::last_bucket_count() const { return impl_->last_bucket_count; }

void ProcessGroup::average_gradients(const std::vector<torch::Tensor>& parameters, const std::string& what) {
#if defined(DF_HAVE_C10D)
  std::vector<torch::Tensor> grads;
  std::vector<int64_t> layout;  // dtype and size of each defined gradient, in order
  for (const auto& p : parameters) {
    const auto& g = p.grad();
    if (!g.defined()) continue;
    grads.push_back(g);
    layout.push_back(static_cast<int64_t>(g.scalar_type()));
    layout.push_back(g.numel());
  }
  if (layout != impl_->verified_layout) {
    // Buckets must line up element by element on every rank, or the sums would mix unrelated gradients.
    const auto bytes = torch::from_blob(layout.data(), {static_cast<int64_t>(layout.size())}, torch::kLong).clone();
    require_equal(tensor_fingerprint({bytes}), what + " (which parameters have gradients, and their sizes)");
    impl_->verified_layout = layout;
  }
  // Consecutive gradients of one dtype and device share a bucket until it holds bucket_bytes.
  struct Bucket {
    std::vector<size_t> members;
    torch::Tensor flat;
    c10::intrusive_ptr<::c10d::Work> work;
  };
  std::vector<Bucket> buckets;
  int64_t filled = 0;
  for (size_t i = 0; i < grads.size(); ++i) {
    const auto& g = grads[i];
    const int64_t bytes = g.numel() * static_cast<int64_t>(g.element_size());
    const bool fits = !buckets.empty() && filled + bytes <= impl_->bucket_bytes &&
                      grads[buckets.back().members.front()].scalar_type() == g.scalar_type() &&
                      grads[buckets.back().members.front()].device() == g.device();
    if (!fits) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().members.push_back(i);
    filled += bytes;
  }
  ::c10d::AllreduceOptions sum;
  sum.reduceOp = ::c10d::ReduceOp::SUM;
  impl_->guarded("all-reduce of the " + what, [&] {
    for (auto& bucket : buckets) {  // launch them all, then wait
      std::vector<torch::Tensor> parts;
      for (const auto i : bucket.members) parts.push_back(grads[i].reshape({-1}));
      bucket.flat = torch::cat(parts).to(impl_->comm_device);
      std::vector<torch::Tensor> tensors{bucket.flat};
      bucket.work = impl_->collectives->allreduce(tensors, sum);
    }
    for (auto& bucket : buckets) impl_->wait(bucket.work);
    return 0;
  });
  for (auto& bucket : buckets) {
    bucket.flat.div_(impl_->world_size);
    int64_t offset = 0;
    for (const auto i : bucket.members) {
      auto& g = grads[i];
      g.copy_(bucket.flat.slice(0, offset, offset + g.numel()).view(g.sizes()));
      offset += g.numel();
    }
  }
  impl_->last_bucket_count = static_cast<int64_t>(buckets.size());
#else
  (void)parameters;
  throw Error("distributed: " + what + ": built without c10d");
#endif
}

std::vector<double> ProcessGroup::sum(const std::vector<double>& values, const std::string& what) {
  auto tensor = torch::tensor(values, torch::kDouble).to(impl_->comm_device);
#if defined(DF_HAVE_C10D)
  impl_->allreduce(tensor, ::c10d::ReduceOp::SUM, what);
#endif
  tensor = tensor.cpu();
  return {tensor.data_ptr<double>(), tensor.data_ptr<double>() + tensor.numel()};
}

std::vector<double> ProcessGroup::broadcast(const std::vector<double>& values, int root, const std::string& what) {
  auto tensor = torch::tensor(values, torch::kDouble).to(impl_->comm_device);
#if defined(DF_HAVE_C10D)
  std::vector<torch::Tensor> tensors{tensor};
  ::c10d::BroadcastOptions options;
  options.rootRank = root;
  impl_->run(what, [&] { return impl_->collectives->broadcast(tensors, options); });
#else
  (void)root;
#endif
  tensor = tensor.cpu();
  return {tensor.data_ptr<double>(), tensor.data_ptr<double>() + tensor.numel()};
}

void ProcessGroup::require_equal(uint64_t value, const std::string& what) {
  // Each rank writes its value into its own slot; a sum gathers them all (exact: the other slots are 0).
  auto slots = torch::zeros({impl_->world_size}, torch::kLong);
  int64_t mine = 0;
  std::memcpy(&mine, &value, sizeof mine);
  slots[impl_->rank] = mine;
  slots = slots.to(impl_->comm_device);
#if defined(DF_HAVE_C10D)
  impl_->allreduce(slots, ::c10d::ReduceOp::SUM, "comparing " + what);
#endif
  slots = slots.cpu();
  const auto* all = slots.data_ptr<int64_t>();
  std::string differ;
  for (int r = 0; r < impl_->world_size; ++r)
    if (all[r] != all[0]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  check(differ.empty(), "distributed: " + what + " differ between ranks: rank(s) " + differ + " disagree with rank 0");
}

void ProcessGroup::barrier(const std::string& what) { sum({0.0}, what); }

}  // namespace df
