#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <cstring>
#include <iterator>

#include <unistd.h>

#include "df/core/error.h"
#include "df/data/npy.h"

namespace dt = df;
namespace fs = std::filesystem;

namespace {
std::string temp_file(const std::string& name) {
  return (fs::temp_directory_path() / ("df_npy_" + std::to_string(::getpid()) + "_" + name)).string();
}
std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
}  // namespace

TEST(NpyTest, HeaderFollowsFormatVersion1) {
  // NumPy format 1.0: "\x93NUMPY", major 1, minor 0, uint16 LE header length, then the dict padded with
  // spaces and a final '\n' so that 10 + length is a multiple of 64. The dict below is 59 characters:
  // 10 + 59 + 1 = 70 -> padded to 128, so the length field is 118 and 58 spaces precede '\n'.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_EQ(dict.size(), 59u);
  const std::string expected = std::string("\x93NUMPY\x01\x00", 8) + std::string("\x76\x00", 2) + dict +
                               std::string(58, ' ') + "\n";
  EXPECT_EQ(dt::npy_header(torch::zeros({2, 3}, torch::kFloat32)), expected);
  EXPECT_EQ(expected.size(), 128u);

  // One-element tuples keep their comma, scalars have an empty tuple, float64 is '<f8'.
  EXPECT_NE(dt::npy_header(torch::zeros({5}, torch::kFloat64)).find("'descr': '<f8', 'fortran_order': False, 'shape': (5,), }"),
            std::string::npos);
  EXPECT_NE(dt::npy_header(torch::zeros({}, torch::kFloat32)).find("'shape': (), }"), std::string::npos);
  EXPECT_EQ(dt::npy_header(torch::zeros({7, 1, 2}, torch::kFloat64)).size() % 64, 0u);
  EXPECT_THROW(dt::npy_header(torch::zeros({2}, torch::kInt8)), df::Error);
}

TEST(NpyTest, RoundTripsFloat32AndFloat64) {
  torch::manual_seed(0);
  const torch::Tensor f32 = torch::randn({4, 3, 5});
  const torch::Tensor f64 = torch::randn({6}, torch::kFloat64);
  const torch::Tensor strided = torch::randn({5, 4}).t();  // non-contiguous: written in C order of the view
  const std::string a = temp_file("a.npy"), b = temp_file("b.npy"), c = temp_file("c.npy");
  dt::write_npy(a, f32);
  dt::write_npy(b, f64);
  dt::write_npy(c, strided);
  const torch::Tensor a_back = dt::read_npy(a);
  const torch::Tensor b_back = dt::read_npy(b);
  EXPECT_EQ(a_back.scalar_type(), torch::kFloat32);
  EXPECT_EQ(b_back.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(a_back, f32));
  EXPECT_TRUE(torch::equal(b_back, f64));
  EXPECT_TRUE(torch::equal(dt::read_npy(c), strided));

  // The file is header + raw little-endian data, nothing else.
  const std::string bytes = file_bytes(a);
  const std::string header = dt::npy_header(f32);
  ASSERT_EQ(bytes.size(), header.size() + 60 * sizeof(float));
  EXPECT_EQ(bytes.substr(0, header.size()), header);
  float first = 0;
  std::memcpy(&first, bytes.data() + header.size(), sizeof(float));
  EXPECT_EQ(first, f32[0][0][0].item<float>());

  // uint8 (camera frames) is '|u1', one byte per element.
  const torch::Tensor u8 = torch::arange(0, 250, 7, torch::kLong).to(torch::kUInt8).view({2, 18});
  const std::string d = temp_file("d.npy");
  EXPECT_NE(dt::npy_header(u8).find("'descr': '|u1'"), std::string::npos);
  dt::write_npy(d, u8);
  EXPECT_TRUE(torch::equal(dt::read_npy(d), u8));
  EXPECT_EQ(file_bytes(d).size(), dt::npy_header(u8).size() + 36);
  fs::remove(d);

  std::ofstream(temp_file("bad.npy"), std::ios::binary) << "not numpy";
  EXPECT_THROW(dt::read_npy(temp_file("bad.npy")), df::Error);
  for (const std::string& path : {a, b, c, temp_file("bad.npy")}) fs::remove(path);
}

TEST(NpyTest, ParsesByteAndIntegerArraysFromMemory) {
  // TECO's files: `video` uint8 ('|u1'), `actions` int32/int64; '|' and '<' mean the same on one byte.
  const std::string dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }";
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  const size_t padded = 64 * ((10 + dict.size() + 1 + 63) / 64);
  const std::string header = dict + std::string(padded - 10 - dict.size() - 1, ' ') + "\n";
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  for (int i = 0; i < 6; ++i) bytes += static_cast<char>(250 + i % 6 - 5 * (i % 2));
  const torch::Tensor t = dt::parse_npy(bytes, "mem.npy");
  EXPECT_EQ(t.scalar_type(), torch::kUInt8);
  ASSERT_EQ(t.sizes(), torch::IntArrayRef({2, 3}));
  EXPECT_EQ(t[0][0].item<int>(), 250);
  EXPECT_EQ(t[0][1].item<int>(), 246);
  // A truncated payload and an unknown type name the source.
  try {
    dt::parse_npy(bytes.substr(0, bytes.size() - 1), "short.npy");
    FAIL();
  } catch (const df::Error& e) {
    EXPECT_NE(std::string(e.what()).find("short.npy: npy data truncated"), std::string::npos) << e.what();
  }
  std::string complex = bytes;
  complex.replace(complex.find("|u1"), 3, "<c8");
  try {
    dt::parse_npy(complex, "complex.npy");
    FAIL();
  } catch (const df::Error& e) {
    EXPECT_NE(std::string(e.what()).find("complex.npy: unsupported npy descr '<c8'"), std::string::npos) << e.what();
  }
}
