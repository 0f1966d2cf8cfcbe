#include "df/experiment/numerics_digest.h"

#include <cstdio>

namespace df {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

}  // namespace

std::string hex64(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

void NumericsDigest::feed(const void* data, size_t size, uint64_t& part) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    state_ = (state_ ^ bytes[i]) * kFnvPrime;
    part = (part ^ bytes[i]) * kFnvPrime;
  }
  bytes_ += static_cast<int64_t>(size);
}

void NumericsDigest::finish_part(const std::string& label, uint64_t part) {
  parts_.emplace_back(prefix_ + label, hex64(part));
}

void NumericsDigest::add(const std::string& label, const torch::Tensor& tensor) {
  uint64_t part = kFnvOffset;
  if (!tensor.defined()) {
    const int64_t none = -1;
    feed(&none, sizeof(none), part);
    finish_part(label, part);
    return;
  }
  const auto c = tensor.detach().to(torch::kCPU).contiguous();
  const auto dtype = static_cast<int64_t>(c.scalar_type());
  const int64_t dims = c.dim();
  feed(&dtype, sizeof(dtype), part);
  feed(&dims, sizeof(dims), part);
  for (const int64_t size : c.sizes()) feed(&size, sizeof(size), part);
  feed(c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size(), part);
  finish_part(label, part);
}

void NumericsDigest::add(const std::string& label, double value) {
  uint64_t part = kFnvOffset;
  feed(&value, sizeof(value), part);
  finish_part(label, part);
}

void NumericsDigest::add(const std::string& label, const std::vector<double>& values) {
  uint64_t part = kFnvOffset;
  const auto n = static_cast<int64_t>(values.size());
  feed(&n, sizeof(n), part);
  feed(values.data(), values.size() * sizeof(double), part);
  finish_part(label, part);
}

void NumericsDigest::add(const std::string& label, const std::vector<int64_t>& values) {
  uint64_t part = kFnvOffset;
  const auto n = static_cast<int64_t>(values.size());
  feed(&n, sizeof(n), part);
  feed(values.data(), values.size() * sizeof(int64_t), part);
  finish_part(label, part);
}

void NumericsDigest::add(const std::string& label, const std::map<std::string, double>& values) {
  std::vector<double> v;
  for (const auto& [name, value] : values) v.push_back(value);
  add(label, v);
}

void NumericsDigest::add(const std::string& label, const std::map<std::string, torch::Tensor>& tensors) {
  for (const auto& [name, tensor] : tensors) add(label + "." + name, tensor);
}

std::string NumericsDigest::hex() const { return hex64(state_); }

}  // namespace df
