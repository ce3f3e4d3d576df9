#include "common/features/features.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"
#include "common/logs/logs.h"
#include "common/features/quantiles.h"
#include "common/features/vocabulary.h"
#include "proto/recsys.pb.h"

namespace recsys {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::FloatEq;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

constexpr int64_t kDay = kSecondsPerDay;

void AddWatch(UserContext* c, const std::string& video_id, int64_t time_s) {
  Watch* w = c->add_watches();
  w->set_video_id(video_id);
  w->set_time_s(time_s);
}

void AddSearch(UserContext* c, const std::string& query, int64_t time_s) {
  SearchQuery* s = c->add_searches();
  s->set_query(query);
  s->set_time_s(time_s);
}

void AddImpression(UserContext* c, const std::string& video_id,
                   int64_t time_s) {
  Impression* i = c->add_impressions();
  i->set_video_id(video_id);
  i->set_time_s(time_s);
}

// The same context with its events in reverse request order.
UserContext Reversed(const UserContext& c) {
  UserContext r = c;
  std::reverse(r.mutable_watches()->begin(), r.mutable_watches()->end());
  std::reverse(r.mutable_searches()->begin(), r.mutable_searches()->end());
  std::reverse(r.mutable_impressions()->begin(),
               r.mutable_impressions()->end());
  return r;
}

// ---------------------------------------------------------------------------
// Candidate generation.

class CandidateFeaturesTest : public ::testing::Test {
 protected:
  CandidateFeatures Extract(const UserContext& c, float example_age = 0) {
    return ExtractCandidateFeatures(c, vocabs_, options_, example_age);
  }
  int32_t Token(const std::string& t) { return tokens_.Lookup(t); }

