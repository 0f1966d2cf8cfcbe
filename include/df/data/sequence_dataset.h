// What the trainer needs from data: batches of token sequences, drawn with an explicit generator so that
// a run is a pure function of (seed, step) and resumes exactly.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace df {

struct SequenceBatch {
  torch::Tensor x;                  // [T, B, ...token] clean tokens (frames already stacked)
  torch::Tensor first_observation;  // [B, obs] for models whose z_0 is encoded from o_0 (optional)
  torch::Tensor cond;               // [T, B, C] external condition per token (optional)
  torch::Tensor mask;               // [T, B] 1 = real token, 0 = padding (optional)

  SequenceBatch to(const torch::Device& device) const;
  // The batches side by side (x, cond, mask along dim 1, first_observation along dim 0); a field must be set in
  // all of them or in none. Used to join the data shards of one rank.
  static SequenceBatch concat(const std::vector<SequenceBatch>& parts);
};

class SequenceDataset {
 public:
  virtual ~SequenceDataset() = default;
  // A random batch; all randomness must come from `generator` (a CPU generator).
  virtual SequenceBatch sample(int64_t batch_size, torch::Generator& generator) = 0;
  virtual std::vector<int64_t> token_shape() const = 0;
  virtual int64_t num_tokens() const = 0;
  virtual int64_t cond_dim() const { return 0; }
  virtual int64_t observation_dim() const { return 0; }
};

}  // namespace df
