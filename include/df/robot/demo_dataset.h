// Training sequences of the robot policy: windows of `window` consecutive tokens (TokenCodec: state or pixel
// tokens) of demonstrations drawn uniformly; with window = the demonstration length (the paper's 40 tokens)
// every sequence is a whole demonstration, so the latent must carry the start configuration to the end.
//
// WindowRange::BeforeExpertDone keeps windows inside the part of a demonstration before the expert is back
// home after its last move. The short windows of a memoryless (Diffusion-Policy-style) baseline otherwise
// come mostly from the rest at home after the swap, whose tokens equal the other start's first token: the
// baseline then learns to stay put at the start and fails there, not at the ambiguous state it is meant to
// show.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <vector>

#include "df/core/enum_names.h"
#include "df/data/sequence_dataset.h"
#include "df/robot/demonstrations.h"
#include "df/robot/token_codec.h"

namespace df::robot {
enum class WindowRange { Anywhere, BeforeExpertDone };
}  // namespace df::robot

namespace df {
template <>
struct EnumNames<robot::WindowRange> {
  static constexpr const char* what = "window range";
  static constexpr EnumName<robot::WindowRange> table[] = {{robot::WindowRange::Anywhere, "demo_end"},
                                                           {robot::WindowRange::BeforeExpertDone, "expert_done"}};
};
}  // namespace df

namespace df::robot {

// All tokens [F, ...token] of one demonstration (token 0 holds the start pose).
torch::Tensor demonstration_tokens(const Demonstration& demo, const TokenCodec& codec, const SceneSpec& spec = {});

// Tokens of a demonstration that windows may cover under `range`: all F, or up to and including the token
// whose actions bring the expert home after its last move (its done step, expert_done_step).
int64_t usable_tokens(const Demonstration& demo, int64_t action_stack, WindowRange range);

class RobotDemoDataset : public SequenceDataset {
 public:
  // Checks that every demonstration matches the codec (resolution, frame_every == action_stack, the
  // observations it needs) and has at least `window` usable tokens; errors name the demonstration.
  RobotDemoDataset(const DemoSet& set, const std::vector<int64_t>& indices, std::shared_ptr<const TokenCodec> codec,
                   int64_t window, WindowRange range = WindowRange::Anywhere);

  SequenceBatch sample(int64_t batch_size, torch::Generator& generator) override;
  std::vector<int64_t> token_shape() const override { return codec_->token_shape(); }
  int64_t num_tokens() const override { return window_; }
  int64_t size() const { return static_cast<int64_t>(observations_.size()); }
  // Every demonstration's first `window` tokens [window, N, ...] (validation, default contexts).
  torch::Tensor all_sequences() const;
  // The token index at which each window may start: [first, last] of demonstration i.
  int64_t last_start(int64_t i) const { return usable_[static_cast<size_t>(i)] - window_; }

 private:
  std::shared_ptr<const TokenCodec> codec_;
  int64_t window_;
  // Compact per demonstration; encoded into tokens per batch. observations [F, ...] (states or frames),
  // actions of the tokens [F, s, 4] (token 0: hold the start pose), apple start slot (0 A, 1 B).
  std::vector<torch::Tensor> observations_, actions_;
  std::vector<int64_t> apple_start_, usable_;
};

}  // namespace df::robot
