// Training sequences of the robot policy: windows of `window` consecutive tokens (RobotTokenLayout) of
// demonstrations drawn uniformly; with window = the demonstration length (the paper's 40 tokens) every
// sequence is a whole demonstration, so the latent must carry the start configuration to the end.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "df/data/sequence_dataset.h"
#include "df/robot/demonstrations.h"
#include "df/robot/tokens.h"

namespace df::robot {

// All tokens [F, 6 + s, R, R] of one demonstration (token 0 holds the start pose).
torch::Tensor demonstration_tokens(const Demonstration& demo, const RobotTokenLayout& layout,
                                   const SceneSpec& spec = {});

class RobotDemoDataset : public SequenceDataset {
 public:
  // Checks that every demonstration matches the layout (resolution, frame_every == action_stack) and has
  // at least `window` frames; errors name the demonstration.
  RobotDemoDataset(const DemoSet& set, const std::vector<int64_t>& indices, const RobotTokenLayout& layout,
                   int64_t window);

  SequenceBatch sample(int64_t batch_size, torch::Generator& generator) override;
  std::vector<int64_t> token_shape() const override { return layout_.token_shape(); }
  int64_t num_tokens() const override { return window_; }
  int64_t size() const { return static_cast<int64_t>(frames_.size()); }
  // Every demonstration's first `window` tokens [window, N, ...] (validation, default contexts).
  torch::Tensor all_sequences() const;

 private:
  RobotTokenLayout layout_;
  int64_t window_;
  // Compact per demonstration; packed into tokens per batch. frames [F, 2, R, R, 3] uint8, actions of
  // the tokens [F, s, 4] (token 0: hold the start pose).
  std::vector<torch::Tensor> frames_, actions_;
};

}  // namespace df::robot
