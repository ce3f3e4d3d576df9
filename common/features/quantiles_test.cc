#include "common/features/quantiles.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace recsys {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatEq;

// A uniform draw in (0, 1) from the raw generator output, so the samples do
// not depend on the standard library's distribution implementations.
double Uniform(std::mt19937& gen) {
  return (static_cast<double>(gen()) + 0.5) / 4294967296.0;
}

// Exponential(rate) by its inverse CDF.
std::vector<float> Exponential(int n, double rate, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<float> out(n);
  for (float& x : out) x = static_cast<float>(-std::log(1.0 - Uniform(gen)) / rate);
  return out;
}

// Pareto(x_min = 1, shape) by its inverse CDF: heavy-tailed, very skewed.
std::vector<float> Pareto(int n, double shape, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<float> out(n);
  for (float& x : out) {
    x = static_cast<float>(std::pow(1.0 - Uniform(gen), -1.0 / shape));
  }
  return out;
}

// Fraction of `values` whose normalised value falls in each decile
// [k/10, (k+1)/10).
std::vector<double> DecileShares(const QuantileNormalizer& q,
                                 const std::vector<float>& values) {
  std::vector<double> shares(10, 0.0);
  for (float v : values) {
    float n = q.Normalize(v);
    int bucket = static_cast<int>(std::floor(n * 10));
    EXPECT_GE(bucket, 0);
    EXPECT_LT(bucket, 10);
    if (bucket >= 0 && bucket < 10) shares[bucket] += 1.0;
  }
  for (double& s : shares) s /= values.size();
  return shares;
}

void ExpectUniformDeciles(const QuantileNormalizer& q,
                          const std::vector<float>& values) {
  std::vector<double> shares = DecileShares(q, values);
  for (int k = 0; k < 10; ++k) {
    EXPECT_NEAR(shares[k], 0.10, 0.015) << "decile " << k;
  }
}

void ExpectInUnitInterval(float n, float x) {
  EXPECT_FALSE(std::isnan(n)) << "x=" << x;
  EXPECT_GE(n, 0.0f) << "x=" << x;
  EXPECT_LT(n, 1.0f) << "x=" << x;
}

TEST(QuantileNormalizerTest, FitTakesInterpolatedQuantiles) {
  std::vector<float> values;
  for (int i = 100; i >= 0; --i) values.push_back(i);  // Any order.
  EXPECT_THAT(QuantileNormalizer::Fit(values, 4).boundaries(),
              ElementsAre(0, 25, 50, 75, 100));
  EXPECT_THAT(QuantileNormalizer::Fit({10, 0}, 4).boundaries(),
              ElementsAre(0, 2.5, 5, 7.5, 10));
}

TEST(QuantileNormalizerTest, InterpolatesLinearlyBetweenBoundaries) {
  QuantileNormalizer q(std::vector<float>{0, 1, 2, 4, 8});
  EXPECT_THAT(q.Normalize(0.5f), FloatEq(0.125f));
  EXPECT_THAT(q.Normalize(1.0f), FloatEq(0.25f));
  EXPECT_THAT(q.Normalize(3.0f), FloatEq(0.625f));
  EXPECT_THAT(q.Normalize(6.0f), FloatEq(0.875f));
}

