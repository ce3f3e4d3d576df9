// Explain mode end to end (issue 16): a small world trained with a history
// limit of 10 watches, served by the real binaries on free ports with two
// bundle versions loaded (the trained one and a copy under a later name),
// and checked over gRPC against what the test computes apart from the
// services: the ranking tower recomputed from the reported inputs and the
// bundle's tensors, the candidate lists of GenerateCandidates, the user
// tower's reading from the bundle's vocabularies. Then `recsys_client
// --explain` on the same servers.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/features/tokenizer.h"
#include "common/features/vocabulary.h"
#include "common/logs/logs.h"
#include "common/logs/user_context.h"
#include "common/serving/bundle.h"
#include "common/serving/models.h"
#include "common/serving/testing/ranking_reference.h"
#include "proto/recsys.grpc.pb.h"
#include "tests/test_util.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;
using testing::ChildProcess;
using testing::FileTail;
using testing::ReadFileOrEmpty;
using testing::RunfilePath;
using testing::RunToCompletion;
using testing::StartServer;
using testing::StartedServer;
using testing::TestTempDir;

// The trainer's candidate and ranking history limit here: small, so that a
// logged history goes past it.
constexpr int kMaxWatches = 10;

struct Suite {
  std::string world_dir;
  std::string trained_version, copied_version;
  std::unique_ptr<Bundle> bundle;
  std::unique_ptr<RankingReference> reference;
  Vocabulary videos, tokens;
  std::vector<UserContext> contexts;  // users with more than kMaxWatches watches
  StartedServer ranking, candidate;
  std::unique_ptr<CandidateService::Stub> stub;
};
Suite* suite = nullptr;

class ExplainEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite = new Suite();
    const std::string tmp = TestTempDir();
    suite->world_dir = tmp + "/world";
    const std::string bundles = tmp + "/bundles";
    const std::string log = tmp + "/explain_e2e.log";
    ASSERT_EQ(RunToCompletion({RunfilePath("simulator/world_gen"), "--out=" + suite->world_dir,
                               "--preset=small", "--seed=7"},
                              log),
              0)
        << FileTail(log);
    ASSERT_EQ(RunToCompletion({RunfilePath("trainer/trainer"), "--logs=" + suite->world_dir,
                               "--bundles=" + bundles, "--progress=false", "--seed=7",
                               absl::StrCat("--max_watches=", kMaxWatches),
                               "--candidate_epochs=2", "--ranking_epochs=1"},
                              log),
              0)
        << FileTail(log);
    for (const auto& entry : std::filesystem::directory_iterator(bundles)) {
      if (entry.path().filename().string()[0] != '.') {
        suite->trained_version = entry.path().filename().string();
      }
    }
    ASSERT_FALSE(suite->trained_version.empty());
    // The same model under a later name: the newest version.
    suite->copied_version = suite->trained_version + "b";
    ASSERT_EQ(testing::CopyDirectory(bundles + "/" + suite->trained_version,
                                     bundles + "/" + suite->copied_version),
              "");
    absl::StatusOr<std::unique_ptr<Bundle>> bundle =
        Bundle::Open(bundles + "/" + suite->trained_version);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    suite->bundle = *std::move(bundle);
    ASSERT_EQ(suite->bundle->manifest().candidate().max_watches(), kMaxWatches);
    absl::StatusOr<std::unique_ptr<RankingReference>> reference =
        RankingReference::Load(*suite->bundle);
    ASSERT_TRUE(reference.ok()) << reference.status();
    suite->reference = *std::move(reference);
    absl::StatusOr<Vocabulary> videos = suite->bundle->ReadVocabulary(kVideoVocab);
    absl::StatusOr<Vocabulary> tokens = suite->bundle->ReadVocabulary(kTokenVocab);
    ASSERT_TRUE(videos.ok() && tokens.ok());
    suite->videos = *std::move(videos);
    suite->tokens = *std::move(tokens);

    absl::StatusOr<Logs> logs = ReadLogs(suite->world_dir);
    ASSERT_TRUE(logs.ok()) << logs.status();
    UserHistories histories = UserHistories::Build(*logs);
    for (const std::string& user : histories.user_ids()) {
      const auto& watches = histories.watches(user);
      if (static_cast<int>(watches.size()) <= kMaxWatches + 2) continue;
      absl::StatusOr<UserContext> context =
          histories.ContextAt(user, watches.back().time_s + 1);
      ASSERT_TRUE(context.ok()) << context.status();
      suite->contexts.push_back(*std::move(context));
      if (suite->contexts.size() == 20) break;
    }
    ASSERT_GE(suite->contexts.size(), 5u);

    suite->ranking = StartServer("ranking_service/ranking_server", "ranking",
                                 {"--bundles=" + bundles, "--max_loaded_versions=2"});
    ASSERT_GT(suite->ranking.port, 0) << FileTail(suite->ranking.log);
    suite->candidate = StartServer(
        "candidate_service/candidate_server", "candidate",
        {"--bundles=" + bundles, "--max_loaded_versions=2",
         absl::StrCat("--ranking_address=127.0.0.1:", suite->ranking.port),
         "--ranking_deadline_ms=5000"});
    ASSERT_GT(suite->candidate.port, 0) << FileTail(suite->candidate.log);
    suite->stub = CandidateService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", suite->candidate.port),
                            grpc::InsecureChannelCredentials()));
  }

  static void TearDownTestSuite() {
    if (suite != nullptr) {
      // Both servers shut down gracefully on SIGTERM.
      if (suite->candidate.process) {
        EXPECT_EQ(suite->candidate.process->Stop(), 0);
      }
      if (suite->ranking.process) {
        EXPECT_EQ(suite->ranking.process->Stop(), 0);
      }
    }
    delete suite;
    suite = nullptr;
  }

  void SetUp() override { ASSERT_NE(suite->stub, nullptr) << "the suite set-up failed"; }

  static grpc::Status Recommend(const RecommendRequest& request, RecommendResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return suite->stub->Recommend(&context, request, response);
  }

  // An explained, ranked answer for `context`.
  static RecommendResponse Explained(const UserContext& context, int num_candidates = 50,
                                     int num_results = 10) {
    RecommendRequest request;
    *request.mutable_context() = context;
    request.set_num_candidates(num_candidates);
    request.set_num_results(num_results);
    request.set_explain(true);
    RecommendResponse response;
    grpc::Status status = Recommend(request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(response.degraded()) << "ranking must answer";
    EXPECT_TRUE(response.has_explanation());
    return response;
  }
};

TEST_F(ExplainEndToEndTest, ExplainOffIsTheAnswerWithoutTheFieldAndOnChangesNoScore) {
  for (const UserContext& context : suite->contexts) {
    RecommendRequest request;
    *request.mutable_context() = context;
    request.set_num_results(10);
    RecommendResponse plain, off, on;
    ASSERT_TRUE(Recommend(request, &plain).ok());
    request.set_explain(false);
    ASSERT_TRUE(Recommend(request, &off).ok());
    EXPECT_FALSE(off.has_explanation());
    EXPECT_EQ(off.SerializeAsString(), plain.SerializeAsString());
    request.set_explain(true);
    ASSERT_TRUE(Recommend(request, &on).ok());
    ASSERT_TRUE(on.has_explanation());
    on.clear_explanation();
    EXPECT_EQ(on.SerializeAsString(), plain.SerializeAsString());
  }
}

