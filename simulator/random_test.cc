#include "simulator/random.h"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "gtest/gtest.h"

namespace recsys {
namespace world_internal {
namespace {

TEST(RandomTest, SplitMix64IsTheReferenceFinaliser) {
  // The first output of the reference SplitMix64 generator seeded with 0.
  EXPECT_EQ(SplitMix64(0), 0xE220A8397B1DCDAFull);
}

TEST(RandomTest, StreamsAreReproducibleAndIndependent) {
  Rng a(StreamSeed(42, kVideoStream));
  Rng b(StreamSeed(42, kVideoStream));
  Rng other_stream(StreamSeed(42, kChannelStream));
  Rng other_seed(StreamSeed(43, kVideoStream));
  int same_as_other_stream = 0;
  int same_as_other_seed = 0;
  for (int i = 0; i < 100; ++i) {
    const double x = a.Uniform();
    EXPECT_EQ(x, b.Uniform());
    same_as_other_stream += x == other_stream.Uniform();
    same_as_other_seed += x == other_seed.Uniform();
  }
  EXPECT_EQ(same_as_other_stream, 0);
  EXPECT_EQ(same_as_other_seed, 0);
}

TEST(RandomTest, UniformIntCoversItsClosedRange) {
  Rng rng(1);
  std::vector<int> counts(5, 0);
  for (int i = 0; i < 5000; ++i) {
    const int64_t x = rng.UniformInt(3, 7);
    ASSERT_GE(x, 3);
    ASSERT_LE(x, 7);
    ++counts[x - 3];
  }
  for (int count : counts) EXPECT_GT(count, 800);
}

TEST(RandomTest, DiscreteFollowsTheWeightsAndSkipsZeros) {
  Rng rng(2);
  EXPECT_EQ(rng.Discrete({0, 0}), -1);
  EXPECT_EQ(rng.Discrete({}), -1);
  std::vector<int> counts(3, 0);
  constexpr int kDraws = 30000;
  for (int i = 0; i < kDraws; ++i) ++counts[rng.Discrete({1, 0, 3})];
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[0] / static_cast<double>(kDraws), 0.25, 0.02);
  EXPECT_NEAR(counts[2] / static_cast<double>(kDraws), 0.75, 0.02);
}

TEST(RandomTest, WeightedSamplerFollowsTheWeights) {
  Rng rng(3);
  const WeightedSampler sampler({0, 2, 0, 6});
  std::vector<int> counts(4, 0);
  constexpr int kDraws = 40000;
  for (int i = 0; i < kDraws; ++i) ++counts[sampler.Draw(rng)];
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[2], 0);
  EXPECT_NEAR(counts[1] / static_cast<double>(kDraws), 0.25, 0.02);
}

TEST(RandomTest, ShuffleIsAPermutation) {
  Rng rng(4);
  std::vector<int> items(50);
  std::iota(items.begin(), items.end(), 0);
  std::vector<int> shuffled = items;
  rng.Shuffle(&shuffled);
  EXPECT_NE(shuffled, items);
  std::sort(shuffled.begin(), shuffled.end());
  EXPECT_EQ(shuffled, items);
}

TEST(RandomTest, NormalHasMeanZeroAndUnitVariance) {
  Rng rng(5);
  constexpr int kDraws = 100000;
  double sum = 0;
  double sum_squares = 0;
  for (int i = 0; i < kDraws; ++i) {
    const double x = rng.Normal();
    sum += x;
    sum_squares += x * x;
  }
  EXPECT_NEAR(sum / kDraws, 0, 0.02);
  EXPECT_NEAR(sum_squares / kDraws, 1, 0.02);
}

}  // namespace
}  // namespace world_internal
}  // namespace recsys
