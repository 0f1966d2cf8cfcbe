// NumPy .npy files (format version 1.0: magic "\x93NUMPY", version 1 0, uint16 little-endian header
// length, an ASCII dict "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" padded with spaces
// and ending in '\n' so that magic + header is a multiple of 64 bytes, then the raw C-order data), so
// forecasts and statistics can be checked independently with numpy.load.
#pragma once
#include <string>

#include <torch/torch.h>

namespace df {

// Writes `tensor` (float32 -> '<f4', float64 -> '<f8', int64 -> '<i8', uint8 -> '|u1'; other dtypes are
// rejected) in C order. The tensor may live on any device and be non-contiguous.
void write_npy(const std::string& path, const torch::Tensor& tensor);

// The header bytes write_npy puts before the data (magic through '\n'); exposed for tests.
std::string npy_header(const torch::Tensor& tensor);

// Reads a little-endian, C-order file of format version 1.0, 2.0 or 3.0 ('<f4', '<f8', '<i8', '<i4', '<i2',
// '|i1', '|u1' or '|b1') into a CPU tensor of the matching dtype. Throws df::Error naming the path otherwise.
torch::Tensor read_npy(const std::string& path);
// The same for the bytes of a .npy held in memory (e.g. a member of an .npz archive named `source`).
torch::Tensor parse_npy(const std::string& bytes, const std::string& source);

}  // namespace df