// The acceptance check: the reported inputs (normalised continuous features,
// categorical rows, the request's seed, bag and language), fed to the
// bundle's tower by a reference written apart from the service, give each
// candidate's logit, and exp of it is the answer's predicted watch time.
TEST_F(ExplainEndToEndTest, ReportedFeaturesReproduceTheRankingTowersScores) {
  int checked = 0;
  for (const UserContext& context : suite->contexts) {
    const RecommendResponse response = Explained(context);
    const Explanation& e = response.explanation();
    ASSERT_EQ(e.candidates_size(), response.videos_size());
    std::vector<const CandidateExplanation*> ranked;
    for (const CandidateExplanation& c : e.candidates()) ranked.push_back(&c);
    for (const CandidateExplanation& c : e.removed()) {
      if (c.has_ranking()) ranked.push_back(&c);
    }
    ASSERT_EQ(ranked.size(), 50u);
    for (const CandidateExplanation* c : ranked) {
      const RankingCandidateExplanation& r = c->ranking();
      ASSERT_EQ(r.continuous_size(), suite->bundle->manifest().ranking().quantiles_size());
      for (int k = 0; k < r.continuous_size(); ++k) {
        EXPECT_EQ(r.continuous(k).name(),
                  suite->bundle->manifest().ranking().quantiles(k).feature());
      }
      absl::StatusOr<double> logit =
          suite->reference->Logit(e.ranking_request(), r, e.ranking_use_powers());
      ASSERT_TRUE(logit.ok()) << logit.status();
      EXPECT_NEAR(r.logit(), *logit, 1e-4 * std::max(1.0, std::abs(*logit))) << c->video_id();
      EXPECT_NEAR(r.predicted_watch_seconds(), std::exp(*logit),
                  1e-4 * std::exp(*logit))
          << c->video_id();
      ++checked;
    }
    for (int i = 0; i < response.videos_size(); ++i) {
      EXPECT_EQ(e.candidates(i).ranking().predicted_watch_seconds(),
                response.videos(i).predicted_watch_seconds());
      EXPECT_EQ(e.candidates(i).ranking().rank(), i + 1);
    }
  }
  EXPECT_GE(checked, 250);
}

TEST_F(ExplainEndToEndTest, SourcesAndRetrievalScoresAreGenerateCandidates) {
  for (const UserContext& context : suite->contexts) {
    const RecommendResponse response = Explained(context);
    GenerateCandidatesRequest request;
    *request.mutable_context() = context;
    request.set_num_candidates(50);
    GenerateCandidatesResponse candidates;
    grpc::ClientContext call;
    call.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    ASSERT_TRUE(suite->stub->GenerateCandidates(&call, request, &candidates).ok());
    // Every listed candidate is in the answer or below the cut, at its place.
    absl::flat_hash_map<int, const CandidateExplanation*> by_rank;
    for (const CandidateExplanation& c : response.explanation().candidates()) {
      by_rank[c.retrieval_rank()] = &c;
    }
    for (const CandidateExplanation& c : response.explanation().removed()) {
      if (c.removed() == REMOVAL_BELOW_CUT) by_rank[c.retrieval_rank()] = &c;
    }
    ASSERT_EQ(static_cast<int>(by_rank.size()), candidates.candidates_size());
    for (int i = 0; i < candidates.candidates_size(); ++i) {
      const Candidate& expected = candidates.candidates(i);
      ASSERT_TRUE(by_rank.contains(i + 1)) << i;
      const CandidateExplanation& c = *by_rank[i + 1];
      EXPECT_EQ(c.video_id(), expected.video_id());
      EXPECT_EQ(c.retrieval_score(), expected.retrieval_score());
      ASSERT_GE(c.sources_size(), 1);
      EXPECT_EQ(c.sources(0), expected.source());
    }
  }
}

TEST_F(ExplainEndToEndTest, CandidatesBeyondNumResultsAreBelowTheCut) {
  const RecommendResponse response = Explained(suite->contexts.front(), 50, 10);
  int below = 0;
  for (const CandidateExplanation& c : response.explanation().removed()) {
    if (c.removed() != REMOVAL_BELOW_CUT) continue;
    ++below;
    ASSERT_TRUE(c.has_ranking());
    EXPECT_GT(c.ranking().rank(), 10) << c.video_id();
    EXPECT_EQ(c.final_rank(), 0);
  }
  EXPECT_EQ(below, 40);
}

