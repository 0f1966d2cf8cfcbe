// Which implementation runs the U-Net's convolutions on the CPU (fp32, and bf16 under autocast): oneDNN called
// directly on channels-last activations (primitives made once per shape, fp32 weight gradients; builds with
// oneDNN 2.x beside Debian's LibTorch, CMake DF_ONEDNN) or LibTorch's own convolution. DF_ONEDNN_CONV=0 in the
// environment chooses LibTorch's in a build that has both (and with it LibTorch's NCHW ops in fp32).
#pragma once
#include <string>

namespace df {

// "oneDNN direct" or "LibTorch"; the training log's first line names it for CPU bf16 runs.
std::string cpu_convolutions();

}  // namespace df
