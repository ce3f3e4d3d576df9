#include "web/user_directory.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace recsys::web {
namespace {

using ::testing::ElementsAre;

Logs SmallLogs() {
  Logs logs;
  logs.videos = {{"v1", "First", "c1", "music|live", "en", 0, 60},
                 {"v2", "Second", "c2", "cooking", "en", 0, 120}};
  logs.users = {{"alice", "US", "mobile", "female", 30, true, "en"},
                {"bob", "DE", "tv", "", 0, false, "de"},
                {"carol", "", "", "", 0, false, ""}};
  logs.watches = {{"alice", "v1", 100, 50}, {"alice", "v2", 200, 90}, {"bob", "v2", 150, 10}};
  logs.searches = {{"alice", 300, "jazz"}};
  return logs;
}

TEST(UserDirectoryTest, ContextIsTheUsersWholeHistoryAsOfAfterTheirLastEvent) {
  const UserDirectory directory(SmallLogs());
  absl::StatusOr<UserContext> alice = directory.ContextFor("alice");
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->user_id(), "alice");
  // The last event is the search at 300.
  EXPECT_EQ(alice->request_time_s(), 301);
  ASSERT_EQ(alice->watches_size(), 2);
  EXPECT_EQ(alice->watches(1).video_id(), "v2");
  EXPECT_EQ(alice->searches_size(), 1);
  EXPECT_EQ(alice->demographics().region(), "US");
  EXPECT_EQ(alice->demographics().gender(), GENDER_FEMALE);
  // A user without events: after the logs' last event.
  absl::StatusOr<UserContext> carol = directory.ContextFor("carol");
  ASSERT_TRUE(carol.ok()) << carol.status();
  EXPECT_EQ(carol->request_time_s(), 301);
  EXPECT_EQ(carol->watches_size(), 0);
  EXPECT_EQ(directory.ContextFor("nobody").status().code(), absl::StatusCode::kNotFound);
}

TEST(UserDirectoryTest, FindsUsersAndVideos) {
  const UserDirectory directory(SmallLogs());
  EXPECT_EQ(directory.num_users(), 3);
  EXPECT_EQ(directory.num_videos(), 2);
  int total = 0;
  EXPECT_THAT(directory.FindUsers("", 2, &total), ElementsAre("alice", "bob"));
  EXPECT_EQ(total, 3);
  EXPECT_THAT(directory.FindUsers("O", 10, &total), ElementsAre("bob", "carol"));
  EXPECT_EQ(total, 2);
  ASSERT_NE(directory.FindVideo("v1"), nullptr);
  EXPECT_EQ(directory.FindVideo("v1")->title, "First");
  EXPECT_EQ(directory.FindVideo("v9"), nullptr);
}

TEST(UserDirectoryTest, LoadNamesTheMissingDirectory) {
  auto loaded = UserDirectory::Load("/nonexistent/logs");
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace recsys::web
