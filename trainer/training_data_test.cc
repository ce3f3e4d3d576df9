#include "trainer/training_data.h"

#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace recsys {
namespace {

TEST(InUserSampleTest, KeepsTheShareAskedForTheSameUsersEveryTime) {
  constexpr int kUsers = 100000;
  int kept_tenth = 0, kept_both = 0, kept_even_shard = 0;
  for (int i = 0; i < kUsers; ++i) {
    const std::string user = absl::StrCat("u", i);
    EXPECT_TRUE(InUserSample(user, 1.0));
    const bool tenth = InUserSample(user, 0.1);
    EXPECT_EQ(tenth, InUserSample(user, 0.1));  // deterministic
    // Nested: a smaller sample is a subset of a larger one.
    if (InUserSample(user, 0.05)) {
      EXPECT_TRUE(tenth) << user;
      ++kept_both;
    }
    if (tenth) {
      ++kept_tenth;
      // Not lined up with the data-parallel split (std::hash % world size).
      if (std::hash<std::string>()(user) % 2 == 0) ++kept_even_shard;
    }
  }
  EXPECT_NEAR(kept_tenth, 0.1 * kUsers, 0.005 * kUsers);
  EXPECT_NEAR(kept_both, 0.05 * kUsers, 0.004 * kUsers);
  EXPECT_NEAR(kept_even_shard, 0.5 * kept_tenth, 0.03 * kept_tenth);
  EXPECT_FALSE(InUserSample("u1", 0.0));
}

}  // namespace
}  // namespace recsys
