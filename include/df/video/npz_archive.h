// NumPy .npz files: a zip archive (stored or deflated, as np.savez / np.savez_compressed write them) whose
// members are `<name>.npy`. Read and written through libarchive; the .npy payloads go through df/data/npy.h.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

namespace df::video {

// Every array of the archive by name (without ".npy"). Throws df::Error naming the file when it cannot be
// opened, is not a zip archive, or holds a malformed member.
std::map<std::string, torch::Tensor> read_npz(const std::string& path);

// Writes the arrays as an uncompressed (np.savez) or deflated (np.savez_compressed) archive. Supported dtypes
// are those of write_npy plus uint8, int32 and bool (TECO's `video` and `actions`).
void write_npz(const std::string& path, const std::map<std::string, torch::Tensor>& arrays, bool compressed = false);

}  // namespace df::video