  Vocabulary videos_ = *Vocabulary::FromValues(
      {"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"});
  Vocabulary tokens_ = *Vocabulary::FromValues(
      {"cat", "videos", "cat videos", "funny", "dog", "funny dog", "news"});
  Vocabulary regions_ = *Vocabulary::FromValues({"US", "DE"});
  Vocabulary devices_ = *Vocabulary::FromValues({"mobile", "tv"});
  CandidateVocabularies vocabs_{&videos_, &tokens_, &regions_, &devices_};
  CandidateFeatureOptions options_;
};

TEST_F(CandidateFeaturesTest, KeepsTheMostRecentWatchesOldestFirst) {
  UserContext c;
  AddWatch(&c, "v3", 300);
  AddWatch(&c, "v1", 100);
  AddWatch(&c, "v5", 500);
  AddWatch(&c, "v2", 200);
  AddWatch(&c, "v4", 400);
  options_.max_watches = 3;
  EXPECT_THAT(Extract(c).watch_ids, ElementsAre(3, 4, 5));
  EXPECT_THAT(Extract(Reversed(c)).watch_ids, ElementsAre(3, 4, 5));
  options_.max_watches = 50;
  EXPECT_THAT(Extract(c).watch_ids, ElementsAre(1, 2, 3, 4, 5));
}

TEST_F(CandidateFeaturesTest, WatchesAtTheSameTimeAreOrderedByVideoId) {
  UserContext c;
  AddWatch(&c, "v7", 100);
  AddWatch(&c, "v9", 50);
  AddWatch(&c, "v2", 100);
  EXPECT_THAT(Extract(c).watch_ids, ElementsAre(9, 2, 7));
  EXPECT_THAT(Extract(Reversed(c)).watch_ids, ElementsAre(9, 2, 7));
  // So the cut at `max_watches` does not depend on request order either.
  options_.max_watches = 1;
  EXPECT_THAT(Extract(c).watch_ids, ElementsAre(7));
  EXPECT_THAT(Extract(Reversed(c)).watch_ids, ElementsAre(7));
}

TEST_F(CandidateFeaturesTest, DropsOutOfVocabularyWatches) {
  UserContext c;
  AddWatch(&c, "v1", 1);
  AddWatch(&c, "never-seen", 2);
  AddWatch(&c, "v2", 3);
  AddWatch(&c, "V1", 4);  // IDs are case-sensitive.
  EXPECT_THAT(Extract(c).watch_ids, ElementsAre(1, 2));
}

TEST_F(CandidateFeaturesTest, RecentGroupIsTheLastWatchesOldestFirst) {
  UserContext c;
  AddWatch(&c, "v3", 300);
  AddWatch(&c, "v1", 100);
  AddWatch(&c, "v5", 500);
  AddWatch(&c, "v2", 200);
  AddWatch(&c, "v4", 400);
  options_.recent_watches = 3;
  CandidateFeatures f = Extract(c);
  EXPECT_THAT(f.recent_ids, ElementsAre(3, 4, 5));
  EXPECT_THAT(f.watch_ids, ElementsAre(1, 2, 3, 4, 5));  // the bag is unchanged
  EXPECT_THAT(Extract(Reversed(c)).recent_ids, ElementsAre(3, 4, 5));
  options_.recent_watches = 1;
  EXPECT_THAT(Extract(c).recent_ids, ElementsAre(5));
  // Within the watches read at all.
  options_.recent_watches = 3;
  options_.max_watches = 2;
  EXPECT_THAT(Extract(c).recent_ids, ElementsAre(4, 5));
}

TEST_F(CandidateFeaturesTest, RecentGroupWithFewerWatchesTakesThemAll) {
  UserContext c;
  options_.recent_watches = 3;
  EXPECT_THAT(Extract(c).recent_ids, IsEmpty());
  AddWatch(&c, "v7", 100);
  AddWatch(&c, "v2", 200);
  EXPECT_THAT(Extract(c).recent_ids, ElementsAre(7, 2));
}

TEST_F(CandidateFeaturesTest, RecentGroupDropsOutOfVocabularyWatches) {
  UserContext c;
  AddWatch(&c, "v1", 1);
  AddWatch(&c, "v2", 2);
  AddWatch(&c, "v3", 3);
  AddWatch(&c, "never-seen", 4);
  AddWatch(&c, "v4", 5);
  AddWatch(&c, "also-unknown", 6);
  options_.recent_watches = 3;
  // The last three in-vocabulary watches: unknown ones neither count nor
  // shrink the average.
  EXPECT_THAT(Extract(c).recent_ids, ElementsAre(2, 3, 4));
}

TEST_F(CandidateFeaturesTest, RecentGroupOffReadsEmpty) {
  UserContext c;
  AddWatch(&c, "v1", 1);
  AddWatch(&c, "v2", 2);
  EXPECT_EQ(CandidateFeatureOptions().recent_watches, 0);  // off unless asked for
  EXPECT_THAT(Extract(c).recent_ids, IsEmpty());
  options_.recent_watches = 3;
  ASSERT_TRUE(DisableFeatureGroup(bundle::FEATURE_GROUP_RECENT, &options_).ok());
  EXPECT_EQ(options_.recent_watches, 0);
  EXPECT_THAT(Extract(c).recent_ids, IsEmpty());
  EXPECT_THAT(Extract(c).watch_ids, ElementsAre(1, 2));
}

TEST_F(CandidateFeaturesTest, TokensComeFromTheMostRecentSearches) {
  UserContext c;
  AddSearch(&c, "news", 100);
  AddSearch(&c, "Cat videos", 300);
  AddSearch(&c, "funny DOG!", 200);
  options_.max_searches = 2;
  std::vector<int32_t> expected = {Token("cat"),   Token("videos"),
                                   Token("cat videos"), Token("funny"),
                                   Token("dog"),   Token("funny dog")};
  std::sort(expected.begin(), expected.end());
  EXPECT_THAT(Extract(c).token_ids, ElementsAreArray(expected));
  EXPECT_THAT(Extract(Reversed(c)).token_ids, ElementsAreArray(expected));
  options_.max_searches = 50;
  expected.push_back(Token("news"));
  std::sort(expected.begin(), expected.end());
  EXPECT_THAT(Extract(c).token_ids, ElementsAreArray(expected));
}

TEST_F(CandidateFeaturesTest, TokenCapKeepsTheMostRecentSearches) {
  UserContext c;
  AddSearch(&c, "funny dog", 200);
  AddSearch(&c, "cat videos", 100);
  options_.max_tokens = 3;
  EXPECT_THAT(Extract(c).token_ids,
              UnorderedElementsAre(Token("funny"), Token("dog"),
                                   Token("funny dog")));
  // A cap inside a query keeps that query's first tokens.
  options_.max_tokens = 4;
  EXPECT_THAT(Extract(c).token_ids,
              UnorderedElementsAre(Token("funny"), Token("dog"),
                                   Token("funny dog"), Token("cat")));
  EXPECT_THAT(Extract(Reversed(c)).token_ids,
              UnorderedElementsAre(Token("funny"), Token("dog"),
                                   Token("funny dog"), Token("cat")));
  options_.max_tokens = 0;
  EXPECT_THAT(Extract(c).token_ids, IsEmpty());
}

TEST_F(CandidateFeaturesTest, TokenBagIsSortedAndDropsUnknownTokens) {
  UserContext c;
  AddSearch(&c, "news about zebras", 10);  // "about", "zebras" and bigrams: OOV
  AddSearch(&c, "dog cat", 20);            // "dog cat" bigram: OOV
  CandidateFeatures f = Extract(c);
  EXPECT_TRUE(std::is_sorted(f.token_ids.begin(), f.token_ids.end()));
  EXPECT_THAT(f.token_ids,
              UnorderedElementsAre(Token("news"), Token("dog"), Token("cat")));
  // The bag does not depend on which search came first in the request.
  EXPECT_EQ(Extract(Reversed(c)).token_ids, f.token_ids);
}

// Explain mode's trace: every watch and token accounted for, kept (in the
// order of the features) or dropped with why; the features unchanged.
TEST_F(CandidateFeaturesTest, TraceTellsWhatWasReadAndWhyTheRestWasNot) {
  UserContext c;
  AddWatch(&c, "v1", 100);          // 0: beyond the history limit
  AddWatch(&c, "never-seen", 300);  // 1: out of vocabulary
  AddWatch(&c, "v2", 200);          // 2
  AddWatch(&c, "v3", 400);          // 3
  AddSearch(&c, "funny dog", 200);
  AddSearch(&c, "cat zebras", 150);  // "zebras", "cat zebras": OOV
  AddSearch(&c, "news", 100);        // beyond the search limit
  options_.max_watches = 3;
  options_.max_searches = 2;
  options_.max_tokens = 4;
  CandidateFeatureTrace trace;
  const CandidateFeatures f = ExtractCandidateFeatures(c, vocabs_, options_, 0, &trace);
  EXPECT_EQ(f.watch_ids, Extract(c).watch_ids);
  EXPECT_EQ(f.token_ids, Extract(c).token_ids);
  EXPECT_THAT(trace.kept_watches, ElementsAre(2, 3));
  EXPECT_THAT(trace.dropped_watches,
              ElementsAre(std::make_pair(0, INPUT_DROP_BEYOND_HISTORY_LIMIT),
                          std::make_pair(1, INPUT_DROP_OUT_OF_VOCABULARY)));
  std::vector<std::pair<std::string, InputDropReason>> tokens;
  for (const CandidateFeatureTrace::Token& t : trace.tokens) {
    tokens.push_back({t.token, t.dropped});
    if (t.dropped == INPUT_DROP_UNKNOWN) {
      EXPECT_EQ(t.id, Token(t.token));
    } else {
      EXPECT_EQ(t.id, Vocabulary::kOov);
    }
  }
  EXPECT_THAT(tokens, ElementsAre(std::make_pair("funny", INPUT_DROP_UNKNOWN),
                                  std::make_pair("dog", INPUT_DROP_UNKNOWN),
                                  std::make_pair("funny dog", INPUT_DROP_UNKNOWN),
                                  std::make_pair("cat", INPUT_DROP_UNKNOWN),
                                  std::make_pair("zebras", INPUT_DROP_BEYOND_TOKEN_LIMIT),
                                  std::make_pair("cat zebras", INPUT_DROP_BEYOND_TOKEN_LIMIT),
                                  std::make_pair("news", INPUT_DROP_BEYOND_HISTORY_LIMIT)));
  // With the group off, the searches it would have read say so.
  options_.use_searches = false;
  CandidateFeatureTrace off;
  ExtractCandidateFeatures(c, vocabs_, options_, 0, &off);
  ASSERT_FALSE(off.tokens.empty());
  EXPECT_EQ(off.tokens.front().dropped, INPUT_DROP_GROUP_DISABLED);
  EXPECT_EQ(off.tokens.back().dropped, INPUT_DROP_BEYOND_HISTORY_LIMIT);
}

TEST_F(CandidateFeaturesTest, RegionAndDeviceLookups) {
  UserContext c;
  c.mutable_demographics()->set_region("DE");
  c.mutable_demographics()->set_device("tv");
  CandidateFeatures f = Extract(c);
  EXPECT_EQ(f.region, 1);
  EXPECT_EQ(f.device, 1);
  c.mutable_demographics()->set_region("FR");
  c.mutable_demographics()->set_device("");
  f = Extract(c);
  EXPECT_EQ(f.region, Vocabulary::kOov);
  EXPECT_EQ(f.device, Vocabulary::kOov);
}

TEST_F(CandidateFeaturesTest, DenseFeatures) {
  UserContext c;
  Demographics* d = c.mutable_demographics();
  d->set_gender(GENDER_FEMALE);
  d->set_age(30);
  d->set_logged_in(true);
  CandidateFeatures f = Extract(c, -0.25f);
  EXPECT_THAT(f.dense, ElementsAre(FloatEq(0.0f), FloatEq(0.3f), FloatEq(1.0f),
                                   FloatEq(1.0f), FloatEq(-0.25f)));

  d->set_gender(GENDER_MALE);
  d->set_age(0);
  d->set_logged_in(false);
  f = Extract(c, 2.5f);
  EXPECT_THAT(f.dense, ElementsAre(FloatEq(1.0f), FloatEq(0.0f), FloatEq(0.0f),
                                   FloatEq(0.0f), FloatEq(2.5f)));

  d->set_gender(GENDER_UNKNOWN);
  d->set_age(150);  // Clipped.
  f = Extract(c);
  EXPECT_FLOAT_EQ(f.dense[kGender], 0.5f);
  EXPECT_FLOAT_EQ(f.dense[kAge], 1.0f);
  EXPECT_FLOAT_EQ(f.dense[kAgeKnown], 1.0f);
  d->set_age(-3);  // Clipped (validation rejects it before serving).
  EXPECT_FLOAT_EQ(Extract(c).dense[kAge], 0.0f);
}

TEST_F(CandidateFeaturesTest, EmptyContextIsAColdStartUser) {
  CandidateFeatures f = Extract(UserContext(), 0.0f);
  EXPECT_THAT(f.watch_ids, IsEmpty());
  EXPECT_THAT(f.token_ids, IsEmpty());
  EXPECT_EQ(f.region, Vocabulary::kOov);
  EXPECT_EQ(f.device, Vocabulary::kOov);
  EXPECT_THAT(f.dense, ElementsAre(FloatEq(0.5f), FloatEq(0.0f), FloatEq(0.0f),
                                   FloatEq(0.0f), FloatEq(0.0f)));
}

TEST_F(CandidateFeaturesTest, DisabledFeatureGroupsReadAsEmptyOrZero) {
  UserContext c;
  Watch* w = c.add_watches();
  w->set_video_id("v1");
  w->set_time_s(10);
  SearchQuery* q = c.add_searches();
  q->set_query("funny dog");
  q->set_time_s(11);
  c.mutable_demographics()->set_region("DE");
  c.mutable_demographics()->set_device("tv");
  c.mutable_demographics()->set_gender(GENDER_MALE);
  c.mutable_demographics()->set_age(40);
  c.mutable_demographics()->set_logged_in(true);
  options_.use_searches = false;
  options_.use_example_age = false;
  options_.use_demographics = false;
  CandidateFeatures f = Extract(c, 3.0f);
  EXPECT_THAT(f.watch_ids, ElementsAre(videos_.Lookup("v1")));
  EXPECT_THAT(f.token_ids, IsEmpty());
  EXPECT_EQ(f.region, Vocabulary::kOov);
  EXPECT_EQ(f.device, Vocabulary::kOov);
  EXPECT_THAT(f.dense, ElementsAre(FloatEq(0.0f), FloatEq(0.0f), FloatEq(0.0f),
                                   FloatEq(0.0f), FloatEq(0.0f)));
  options_.use_searches = true;
  options_.use_example_age = true;
  f = Extract(c, 3.0f);
  EXPECT_THAT(f.token_ids, Not(IsEmpty()));
  EXPECT_FLOAT_EQ(f.dense[kExampleAge], 3.0f);
}

TEST(FeatureGroupTest, NamesParseBackToTheirGroup) {
  for (bundle::FeatureGroup group :
       {bundle::FEATURE_GROUP_WATCHES, bundle::FEATURE_GROUP_SEARCHES,
        bundle::FEATURE_GROUP_EXAMPLE_AGE, bundle::FEATURE_GROUP_DEMOGRAPHICS,
        bundle::FEATURE_GROUP_RECENT}) {
    absl::StatusOr<bundle::FeatureGroup> parsed = ParseFeatureGroup(FeatureGroupName(group));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, group);
  }
  EXPECT_EQ(ParseFeatureGroup("example_age").value(), bundle::FEATURE_GROUP_EXAMPLE_AGE);
  EXPECT_EQ(ParseFeatureGroup("recent").value(), bundle::FEATURE_GROUP_RECENT);
  EXPECT_EQ(ParseFeatureGroup("Recent").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseFeatureGroup("colour").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseFeatureGroup("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FeatureGroupTest, DisablingTurnsOffOneGroupAndNeverWatches) {
  CandidateFeatureOptions options;
  ASSERT_TRUE(DisableFeatureGroup(bundle::FEATURE_GROUP_EXAMPLE_AGE, &options).ok());
  EXPECT_FALSE(options.use_example_age);
  EXPECT_TRUE(options.use_searches);
  EXPECT_TRUE(options.use_demographics);
  ASSERT_TRUE(DisableFeatureGroup(bundle::FEATURE_GROUP_SEARCHES, &options).ok());
  ASSERT_TRUE(DisableFeatureGroup(bundle::FEATURE_GROUP_DEMOGRAPHICS, &options).ok());
  EXPECT_FALSE(options.use_searches);
  EXPECT_FALSE(options.use_demographics);
  options.recent_watches = 5;
  ASSERT_TRUE(DisableFeatureGroup(bundle::FEATURE_GROUP_RECENT, &options).ok());
  EXPECT_EQ(options.recent_watches, 0);
  EXPECT_EQ(DisableFeatureGroup(bundle::FEATURE_GROUP_WATCHES, &options).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DisableFeatureGroup(bundle::FEATURE_GROUP_UNSPECIFIED, &options).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ExampleAgeTest, DaysDividedByTheScale) {
  EXPECT_FLOAT_EQ(ScaledExampleAge(15.0f, 30.0f), 0.5f);
  EXPECT_FLOAT_EQ(ScaledExampleAge(-3.0f, 30.0f), -0.1f);
  EXPECT_EQ(ScaledExampleAge(15.0f, 0.0f), 0.0f);  // no scale: no age
  // Three days before the end of the window, on a 6-day scale.
  EXPECT_FLOAT_EQ(ScaledExampleAgeAt(10 * kSecondsPerDay, 7 * kSecondsPerDay, 6.0f), 0.5f);
  EXPECT_EQ(ScaledExampleAgeAt(100, 100, 6.0f), 0.0f);
}

TEST(CandidateTowerLayoutTest, BlocksInInputOrder) {
  const CandidateTowerBlocks<int> widths = CandidateTowerWidths(16, 5, 3, false);
  EXPECT_EQ(CandidateTowerInputDim(widths), 16 + 16 + 5 + 3 + kNumCandidateDense);
  std::vector<float> row(CandidateTowerInputDim(widths));
  const CandidateTowerBlocks<float*> at = CandidateTowerBlockStarts(widths, row.data());
  // Watch bag, token bag, region, device, dense (docs/bundle.md); no recent
  // block without the group.
  EXPECT_EQ(at.watch_bag - row.data(), 0);
  EXPECT_EQ(widths.recent_bag, 0);
  EXPECT_EQ(at.recent_bag, at.token_bag);
  EXPECT_EQ(at.token_bag - row.data(), 16);
  EXPECT_EQ(at.region - row.data(), 32);
  EXPECT_EQ(at.device - row.data(), 37);
  EXPECT_EQ(at.dense - row.data(), 40);
  EXPECT_EQ(at.dense + kNumCandidateDense, row.data() + row.size());
}

TEST(CandidateTowerLayoutTest, RecentBlockFollowsTheWatchBag) {
  const CandidateTowerBlocks<int> widths = CandidateTowerWidths(16, 5, 3, true);
  EXPECT_EQ(CandidateTowerInputDim(widths), 16 + 16 + 16 + 5 + 3 + kNumCandidateDense);
  std::vector<float> row(CandidateTowerInputDim(widths));
  const CandidateTowerBlocks<float*> at = CandidateTowerBlockStarts(widths, row.data());
  EXPECT_EQ(at.watch_bag - row.data(), 0);
  EXPECT_EQ(at.recent_bag - row.data(), 16);
  EXPECT_EQ(at.token_bag - row.data(), 32);
  EXPECT_EQ(at.region - row.data(), 48);
  EXPECT_EQ(at.device - row.data(), 53);
  EXPECT_EQ(at.dense - row.data(), 56);
  EXPECT_EQ(at.dense + kNumCandidateDense, row.data() + row.size());
}

TEST(RequestTimeTest, ZeroMeansNow) {
  UserContext c;
  EXPECT_EQ(RequestTime(c, 1234), 1234);
  c.set_request_time_s(99);
  EXPECT_EQ(RequestTime(c, 1234), 99);
}

// ---------------------------------------------------------------------------
// Ranking.

VideoRecord Video(const std::string& id, const std::string& channel,
                  const std::string& topics, int64_t upload_time_s,
                  float duration_s, const std::string& language = "en") {
  VideoRecord v;
  v.language = language;
  v.video_id = id;
  v.title = "title of " + id;
  v.channel_id = channel;
  v.topics = topics;
  v.upload_time_s = upload_time_s;
  v.duration_s = duration_s;
  return v;
}

Candidate MakeCandidate(const std::string& id, float score,
                        CandidateSource source) {
  Candidate c;
  c.set_video_id(id);
  c.set_retrieval_score(score);
  c.set_source(source);
  return c;
}

class RankingFeaturesTest : public ::testing::Test {
 protected:
  static constexpr int64_t kNow = 100 * kDay;

  static std::vector<VideoRecord> Videos() {
    return {
        Video("a", "c0", "music|live", 10 * kDay, 120),
        Video("b", "c0", "music", 20 * kDay, 300),
        Video("c", "c1", "sports", 30 * kDay, 90, "de"),
        Video("d", "c9", "music", 40 * kDay, 600),  // c9: OOV channel
        Video("e", "c1", "", kNow - kDay / 2, 30),  // no topic
        Video("f", "c2", "gaming", 200 * kDay, 60, "xx"),  // uploaded later
    };
  }
  static absl::flat_hash_map<std::string, int64_t> WatchCounts() {
    return {{"a", 9}, {"c", 99}};
  }

  RankingFeaturesTest() : catalog_(Videos(), WatchCounts(), channels_, languages_) {
    context_.mutable_demographics()->set_language("de");
    // Request order is not time order.
    AddWatch(&context_, "c", 98 * kDay);
    AddWatch(&context_, "a", 90 * kDay);
    AddWatch(&context_, "x", 92 * kDay);  // Unknown everywhere.
    AddWatch(&context_, "b", 95 * kDay);
    AddWatch(&context_, "d", 97 * kDay);
    AddImpression(&context_, "b", 80 * kDay);
    AddImpression(&context_, "c", kNow - kDay / 2);
    AddImpression(&context_, "b", 50 * kDay);
    AddImpression(&context_, "f", 120 * kDay);  // After the request: clock skew.
    context_.set_request_time_s(kNow);
  }

  RankingQuery Query(const UserContext& c, int max_watches = 3) {
    return ExtractRankingQuery(c, vocabs_, catalog_, max_watches, 0);
  }
  RankingCandidateFeatures Features(const std::string& id, float score = 0,
                                    CandidateSource source = SOURCE_DNN) {
    return ExtractRankingCandidate(Query(context_),
                                   MakeCandidate(id, score, source), vocabs_,
                                   catalog_);
  }

  // Indices deliberately unlike the catalogue's and the channels' order; "zz"
  // has an embedding but no metadata.
  Vocabulary videos_ =
      *Vocabulary::FromValues({"f", "e", "d", "c", "b", "a", "zz"});
  Vocabulary channels_ = *Vocabulary::FromValues({"c0", "c1", "c2"});
  Vocabulary languages_ = *Vocabulary::FromValues({"en", "de"});
  RankingVocabularies vocabs_{&videos_, &channels_, &languages_};
  VideoCatalog catalog_;
  UserContext context_;
};

TEST_F(RankingFeaturesTest, CatalogKnowsVideoMetadata) {
  ASSERT_EQ(catalog_.size(), 6u);
  const VideoInfo* a = catalog_.Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->channel, 0);
  EXPECT_FLOAT_EQ(a->popularity, 9);
  EXPECT_EQ(catalog_.Find("d")->channel, Vocabulary::kOov);
  // Every channel has a key for counting, in or out of the vocabulary.
  EXPECT_EQ(catalog_.Find("a")->channel_key, catalog_.Find("b")->channel_key);
  EXPECT_GE(catalog_.Find("d")->channel_key, 0);
  EXPECT_NE(catalog_.Find("d")->channel_key, catalog_.Find("a")->channel_key);
  EXPECT_EQ(catalog_.Find("a")->language, 0);
  EXPECT_EQ(catalog_.Find("c")->language, 1);
  EXPECT_EQ(catalog_.Find("f")->language, Vocabulary::kOov);
  EXPECT_EQ(catalog_.Find("e")->topic, -1);
  // "a" and "b" share their main topic (the first label); "c" does not.
  EXPECT_EQ(catalog_.Find("a")->topic, catalog_.Find("b")->topic);
  EXPECT_NE(catalog_.Find("a")->topic, catalog_.Find("c")->topic);
  EXPECT_EQ(catalog_.Find("zz"), nullptr);
  ASSERT_NE(catalog_.FindRecord("c"), nullptr);
  EXPECT_EQ(catalog_.FindRecord("c")->title, "title of c");
}

TEST_F(RankingFeaturesTest, QueryUsesTheSharedVideoVocabulary) {
  RankingQuery q = Query(context_);
  // Time order: a(90) x(92) b(95) d(97) c(98); the last 3, OOV dropped.
  EXPECT_THAT(q.last_watched, ElementsAre(videos_.Lookup("b"),
                                          videos_.Lookup("d"),
                                          videos_.Lookup("c")));
  EXPECT_EQ(q.seed_video, videos_.Lookup("c"));
  EXPECT_EQ(q.num_watches, 5);
  EXPECT_EQ(q.request_time_s, kNow);
  // The same table for the impressed video.
  EXPECT_EQ(Features("c").video, videos_.Lookup("c"));
  EXPECT_EQ(Features("zz").video, videos_.Lookup("zz"));
  EXPECT_EQ(Features("unknown").video, Vocabulary::kOov);
}

// A catalogue made with the ranking video vocabulary hands out each video's
// row with its metadata (one lookup per candidate, not two): the same
// features as looking the ID up, for videos in and out of the catalogue and
// the vocabulary.
TEST_F(RankingFeaturesTest, CatalogWithTheVideoVocabularyGivesTheSameFeatures) {
  for (const bool truncated : {false, true}) {
    const Vocabulary videos =
        truncated ? *Vocabulary::FromValues({"c", "zz", "a"}) : videos_;
    const RankingVocabularies vocabs{&videos, &channels_, &languages_};
    const VideoCatalog with_rows(Videos(), WatchCounts(), channels_, languages_, &videos);
    EXPECT_EQ(with_rows.Find("a")->video, videos.Lookup("a"));
    EXPECT_EQ(with_rows.Find("b")->video, videos.Lookup("b"));
    EXPECT_EQ(catalog_.Find("a")->video, VideoInfo::kNoVideoRow);
    const RankingQuery by_id = ExtractRankingQuery(context_, vocabs, catalog_, 3, 0);
    const RankingQuery by_row = ExtractRankingQuery(context_, vocabs, with_rows, 3, 0);
    for (const char* id : {"a", "b", "c", "d", "e", "f", "zz", "unknown"}) {
      const Candidate c = MakeCandidate(id, 1.5f, SOURCE_DNN);
      const RankingCandidateFeatures x = ExtractRankingCandidate(by_id, c, vocabs, catalog_);
      const RankingCandidateFeatures y = ExtractRankingCandidate(by_row, c, vocabs, with_rows);
      EXPECT_EQ(x.video, y.video) << id << (truncated ? " (truncated)" : "");
      EXPECT_EQ(x.video, videos.Lookup(id)) << id;
      EXPECT_EQ(x.channel, y.channel) << id;
      EXPECT_EQ(x.language, y.language) << id;
      for (int i = 0; i < kNumRankingContinuous; ++i) {
        EXPECT_EQ(x.raw[i], y.raw[i]) << id << " " << RankingContinuousName(i);
      }
    }
  }
}

TEST_F(RankingFeaturesTest, QueryDoesNotDependOnRequestOrder) {
  RankingQuery q = Query(context_), r = Query(Reversed(context_));
  EXPECT_EQ(q.last_watched, r.last_watched);
  EXPECT_EQ(q.seed_video, r.seed_video);
  EXPECT_EQ(q.channel_watches, r.channel_watches);
  EXPECT_EQ(q.topic_watches, r.topic_watches);
  EXPECT_EQ(q.impressions, r.impressions);
}

TEST_F(RankingFeaturesTest, SeedIsTheMostRecentWatch) {
  UserContext c;
  AddWatch(&c, "a", 500);
  AddWatch(&c, "b", 100);
  EXPECT_EQ(Query(c).seed_video, videos_.Lookup("a"));
  EXPECT_EQ(Query(UserContext()).seed_video, Vocabulary::kOov);
  EXPECT_THAT(Query(UserContext()).last_watched, IsEmpty());
}

TEST_F(RankingFeaturesTest, RequestTimeFallsBackToNow) {
  UserContext c;
  EXPECT_EQ(ExtractRankingQuery(c, vocabs_, catalog_, 50, 777).request_time_s,
            777);
}

TEST_F(RankingFeaturesTest, ChannelFeatures) {
  // c0: "a" (day 90) and "b" (day 95), counted although "a" is outside the
  // last-watched window.
  RankingCandidateFeatures a = Features("a");
  EXPECT_EQ(a.channel, 0);
  EXPECT_FLOAT_EQ(a.raw[kChannelWatches], 2);
  EXPECT_FLOAT_EQ(a.raw[kDaysSinceChannelWatch], 5);
  RankingCandidateFeatures e = Features("e");  // c1: "c" on day 98.
  EXPECT_EQ(e.channel, 1);
  EXPECT_FLOAT_EQ(e.raw[kChannelWatches], 1);
  EXPECT_FLOAT_EQ(e.raw[kDaysSinceChannelWatch], 2);
  RankingCandidateFeatures f = Features("f");  // c2: never watched.
  EXPECT_EQ(f.channel, 2);
  EXPECT_FLOAT_EQ(f.raw[kChannelWatches], 0);
  EXPECT_FLOAT_EQ(f.raw[kDaysSinceChannelWatch], 365);
  // A channel outside the (truncated) vocabulary embeds as zero but its
  // watches still count: "d" itself on day 97.
  RankingCandidateFeatures d = Features("d");
  EXPECT_EQ(d.channel, Vocabulary::kOov);
  EXPECT_FLOAT_EQ(d.raw[kChannelWatches], 1);
  EXPECT_FLOAT_EQ(d.raw[kDaysSinceChannelWatch], 3);
}

// The user's language and the video's index one shared vocabulary.
TEST_F(RankingFeaturesTest, UserAndVideoLanguageShareOneVocabulary) {
  EXPECT_EQ(Query(context_).user_language, languages_.Lookup("de"));
  EXPECT_EQ(Features("c").language, languages_.Lookup("de"));
  EXPECT_EQ(Features("a").language, languages_.Lookup("en"));
  EXPECT_EQ(Features("f").language, Vocabulary::kOov);   // "xx": not in it
  EXPECT_EQ(Features("zz").language, Vocabulary::kOov);  // no metadata
  EXPECT_EQ(Query(UserContext()).user_language, Vocabulary::kOov);
}

TEST(EmbeddingDimTest, GrowsWithTheLogarithmOfTheCardinality) {
  EXPECT_EQ(EmbeddingDimForCardinality(7, 3), 9);          // log2(8) = 3
  EXPECT_EQ(EmbeddingDimForCardinality(1023, 3), 30);      // log2(1024) = 10
  EXPECT_EQ(EmbeddingDimForCardinality(1048575, 3), 60);   // 1000x the IDs: 2x
  EXPECT_EQ(EmbeddingDimForCardinality(1048575, 1.5), 30);
  EXPECT_EQ(EmbeddingDimForCardinality(0, 3), 1);  // never 0-wide
}

TEST_F(RankingFeaturesTest, DaysSinceAreCappedAtAYear) {
  UserContext c;
  AddWatch(&c, "a", 0);
  AddImpression(&c, "a", 0);
  c.set_request_time_s(1000 * kDay);
  RankingCandidateFeatures f = ExtractRankingCandidate(
      Query(c), MakeCandidate("b", 0, SOURCE_DNN), vocabs_, catalog_);
  EXPECT_FLOAT_EQ(f.raw[kChannelWatches], 1);
  EXPECT_FLOAT_EQ(f.raw[kDaysSinceChannelWatch], 365);
  EXPECT_FLOAT_EQ(f.raw[kDaysSinceTopicWatch], 365);
  f = ExtractRankingCandidate(Query(c), MakeCandidate("a", 0, SOURCE_DNN),
                              vocabs_, catalog_);
  EXPECT_FLOAT_EQ(f.raw[kPreviousImpressions], 1);
  EXPECT_FLOAT_EQ(f.raw[kDaysSinceImpression], 365);
  EXPECT_FLOAT_EQ(f.raw[kDaysSinceUpload], 990);  // Not capped.
}

TEST_F(RankingFeaturesTest, TopicFeatures) {
  // Music: "a", "b", "d" of 5 watches (the unknown "x" counts in the
  // total); the latest on day 97.
  RankingCandidateFeatures b = Features("b");
  EXPECT_FLOAT_EQ(b.raw[kTopicWatchShare], 3.0f / 5);
  EXPECT_FLOAT_EQ(b.raw[kDaysSinceTopicWatch], 3);
  RankingCandidateFeatures c = Features("c");  // Sports: "c", day 98.
  EXPECT_FLOAT_EQ(c.raw[kTopicWatchShare], 1.0f / 5);
  EXPECT_FLOAT_EQ(c.raw[kDaysSinceTopicWatch], 2);
  RankingCandidateFeatures f = Features("f");  // Gaming: never.
  EXPECT_FLOAT_EQ(f.raw[kTopicWatchShare], 0);
  EXPECT_FLOAT_EQ(f.raw[kDaysSinceTopicWatch], 365);
  RankingCandidateFeatures e = Features("e");  // No topic at all.
  EXPECT_FLOAT_EQ(e.raw[kTopicWatchShare], 0);
  EXPECT_FLOAT_EQ(e.raw[kDaysSinceTopicWatch], 365);
}

TEST_F(RankingFeaturesTest, PreviousImpressionsAndChurn) {
  RankingCandidateFeatures b = Features("b");  // Shown on days 50 and 80.
  EXPECT_FLOAT_EQ(b.raw[kPreviousImpressions], 2);
  EXPECT_FLOAT_EQ(b.raw[kDaysSinceImpression], 20);
  RankingCandidateFeatures c = Features("c");  // Shown half a day ago.
  EXPECT_FLOAT_EQ(c.raw[kPreviousImpressions], 1);
  EXPECT_FLOAT_EQ(c.raw[kDaysSinceImpression], 0.5f);
  RankingCandidateFeatures a = Features("a");  // Never shown.
  EXPECT_FLOAT_EQ(a.raw[kPreviousImpressions], 0);
  EXPECT_FLOAT_EQ(a.raw[kDaysSinceImpression], 365);
  RankingCandidateFeatures f = Features("f");  // "Shown" in the future.
  EXPECT_FLOAT_EQ(f.raw[kPreviousImpressions], 1);
  EXPECT_FLOAT_EQ(f.raw[kDaysSinceImpression], 0);
  // Impressions of videos outside the catalogue still count.
  UserContext ctx = context_;
  AddImpression(&ctx, "nowhere", kNow - 3 * kDay);
  RankingCandidateFeatures n = ExtractRankingCandidate(
      Query(ctx), MakeCandidate("nowhere", 0, SOURCE_DNN), vocabs_, catalog_);
  EXPECT_FLOAT_EQ(n.raw[kPreviousImpressions], 1);
  EXPECT_FLOAT_EQ(n.raw[kDaysSinceImpression], 3);
}

TEST_F(RankingFeaturesTest, VideoFeatures) {
  RankingCandidateFeatures a = Features("a", -2.75f);
  EXPECT_FLOAT_EQ(a.raw[kDaysSinceUpload], 90);
  EXPECT_FLOAT_EQ(a.raw[kDurationMinutes], 2);
  EXPECT_FLOAT_EQ(a.raw[kLogPopularity], std::log(10.0f));
  EXPECT_FLOAT_EQ(a.raw[kRetrievalScore], -2.75f);
  RankingCandidateFeatures b = Features("b");  // No watches in the window.
  EXPECT_FLOAT_EQ(b.raw[kDurationMinutes], 5);
  EXPECT_FLOAT_EQ(b.raw[kLogPopularity], 0);
  EXPECT_FLOAT_EQ(Features("c").raw[kLogPopularity], std::log(100.0f));
  EXPECT_FLOAT_EQ(Features("e").raw[kDaysSinceUpload], 0.5f);
  EXPECT_FLOAT_EQ(Features("f").raw[kDaysSinceUpload], 0);  // Not negative.
}

TEST_F(RankingFeaturesTest, VideoOutsideTheCatalogIsScoredWithDefaults) {
  RankingCandidateFeatures z = Features("zz", 4.5f, SOURCE_EXTERNAL);
  EXPECT_EQ(z.video, videos_.Lookup("zz"));
  EXPECT_EQ(z.channel, Vocabulary::kOov);
  for (int i = 0; i < kNumRankingContinuous; ++i) {
    float expected = i == kRetrievalScore ? 4.5f
                     : (i == kDaysSinceChannelWatch ||
                        i == kDaysSinceImpression || i == kDaysSinceTopicWatch)
                         ? 365.0f
                         : 0.0f;
    EXPECT_FLOAT_EQ(z.raw[i], expected) << RankingContinuousName(i);
  }
}

TEST_F(RankingFeaturesTest, SourceOneHot) {
  EXPECT_THAT(Features("a", 0, SOURCE_DNN).source, ElementsAre(1, 0, 0));
  EXPECT_THAT(Features("a", 0, SOURCE_POPULAR).source, ElementsAre(0, 1, 0));
  EXPECT_THAT(Features("a", 0, SOURCE_EXTERNAL).source, ElementsAre(0, 0, 1));
  EXPECT_THAT(Features("a", 0, SOURCE_UNKNOWN).source, ElementsAre(0, 0, 1));
}

TEST(RankingContinuousNameTest, NamesAreDistinctAndNonEmpty) {
  std::vector<std::string> names;
  for (int i = 0; i < kNumRankingContinuous; ++i) {
    names.push_back(RankingContinuousName(i));
    EXPECT_FALSE(names.back().empty());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::unique(names.begin(), names.end()), names.end());
}

TEST(NormalizeRankingContinuousTest, WidthAndValues) {
  EXPECT_EQ(NormalizedWidth(true), 3 * kNumRankingContinuous + 3);
  EXPECT_EQ(NormalizedWidth(false), kNumRankingContinuous + 3);

  // Feature i has boundaries {0, i + 2}, so raw 1 normalises to 1 / (i + 2):
  // a different value per feature, which catches a mix-up of normalisers.
  std::vector<QuantileNormalizer> normalizers;
  RankingCandidateFeatures f;
  for (int i = 0; i < kNumRankingContinuous; ++i) {
    normalizers.emplace_back(std::vector<float>{0.0f, i + 2.0f});
    f.raw[i] = 1.0f;
  }
  f.source[1] = 1.0f;
  constexpr float kSentinel = -7.0f;

  for (bool use_powers : {true, false}) {
    SCOPED_TRACE(use_powers);
    const int width = NormalizedWidth(use_powers);
    std::vector<float> out(width + 4, kSentinel);
    NormalizeRankingContinuous(f, normalizers, use_powers, out.data());
    int k = 0;
    for (int i = 0; i < kNumRankingContinuous; ++i) {
      const float x = 1.0f / (i + 2);
      EXPECT_FLOAT_EQ(out[k++], x) << RankingContinuousName(i);
      if (use_powers) {
        EXPECT_FLOAT_EQ(out[k++], x * x) << RankingContinuousName(i);
        EXPECT_FLOAT_EQ(out[k++], std::sqrt(x)) << RankingContinuousName(i);
      }
    }
    EXPECT_FLOAT_EQ(out[k++], 0);
    EXPECT_FLOAT_EQ(out[k++], 1);
    EXPECT_FLOAT_EQ(out[k++], 0);
    EXPECT_EQ(k, width);
    for (int j = width; j < width + 4; ++j) {
      EXPECT_EQ(out[j], kSentinel) << "wrote past the width at " << j;
    }
  }
}

}  // namespace
}  // namespace recsys
