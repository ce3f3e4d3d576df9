#ifndef RECSYS_SIMULATOR_RANDOM_H_
#define RECSYS_SIMULATOR_RANDOM_H_

// The simulator's randomness: seeded std::mt19937_64 streams and
// distributions implemented here (not std::*_distribution, whose output may
// differ between standard libraries), so that a world is the same on every
// machine. Private to //simulator.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace recsys {
namespace world_internal {

// The SplitMix64 finaliser: a bijective, well-mixing hash of `x`.
uint64_t SplitMix64(uint64_t x);

// The seed of stream `stream` of a world seeded with `seed`. Each purpose
// (and each user) draws from its own stream, so that changing how one part
// of the world is drawn leaves the others as they were.
uint64_t StreamSeed(uint64_t seed, uint64_t stream);

enum Stream : uint64_t {
  kTopicStream = 1,
  kChannelStream = 2,
  kVideoStream = 3,
  // Per-user activity: kActivityStreamBase + user index.
  kActivityStreamBase = uint64_t{1} << 32,
  // Per-user demographics and tastes: kUserStreamBase + user index.
  kUserStreamBase = uint64_t{2} << 32,
};

// Draws from a std::mt19937_64 through distributions defined here, so the
// output is the same with every standard library. Each method consumes a
// fixed number of engine outputs (`Discrete` and `Shuffle` as documented),
// which is part of the contract: the world's bytes depend on the draw order.
// Not thread-safe.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform in [0, n), n > 0.
  int64_t UniformInt(int64_t n) {
    return std::min<int64_t>(n - 1, static_cast<int64_t>(Uniform() * n));
  }
  // Uniform in [lo, hi].
  int64_t UniformInt(int64_t lo, int64_t hi) {
    return lo + UniformInt(hi - lo + 1);
  }
  bool Bernoulli(double p) { return Uniform() < p; }
  // Standard normal (Box-Muller; two uniforms per draw).
  double Normal() {
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  double LogNormal(double mu, double sigma) {
    return std::exp(mu + sigma * Normal());
  }
  // Exponential with mean 1.
  double Exponential() { return -std::log(1.0 - Uniform()); }

  // An index drawn with probability proportional to `weights` (all >= 0),
  // or -1 if they sum to 0 (then nothing is drawn; else one uniform).
  int Discrete(const std::vector<double>& weights);

  // Fisher-Yates, one uniform per item after the first.
  template <typename T>
  void Shuffle(std::vector<T>* items) {
    for (size_t i = items->size(); i > 1; --i) {
      std::swap((*items)[i - 1], (*items)[UniformInt(static_cast<int64_t>(i))]);
    }
  }

 private:
  std::mt19937_64 engine_;
};

// Draws indices with probability proportional to fixed weights (all >= 0,
// some > 0) in O(log n): a binary search in their cumulative sums. One
// uniform per draw. Immutable after construction.
class WeightedSampler {
 public:
  WeightedSampler() = default;
  explicit WeightedSampler(const std::vector<double>& weights);

  int Draw(Rng& rng) const;

 private:
  std::vector<double> cumulative_;
};

}  // namespace world_internal
}  // namespace recsys

#endif  // RECSYS_SIMULATOR_RANDOM_H_
