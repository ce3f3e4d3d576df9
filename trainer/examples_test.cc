#include "trainer/examples.h"

#include <algorithm>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"
#include "common/base/time_units.h"
#include "common/features/vocabulary.h"

namespace recsys {
namespace {

// Two users; every watch is of a distinct video at a distinct time, with
// a tie in time to check "strictly before".
struct Fixture {
  Logs logs;
  Vocabulary videos, tokens, regions, devices;
  UserHistories histories;
  std::vector<const WatchRecord*> labels;

  Fixture() {
    std::vector<std::string> ids;
    for (int u = 0; u < 2; ++u) {
      for (int i = 0; i < 30; ++i) {
        std::string v = "v" + std::to_string(u * 100 + i);
        ids.push_back(v);
        // Watches 10 and 11 share a time.
        int64_t t = 1000 + (i == 11 ? 10 : i) * 100;
        logs.watches.push_back({"u" + std::to_string(u), v, t, 10});
      }
    }
    videos = *Vocabulary::FromValues(ids);
    tokens = *Vocabulary::FromValues({});
    regions = *Vocabulary::FromValues({});
    devices = *Vocabulary::FromValues({});
    histories = UserHistories::Build(logs);
    for (const WatchRecord& w : logs.watches) labels.push_back(&w);
  }

  CandidateVocabularies vocabs() const {
    return {&videos, &tokens, &regions, &devices};
  }
};

// Rollback: an example's inputs are the events before its label in the
// user's order (time, then row order), as at serving and in evaluation.
TEST(RollbackExamplesTest, InputsAreOnlyEventsBeforeTheLabelInTheUsersOrder) {
  Fixture f;
  absl::flat_hash_map<std::string, int64_t> time_of, row_of;
  for (size_t i = 0; i < f.logs.watches.size(); ++i) {
    time_of[f.logs.watches[i].video_id] = f.logs.watches[i].time_s;
    row_of[f.logs.watches[i].video_id] = static_cast<int64_t>(i);
  }
  std::mt19937_64 rng(1);
  ExampleOptions options;
  options.max_examples_per_user = 0;
  std::vector<CandidateExample> examples =
      MakeRollbackExamples(f.histories, f.labels, f.vocabs(), options, rng);
  ASSERT_EQ(examples.size(), 60u);
  int compared = 0;
  for (const CandidateExample& e : examples) {
    for (int32_t id : e.features.watch_ids) {
      const std::string& input = f.videos.value(id);
      const std::string& label = f.videos.value(e.label);
      EXPECT_LE(time_of[input], e.label_time_s) << "input watch after the label's time";
      EXPECT_LT(row_of[input], row_of[label]) << "input watch after the label in row order";
      ++compared;
    }
  }
  EXPECT_GT(compared, 500);
  // Of the two watches at one second, the first (row order) sees neither,
  // the second sees the first.
  for (const CandidateExample& e : examples) {
    if (f.videos.value(e.label) == "v10") {
      EXPECT_EQ(e.features.watch_ids.size(), 10u);
    }
    if (f.videos.value(e.label) == "v11") {
      EXPECT_EQ(e.features.watch_ids.size(), 11u);
    }
  }
}

TEST(RollbackExamplesTest, RandomHoldOutSeesTheFutureButNotTheLabel) {
  Fixture f;
  absl::flat_hash_map<std::string, int64_t> time_of;
  for (const WatchRecord& w : f.logs.watches) time_of[w.video_id] = w.time_s;
  std::mt19937_64 rng(1);
  ExampleOptions options;
  options.max_examples_per_user = 0;
  options.random_holdout = true;
  std::vector<CandidateExample> examples =
      MakeRollbackExamples(f.histories, f.labels, f.vocabs(), options, rng);
  ASSERT_EQ(examples.size(), 60u);
  int future = 0;
  for (const CandidateExample& e : examples) {
    for (int32_t id : e.features.watch_ids) {
      EXPECT_NE(id, e.label);
      future += time_of[f.videos.value(id)] > e.label_time_s;
    }
  }
  EXPECT_GT(future, 0);
}

TEST(RollbackExamplesTest, NeverMoreThanTheCapPerUser) {
  Fixture f;
  std::mt19937_64 rng(1);
  ExampleOptions options;
  options.max_examples_per_user = 7;
  std::vector<CandidateExample> examples =
      MakeRollbackExamples(f.histories, f.labels, f.vocabs(), options, rng);
  absl::flat_hash_map<std::string, int> per_user;
  for (const CandidateExample& e : examples) {
    // u0 watched v0..v29, u1 v100..v129.
    ++per_user[std::stoi(f.videos.value(e.label).substr(1)) >= 100 ? "u1" : "u0"];
  }
  ASSERT_EQ(examples.size(), 14u);
  for (const auto& [user, n] : per_user) EXPECT_LE(n, 7) << user;
}

TEST(RollbackExamplesTest, ExampleAgeCountsBackFromTheWindowEnd) {
  Fixture f;
  std::mt19937_64 rng(1);
  ExampleOptions options;
  options.window_end_s = 1000 + 2 * kSecondsPerDay;
  options.age_scale_days = 4;
  std::vector<CandidateExample> examples =
      MakeRollbackExamples(f.histories, f.labels, f.vocabs(), options, rng);
  for (const CandidateExample& e : examples) {
    EXPECT_FLOAT_EQ(e.features.dense[kExampleAge],
                    (options.window_end_s - e.label_time_s) / 86400.0f / 4);
  }
}

}  // namespace
}  // namespace recsys

