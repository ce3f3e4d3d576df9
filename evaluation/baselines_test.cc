#include "common/base/time_units.h"
#include "evaluation/baselines.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "common/logs/logs.h"
#include "evaluation/metrics.h"
#include "common/logs/user_context.h"
#include "common/features/vocabulary.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "importers/splits.h"
#include "simulator/world.h"

namespace recsys {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kDay = kSecondsPerDay;
constexpr int64_t kT0 = 1767225600;

// A tiny log built one watch at a time; `Train()` points into it.
class TinyLog {
 public:
  // The user's next watch, one minute after their previous one (or at
  // `time_s` when given).
  TinyLog& Watch(const std::string& user, const std::string& video,
                 int64_t time_s = -1) {
    if (time_s < 0) time_s = kT0 + 60 * static_cast<int64_t>(watches_.size());
    watches_.push_back({user, video, time_s, 100});
    return *this;
  }
  // `n` users who each watched exactly `videos`, in order.
  TinyLog& Users(int n, const std::string& prefix,
                 const std::vector<std::string>& videos) {
    for (int u = 0; u < n; ++u) {
      for (const std::string& v : videos) Watch(prefix + std::to_string(u), v);
    }
    return *this;
  }
  std::vector<const WatchRecord*> Train() const {
    std::vector<const WatchRecord*> out;
    for (const WatchRecord& w : watches_) out.push_back(&w);
    return out;
  }

 private:
  std::vector<WatchRecord> watches_;
};

Vocabulary Corpus(std::vector<std::string> ids) {
  return *Vocabulary::FromValues(std::move(ids));
}

UserContext ContextOf(const std::vector<std::string>& watched) {
  UserContext context;
  int64_t t = kT0 + 100 * kDay;
  for (const std::string& v : watched) {
    recsys::Watch* w = context.add_watches();
    w->set_video_id(v);
    w->set_time_s(t++);
  }
  return context;
}

std::vector<std::string> Ids(const Vocabulary& corpus,
                             const std::vector<int64_t>& indices) {
  std::vector<std::string> out;
  for (int64_t i : indices) out.push_back(corpus.value(static_cast<int32_t>(i)));
  return out;
}

// ---------------------------------------------------------------------------
// MostPopular.

TEST(NaturalIdLessTest, DigitRunsCompareAsNumbers) {
  EXPECT_TRUE(NaturalIdLess("m2", "m10"));
  EXPECT_FALSE(NaturalIdLess("m10", "m2"));
  EXPECT_TRUE(NaturalIdLess("v00012", "v00013"));
  EXPECT_TRUE(NaturalIdLess("m9", "n1"));
  EXPECT_TRUE(NaturalIdLess("m", "m1"));
  EXPECT_TRUE(NaturalIdLess("m1a", "m1b"));
  EXPECT_TRUE(NaturalIdLess("m01", "m001"));  // same value: fewer zeros first
  EXPECT_FALSE(NaturalIdLess("m7", "m7"));
  std::vector<std::string> ids = {"m100", "m20", "m3", "m20a", "m1000", "m003"};
  std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
    return NaturalIdLess(a, b);
  });
  EXPECT_EQ(ids, (std::vector<std::string>{"m3", "m003", "m20", "m20a", "m100", "m1000"}));
}

TEST(MostPopularTest, OrdersByCountThenVideoIdAndIgnoresOutOfCorpus) {
  TinyLog log;
  log.Watch("u1", "b").Watch("u2", "b").Watch("u3", "b");
  log.Watch("u1", "c").Watch("u2", "c");
  log.Watch("u3", "a").Watch("u4", "a");
  for (int i = 0; i < 9; ++i) log.Watch("u5", "zz_not_in_corpus");
  // Corpus order differs from ID order on purpose.
  const Vocabulary corpus = Corpus({"d", "c", "b", "a"});
  const MostPopular model = MostPopular::Fit(log.Train(), corpus);

  EXPECT_THAT(Ids(corpus, model.Recommend(UserContext(), 10)),
              ElementsAre("b", "a", "c", "d"));
  EXPECT_THAT(model.counts(), ElementsAre(0, 2, 3, 2));
}

TEST(MostPopularTest, ExcludesContextWatchesAndStopsAtK) {
  TinyLog log;
  log.Users(3, "x", {"b"}).Users(2, "y", {"a"}).Users(1, "z", {"c"});
  const Vocabulary corpus = Corpus({"a", "b", "c", "d"});
  const MostPopular model = MostPopular::Fit(log.Train(), corpus);

  EXPECT_THAT(Ids(corpus, model.Recommend(ContextOf({"b", "unknown"}), 2)),
              ElementsAre("a", "c"));
  EXPECT_THAT(Ids(corpus, model.Recommend(ContextOf({"b"}), 100)),
              ElementsAre("a", "c", "d"));
  EXPECT_THAT(model.Recommend(ContextOf({}), 0), IsEmpty());
  EXPECT_THAT(model.Recommend(ContextOf({"a", "b", "c", "d"}), 5), IsEmpty());
}

