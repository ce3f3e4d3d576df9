#include "simulator/population.h"

#include <numeric>
#include <string>
#include <vector>

#include "common/logs/logs.h"
#include "gtest/gtest.h"
#include "simulator/catalogue.h"
#include "simulator/demographics.h"
#include "simulator/world_options.h"

namespace recsys {
namespace world_internal {
namespace {

TEST(PopulationTest, UsersHaveNormalisedTastesAndTheirRegionsLanguage) {
  const WorldOptions options = TinyWorldOptions();
  const Catalogue catalogue(options);
  const Population population(options, catalogue.tastes());
  for (int u = 0; u < options.num_users; ++u) {
    UserRecord record;
    GroundTruth::User user;
    population.MakeUser(u, &record, &user);
    ASSERT_EQ(static_cast<int>(user.topic_interest.size()), options.num_topics);
    EXPECT_NEAR(std::accumulate(user.topic_interest.begin(),
                                user.topic_interest.end(), 0.0),
                1, 1e-9);
    ASSERT_FALSE(user.favourite_topics.empty());
    EXPECT_LE(user.favourite_topics.size(), 3u);
    for (size_t k = 1; k < user.favourite_topics.size(); ++k) {
      EXPECT_GE(user.topic_interest[user.favourite_topics[k - 1]],
                user.topic_interest[user.favourite_topics[k]]);
    }
    ASSERT_FALSE(user.languages.empty());
    EXPECT_EQ(user.languages[0], record.language);
    bool region_found = false;
    for (const Region& region : kRegions) {
      if (record.region == region.code) {
        region_found = true;
        EXPECT_EQ(record.language, region.language);
      }
    }
    EXPECT_TRUE(region_found) << record.region;
    if (!record.logged_in) {
      EXPECT_EQ(record.gender, "");
      EXPECT_EQ(record.age, 0);
    }
  }
}

TEST(PopulationTest, AUserIsTheSameWhenMadeAgainOrOutOfOrder) {
  const WorldOptions options = TinyWorldOptions();
  const Catalogue catalogue(options);
  const Population population(options, catalogue.tastes());
  UserRecord first_record, again_record, other_record;
  GroundTruth::User first, again, other;
  population.MakeUser(17, &first_record, &first);
  population.MakeUser(3, &other_record, &other);
  population.MakeUser(17, &again_record, &again);
  EXPECT_EQ(first_record.user_id, "u00017");
  EXPECT_EQ(first_record.user_id, again_record.user_id);
  EXPECT_EQ(first_record.region, again_record.region);
  EXPECT_EQ(first.topic_interest, again.topic_interest);
  EXPECT_EQ(first.favourite_topics, again.favourite_topics);
  EXPECT_EQ(first.languages, again.languages);
}

TEST(PopulationTest, InterestPerTopicSumsTheUsers) {
  const WorldOptions options = TinyWorldOptions();
  const Catalogue catalogue(options);
  const Population population(options, catalogue.tastes());
  const std::vector<double> interest = population.InterestPerTopic();
  ASSERT_EQ(static_cast<int>(interest.size()), options.num_topics);
  EXPECT_NEAR(std::accumulate(interest.begin(), interest.end(), 0.0),
              options.num_users, 1e-6);
}

}  // namespace
}  // namespace world_internal
}  // namespace recsys