// A watch older than the history limit does not move the user vector, so
// the network's best candidate, once watched that long ago, is still found
// by the ANN step, and reported removed as already watched.
TEST_F(ExplainEndToEndTest, AWatchedVideoIsRemovedAsAlreadyWatched) {
  UserContext context = suite->contexts.front();
  const RecommendResponse before = Explained(context);
  std::string best;
  for (const CandidateExplanation& c : before.explanation().candidates()) {
    if (c.retrieval_rank() == 1) best = c.video_id();
  }
  for (const CandidateExplanation& c : before.explanation().removed()) {
    if (c.retrieval_rank() == 1) best = c.video_id();
  }
  ASSERT_FALSE(best.empty());
  int64_t oldest = context.watches(0).time_s();
  for (const Watch& w : context.watches()) oldest = std::min(oldest, w.time_s());
  Watch* watched = context.add_watches();
  watched->set_video_id(best);
  watched->set_time_s(oldest - 1);
  const RecommendResponse after = Explained(context);
  bool removed = false;
  for (const CandidateExplanation& c : after.explanation().removed()) {
    if (c.video_id() == best) {
      EXPECT_EQ(c.removed(), REMOVAL_ALREADY_WATCHED);
      removed = true;
    }
  }
  EXPECT_TRUE(removed) << best;
  for (const RankedVideo& v : after.videos()) EXPECT_NE(v.video_id(), best);
  // Every video removed as watched is one the context holds.
  absl::flat_hash_set<std::string> history;
  for (const Watch& w : context.watches()) history.insert(w.video_id());
  for (const CandidateExplanation& c : after.explanation().removed()) {
    if (c.removed() == REMOVAL_ALREADY_WATCHED) {
      EXPECT_TRUE(history.contains(c.video_id())) << c.video_id();
    }
  }
}

// The user tower's section lists exactly the watches of the last
// `kMaxWatches` that its vocabulary knows, and the search tokens it knows;
// the rest is dropped with the reason.
TEST_F(ExplainEndToEndTest, TheUserTowerListsExactlyWhatItKept) {
  UserContext context = suite->contexts.front();
  Watch* unknown = context.add_watches();
  unknown->set_video_id("no-such-video");
  unknown->set_time_s(context.request_time_s() - 10);
  SearchQuery* search = context.add_searches();
  search->set_query("zzzunknownword");
  search->set_time_s(context.request_time_s() - 5);
  const RecommendResponse response = Explained(context);
  const UserTowerReading& tower = response.explanation().user_tower();

  std::vector<Watch> by_time(context.watches().begin(), context.watches().end());
  std::stable_sort(by_time.begin(), by_time.end(), [](const Watch& a, const Watch& b) {
    return a.time_s() != b.time_s() ? a.time_s() < b.time_s() : a.video_id() < b.video_id();
  });
  std::vector<std::string> expected_kept;
  std::vector<std::pair<std::string, InputDropReason>> expected_dropped;
  for (size_t i = 0; i < by_time.size(); ++i) {
    const std::string& id = by_time[i].video_id();
    if (i + kMaxWatches < by_time.size()) {
      expected_dropped.push_back({id, INPUT_DROP_BEYOND_HISTORY_LIMIT});
    } else if (suite->videos.Lookup(id) == Vocabulary::kOov) {
      expected_dropped.push_back({id, INPUT_DROP_OUT_OF_VOCABULARY});
    } else {
      expected_kept.push_back(id);
    }
  }
  std::vector<std::string> kept;
  for (const WatchReading& w : tower.watches_kept()) {
    kept.push_back(w.video_id());
    EXPECT_EQ(w.vocabulary_row(), suite->videos.Lookup(w.video_id()));
  }
  EXPECT_EQ(kept, expected_kept);
  std::vector<std::pair<std::string, InputDropReason>> dropped;
  for (const WatchReading& w : tower.watches_dropped()) {
    dropped.push_back({w.video_id(), w.dropped()});
  }
  EXPECT_THAT(dropped, UnorderedElementsAreArray(expected_dropped));
  EXPECT_LE(tower.watches_kept_size(), kMaxWatches);

  // Tokens: the context has fewer searches and tokens than the limits.
  ASSERT_LE(context.searches_size(), suite->bundle->manifest().candidate().max_searches());
  std::vector<std::string> expected_tokens, expected_unknown;
  for (const SearchQuery& s : context.searches()) {
    for (const std::string& token : QueryTokens(s.query())) {
      (suite->tokens.Lookup(token) != Vocabulary::kOov ? expected_tokens : expected_unknown)
          .push_back(token);
    }
  }
  ASSERT_LE(expected_tokens.size(), 200u);
  std::vector<std::string> tokens, unknown_tokens;
  for (const TokenReading& t : tower.tokens_kept()) {
    tokens.push_back(t.token());
    EXPECT_EQ(t.vocabulary_row(), suite->tokens.Lookup(t.token()));
  }
  for (const TokenReading& t : tower.tokens_dropped()) {
    EXPECT_EQ(t.dropped(), INPUT_DROP_OUT_OF_VOCABULARY) << t.token();
    unknown_tokens.push_back(t.token());
  }
  EXPECT_THAT(tokens, UnorderedElementsAreArray(expected_tokens));
  EXPECT_THAT(unknown_tokens, UnorderedElementsAreArray(expected_unknown));
  EXPECT_THAT(unknown_tokens, ::testing::Contains("zzzunknownword"));
  EXPECT_TRUE(tower.knows_anything());
}

