#include <algorithm>

#include "df/core/error.h"
#include "df/data/sequence_dataset.h"

namespace df {

SequenceBatch SequenceBatch::to(const torch::Device& device) const {
  auto move = [&](const torch::Tensor& t) { return t.defined() ? t.to(device) : t; };
  return {move(x), move(first_observation), move(cond), move(mask)};
}

SequenceBatch SequenceBatch::concat(const std::vector<SequenceBatch>& parts) {
  check(!parts.empty(), "SequenceBatch::concat: no batches");
  if (parts.size() == 1) return parts.front();
  const auto cat = [&](torch::Tensor SequenceBatch::*member, int64_t dim, const char* name) {
    std::vector<torch::Tensor> tensors;
    for (const auto& p : parts) tensors.push_back(p.*member);
    const auto defined = std::count_if(tensors.begin(), tensors.end(), [](const auto& t) { return t.defined(); });
    check(defined == 0 || defined == static_cast<std::ptrdiff_t>(tensors.size()),
          std::string("SequenceBatch::concat: ") + name + " is set in " + std::to_string(defined) + " of " +
              std::to_string(tensors.size()) + " batches");
    return defined ? torch::cat(tensors, dim) : torch::Tensor();
  };
  SequenceBatch batch;
  batch.x = cat(&SequenceBatch::x, 1, "x");
  batch.first_observation = cat(&SequenceBatch::first_observation, 0, "first_observation");
  batch.cond = cat(&SequenceBatch::cond, 1, "cond");
  batch.mask = cat(&SequenceBatch::mask, 1, "mask");
  return batch;
}

}  // namespace df
