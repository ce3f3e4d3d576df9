#include "trainer/covisitation.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/features/vocabulary.h"
#include "common/logs/logs.h"
#include "trainer/training_data.h"

namespace recsys {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Neighbour = CovisitationTable::Neighbour;

MATCHER_P2(Is, row, score, "") {
  return arg.row == row && ::testing::Matches(FloatEq(score))(arg.score);
}

// Watches that stay where `watches` points.
class Watches {
 public:
  // One watch of `video` by `user` at `time_s`.
  Watches& Add(const std::string& user, const std::string& video, int64_t time_s) {
    records_.push_back({user, video, time_s, 60.0f});
    return *this;
  }
  // `videos` watched by `user` in this order, one a second.
  Watches& User(const std::string& user, const std::vector<std::string>& videos) {
    for (const std::string& v : videos) Add(user, v, next_time_s_++);
    return *this;
  }
  std::vector<const WatchRecord*> pointers() const {
    std::vector<const WatchRecord*> out;
    for (const WatchRecord& w : records_) out.push_back(&w);
    return out;
  }

 private:
  std::deque<WatchRecord> records_;
  int64_t next_time_s_ = 1000;
};

// Rows 0..5 are videos a..f.
Vocabulary AtoF() { return *Vocabulary::FromValues({"a", "b", "c", "d", "e", "f"}); }

CovisitationOptions Window(int window, int max_neighbours = 50) {
  CovisitationOptions options;
  options.window = window;
  options.max_neighbours = max_neighbours;
  return options;
}

TEST(CovisitationTest, OneUserScoresEachPairByItsDistanceWithinTheWindow) {
  // With one user every n_i is 1: the scores are the weights 1 / distance.
  Watches w;
  w.User("u", {"a", "b", "c", "d", "e", "f"});
  absl::StatusOr<CovisitationTable> t = BuildCovisitation(w.pointers(), AtoF(), Window(3));
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->num_videos(), 6);
  // Window 3: each watch co-visits the 2 before and the 2 after it.
  EXPECT_THAT(t->neighbours(0), ElementsAre(Is(1, 1.0f), Is(2, 0.5f)));
  EXPECT_THAT(t->neighbours(2),
              ElementsAre(Is(1, 1.0f), Is(3, 1.0f), Is(0, 0.5f), Is(4, 0.5f)));
  EXPECT_THAT(t->neighbours(5), ElementsAre(Is(4, 1.0f), Is(3, 0.5f)));
  // Window 2: neighbours are adjacent watches only.
  t = BuildCovisitation(w.pointers(), AtoF(), Window(2));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->neighbours(2), ElementsAre(Is(1, 1.0f), Is(3, 1.0f)));
}

TEST(CovisitationTest, AUserCountsOncePerPairWithTheClosestCoVisit) {
  Watches w;
  // a-b at distances 1, 2 and 1 again; a-c at 2 and 1; a repeated is no pair.
  w.User("u", {"a", "b", "c", "a", "a", "b"});
  absl::StatusOr<CovisitationTable> t = BuildCovisitation(w.pointers(), AtoF(), Window(3));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->neighbours(0), ElementsAre(Is(1, 1.0f), Is(2, 1.0f)));
  EXPECT_THAT(t->neighbours(1), ElementsAre(Is(0, 1.0f), Is(2, 1.0f)));
}

TEST(CovisitationTest, ScoresAreNormalisedByHowManyUsersWatchedEachVideo) {
  Watches w;
  w.User("u1", {"a", "b"}).User("u2", {"a", "c"}).User("u3", {"b", "a"});
  w.User("u4", {"a", "x", "d"});  // x is not in the vocabulary: a, d adjacent
  absl::StatusOr<CovisitationTable> t = BuildCovisitation(w.pointers(), AtoF(), Window(2));
  ASSERT_TRUE(t.ok()) << t.status();
  // n_a = 4, n_b = 2, n_c = 1, n_d = 1; c_ab = 2, c_ac = 1, c_ad = 1.
  EXPECT_THAT(t->neighbours(0), ElementsAre(Is(1, 2 / std::sqrt(8.0f)),
                                            Is(2, 1 / std::sqrt(4.0f)),
                                            Is(3, 1 / std::sqrt(4.0f))));
  EXPECT_THAT(t->neighbours(1), ElementsAre(Is(0, 2 / std::sqrt(8.0f))));
  EXPECT_THAT(t->neighbours(4), IsEmpty());
}

