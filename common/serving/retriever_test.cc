// `Retriever::Candidates` merging the network's candidates with the
// co-visitation table's, on tiny bundles with and without a table
// (common/serving/testing/tiny_bundle.h: video i's neighbours are
// i + 1, i + 2, i + 3 with scores 1, 1/2, 1/3).

#include "common/serving/retriever.h"

#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/serving/stage_clock.h"
#include "common/serving/testing/tiny_bundle.h"
#include "proto/recsys.pb.h"

namespace recsys {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::FloatNear;
using ::testing::HasSubstr;

std::unique_ptr<Retriever> LoadTiny(const std::string& name, bool covisitation,
                                    const Retriever::Options& options = {}) {
  const std::string root = FreshTestDir(absl::StrCat("retriever_", name));
  TinyBundleOptions tiny;
  tiny.covisitation = covisitation;
  absl::StatusOr<std::string> dir = WriteTinyBundle(root, tiny);
  EXPECT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(*dir);
  EXPECT_TRUE(bundle.ok()) << bundle.status();
  absl::StatusOr<std::unique_ptr<Retriever>> r = Retriever::Load(**bundle, options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? std::move(*r) : nullptr;
}

Retriever::Options Share(double share, int seeds = 5) {
  Retriever::Options options;
  options.covisit_share = share;
  options.covisit_seeds = seeds;
  return options;
}

// Watched v05 at t=100, then v00 at t=200, listed most recent first: the
// seeds are v00, then v05.
UserContext TwoWatches() {
  UserContext context;
  Watch* w = context.add_watches();
  w->set_video_id(TinyVideoId(0));
  w->set_time_s(200);
  w = context.add_watches();
  w->set_video_id(TinyVideoId(5));
  w->set_time_s(100);
  return context;
}

// The co-visitation list of `TwoWatches`, best first: v01 (1), v02 and v06
// (1/2, ties by row), v03 (1/3), v07 (1/4), v08 (1/6).
std::vector<std::string> TwoWatchesCovisited() {
  return {TinyVideoId(1), TinyVideoId(2), TinyVideoId(6),
          TinyVideoId(3), TinyVideoId(7), TinyVideoId(8)};
}

std::vector<std::string> Ids(const std::vector<Candidate>& candidates) {
  std::vector<std::string> ids;
  for (const Candidate& c : candidates) ids.push_back(c.video_id());
  return ids;
}

std::vector<CandidateSource> Sources(const std::vector<Candidate>& candidates) {
  std::vector<CandidateSource> sources;
  for (const Candidate& c : candidates) sources.push_back(c.source());
  return sources;
}

TEST(RetrieverTest, WithoutATableCandidatesAreTheNetworksAsBefore) {
  std::unique_ptr<Retriever> r = LoadTiny("no_table", false);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->has_covisitation());
  EXPECT_TRUE(r->CovisitOnly(TwoWatches(), 10).empty());
  absl::StatusOr<std::vector<Candidate>> dnn = r->Retrieve(TwoWatches(), 10);
  StageClock clock;
  absl::StatusOr<std::vector<Candidate>> served = r->Candidates(TwoWatches(), 10, &clock);
  ASSERT_TRUE(dnn.ok() && served.ok());
  EXPECT_EQ(Ids(*served), Ids(*dnn));
  EXPECT_THAT(Sources(*served), ElementsAreArray(std::vector<CandidateSource>(10, SOURCE_DNN)));
  std::vector<std::string> stages;
  for (int i = 0; i < clock.times().size(); ++i) stages.push_back(clock.times()[i].first);
  EXPECT_THAT(stages, ElementsAre("features", "user_tower", "ann"));
}

TEST(RetrieverTest, CovisitOnlyScoresTheMostRecentWatchesNeighbours) {
  std::unique_ptr<Retriever> r = LoadTiny("covisit_only", true);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->has_covisitation());
  const std::vector<Candidate> got = r->CovisitOnly(TwoWatches(), 10);
  EXPECT_EQ(Ids(got), TwoWatchesCovisited());
  ASSERT_EQ(got.size(), 6u);
  EXPECT_FLOAT_EQ(got[0].retrieval_score(), 1.0f);
  EXPECT_FLOAT_EQ(got[5].retrieval_score(), 1.0f / 6);
  for (const Candidate& c : got) EXPECT_EQ(c.source(), SOURCE_COVISIT);
  // The order of the request's watches does not matter, their times do.
  UserContext reversed;
  *reversed.add_watches() = TwoWatches().watches(1);
  *reversed.add_watches() = TwoWatches().watches(0);
  EXPECT_EQ(Ids(r->CovisitOnly(reversed, 10)), TwoWatchesCovisited());
  // Watched videos are never nominated: v01 watched too, first of all, is
  // a third seed (weight 1/3): v02 scores 1/2 + 1/3, v03 1/3 + 1/6 and v06
  // 1/2 (v03 first: ties by row).
  UserContext more = TwoWatches();
  more.add_watches()->set_video_id(TinyVideoId(1));
  more.mutable_watches(2)->set_time_s(50);
  EXPECT_THAT(Ids(r->CovisitOnly(more, 3)),
              ElementsAre(TinyVideoId(2), TinyVideoId(3), TinyVideoId(6)));
}

