// Frame stacking: fs consecutive frames form one token and share its noise level.
//   vectors: [T*fs, B, D]       <-> [T, B, fs*D]
//   images : [T*fs, B, C, H, W] <-> [T, B, fs*C, H, W]
#pragma once
#include <torch/torch.h>

namespace df {

torch::Tensor stack_frames(const torch::Tensor& frames, int64_t frame_stack);
torch::Tensor unstack_frames(const torch::Tensor& tokens, int64_t frame_stack);

}  // namespace df