TEST(CovisitationTest, EachVideoKeepsItsBestNeighboursTiesByRow) {
  Watches w;
  w.User("u", {"c", "a", "d", "b", "a", "e"});
  absl::StatusOr<CovisitationTable> t =
      BuildCovisitation(w.pointers(), AtoF(), Window(2, /*max_neighbours=*/2));
  ASSERT_TRUE(t.ok()) << t.status();
  // a's neighbours c, d, b, e all at distance 1: the first two rows.
  EXPECT_THAT(t->neighbours(0), ElementsAre(Is(1, 1.0f), Is(2, 1.0f)));
}

TEST(CovisitationTest, WatchesAreOrderedByTimeThenAsGiven) {
  Watches w;
  // Given out of order: by time the user watched a, b, c, d (b and c in the
  // same second, in the order given).
  w.Add("u", "d", 30).Add("u", "b", 20).Add("u", "c", 20).Add("u", "a", 10);
  absl::StatusOr<CovisitationTable> t = BuildCovisitation(w.pointers(), AtoF(), Window(2));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->neighbours(0), ElementsAre(Is(1, 1.0f)));
  EXPECT_THAT(t->neighbours(2), ElementsAre(Is(1, 1.0f), Is(3, 1.0f)));
}

TEST(CovisitationTest, TheSameWatchesGiveTheSameBits) {
  Watches w;
  const std::vector<std::string> videos = {"a", "b", "c", "d", "e", "f"};
  for (int u = 0; u < 50; ++u) {
    std::vector<std::string> history;
    for (int i = 0; i < 12; ++i) history.push_back(videos[(u * 7 + i * (u % 5 + 1)) % 6]);
    w.User("u" + std::to_string(u), history);
  }
  absl::StatusOr<CovisitationTable> t1 = BuildCovisitation(w.pointers(), AtoF(), Window(5));
  absl::StatusOr<CovisitationTable> t2 = BuildCovisitation(w.pointers(), AtoF(), Window(5));
  ASSERT_TRUE(t1.ok() && t2.ok());
  ASSERT_EQ(t1->num_entries(), t2->num_entries());
  for (int32_t row = 0; row < 6; ++row) {
    ASSERT_EQ(t1->neighbours(row).size(), t2->neighbours(row).size());
    for (size_t i = 0; i < t1->neighbours(row).size(); ++i) {
      EXPECT_EQ(t1->neighbours(row)[i].row, t2->neighbours(row)[i].row);
      EXPECT_EQ(t1->neighbours(row)[i].score, t2->neighbours(row)[i].score);
    }
  }
}

TEST(CovisitationTest, HeldOutWatchesAreNeverCounted) {
  // Each user's last two watches are held out (test, validation). u1 and u2
  // watch a b c d e f (held out: e f); u3 watches e f a b c (held out: b c).
  Logs logs;
  int64_t t = 1000;
  auto watch = [&](const std::string& user, const std::vector<std::string>& videos) {
    for (const std::string& v : videos) logs.watches.push_back({user, v, t++, 60.0f});
  };
  watch("u1", {"a", "b", "c", "d", "e", "f"});
  watch("u2", {"a", "b", "c", "d", "e", "f"});
  watch("u3", {"e", "f", "a", "b", "c"});
  const TrainingData p = PrepareTrainingData(logs, TrainingDataOptions());
  ASSERT_EQ(p.train_watches.size(), 11u);
  absl::StatusOr<CovisitationTable> table =
      BuildCovisitation(p.train_watches, p.videos, Window(5));
  ASSERT_TRUE(table.ok()) << table.status();
  auto rows = [&](const std::string& video) {
    std::vector<std::string> out;
    for (const Neighbour& nb : table->neighbours(p.videos.Lookup(video))) {
      out.push_back(p.videos.value(nb.row));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  // e and f co-visit only what u3 watched before its held-out watches; d
  // (u1's and u2's last training watch) never co-visits e or f.
  EXPECT_THAT(rows("e"), ElementsAre("a", "f"));
  EXPECT_THAT(rows("f"), ElementsAre("a", "e"));
  EXPECT_THAT(rows("d"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(rows("a"), ElementsAre("b", "c", "d", "e", "f"));
}

TEST(CovisitationTest, OptionsOutOfRangeAreRejected) {
  for (const CovisitationOptions& options : {Window(1), Window(5, 0)}) {
    absl::StatusOr<CovisitationTable> t = BuildCovisitation({}, AtoF(), options);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("window must be >= 2"));
  }
}

}  // namespace
}  // namespace recsys
