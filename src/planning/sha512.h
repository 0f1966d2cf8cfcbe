// SHA-512 (FIPS 180-4), private to the planning library: gym's seeding hashes the seed with it, and
// the toolchain (LibTorch, OpenCV, HDF5, MuJoCo) offers no hash function to call instead.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace df::planning {

std::array<std::uint8_t, 64> sha512(const std::vector<std::uint8_t>& bytes);

}  // namespace df::planning
