#include "common/base/time_units.h"
#include "importers/splits.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/logs/logs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simulator/world.h"

namespace recsys {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// 2026-01-01 00:00:00 UTC.
constexpr int64_t kMidnight = 1767225600;
constexpr int64_t kDay = kSecondsPerDay;

// "user/video@time" per watch, for readable comparisons.
std::vector<std::string> Watches(const Logs& logs) {
  std::vector<std::string> out;
  for (const WatchRecord& w : logs.watches) {
    out.push_back(absl::StrCat(w.user_id, "/", w.video_id, "@", w.time_s));
  }
  return out;
}

// A catalogue of `videos` and users "a", "b", "c", without events.
Logs Catalogue(const std::vector<std::string>& videos) {
  Logs logs;
  for (const std::string& id : videos) {
    VideoRecord v;
    v.video_id = id;
    v.duration_s = 60;
    logs.videos.push_back(v);
  }
  for (const char* id : {"a", "b", "c"}) {
    UserRecord u;
    u.user_id = id;
    logs.users.push_back(u);
  }
  return logs;
}

void AddWatch(Logs* logs, const std::string& user, const std::string& video,
              int64_t time_s) {
  WatchRecord w;
  w.user_id = user;
  w.video_id = video;
  w.time_s = time_s;
  w.watch_seconds = 30;
  logs->watches.push_back(w);
}

void AddSearch(Logs* logs, const std::string& user, int64_t time_s) {
  SearchRecord s;
  s.user_id = user;
  s.time_s = time_s;
  s.query = "pasta";
  logs->searches.push_back(s);
}

void AddImpression(Logs* logs, const std::string& user, const std::string& page,
                   int64_t time_s, const std::string& video) {
  ImpressionRecord r;
  r.user_id = user;
  r.page_id = page;
  r.time_s = time_s;
  r.position = 0;
  r.video_id = video;
  logs->impressions.push_back(r);
}

// User "a" has 5 watches, three of them tied at the latest time; "b"
// exactly 3; "c" only 2.
Logs LeaveLastOutLogs() {
  Logs logs = Catalogue({"v1", "v2", "v3", "v10"});
  AddWatch(&logs, "a", "v2", 20);
  AddWatch(&logs, "b", "v1", 5);
  AddWatch(&logs, "a", "v3", 10);
  AddWatch(&logs, "a", "v10", 20);
  AddWatch(&logs, "c", "v1", 7);
  AddWatch(&logs, "b", "v2", 6);
  AddWatch(&logs, "a", "v1", 20);
  AddWatch(&logs, "c", "v2", 8);
  AddWatch(&logs, "b", "v3", 4);
  AddWatch(&logs, "a", "v1", 1);
  AddSearch(&logs, "a", 30);  // After a's held-out watches: still train.
  AddImpression(&logs, "b", "p1", 6, "v2");
  return logs;
}

TEST(SplitLeaveLastOutTest, LastTwoByTimeThenRowOrder) {
  const LeaveLastOutSplit split = SplitLeaveLastOut(LeaveLastOutLogs());
  // a, by time then row: v1@1, v3@10, v2@20 (row 0), v10@20 (row 3), v1@20
  // (row 6): test v1@20, validation v10@20. b: v3@4, v1@5, v2@6.
  EXPECT_THAT(Watches(split.test), ElementsAre("b/v2@6", "a/v1@20"));
  EXPECT_THAT(Watches(split.validation), ElementsAre("b/v1@5", "a/v10@20"));
  // Train keeps the input order; c (2 watches) is all train.
  EXPECT_THAT(Watches(split.train), ElementsAre("a/v2@20", "a/v3@10", "c/v1@7",
                                                "c/v2@8", "b/v3@4", "a/v1@1"));
}

// Rows of different seconds may come in any order; rows of the same second
// keep theirs, and it decides the tie.
TEST(SplitLeaveLastOutTest, OnlyTheRowOrderOfTiesMatters) {
  const Logs logs = LeaveLastOutLogs();
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    Logs shuffled = logs;
    std::shuffle(shuffled.watches.begin(), shuffled.watches.end(), rng);
    // The last of a's three rows at second 20 in the shuffled order is the
    // test watch, the one before it the validation watch.
    std::vector<std::string> tied;
    for (const WatchRecord& w : shuffled.watches) {
      if (w.user_id == "a" && w.time_s == 20) tied.push_back("a/" + w.video_id + "@20");
    }
    ASSERT_EQ(tied.size(), 3u);
    const LeaveLastOutSplit split = SplitLeaveLastOut(shuffled);
    EXPECT_THAT(Watches(split.test), UnorderedElementsAre(tied[2], "b/v2@6"));
    EXPECT_THAT(Watches(split.validation), UnorderedElementsAre(tied[1], "b/v1@5"));
    EXPECT_EQ(split.train.watches.size(), 6u);
  }
}