TEST(RetrieverTest, OneSeedNominatesTheLastWatchsNeighboursOnly) {
  std::unique_ptr<Retriever> r = LoadTiny("one_seed", true, Share(1.0, 1));
  ASSERT_NE(r, nullptr);
  EXPECT_THAT(Ids(r->CovisitOnly(TwoWatches(), 10)),
              ElementsAre(TinyVideoId(1), TinyVideoId(2), TinyVideoId(3)));
  // Every slot is co-visitation's until it runs out; the network fills the
  // rest.
  absl::StatusOr<std::vector<Candidate>> got = r->Candidates(TwoWatches(), 8);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 8u);
  EXPECT_THAT(Sources(*got), ElementsAre(SOURCE_COVISIT, SOURCE_COVISIT, SOURCE_COVISIT,
                                         SOURCE_DNN, SOURCE_DNN, SOURCE_DNN, SOURCE_DNN,
                                         SOURCE_DNN));
}

TEST(RetrieverTest, CandidatesInterleaveTheSharesWithoutDuplicatesOrWatchedVideos) {
  std::unique_ptr<Retriever> r = LoadTiny("interleave", true, Share(0.3));
  ASSERT_NE(r, nullptr);
  const UserContext context = TwoWatches();
  absl::StatusOr<std::vector<Candidate>> dnn = r->Retrieve(context, 18);
  StageClock clock;
  absl::StatusOr<std::vector<Candidate>> got = r->Candidates(context, 10, &clock);
  ASSERT_TRUE(dnn.ok() && got.ok());
  // The documented policy, step by step: floor(10 * 0.3) = 3 slots for
  // co-visitation, at positions 3, 6 and 9; each source skips what the
  // list already holds, and a source that runs out leaves its slot to the
  // other.
  const std::vector<std::string> covisited = TwoWatchesCovisited();
  const std::vector<std::string> dnn_ids = Ids(*dnn);
  std::vector<std::string> expected;
  std::vector<CandidateSource> expected_sources;
  absl::flat_hash_set<std::string> taken;
  size_t d = 0, c = 0;
  auto next = [&taken](const std::vector<std::string>& from, size_t& at) {
    while (at < from.size() && taken.contains(from[at])) ++at;
    return at < from.size();
  };
  for (int i = 0; i < 10; ++i) {
    const bool has_dnn = next(dnn_ids, d), has_covisit = next(covisited, c);
    const bool covisit = has_covisit && (i == 3 || i == 6 || i == 9 || !has_dnn);
    const std::string& id = covisit ? covisited[c] : dnn_ids[d];
    expected.push_back(id);
    taken.insert(id);
    expected_sources.push_back(covisit ? SOURCE_COVISIT : SOURCE_DNN);
  }
  EXPECT_EQ(Ids(*got), expected);
  EXPECT_EQ(Sources(*got), expected_sources);
  // Every score is the model's logit (what the ranking model reads).
  absl::flat_hash_map<std::string, float> logits;
  for (const Candidate& x : *dnn) logits[x.video_id()] = x.retrieval_score();
  for (const Candidate& x : *got) {
    EXPECT_THAT(x.retrieval_score(), FloatNear(logits.at(x.video_id()), 1e-4)) << x.video_id();
  }
  std::vector<std::string> stages;
  for (int i = 0; i < clock.times().size(); ++i) stages.push_back(clock.times()[i].first);
  EXPECT_THAT(stages, ElementsAre("features", "user_tower", "ann", "covisit"));
}