// ---------------------------------------------------------------------------
// RecentPopular.

TEST(RecentPopularTest, CountsOnlyWatchesInTheLastDays) {
  const int64_t end = kT0 + 30 * kDay;
  TinyLog log;
  // "old" is the most watched overall, but only before the window.
  for (int u = 0; u < 5; ++u) log.Watch("o" + std::to_string(u), "old", kT0);
  log.Watch("r1", "recent", end - 2 * kDay).Watch("r2", "recent", end - 1);
  log.Watch("r3", "other", end - 7 * kDay);  // First second of the window.
  log.Watch("r4", "future", end);            // At the end: outside.
  log.Watch("r5", "future", end + kDay);
  const Vocabulary corpus = Corpus({"future", "old", "other", "recent"});

  const RecentPopular model =
      RecentPopular::Fit(log.Train(), corpus, end, /*days=*/7);
  EXPECT_THAT(Ids(corpus, model.Recommend(UserContext(), 10)),
              ElementsAre("recent", "other", "future", "old"));
  EXPECT_THAT(model.counts(), ElementsAre(0, 0, 1, 2));
  EXPECT_THAT(Ids(corpus, model.Recommend(ContextOf({"recent"}), 1)),
              ElementsAre("other"));

  // A wider window sees the old watches again.
  const RecentPopular wide =
      RecentPopular::Fit(log.Train(), corpus, end, /*days=*/60);
  EXPECT_THAT(Ids(corpus, wide.Recommend(UserContext(), 1)),
              ElementsAre("old"));
}

// ---------------------------------------------------------------------------
// ItemKnn.

// "pop" is watched alone by many users; "a" is co-watched with "b" by two
// users and with "c" by one.
TinyLog CoWatchLog() {
  TinyLog log;
  log.Users(6, "p", {"pop"});
  log.Users(2, "ab", {"a", "b"});
  log.Users(1, "ac", {"a", "c"});
  log.Users(1, "cd", {"c", "d"});
  return log;
}

TEST(ItemKnnTest, MostCoWatchedItemRanksFirstThenPopularFills) {
  const TinyLog log = CoWatchLog();
  const Vocabulary corpus = Corpus({"pop", "d", "c", "b", "a", "e"});
  const ItemKnn model = ItemKnn::Fit(log.Train(), corpus);

  // sim(a, b) = 2 / sqrt(3 * 2), sim(a, c) = 1 / sqrt(3 * 2); then the
  // most-popular fill: pop (6), then the unwatched "d" (1) and "e" (0).
  EXPECT_THAT(Ids(corpus, model.Recommend(ContextOf({"a"}), 5)),
              ElementsAre("b", "c", "pop", "d", "e"));
  EXPECT_THAT(Ids(corpus, model.Recommend(ContextOf({"a"}), 1)),
              ElementsAre("b"));

  const auto& nb = model.neighbours(corpus.Lookup("a"));
  ASSERT_EQ(nb.size(), 2u);
  EXPECT_EQ(corpus.value(nb[0].index), "b");
  EXPECT_FLOAT_EQ(nb[0].similarity, 2 / std::sqrt(6.0));
  EXPECT_EQ(corpus.value(nb[1].index), "c");
  EXPECT_FLOAT_EQ(nb[1].similarity, 1 / std::sqrt(6.0));
}

TEST(ItemKnnTest, FallbackFillsToKWithoutDuplicatesOrWatchedVideos) {
  const TinyLog log = CoWatchLog();
  const Vocabulary corpus = Corpus({"pop", "d", "c", "b", "a", "e", "f"});
  const ItemKnn model = ItemKnn::Fit(log.Train(), corpus);

  // No corpus watch in the context: the most-popular list.
  EXPECT_EQ(model.Recommend(ContextOf({"unknown"}), 7),
            MostPopular::Fit(log.Train(), corpus).Recommend(UserContext(), 7));
  for (int k = 0; k <= 8; ++k) {
    const std::vector<int64_t> got = model.Recommend(ContextOf({"d", "a"}), k);
    EXPECT_EQ(static_cast<int>(got.size()), std::min(k, 5)) << k;
    const absl::flat_hash_set<int64_t> unique(got.begin(), got.end());
    EXPECT_EQ(unique.size(), got.size());
    EXPECT_FALSE(unique.contains(corpus.Lookup("a")));
    EXPECT_FALSE(unique.contains(corpus.Lookup("d")));
  }
}

TEST(ItemKnnTest, WindowBoundsCoOccurrence) {
  TinyLog log;
  log.Users(1, "u", {"a", "x", "y", "b"});
  const Vocabulary corpus = Corpus({"a", "b", "x", "y"});
  ItemKnn::Options options;
  options.window = 3;  // a co-occurs with x and y, not with b.
  const ItemKnn windowed = ItemKnn::Fit(log.Train(), corpus, options);
  EXPECT_EQ(windowed.neighbours(corpus.Lookup("a")).size(), 2u);
  options.window = 0;  // Whole history.
  const ItemKnn whole = ItemKnn::Fit(log.Train(), corpus, options);
  EXPECT_EQ(whole.neighbours(corpus.Lookup("a")).size(), 3u);
}

