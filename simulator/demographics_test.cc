#include "simulator/demographics.h"

#include <numeric>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace recsys {
namespace world_internal {
namespace {

double Sum(const std::vector<double>& weights) {
  return std::accumulate(weights.begin(), weights.end(), 0.0);
}

TEST(DemographicsTest, SharesSumToOne) {
  EXPECT_NEAR(Sum(Weights(kRegions)), 1, 1e-12);
  EXPECT_NEAR(Sum(Weights(kDevices)), 1, 1e-12);
  EXPECT_NEAR(Sum(Weights(kAgeGroups)), 1, 1e-12);
}

TEST(DemographicsTest, LanguagesAreTheRegionsDistinctLanguagesInOrder) {
  EXPECT_EQ(Languages(), (std::vector<std::string>{"en", "hi", "pt", "de", "ja",
                                                   "fr", "es"}));
  EXPECT_EQ(LanguageIndex("en"), 0);
  EXPECT_EQ(LanguageIndex("es"), 6);
  EXPECT_EQ(LanguageIndex("xx"), 7);
}

TEST(DemographicsTest, LanguageMaskIgnoresUnknownLanguages) {
  EXPECT_EQ(LanguageMask({}), 0u);
  EXPECT_EQ(LanguageMask({"hi", "en"}), 0b11u);
  EXPECT_EQ(LanguageMask({"es", "xx"}), 1u << 6);
}

}  // namespace
}  // namespace world_internal
}  // namespace recsys
