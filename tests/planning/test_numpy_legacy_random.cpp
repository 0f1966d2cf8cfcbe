// NumPy's legacy streams, checked against values printed by NumPy 1.24 (RandomState is stream-stable
// across versions) and Python's hashlib; see the comments for the Python lines that produced them.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "df/planning/numpy_legacy_random.h"
#include "../../src/planning/sha512.h"

namespace df::planning {
namespace {

std::string hex_prefix(const std::array<std::uint8_t, 64>& digest, size_t bytes) {
  std::string out;
  char buffer[3];
  for (size_t k = 0; k < bytes; ++k) {
    std::snprintf(buffer, sizeof(buffer), "%02x", digest[k]);
    out += buffer;
  }
  return out;
}

TEST(Sha512, KnownAnswers) {
  // FIPS 180-2 example "abc", and hashlib.sha512(b"0") / hashlib.sha512(b"a" * 200) (two blocks).
  EXPECT_EQ(hex_prefix(sha512({'a', 'b', 'c'}), 64),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  EXPECT_EQ(hex_prefix(sha512({'0'}), 16), "31bca02094eb78126a517b206a88c73c");
  EXPECT_EQ(hex_prefix(sha512(std::vector<std::uint8_t>(200, 'a')), 16), "4b11459c33f52a22ee8236782714c150");
}

TEST(NumpyLegacyRandom, GymSeedKeysMatchGymsHashing) {
  // gym.utils.seeding._int_list_from_bigint(hash_seed(create_seed(s))) for s = 0, 1, 12345.
  EXPECT_EQ(NumpyLegacyRandom::gym_seed_key(0), (std::vector<std::uint32_t>{547404849U, 309914516U}));
  EXPECT_EQ(NumpyLegacyRandom::gym_seed_key(1), (std::vector<std::uint32_t>{2739863373U, 598274112U}));
  EXPECT_EQ(NumpyLegacyRandom::gym_seed_key(12345), (std::vector<std::uint32_t>{2593138486U, 2165556009U}));
}

TEST(NumpyLegacyRandom, IntegerSeedMatchesNumpyAcrossAStateRefill) {
  // np.random.RandomState(0).random_sample(700)[[0, 699]]: 1400 words, so the 624-word state is refilled.
  NumpyLegacyRandom rng(0);
  EXPECT_DOUBLE_EQ(rng.random_sample(), 0.5488135039273248);
  for (int k = 1; k < 699; ++k) rng.random_sample();
  EXPECT_DOUBLE_EQ(rng.random_sample(), 0.8427768626848423);
  // RandomState(123): randint(0, 1000) x5 then choice(46) x3.
  NumpyLegacyRandom other(123);
  for (std::int64_t expected : {510, 365, 382, 322, 988}) EXPECT_EQ(other.randint(1000), expected);
  for (std::int64_t expected : {34, 38, 17}) EXPECT_EQ(other.randint(46), expected);
}

TEST(NumpyLegacyRandom, GymSeededResetDrawsMatchNumpy) {
  // env.seed(0) of a D4RL maze, then what reset_model draws: choice(7) (x3 here), uniform(-.1, .1, 2),
  // randn(2) (one polar pair), randn(1) (a fresh pair: the cache was emptied by the second value).
  NumpyLegacyRandom rng = NumpyLegacyRandom::gym_seeded(0);
  EXPECT_EQ(rng.randint(7), 0);
  EXPECT_EQ(rng.randint(7), 6);
  EXPECT_EQ(rng.randint(7), 6);
  EXPECT_DOUBLE_EQ(rng.uniform(-0.1, 0.1), -0.054309031914635097);
  EXPECT_DOUBLE_EQ(rng.uniform(-0.1, 0.1), -0.051506003305290142);
  EXPECT_DOUBLE_EQ(rng.standard_normal(), -0.29479277269825405);
  EXPECT_DOUBLE_EQ(rng.standard_normal(), -0.22505580738292588);
  EXPECT_DOUBLE_EQ(rng.standard_normal(), -0.45657108753865272);
}

}  // namespace
}  // namespace df::planning