TEST(QuantileNormalizerTest, ExponentialTrainingDataBecomesUniform) {
  std::vector<float> train = Exponential(100'000, 0.2, 1);
  QuantileNormalizer q = QuantileNormalizer::Fit(train, 100);
  ExpectUniformDeciles(q, train);
  // Fresh data from the same distribution is about as uniform.
  ExpectUniformDeciles(q, Exponential(100'000, 0.2, 2));
}

TEST(QuantileNormalizerTest, HeavyTailedTrainingDataBecomesUniform) {
  std::vector<float> train = Pareto(100'000, 1.2, 3);
  for (int num_quantiles : {10, 20, 100, 1000}) {
    SCOPED_TRACE(num_quantiles);
    QuantileNormalizer q = QuantileNormalizer::Fit(train, num_quantiles);
    ExpectUniformDeciles(q, train);
  }
  QuantileNormalizer q = QuantileNormalizer::Fit(train, 100);
  ExpectUniformDeciles(q, Pareto(100'000, 1.2, 4));
}

TEST(QuantileNormalizerTest, OutputsStayInUnitIntervalForAnyInput) {
  std::vector<float> train = Exponential(100'000, 1.0, 5);
  QuantileNormalizer q = QuantileNormalizer::Fit(train, 100);
  const float lo = q.boundaries().front(), hi = q.boundaries().back();
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {-inf, -1e30f, -1.0f, 0.0f, -0.0f, lo,
                  std::nextafter(lo, -inf), std::nextafter(lo, inf), 1.0f,
                  std::nextafter(hi, -inf), hi, std::nextafter(hi, inf),
                  hi * 2, 1e30f, inf, std::numeric_limits<float>::max(),
                  std::numeric_limits<float>::lowest(),
                  std::numeric_limits<float>::quiet_NaN(),
                  -std::numeric_limits<float>::quiet_NaN()}) {
    ExpectInUnitInterval(q.Normalize(x), x);
  }
  for (float x : train) ExpectInUnitInterval(q.Normalize(x), x);
  EXPECT_EQ(q.Normalize(lo - 5), 0.0f);
  EXPECT_EQ(q.Normalize(std::numeric_limits<float>::quiet_NaN()), 0.0f);
  EXPECT_GT(q.Normalize(hi + 5), 0.999f);
  EXPECT_EQ(q.Normalize(hi + 5), q.Normalize(inf));
}

TEST(QuantileNormalizerTest, DegenerateNormalizersStillMapIntoUnitInterval) {
  for (const QuantileNormalizer& q :
       {QuantileNormalizer(), QuantileNormalizer::Fit({}, 10),
        QuantileNormalizer::Fit({1, 2, 3}, 0), QuantileNormalizer(std::vector<float>{5}),
        QuantileNormalizer::Fit({7, 7, 7, 7}, 10)}) {
    for (float x : {-1.0f, 0.0f, 5.0f, 7.0f, 9.0f,
                    std::numeric_limits<float>::quiet_NaN(),
                    std::numeric_limits<float>::infinity()}) {
      ExpectInUnitInterval(q.Normalize(x), x);
    }
  }
}

TEST(QuantileNormalizerTest, MonotoneNonDecreasing) {
  // A skewed sample with two point masses (at the minimum and in the
  // middle), as count-like features have.
  std::vector<float> train = Exponential(50'000, 0.5, 6);
  train.resize(100'000, 0.0f);
  for (int i = 0; i < 20'000; ++i) train[50'000 + i] = 3.0f;
  QuantileNormalizer q = QuantileNormalizer::Fit(train, 100);
  std::vector<float> xs;
  for (float x = -2.0f; x < 40.0f; x += 0.001f) xs.push_back(x);
  for (float b : q.boundaries()) {
    xs.push_back(std::nextafter(b, -1e9f));
    xs.push_back(b);
    xs.push_back(std::nextafter(b, 1e9f));
  }
  std::sort(xs.begin(), xs.end());
  float previous = q.Normalize(xs.front());
  for (float x : xs) {
    float n = q.Normalize(x);
    ASSERT_GE(n, previous) << "x=" << x;
    previous = n;
  }
}

TEST(QuantileNormalizerTest, PointMassMapsToOneValueAtItsMidRank) {
  // 30% in [0, 1), 40% exactly 5, 30% in [10, 11).
  std::mt19937 gen(7);
  std::vector<float> train;
  for (int i = 0; i < 30'000; ++i) train.push_back(Uniform(gen));
  for (int i = 0; i < 40'000; ++i) train.push_back(5.0f);
  for (int i = 0; i < 30'000; ++i) train.push_back(10 + Uniform(gen));
  QuantileNormalizer q = QuantileNormalizer::Fit(train, 100);

  // Every copy of the mass gets the same value, the middle of the CDF range
  // the mass covers ([0.3, 0.7]), not one of its ends.
  const float mass = q.Normalize(5.0f);
  EXPECT_NEAR(mass, 0.5, 0.02);
  std::vector<double> shares = DecileShares(q, train);
  // The whole mass lands in one decile.
  EXPECT_GE(shares[static_cast<int>(mass * 10)], 0.4);
  // Neighbours stay on their side of it.
  EXPECT_LT(q.Normalize(std::nextafter(5.0f, 0.0f)), mass);
  EXPECT_GE(q.Normalize(std::nextafter(5.0f, 10.0f)), mass);
  EXPECT_NEAR(q.Normalize(0.99f), 0.3, 0.02);
  EXPECT_NEAR(q.Normalize(10.01f), 0.7, 0.02);
}

TEST(QuantileNormalizerTest, PointMassAtTheEndsMapsToTheEnds) {
  // Count-like features: most users never saw the video (0 impressions);
  // "days since" features: most are the 365-day "never" value.
  std::vector<float> zeros = Exponential(100'000, 1.0, 8);
  std::vector<float> never = zeros;
  for (int i = 0; i < 60'000; ++i) {
    zeros[i] = 0.0f;
    never[i] = 365.0f;
  }
  QuantileNormalizer qz = QuantileNormalizer::Fit(zeros, 100);
  EXPECT_EQ(qz.Normalize(0.0f), 0.0f);
  EXPECT_GT(qz.Normalize(0.001f), 0.0f);
  QuantileNormalizer qn = QuantileNormalizer::Fit(never, 100);
  EXPECT_GT(qn.Normalize(365.0f), 0.999f);
  EXPECT_LT(qn.Normalize(365.0f), 1.0f);
  EXPECT_LT(qn.Normalize(1.0f), 0.4f);
}

// The search as first written (two std:: binary searches per value), kept
// here as the reference the faster one must equal bit for bit: trained
// models saw its outputs.
float ReferenceNormalize(const std::vector<float>& b, float x) {
  constexpr float kBelowOne = 0.99999f;
  const size_t n = b.size();
  if (n < 2) return 0.0f;
  if (!(x > b.front())) return 0.0f;
  if (x >= b.back()) return kBelowOne;
  size_t i = std::upper_bound(b.begin(), b.end(), x) - b.begin();
  size_t lo = i - 1;
  size_t first = std::lower_bound(b.begin(), b.end(), b[lo]) - b.begin();
  double left = 0.5 * (first + lo);
  double width = b[i] - b[lo];
  double frac = width > 0 ? (x - b[lo]) / width : 0.0;
  double q = (left + frac * (i - left)) / (n - 1);
  return static_cast<float>(std::min<double>(q, kBelowOne));
}

TEST(QuantileNormalizerTest, EqualsTheTwoBinarySearchReference) {
  std::mt19937 gen(11);
  // Tables of several lengths, with runs of equal boundaries (point masses)
  // at the ends and inside; values on, between and beyond the boundaries.
  for (int num_quantiles : {1, 2, 3, 7, 64, 100, 255}) {
    std::vector<float> train = Exponential(20'000, 0.5, num_quantiles);
    for (int i = 0; i < 5'000; ++i) train[i] = 0.0f;
    for (int i = 5'000; i < 8'000; ++i) train[i] = 3.0f;
    for (int i = 8'000; i < 9'000; ++i) train[i] = 40.0f;
    const QuantileNormalizer q = QuantileNormalizer::Fit(train, num_quantiles);
    const std::vector<float>& b = q.boundaries();
    std::vector<float> xs = {-1.0f, 0.0f, 3.0f, 40.0f, 1e9f,
                             std::numeric_limits<float>::quiet_NaN()};
    for (float v : b) {
      xs.push_back(v);
      xs.push_back(std::nextafter(v, -1e30f));
      xs.push_back(std::nextafter(v, 1e30f));
    }
    for (int i = 0; i < 2'000; ++i) xs.push_back(static_cast<float>(Uniform(gen) * 50.0));
    for (float x : xs) {
      const float want = ReferenceNormalize(b, x);
      const float got = q.Normalize(x);
      if (std::isnan(want)) continue;  // not reached: NaN maps to 0
      EXPECT_EQ(got, want) << "num_quantiles " << num_quantiles << ", x = " << x;
    }
  }
  // Fewer than two boundaries: 0 everywhere.
  EXPECT_EQ(QuantileNormalizer(std::vector<float>{2.0f}).Normalize(5.0f), 0.0f);
  EXPECT_EQ(QuantileNormalizer().Normalize(5.0f), 0.0f);
}

}  // namespace
}  // namespace recsys