TEST(RetrieverTest, TheShareHoldsForEveryListLength) {
  std::unique_ptr<Retriever> r = LoadTiny("share", true, Share(0.5, 5));
  ASSERT_NE(r, nullptr);
  for (int n = 1; n <= 12; ++n) {
    absl::StatusOr<std::vector<Candidate>> got = r->Candidates(TwoWatches(), n);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(static_cast<int>(got->size()), n);
    int covisit = 0;
    for (const Candidate& c : *got) covisit += c.source() == SOURCE_COVISIT;
    // Six co-visited videos, some of which the network may reach first.
    EXPECT_LE(covisit, n / 2) << n;
    if (n <= 6) {
      EXPECT_EQ(covisit, n / 2) << n;
    }
  }
}

TEST(RetrieverTest, EveryVideoOnceAndNoneWatchedWhenTheListRunsOut) {
  std::unique_ptr<Retriever> r = LoadTiny("runs_out", true, Share(0.3));
  ASSERT_NE(r, nullptr);
  // 20 videos, 2 watched: 18 candidates, whatever their source.
  absl::StatusOr<std::vector<Candidate>> got = r->Candidates(TwoWatches(), 50);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->size(), 18u);
  absl::flat_hash_set<std::string> ids;
  for (const Candidate& c : *got) {
    EXPECT_TRUE(ids.insert(c.video_id()).second) << c.video_id() << " twice";
    EXPECT_NE(c.video_id(), TinyVideoId(0));
    EXPECT_NE(c.video_id(), TinyVideoId(5));
    EXPECT_NE(c.source(), SOURCE_POPULAR);
  }
}

TEST(RetrieverTest, ColdStartStillGetsThePopularList) {
  std::unique_ptr<Retriever> r = LoadTiny("cold", true);
  ASSERT_NE(r, nullptr);
  UserContext cold;
  cold.add_watches()->set_video_id("not-in-the-bundle");
  absl::StatusOr<std::vector<Candidate>> got = r->Candidates(cold, 4);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Ids(*got), ElementsAre(TinyVideoId(0), TinyVideoId(1), TinyVideoId(2),
                                     TinyVideoId(3)));
  EXPECT_THAT(Sources(*got),
              ElementsAre(SOURCE_POPULAR, SOURCE_POPULAR, SOURCE_POPULAR, SOURCE_POPULAR));
}

TEST(RetrieverTest, AZeroShareTurnsTheSourceOff) {
  std::unique_ptr<Retriever> r = LoadTiny("zero_share", true, Share(0.0));
  ASSERT_NE(r, nullptr);
  absl::StatusOr<std::vector<Candidate>> dnn = r->Retrieve(TwoWatches(), 10);
  absl::StatusOr<std::vector<Candidate>> got = r->Candidates(TwoWatches(), 10);
  ASSERT_TRUE(dnn.ok() && got.ok());
  EXPECT_EQ(Ids(*got), Ids(*dnn));
}

TEST(RetrieverTest, OptionsOutOfRangeAreRejected) {
  const std::string root = FreshTestDir("retriever_bad_options");
  absl::StatusOr<std::string> dir = WriteTinyBundle(root);
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(*dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  for (const Retriever::Options& options : {Share(1.5), Share(0.3, -1)}) {
    absl::StatusOr<std::unique_ptr<Retriever>> r = Retriever::Load(**bundle, options);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("covisit_share must be in [0, 1]"));
  }
}

