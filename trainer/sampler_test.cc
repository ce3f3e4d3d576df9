#include "trainer/sampler.h"

#include <cmath>

#include <gtest/gtest.h>

namespace recsys {
namespace {

TEST(NegativeSamplerTest, DrawsFollowTheProposal) {
  const std::vector<double> weights = {1, 0, 5, 2, 0.5, 11.5};  // sum 20
  NegativeSampler sampler(weights, 1000, 7);
  std::vector<int64_t> counts(weights.size()), draws;
  for (int i = 0; i < 400; ++i) {
    sampler.Sample(&draws);
    ASSERT_EQ(draws.size(), 1000u);
    for (int64_t d : draws) ++counts.at(d);
  }
  const double total = 400.0 * 1000;
  for (size_t i = 0; i < weights.size(); ++i) {
    const double p = weights[i] / 20;
    EXPECT_NEAR(counts[i] / total, p, 4 * std::sqrt(p * (1 - p) / total) + 1e-9) << i;
  }
  EXPECT_EQ(counts[1], 0) << "a zero-weight video is never drawn";
}

TEST(NegativeSamplerTest, LogQIsTheLogOfEachVideosExpectedCount) {
  NegativeSampler sampler({1, 3}, 8, 1);
  EXPECT_NEAR(sampler.log_q()[0].item<float>(), std::log(8 * 0.25), 1e-6);
  EXPECT_NEAR(sampler.log_q()[1].item<float>(), std::log(8 * 0.75), 1e-6);
}

TEST(NegativeSamplerTest, DeterministicGivenTheSeed) {
  NegativeSampler a({1, 2, 3, 4}, 50, 9), b({1, 2, 3, 4}, 50, 9);
  std::vector<int64_t> x, y;
  a.Sample(&x);
  b.Sample(&y);
  EXPECT_EQ(x, y);
}

}  // namespace
}  // namespace recsys
