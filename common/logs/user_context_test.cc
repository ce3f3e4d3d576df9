#include "common/logs/user_context.h"

#include <gtest/gtest.h>

namespace recsys {
namespace {

Logs TinyLogs() {
  Logs logs;
  logs.users.push_back({"u1", "US", "mobile", "female", 30, true});
  logs.watches.push_back({"u1", "v3", 300, 10});
  logs.watches.push_back({"u1", "v1", 100, 10});
  logs.watches.push_back({"u1", "v2", 200, 10});
  logs.watches.push_back({"u1", "v0", 200, 10});  // Same time: after v2 (row order).
  logs.searches.push_back({"u1", 150, "cat videos"});
  logs.searches.push_back({"u1", 250, "dog videos"});
  return logs;
}

TEST(UserHistoriesTest, ContextHoldsOnlyEventsStrictlyBefore) {
  UserHistories h = UserHistories::Build(TinyLogs());
  absl::StatusOr<UserContext> c = h.ContextAt("u1", 200);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->watches_size(), 1);
  EXPECT_EQ(c->watches(0).video_id(), "v1");
  ASSERT_EQ(c->searches_size(), 1);
  EXPECT_EQ(c->searches(0).query(), "cat videos");
  EXPECT_EQ(c->request_time_s(), 200);
  EXPECT_EQ(c->demographics().region(), "US");
  EXPECT_EQ(c->demographics().gender(), GENDER_FEMALE);
  EXPECT_TRUE(c->demographics().logged_in());
}

TEST(UserHistoriesTest, ContextsAfterLastWatchAreContextAtOneSecondLater) {
  Logs logs = TinyLogs();
  logs.users.push_back({"u2", "DE", "tv", "male", 40, false});  // no watch: left out
  logs.watches.push_back({"u3", "v5", 50, 10});
  const UserHistories h = UserHistories::Build(logs);
  const std::vector<UserContext> contexts = h.ContextsAfterLastWatch(10);
  ASSERT_EQ(contexts.size(), 2u);
  for (const UserContext& c : contexts) {
    const absl::StatusOr<UserContext> at =
        h.ContextAt(c.user_id(), h.watches(c.user_id()).back().time_s + 1);
    ASSERT_TRUE(at.ok()) << at.status();
    EXPECT_EQ(c.SerializeAsString(), at->SerializeAsString()) << c.user_id();
  }
  EXPECT_EQ(contexts[0].user_id(), "u1");
  EXPECT_EQ(contexts[0].watches_size(), 4);
  EXPECT_EQ(contexts[1].user_id(), "u3");
  EXPECT_EQ(h.ContextsAfterLastWatch(1).size(), 1u);
  EXPECT_TRUE(h.ContextsAfterLastWatch(0).empty());
}

TEST(UserHistoriesTest, WatchesSortedByTimeThenRowOrder) {
  UserHistories h = UserHistories::Build(TinyLogs());
  const auto& w = h.watches("u1");
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0].video_id, "v1");
  EXPECT_EQ(w[1].video_id, "v2");
  EXPECT_EQ(w[2].video_id, "v0");
  EXPECT_EQ(w[3].video_id, "v3");
}

// The evaluation protocol's context for a held-out watch: every watch before
// it in the user's order, same-second ones included.
TEST(UserHistoriesTest, ContextBeforeAWatchHoldsEarlierWatchesOfItsSecond) {
  UserHistories h = UserHistories::Build(TinyLogs());
  absl::StatusOr<UserContext> before_v0 = h.ContextBefore({"u1", "v0", 200, 10});
  ASSERT_TRUE(before_v0.ok()) << before_v0.status();
  ASSERT_EQ(before_v0->watches_size(), 2);
  EXPECT_EQ(before_v0->watches(0).video_id(), "v1");
  EXPECT_EQ(before_v0->watches(1).video_id(), "v2");
  EXPECT_EQ(before_v0->request_time_s(), 200);
  ASSERT_EQ(before_v0->searches_size(), 1);  // strictly before the second
  absl::StatusOr<UserContext> before_v2 = h.ContextBefore({"u1", "v2", 200, 10});
  ASSERT_TRUE(before_v2.ok());
  ASSERT_EQ(before_v2->watches_size(), 1);
  EXPECT_EQ(before_v2->watches(0).video_id(), "v1");
  // A watch that is not in the logs goes before its whole second.
  absl::StatusOr<UserContext> unknown = h.ContextBefore({"u1", "v9", 200, 10});
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->watches_size(), 1);
  EXPECT_EQ(h.ContextBefore({"nobody", "v1", 1, 1}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(UserHistoriesTest, KeepsOnlyTheMostRecentEvents) {
  UserHistories::Options options;
  options.max_watches = 2;
  UserHistories h = UserHistories::Build(TinyLogs(), options);
  absl::StatusOr<UserContext> c = h.ContextAt("u1", 1000);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->watches_size(), 2);
  EXPECT_EQ(c->watches(0).video_id(), "v0");
  EXPECT_EQ(c->watches(1).video_id(), "v3");
}

TEST(UserHistoriesTest, UnknownUserIsNotFound) {
  UserHistories h = UserHistories::Build(TinyLogs());
  EXPECT_EQ(h.ContextAt("nobody", 1).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace recsys