// By default the retriever nominates as the trainer did: the share and the
// seeds recorded in the bundle (the tiny bundle records 0.3 and 5).
TEST(RetrieverTest, DefaultsAreTheBundlesShareAndSeeds) {
  const std::string root = FreshTestDir("retriever_bundle_share");
  absl::StatusOr<std::string> dir = WriteTinyBundle(root);
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(*dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  absl::StatusOr<std::unique_ptr<Retriever>> r = Retriever::Load(**bundle, Retriever::Options());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR((*r)->options().covisit_share, 0.3, 1e-6);
  EXPECT_EQ((*r)->options().covisit_seeds, 5);
  absl::StatusOr<std::unique_ptr<Retriever>> overridden = Retriever::Load(**bundle, Share(0.5, 2));
  ASSERT_TRUE(overridden.ok()) << overridden.status();
  EXPECT_EQ((*overridden)->options().covisit_share, 0.5);
  EXPECT_EQ((*overridden)->options().covisit_seeds, 2);
}

// The ANN step swapped for another search (the service's shard fan-out):
// its rows become the network's candidates, and co-visitation, the
// popular fill and the watched filter run as with the own index.
TEST(RetrieverTest, AnotherAnnSearchFeedsTheSameNominatePath) {
  std::unique_ptr<Retriever> r = LoadTiny("ann_search", true, Share(0.3));
  ASSERT_NE(r, nullptr);
  int calls = 0;
  const auto two_rows = [&](absl::Span<const float> query,
                            int k) -> absl::StatusOr<std::vector<Neighbor>> {
    ++calls;
    EXPECT_EQ(static_cast<int>(query.size()), r->ann_dimension());
    EXPECT_EQ(query.back(), 1.0f);
    EXPECT_GE(k, 10);
    // Row 0 (v00) is watched: dropped.
    return std::vector<Neighbor>{{12, 5.0f}, {0, 4.5f}, {15, 4.0f}};
  };
  absl::StatusOr<std::vector<Nominee>> got = r->Nominate(TwoWatches(), 10, nullptr, two_rows);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(got->size(), 10u);
  std::vector<std::string> dnn;
  absl::flat_hash_set<std::string> seen;
  for (const Nominee& n : *got) {
    EXPECT_TRUE(seen.insert(*n.video_id).second) << *n.video_id;
    EXPECT_NE(*n.video_id, TinyVideoId(0));
    EXPECT_NE(*n.video_id, TinyVideoId(5));
    if (n.source == SOURCE_DNN) dnn.push_back(*n.video_id);
  }
  EXPECT_THAT(dnn, ElementsAre(TinyVideoId(12), TinyVideoId(15)));
  EXPECT_EQ((*got)[0].score, 5.0f);
  // Co-visitation keeps its share; the popular list fills the rest.
  EXPECT_EQ(*(*got)[2].video_id, TinyVideoId(1));
  EXPECT_EQ((*got)[2].source, SOURCE_COVISIT);
  EXPECT_EQ(got->back().source, SOURCE_POPULAR);

  // Nothing from the search (every shard down): still a full list.
  const auto nothing = [](absl::Span<const float>, int) -> absl::StatusOr<std::vector<Neighbor>> {
    return std::vector<Neighbor>{};
  };
  got = r->Nominate(TwoWatches(), 10, nullptr, nothing);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->size(), 10u);
  for (const Nominee& n : *got) EXPECT_NE(n.source, SOURCE_DNN);

  // An error of the search is the request's.
  const auto failing = [](absl::Span<const float>, int) -> absl::StatusOr<std::vector<Neighbor>> {
    return absl::InternalError("index on fire");
  };
  got = r->Nominate(TwoWatches(), 10, nullptr, failing);
  EXPECT_THAT(got.status().message(), HasSubstr("index on fire"));
}

// Loaded without its index (a front whose ANN step is on shards): the
// same answers from the same search, and no search of its own.
TEST(RetrieverTest, WithoutItsIndexOnlyAnotherSearchRetrieves) {
  Retriever::Options without = Share(0.3);
  without.load_ann_index = false;
  std::unique_ptr<Retriever> front = LoadTiny("without_index", true, without);
  std::unique_ptr<Retriever> whole = LoadTiny("with_index", true, Share(0.3));
  ASSERT_NE(front, nullptr);
  ASSERT_NE(whole, nullptr);
  EXPECT_EQ(front->ann_size(), 20);
  EXPECT_EQ(front->ann_dimension(), kTinyOutputDim + 1);
  EXPECT_EQ(front->Retrieve(TwoWatches(), 5).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(front->Candidates(TwoWatches(), 5).status().code(),
            absl::StatusCode::kFailedPrecondition);
  const auto rows = [](absl::Span<const float>, int) -> absl::StatusOr<std::vector<Neighbor>> {
    return std::vector<Neighbor>{{12, 5.0f}, {15, 4.0f}};
  };
  absl::StatusOr<std::vector<Nominee>> a = front->Nominate(TwoWatches(), 10, nullptr, rows);
  absl::StatusOr<std::vector<Nominee>> b = whole->Nominate(TwoWatches(), 10, nullptr, rows);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ(*(*a)[i].video_id, *(*b)[i].video_id);
    EXPECT_EQ((*a)[i].score, (*b)[i].score);
    EXPECT_EQ((*a)[i].source, (*b)[i].source);
  }
}

}  // namespace
}  // namespace recsys