namespace recsys {
namespace {

// The paper's ranking vocabularies: the top N by frequency in clicked
// impressions (before the held-out cut); watches alone and unclicked
// impressions give no embedding.
TEST(RankingVocabulariesTest, CountClickedTrainingImpressionsOnly) {
  Logs logs;
  logs.videos = {{"a", "", "c1", "", "en", 0, 60}, {"b", "", "c2", "", "de", 0, 60},
                 {"c", "", "c2", "", "ja", 0, 60}, {"d", "", "c3", "", "fr", 0, 60},
                 {"w", "", "c4", "", "pt", 0, 60}};
  logs.users = {{"u1", "US", "", "", 0, false, "en"}, {"u2", "DE", "", "", 0, false, "hi"}};
  logs.watches = {{"u1", "w", 10, 30}};  // watched, never clicked on a page
  auto impression = [](const char* user, const char* video, int64_t t, bool clicked) {
    ImpressionRecord r;
    r.user_id = user;
    r.page_id = "p";
    r.time_s = t;
    r.video_id = video;
    r.clicked = clicked;
    r.watch_seconds = clicked ? 10 : 0;
    return r;
  };
  logs.impressions = {impression("u1", "a", 1, true),  impression("u2", "b", 1, true),
                      impression("u1", "b", 2, true),  impression("u1", "c", 2, false),
                      impression("u2", "c", 2, false), impression("u2", "d", 100, true)};
  RankingVocabularySet v = CountRankingVocabularies(logs, /*before_s=*/100, 0, 0);
  EXPECT_EQ(v.videos.size(), 2);          // b (2 clicks), a (1)
  EXPECT_EQ(v.videos.Lookup("b"), 0);
  EXPECT_EQ(v.videos.Lookup("a"), 1);
  EXPECT_EQ(v.videos.Lookup("c"), Vocabulary::kOov);  // shown, never clicked
  EXPECT_EQ(v.videos.Lookup("d"), Vocabulary::kOov);  // clicked after the cut
  EXPECT_EQ(v.videos.Lookup("w"), Vocabulary::kOov);  // only watched
  EXPECT_EQ(v.channels.Lookup("c2"), 0);
  EXPECT_EQ(v.channels.Lookup("c1"), 1);
  EXPECT_EQ(v.channels.size(), 2);
  // Video languages (de x2, en) and clicking users' languages (en x2, hi).
  EXPECT_EQ(v.languages.Lookup("en"), 0);
  EXPECT_EQ(v.languages.Lookup("de"), 1);
  EXPECT_EQ(v.languages.Lookup("hi"), 2);
  EXPECT_EQ(v.languages.size(), 3);
  // Truncation keeps the most clicked.
  RankingVocabularySet top = CountRankingVocabularies(logs, 100, 1, 1);
  EXPECT_EQ(top.videos.size(), 1);
  EXPECT_EQ(top.videos.Lookup("b"), 0);
  EXPECT_EQ(top.channels.size(), 1);
}

}  // namespace
}  // namespace recsys