TEST_F(ExplainEndToEndTest, ModelVersionPinsALoadedVersionAndRefusesAnUnknownOne) {
  RecommendRequest request;
  *request.mutable_context() = suite->contexts.front();
  request.set_explain(true);
  RecommendResponse newest, pinned;
  ASSERT_TRUE(Recommend(request, &newest).ok());
  EXPECT_EQ(newest.model_version(), suite->copied_version);
  request.set_model_version(suite->trained_version);
  ASSERT_TRUE(Recommend(request, &pinned).ok());
  EXPECT_EQ(pinned.model_version(), suite->trained_version);
  EXPECT_EQ(pinned.explanation().candidate_model_version(), suite->trained_version);
  // Ranking has both loaded and ranks with the same version.
  EXPECT_EQ(pinned.ranking_model_version(), suite->trained_version);
  EXPECT_EQ(pinned.explanation().ranking_model_version(), suite->trained_version);
  EXPECT_FALSE(pinned.version_mismatch());
  // The same model under both names: the same answer.
  ASSERT_EQ(pinned.videos_size(), newest.videos_size());
  for (int i = 0; i < pinned.videos_size(); ++i) {
    EXPECT_EQ(pinned.videos(i).video_id(), newest.videos(i).video_id());
  }

  request.set_model_version("19990101-000000");
  RecommendResponse refused;
  grpc::Status status = Recommend(request, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("model_version"));
  EXPECT_THAT(status.error_message(), HasSubstr("19990101-000000"));
  EXPECT_THAT(status.error_message(), HasSubstr(suite->trained_version));
  EXPECT_THAT(status.error_message(), HasSubstr(suite->copied_version));
}

TEST_F(ExplainEndToEndTest, TheClientPrintsTheExplanationAsTables) {
  const std::string out = TestTempDir() + "/client_explain.txt";
  const std::string user = suite->contexts.front().user_id();
  ASSERT_EQ(RunToCompletion({RunfilePath("clients/recsys_client"),
                             absl::StrCat("--address=127.0.0.1:", suite->candidate.port),
                             "--logs=" + suite->world_dir, "--user_id=" + user,
                             "--num_results=5", "--explain",
                             "--model_version=" + suite->trained_version},
                            out),
            0)
      << FileTail(out);
  const std::string text = ReadFileOrEmpty(out);
  EXPECT_THAT(text, HasSubstr("candidate model " + suite->trained_version));
  EXPECT_THAT(text, HasSubstr("User tower read"));
  EXPECT_THAT(text, HasSubstr("watches kept"));
  EXPECT_THAT(text, HasSubstr("Answer: 5"));
  EXPECT_THAT(text, HasSubstr("days_since_upload"));
  EXPECT_THAT(text, HasSubstr("below the cut"));
}

}  // namespace
}  // namespace recsys
