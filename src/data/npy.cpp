#include "df/data/npy.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "df/core/error.h"

namespace df {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLength = 6;
constexpr size_t kAlignment = 64;

bool host_is_little_endian() {
  const uint16_t probe = 1;
  unsigned char first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

std::string descr_of(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return "<f4";
    case torch::kFloat64: return "<f8";
    case torch::kInt64: return "<i8";
    case torch::kUInt8: return "|u1";
    default: throw Error(std::string("write_npy: unsupported dtype ") + c10::toString(type) +
                         " (supported: float32, float64, int64, uint8)");
  }
}

torch::ScalarType type_of(std::string descr, const std::string& path) {
  // '|' (no byte order) and '<' (little-endian) name the same layout on this host.
  if (descr.size() == 3 && descr[0] == '|') descr[0] = '<';
  if (descr == "<f4") return torch::kFloat32;
  if (descr == "<f8") return torch::kFloat64;
  if (descr == "<i8") return torch::kInt64;
  if (descr == "<i4") return torch::kInt32;
  if (descr == "<i2") return torch::kInt16;
  if (descr == "<i1") return torch::kInt8;
  if (descr == "<u1") return torch::kUInt8;
  if (descr == "<b1") return torch::kBool;
  throw Error(path + ": unsupported npy descr '" + descr + "' (supported: <f4, <f8, <i8, <i4, <i2, |i1, |u1, |b1)");
}

// Value of `'key': <value>` in the header dict, up to the next ',' outside parentheses or the '}'.
std::string header_value(const std::string& header, const std::string& key, const std::string& path) {
  const std::string quoted = "'" + key + "'";
  size_t pos = header.find(quoted);
  check(pos != std::string::npos, path + ": npy header lacks key " + quoted);
  pos = header.find(':', pos + quoted.size());
  check(pos != std::string::npos, path + ": npy header: no ':' after " + quoted);
  ++pos;
  while (pos < header.size() && header[pos] == ' ') ++pos;
  size_t end = pos;
  int depth = 0;
  while (end < header.size()) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    ++end;
  }
  std::string value = header.substr(pos, end - pos);
  while (!value.empty() && value.back() == ' ') value.pop_back();
  return value;
}

std::vector<int64_t> parse_shape(const std::string& text, const std::string& path) {
  check(text.size() >= 2 && text.front() == '(' && text.back() == ')', path + ": npy header: bad shape " + text);
  std::vector<int64_t> shape;
  std::string number;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      number += c;
    } else if (c == ',' || c == ')') {
      if (!number.empty()) shape.push_back(std::stoll(number));
      number.clear();
    } else if (c != ' ' && c != 'L') {
      throw Error(path + ": npy header: bad shape " + text);
    }
  }
  if (!number.empty()) shape.push_back(std::stoll(number));
  return shape;
}

}  // namespace

std::string npy_header(const torch::Tensor& tensor) {
  // Python tuple syntax: "()", "(3,)", "(2, 3)".
  std::string shape = "(";
  for (int64_t i = 0; i < tensor.dim(); ++i) {
    if (i > 0) shape += ", ";
    shape += std::to_string(tensor.size(i));
  }
  shape += tensor.dim() == 1 ? ",)" : ")";
  std::string dict = "{'descr': '" + descr_of(tensor.scalar_type()) + "', 'fortran_order': False, 'shape': " + shape + ", }";
  const size_t unpadded = kMagicLength + 2 + 2 + dict.size() + 1;  // + '\n'
  dict.append((kAlignment - unpadded % kAlignment) % kAlignment, ' ');
  dict += '\n';
  check(dict.size() <= 65535, "write_npy: header too long for format 1.0");
  std::string header(kMagic, kMagicLength);
  header += '\x01';
  header += '\x00';
  header += static_cast<char>(dict.size() & 0xff);
  header += static_cast<char>((dict.size() >> 8) & 0xff);
  return header + dict;
}

void write_npy(const std::string& path, const torch::Tensor& tensor) {
  check(tensor.defined(), "write_npy: " + path + ": undefined tensor");
  check(host_is_little_endian(), "write_npy: big-endian hosts are not supported");
  const std::string header = npy_header(tensor);
  const torch::Tensor data = tensor.detach().to(torch::kCPU).contiguous();
  std::ofstream out(path, std::ios::binary);
  check(out.good(), "write_npy: cannot open " + path + " for writing");
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.numel() * data.element_size()));
  check(out.good(), "write_npy: write to " + path + " failed");
}

torch::Tensor parse_npy(const std::string& bytes, const std::string& path) {
  check(host_is_little_endian(), "read_npy: big-endian hosts are not supported");
  check(bytes.size() >= kMagicLength + 2 && std::memcmp(bytes.data(), kMagic, kMagicLength) == 0,
        path + ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(bytes[kMagicLength]);
  check(major == 1 || major == 2 || major == 3, path + ": unsupported npy format version " + std::to_string(major));
  const size_t length_size = major == 1 ? 2 : 4, length_at = kMagicLength + 2;
  check(bytes.size() >= length_at + length_size, path + ": truncated npy header");
  size_t header_length = 0;
  for (size_t i = 0; i < length_size; ++i)
    header_length |= static_cast<size_t>(static_cast<unsigned char>(bytes[length_at + i])) << (8 * i);
  const size_t data_at = length_at + length_size + header_length;
  check(bytes.size() >= data_at, path + ": truncated npy header");
  const std::string header = bytes.substr(length_at + length_size, header_length);

  std::string descr = header_value(header, "descr", path);
  check(descr.size() >= 2 && descr.front() == '\'' && descr.back() == '\'', path + ": npy header: bad descr " + descr);
  descr = descr.substr(1, descr.size() - 2);
  const torch::ScalarType type = type_of(descr, path);
  check(header_value(header, "fortran_order", path) == "False", path + ": Fortran-order npy files are not supported");
  const std::vector<int64_t> shape = parse_shape(header_value(header, "shape", path), path);

  torch::Tensor tensor = torch::empty(shape, torch::TensorOptions().dtype(type));
  const size_t data_bytes = static_cast<size_t>(tensor.numel() * tensor.element_size());
  check(bytes.size() - data_at >= data_bytes, path + ": npy data truncated: expected " + std::to_string(data_bytes) +
                                                  " bytes, found " + std::to_string(bytes.size() - data_at));
  if (data_bytes > 0) std::memcpy(tensor.data_ptr(), bytes.data() + data_at, data_bytes);
  return tensor;
}

torch::Tensor read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  check(in.good(), path + ": cannot open npy file");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_npy(bytes, path);
}

}  // namespace df