TEST(ItemKnnTest, ScoresOnlyTheLastWatchesAndKeepsTopNeighbours) {
  TinyLog log;
  log.Users(2, "ab", {"a", "b"});
  log.Users(2, "cd", {"c", "d"});
  log.Users(1, "ce", {"c", "e"});
  const Vocabulary corpus = Corpus({"a", "b", "c", "d", "e"});
  ItemKnn::Options options;
  options.last_watches = 1;
  options.max_neighbours = 1;
  const ItemKnn model = ItemKnn::Fit(log.Train(), corpus, options);
  ASSERT_EQ(model.neighbours(corpus.Lookup("c")).size(), 1u);
  EXPECT_EQ(corpus.value(model.neighbours(corpus.Lookup("c"))[0].index), "d");

  // The context is given out of time order: "c" is the latest watch, so
  // only its neighbour "d" is scored; "b" comes from the popular fill.
  UserContext context;
  recsys::Watch* w = context.add_watches();
  w->set_video_id("c");
  w->set_time_s(kT0 + 50);
  w = context.add_watches();
  w->set_video_id("a");
  w->set_time_s(kT0 + 10);
  EXPECT_THAT(Ids(corpus, model.Recommend(context, 2)), ElementsAre("d", "b"));
}

TEST(ItemKnnTest, EqualSimilaritiesAreOrderedByVideoIdAndInputOrderIsIrrelevant) {
  TinyLog log;
  log.Users(1, "u1", {"s", "q"});
  log.Users(1, "u2", {"s", "r"});
  log.Users(1, "u3", {"s", "p"});
  const Vocabulary corpus = Corpus({"s", "r", "q", "p"});
  std::vector<const WatchRecord*> train = log.Train();
  const ItemKnn model = ItemKnn::Fit(train, corpus);
  const std::vector<int64_t> expected = model.Recommend(ContextOf({"s"}), 3);
  EXPECT_THAT(Ids(corpus, expected), ElementsAre("p", "q", "r"));

  std::mt19937 rng(7);
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(train.begin(), train.end(), rng);
    EXPECT_EQ(ItemKnn::Fit(train, corpus).Recommend(ContextOf({"s"}), 3),
              expected);
  }
}

// ---------------------------------------------------------------------------
// The small generated world, leave-last-out: item-to-item co-watches must
// beat global popularity on each user's last watch.

TEST(BaselinesOnWorldTest, ItemKnnBeatsMostPopularOnHitRateAt50) {
  absl::StatusOr<Logs> logs = GenerateWorld(SmallWorldOptions());
  ASSERT_TRUE(logs.ok()) << logs.status();
  const LeaveLastOutSplit split = SplitLeaveLastOut(*logs);

  std::vector<std::string> ids;
  for (const VideoRecord& v : logs->videos) ids.push_back(v.video_id);
  const Vocabulary corpus = Corpus(ids);
  std::vector<const WatchRecord*> train;
  int64_t train_end_s = 0;
  for (const WatchRecord& w : split.train.watches) {
    train.push_back(&w);
    train_end_s = std::max(train_end_s, w.time_s + 1);
  }

  const MostPopular popular = MostPopular::Fit(train, corpus);
  const RecentPopular recent =
      RecentPopular::Fit(train, corpus, train_end_s, /*days=*/7);
  const ItemKnn knn = ItemKnn::Fit(train, corpus);

  // Contexts hold the whole history before the target, so that every
  // watched video is excluded.
  UserHistories::Options history_options;
  history_options.max_watches = 1 << 20;
  const UserHistories histories =
      UserHistories::Build(*logs, history_options);
  RetrievalMetrics popular_metrics({50}), recent_metrics({50}),
      knn_metrics({50});
  for (const WatchRecord& target : split.test.watches) {
    absl::StatusOr<UserContext> context =
        histories.ContextAt(target.user_id, target.time_s);
    ASSERT_TRUE(context.ok()) << context.status();
    const int64_t index = corpus.Lookup(target.video_id);
    popular_metrics.Add(popular.Recommend(*context, 50), index);
    recent_metrics.Add(recent.Recommend(*context, 50), index);
    knn_metrics.Add(knn.Recommend(*context, 50), index);
  }
  std::cout << "Small world, " << knn_metrics.count()
            << " test users, HR@50: MostPopular "
            << popular_metrics.hit_rate(50) << ", RecentPopular(7 days) "
            << recent_metrics.hit_rate(50) << ", ItemKnn "
            << knn_metrics.hit_rate(50) << "\n";
  ASSERT_GT(knn_metrics.count(), 1000);
  EXPECT_GT(knn_metrics.hit_rate(50), popular_metrics.hit_rate(50));
}

}  // namespace
}  // namespace recsys
