// NumPy's legacy RandomState (MT19937) draws, bit for bit, and gym's (<= 0.21) seeding of it.
// D4RL's reference scores come from seeded Python scripts; replaying their exact random streams lets us
// compare our environment with REF_MAX episode by episode instead of only in distribution.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace df::planning {

class NumpyLegacyRandom {
 public:
  // np.random.seed(seed) / RandomState(seed) for an integer seed (MT19937 init_genrand).
  explicit NumpyLegacyRandom(std::uint32_t seed);
  // RandomState.seed(key) for a list of 32-bit words (MT19937 init_by_array).
  explicit NumpyLegacyRandom(const std::vector<std::uint32_t>& key);
  // gym.utils.seeding.np_random(seed) as in gym <= 0.21 (used by env.seed(seed) of MuJoCo envs): the key
  // is the first 8 bytes of SHA-512(str(seed)) as little-endian 32-bit words, trailing zero word dropped.
  static NumpyLegacyRandom gym_seeded(std::uint64_t seed);
  static std::vector<std::uint32_t> gym_seed_key(std::uint64_t seed);

  std::uint32_t next_uint32();
  // random_sample(): 53-bit double in [0, 1).
  double random_sample();
  // uniform(low, high): low + (high - low) * random_sample().
  double uniform(double low, double high) { return low + (high - low) * random_sample(); }
  // randn() / standard_normal(): the legacy polar Box-Muller method, caching the second value.
  double standard_normal();
  // randint(0, n) and choice(n): masked rejection sampling on 32-bit draws (n <= 2^32).
  std::int64_t randint(std::int64_t n);

 private:
  void generate();

  std::array<std::uint32_t, 624> state_{};
  int position_ = 624;
  bool has_cached_normal_ = false;
  double cached_normal_ = 0.0;
};

}  // namespace df::planning
