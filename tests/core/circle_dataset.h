// A tiny synthetic sequence task: points moving on the unit circle with a fixed angular step and a
// random phase, x_t = (cos(phi + w t), sin(phi + w t)). Used by the training tests.
#pragma once
#include <cmath>

#include "df/data/sequence_dataset.h"

namespace df::test {

class CircleDataset : public SequenceDataset {
 public:
  CircleDataset(int64_t num_tokens, double angular_step) : tokens_(num_tokens), step_(angular_step) {}
  SequenceBatch sample(int64_t batch_size, torch::Generator& gen) override {
    const auto phase = torch::rand({1, batch_size}, gen) * 2 * M_PI;
    const auto t = torch::arange(tokens_, torch::kFloat).unsqueeze(1);
    const auto angle = phase + step_ * t;  // [T, B]
    SequenceBatch b;
    b.x = torch::stack({angle.cos(), angle.sin()}, -1);  // [T, B, 2]
    if (poison_) b.x = b.x * std::numeric_limits<float>::quiet_NaN();
    return b;
  }
  std::vector<int64_t> token_shape() const override { return {2}; }
  int64_t num_tokens() const override { return tokens_; }
  void poison(bool on) { poison_ = on; }

 private:
  int64_t tokens_;
  double step_;
  bool poison_ = false;
};

}  // namespace df::test