TEST(SplitLeaveLastOutTest, SearchesImpressionsInTrainCatalogueEverywhere) {
  const Logs logs = LeaveLastOutLogs();
  const LeaveLastOutSplit split = SplitLeaveLastOut(logs);
  EXPECT_EQ(split.train.searches.size(), 1);
  EXPECT_EQ(split.train.impressions.size(), 1);
  for (const Logs* part : {&split.train, &split.validation, &split.test}) {
    EXPECT_EQ(part->videos.size(), logs.videos.size());
    EXPECT_EQ(part->users.size(), logs.users.size());
    EXPECT_TRUE(ValidateLogs(*part).ok()) << ValidateLogs(*part);
  }
  EXPECT_THAT(split.validation.searches, IsEmpty());
  EXPECT_THAT(split.validation.impressions, IsEmpty());
  EXPECT_THAT(split.test.searches, IsEmpty());
  EXPECT_THAT(split.test.impressions, IsEmpty());
}

TEST(SplitLeaveLastOutTest, SimulatedWorldPartsReadBack) {
  absl::StatusOr<WorldOptions> tiny = WorldOptionsForPreset("tiny");
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  absl::StatusOr<Logs> logs = GenerateWorld(*tiny);
  ASSERT_TRUE(logs.ok()) << logs.status();
  const LeaveLastOutSplit split = SplitLeaveLastOut(*logs);
  EXPECT_EQ(split.train.watches.size() + split.validation.watches.size() +
                split.test.watches.size(),
            logs->watches.size());

  // Every held-out watch is its user's latest; one each per user.
  absl::flat_hash_map<std::string, std::tuple<int64_t, std::string>> latest;
  for (const WatchRecord& w : split.train.watches) {
    auto key = std::make_tuple(w.time_s, w.video_id);
    auto [it, inserted] = latest.try_emplace(w.user_id, key);
    if (!inserted) it->second = std::max(it->second, key);
  }
  absl::flat_hash_map<std::string, int> held_out;
  for (const WatchRecord& w : split.validation.watches) {
    ++held_out[w.user_id];
    EXPECT_GT(std::make_tuple(w.time_s, w.video_id), latest[w.user_id]);
  }
  for (const WatchRecord& w : split.test.watches) {
    held_out[w.user_id] += 10;
    EXPECT_GT(std::make_tuple(w.time_s, w.video_id), latest[w.user_id]);
  }
  for (const auto& [user, count] : held_out) EXPECT_EQ(count, 11) << user;
  absl::flat_hash_map<std::string, int> watches_per_user;
  for (const WatchRecord& w : logs->watches) ++watches_per_user[w.user_id];
  size_t users_held_out = 0;
  for (const auto& [user, count] : watches_per_user) {
    users_held_out += count >= 3;
  }
  EXPECT_GT(users_held_out, 0);
  EXPECT_EQ(split.test.watches.size(), users_held_out);

  const std::string dir = ::testing::TempDir() + "/split_world";
  ASSERT_TRUE(WriteLogs(dir + "/test", split.test).ok());
  absl::StatusOr<Logs> read = ReadLogs(dir + "/test");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(Watches(*read), Watches(split.test));
}

