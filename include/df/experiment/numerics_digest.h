// A hash of the exact bytes of a computation's outputs (losses, weights, samples, metrics): the building block
// of the numerics fingerprint (df/experiment/numerics_fingerprint.h). Two computations get the same digest
// only if every value they add is bitwise identical, in the same order.
//
//   NumericsDigest digest;
//   digest.add("losses", summary.losses);
//   digest.add("weights", state_dict(model));
//   digest.hex();  // 16 hex digits
//
// Only values enter the hash: a tensor's dtype, shape and bytes, a number's 8 bytes. Labels (and metric or
// parameter names) are kept beside the hash for explain(), so renaming one changes nothing; the order of the
// values does (a map's values go in its key order).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace df {

class NumericsDigest {
 public:
  // A tensor (any device, any layout): dtype, shape and the bytes of its contiguous CPU copy.
  void add(const std::string& label, const torch::Tensor& tensor);
  void add(const std::string& label, double value);
  void add(const std::string& label, const std::vector<double>& values);
  void add(const std::string& label, const std::vector<int64_t>& values);
  // The values in key order (names are not hashed).
  void add(const std::string& label, const std::map<std::string, double>& values);
  void add(const std::string& label, const std::map<std::string, torch::Tensor>& tensors);

  // Prepended to the labels of what is added next (e.g. "<run>/"); labels are not hashed.
  void set_label_prefix(std::string prefix) { prefix_ = std::move(prefix); }

  // The hash of everything added so far: 64-bit FNV-1a, as 16 lowercase hex digits.
  std::string hex() const;
  // One line per add(): "<label> <hash of that value alone>", to find which output moved.
  const std::vector<std::pair<std::string, std::string>>& explain() const { return parts_; }
  int64_t bytes() const { return bytes_; }

 private:
  // Feeds bytes into the running hash and into the hash of the current part.
  void feed(const void* data, size_t size, uint64_t& part);
  void finish_part(const std::string& label, uint64_t part);

  uint64_t state_ = 0xcbf29ce484222325ULL;  // FNV-1a offset basis
  int64_t bytes_ = 0;
  std::string prefix_;
  std::vector<std::pair<std::string, std::string>> parts_;
};

// 16 lowercase hex digits of a 64-bit value.
std::string hex64(uint64_t value);

}  // namespace df
