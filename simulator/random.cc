#include "simulator/random.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace recsys {
namespace world_internal {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t StreamSeed(uint64_t seed, uint64_t stream) {
  return SplitMix64(seed ^ SplitMix64(stream));
}

int Rng::Discrete(const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) total += w;
  if (!(total > 0)) return -1;
  double target = Uniform() * total;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    target -= weights[i];
    if (target < 0) return static_cast<int>(i);
  }
  // Rounding: the last positive weight.
  for (size_t i = weights.size(); i-- > 0;) {
    if (weights[i] > 0) return static_cast<int>(i);
  }
  return -1;
}

WeightedSampler::WeightedSampler(const std::vector<double>& weights) {
  double total = 0;
  for (double w : weights) cumulative_.push_back(total += w);
}

int WeightedSampler::Draw(Rng& rng) const {
  const double target = rng.Uniform() * cumulative_.back();
  const auto it =
      std::upper_bound(cumulative_.begin(), cumulative_.end(), target);
  return static_cast<int>(
      std::min<ptrdiff_t>(it - cumulative_.begin(), cumulative_.size() - 1));
}

}  // namespace world_internal
}  // namespace recsys