TEST(SplitAtTimeTest, TrainBeforeCutHoldoutOneDayFromIt) {
  const int64_t cut = kMidnight + 3 * kDay;
  Logs logs = Catalogue({"v1", "v2"});
  AddWatch(&logs, "a", "v1", cut - 1);
  AddWatch(&logs, "a", "v2", cut);
  AddWatch(&logs, "b", "v1", cut + kDay - 1);
  AddWatch(&logs, "b", "v2", cut + kDay);  // In neither part.
  AddWatch(&logs, "c", "v1", 0);
  AddSearch(&logs, "a", cut - 10);
  AddSearch(&logs, "b", cut + 10);
  AddImpression(&logs, "a", "p1", cut - 5, "v1");
  AddImpression(&logs, "a", "p2", cut + 5, "v1");
  AddImpression(&logs, "a", "p2", cut + 5, "v2");
  logs.impressions.back().position = 1;

  absl::StatusOr<TimeCutSplit> split = SplitAtTime(logs, cut);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_THAT(Watches(split->train),
              ElementsAre(absl::StrCat("a/v1@", cut - 1), "c/v1@0"));
  EXPECT_THAT(Watches(split->holdout),
              ElementsAre(absl::StrCat("a/v2@", cut),
                          absl::StrCat("b/v1@", cut + kDay - 1)));
  ASSERT_EQ(split->train.searches.size(), 1);
  EXPECT_EQ(split->train.searches[0].time_s, cut - 10);
  ASSERT_EQ(split->holdout.searches.size(), 1);
  EXPECT_EQ(split->holdout.searches[0].time_s, cut + 10);
  ASSERT_EQ(split->train.impressions.size(), 1);
  EXPECT_EQ(split->holdout.impressions.size(), 2);  // The whole page p2.
  for (const Logs* part : {&split->train, &split->holdout}) {
    EXPECT_EQ(part->videos.size(), 2);
    EXPECT_EQ(part->users.size(), 3);
    EXPECT_TRUE(ValidateLogs(*part).ok()) << ValidateLogs(*part);
  }

  absl::StatusOr<TimeCutSplit> hour = SplitAtTime(logs, cut, 3600);
  ASSERT_TRUE(hour.ok());
  EXPECT_THAT(Watches(hour->holdout), ElementsAre(absl::StrCat("a/v2@", cut)));
  EXPECT_EQ(SplitAtTime(logs, cut, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CutTimeForDayTest, DaysCountFromFirstMidnightOrBackFromTheEnd) {
  Logs logs = Catalogue({"v1"});
  AddWatch(&logs, "a", "v1", kMidnight + 5 * 3600);                 // Day 0.
  AddSearch(&logs, "b", kMidnight + 2 * kDay + 60);                 // Day 2.
  AddImpression(&logs, "c", "p1", kMidnight + 3 * kDay + 1, "v1");  // Day 3.

  EXPECT_EQ(*CutTimeForDay(logs, 1), kMidnight + kDay);
  EXPECT_EQ(*CutTimeForDay(logs, 3), kMidnight + 3 * kDay);
  EXPECT_EQ(*CutTimeForDay(logs, -1), kMidnight + 3 * kDay);
  EXPECT_EQ(*CutTimeForDay(logs, -3), kMidnight + kDay);
  for (int64_t day : {0, 4, -4, 100}) {
    absl::Status status = CutTimeForDay(logs, day).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << day;
    EXPECT_THAT(status.message(), HasSubstr("use a day in 1..3 or -3..-1"));
  }
  EXPECT_EQ(CutTimeForDay(Catalogue({"v1"}), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recsys
