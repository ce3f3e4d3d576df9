// End to end, with the real binaries: generate a small world whose users have
// clear topic preferences, train both models, start both gRPC servers on free
// ports, and check over gRPC that the recommendations learned something and
// that bad requests get clear answers.

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/http_get.h"
#include "common/logs/logs.h"
#include "common/logs/user_context.h"
#include "proto/recsys.grpc.pb.h"
#include "tests/test_util.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;
using testing::ChildProcess;
using testing::FileTail;
using testing::RunfilePath;
using testing::RunToCompletion;
using testing::TestTempDir;
using testing::WaitForPortFile;

class EndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string tmp = TestTempDir();
    world_dir_ = new std::string(tmp + "/world");
    const std::string bundles = tmp + "/bundles";
    const std::string log = tmp + "/e2e.log";
    ASSERT_EQ(RunToCompletion({RunfilePath("simulator/world_gen"), "--out=" + *world_dir_,
                               "--preset=small", "--seed=7"},
                              log),
              0)
        << FileTail(log);
    ASSERT_EQ(RunToCompletion({RunfilePath("trainer/trainer"), "--logs=" + *world_dir_,
                               "--bundles=" + bundles, "--progress=false", "--seed=7"},
                              log),
              0)
        << FileTail(log);
    ranking_ = new ChildProcess(
        {RunfilePath("ranking_service/ranking_server"), "--bundles=" + bundles,
         "--address=127.0.0.1:0", "--port_file=" + tmp + "/ranking.port",
         "--metrics_address=127.0.0.1:0", "--metrics_port_file=" + tmp + "/ranking.metrics",
         "--access_log_sample=1"},
        tmp + "/ranking.log");
    int ranking_port = WaitForPortFile(tmp + "/ranking.port", 60);
    ASSERT_GT(ranking_port, 0) << FileTail(tmp + "/ranking.log");
    candidate_ = new ChildProcess(
        {RunfilePath("candidate_service/candidate_server"), "--bundles=" + bundles,
         "--address=127.0.0.1:0", "--port_file=" + tmp + "/candidate.port",
         absl::StrCat("--ranking_address=127.0.0.1:", ranking_port),
         "--ranking_deadline_ms=5000", "--metrics_address=127.0.0.1:0",
         "--metrics_port_file=" + tmp + "/candidate.metrics", "--access_log_sample=1"},
        tmp + "/candidate.log");
    int candidate_port = WaitForPortFile(tmp + "/candidate.port", 60);
    ASSERT_GT(candidate_port, 0) << FileTail(tmp + "/candidate.log");
    ranking_metrics_port_ = WaitForPortFile(tmp + "/ranking.metrics", 10);
    candidate_metrics_port_ = WaitForPortFile(tmp + "/candidate.metrics", 10);
    candidate_channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", candidate_port), grpc::InsecureChannelCredentials()));
    ranking_channel_ = new std::shared_ptr<grpc::Channel>(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", ranking_port), grpc::InsecureChannelCredentials()));
  }

  static void TearDownTestSuite() {
    // Both servers shut down gracefully on SIGTERM.
    if (candidate_ != nullptr) {
      EXPECT_EQ(candidate_->Stop(), 0);
    }
    if (ranking_ != nullptr) {
      EXPECT_EQ(ranking_->Stop(), 0);
    }
    delete candidate_;
    delete ranking_;
    delete candidate_channel_;
    delete ranking_channel_;
  }

  void SetUp() override {
    ASSERT_NE(candidate_channel_, nullptr) << "the suite set-up failed";
  }

  static std::unique_ptr<grpc::ClientContext> Context() {
    auto c = std::make_unique<grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return c;
  }

  static std::string* world_dir_;
  static int ranking_metrics_port_;
  static int candidate_metrics_port_;
  static ChildProcess* ranking_;
  static ChildProcess* candidate_;
  static std::shared_ptr<grpc::Channel>* candidate_channel_;
  static std::shared_ptr<grpc::Channel>* ranking_channel_;
};

std::string* EndToEndTest::world_dir_ = nullptr;
int EndToEndTest::ranking_metrics_port_ = 0;
int EndToEndTest::candidate_metrics_port_ = 0;
ChildProcess* EndToEndTest::ranking_ = nullptr;
ChildProcess* EndToEndTest::candidate_ = nullptr;
std::shared_ptr<grpc::Channel>* EndToEndTest::candidate_channel_ = nullptr;
std::shared_ptr<grpc::Channel>* EndToEndTest::ranking_channel_ = nullptr;

TEST_F(EndToEndTest, HeldOutNextWatchBeatsMostPopularTwice) {
  absl::StatusOr<Logs> logs = ReadLogs(*world_dir_);
  ASSERT_TRUE(logs.ok()) << logs.status();
  UserHistories histories = UserHistories::Build(*logs);
  // Most popular over the training part (every watch but each user's last two).
  absl::flat_hash_map<std::string, int64_t> counts;
  for (const std::string& user : histories.user_ids()) {
    const auto& w = histories.watches(user);
    for (size_t i = 0; i + 2 < w.size(); ++i) ++counts[w[i].video_id];
  }
  std::vector<std::pair<int64_t, std::string>> popular;
  for (const auto& [id, n] : counts) popular.emplace_back(-n, id);
  std::sort(popular.begin(), popular.end());

  // Predicting the next watch is candidate generation's objective: its top
  // 50 (GenerateCandidates) must hold the held-out watch at least twice as
  // often as a most-popular list. The final list (Recommend: 200 candidates
  // ranked by predicted expected watch time, the paper's objective, which
  // favours long videos the user is likely to watch long over the likeliest
  // next click) trades some of that hit rate for watch time; it must still
  // beat most-popular by half again.
  auto stub = CandidateService::NewStub(*candidate_channel_);
  int users = 0, recommend_hits = 0, retrieval_hits = 0, popular_hits = 0;
  for (const std::string& user : histories.user_ids()) {
    const auto& w = histories.watches(user);
    if (w.size() < 3) continue;
    const WatchRecord& target = w.back();
    RecommendRequest request;
    *request.mutable_context() = *histories.ContextAt(user, target.time_s);
    request.set_num_results(50);
    RecommendResponse response;
    grpc::Status status = stub->Recommend(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_FALSE(response.degraded()) << "ranking must answer";
    ASSERT_EQ(response.videos_size(), 50);
    GenerateCandidatesRequest gen;
    *gen.mutable_context() = request.context();
    gen.set_num_candidates(50);
    GenerateCandidatesResponse candidates;
    status = stub->GenerateCandidates(Context().get(), gen, &candidates);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ++users;
    for (const RankedVideo& v : response.videos()) {
      if (v.video_id() == target.video_id) ++recommend_hits;
    }
    for (const Candidate& c : candidates.candidates()) {
      if (c.video_id() == target.video_id) ++retrieval_hits;
    }
    absl::flat_hash_set<std::string> watched;
    for (const Watch& x : request.context().watches()) watched.insert(x.video_id());
    int shown = 0;
    for (const auto& [neg, id] : popular) {
      if (watched.contains(id)) continue;
      if (id == target.video_id) ++popular_hits;
      if (++shown == 50) break;
    }
  }
  ASSERT_GE(users, 100);
  const double recommend_rate = static_cast<double>(recommend_hits) / users;
  const double retrieval_rate = static_cast<double>(retrieval_hits) / users;
  const double popular_rate = static_cast<double>(popular_hits) / users;
  std::printf("held-out next watch in the top 50 over gRPC (%d users): Recommend %.3f, "
              "GenerateCandidates %.3f, most-popular %.3f\n",
              users, recommend_rate, retrieval_rate, popular_rate);
  EXPECT_GT(popular_hits, 0);
  // Retrieval (whose objective is the next watch) at least twice
  // most-popular. The Recommend list is ordered by expected watch time, not
  // by the likeliest next click, so its next-watch rate is lower; measured
  // with validation-chosen ranking epochs: Recommend 0.310, GenerateCandidates
  // 0.367, most-popular 0.153 (2.0x; 0.342 with 2 fixed epochs). Bound:
  // 1.8x, so that a change of a few users does not flip the test.
  EXPECT_GE(retrieval_rate, 2 * popular_rate);
  EXPECT_GE(recommend_rate, 1.8 * popular_rate);
}

TEST_F(EndToEndTest, RecommendationsAreOrderedAndNeverAlreadyWatched) {
  absl::StatusOr<Logs> logs = ReadLogs(*world_dir_);
  ASSERT_TRUE(logs.ok());
  UserHistories histories = UserHistories::Build(*logs);
  const std::string& user = histories.user_ids().front();
  RecommendRequest request;
  *request.mutable_context() = *histories.ContextAt(user, 1LL << 40);
  request.set_num_results(20);
  RecommendResponse response;
  auto stub = CandidateService::NewStub(*candidate_channel_);
  ASSERT_TRUE(stub->Recommend(Context().get(), request, &response).ok());
  ASSERT_EQ(response.videos_size(), 20);
  EXPECT_FALSE(response.model_version().empty());
  EXPECT_FALSE(response.ranking_model_version().empty());
  absl::flat_hash_set<std::string> watched;
  for (const Watch& w : request.context().watches()) watched.insert(w.video_id());
  for (int i = 0; i < response.videos_size(); ++i) {
    const RankedVideo& v = response.videos(i);
    EXPECT_FALSE(watched.contains(v.video_id())) << v.video_id();
    EXPECT_FALSE(v.title().empty());
    EXPECT_GT(v.predicted_watch_seconds(), 0);
    if (i > 0) {
      EXPECT_LE(v.predicted_watch_seconds(),
                response.videos(i - 1).predicted_watch_seconds());
    }
  }

  GenerateCandidatesRequest gen;
  *gen.mutable_context() = request.context();
  gen.set_num_candidates(300);
  GenerateCandidatesResponse candidates;
  ASSERT_TRUE(stub->GenerateCandidates(Context().get(), gen, &candidates).ok());
  ASSERT_EQ(candidates.candidates_size(), 300);
  // The sources are interleaved (co-visitation keeps its share of every
  // prefix): each video once, none watched, the network's own candidates
  // in its score order, and both sources present.
  absl::flat_hash_set<std::string> seen;
  float last_dnn_score = std::numeric_limits<float>::infinity();
  int dnn = 0, covisit = 0;
  for (const Candidate& c : candidates.candidates()) {
    EXPECT_TRUE(seen.insert(c.video_id()).second) << "twice: " << c.video_id();
    EXPECT_FALSE(watched.contains(c.video_id())) << c.video_id();
    if (c.source() == SOURCE_DNN) {
      EXPECT_LE(c.retrieval_score(), last_dnn_score);
      last_dnn_score = c.retrieval_score();
      ++dnn;
    }
    covisit += c.source() == SOURCE_COVISIT ? 1 : 0;
  }
  EXPECT_GT(dnn, 150);
  EXPECT_GT(covisit, 0);
}

TEST_F(EndToEndTest, BadRequestsGetInvalidArgumentNamingTheField) {
  auto candidate = CandidateService::NewStub(*candidate_channel_);
  RecommendResponse response;
  grpc::Status status = candidate->Recommend(Context().get(), RecommendRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("context"));

  RecommendRequest bad;
  bad.mutable_context()->add_watches()->set_video_id("");
  status = candidate->Recommend(Context().get(), bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("context.watches[0].video_id"));

  auto ranking = RankingService::NewStub(*ranking_channel_);
  RankRequest rank;
  rank.mutable_context();
  RankResponse ranked;
  status = ranking->Rank(Context().get(), rank, &ranked);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("candidates"));
}

TEST_F(EndToEndTest, UnknownVideoIdsAreIgnoredNotFatal) {
  auto candidate = CandidateService::NewStub(*candidate_channel_);
  RecommendRequest request;
  request.mutable_context()->add_watches()->set_video_id("no-such-video");
  request.mutable_context()->add_searches()->set_query("zzzz qqqq");
  request.set_num_results(5);
  RecommendResponse response;
  grpc::Status status = candidate->Recommend(Context().get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.videos_size(), 5);

  auto ranking = RankingService::NewStub(*ranking_channel_);
  RankRequest rank;
  rank.mutable_context();
  rank.add_candidates()->set_video_id("no-such-video");
  rank.add_candidates()->set_video_id(response.videos(0).video_id());
  RankResponse ranked;
  status = ranking->Rank(Context().get(), rank, &ranked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ranked.videos_size(), 2);
}

TEST_F(EndToEndTest, BothServersReportHealthy) {
  for (auto* channel : {candidate_channel_, ranking_channel_}) {
    absl::StatusOr<GrpcHealthStatus> health =
        CheckGrpcHealth(*channel, "", absl::Seconds(5));
    ASSERT_TRUE(health.ok()) << health.status();
    EXPECT_EQ(*health, GrpcHealthStatus::kServing);
  }
  absl::StatusOr<GrpcHealthStatus> health =
      CheckGrpcHealth(*candidate_channel_, "recsys.CandidateService", absl::Seconds(5));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, GrpcHealthStatus::kServing);
}

// Prometheus metrics over HTTP on each server's --metrics_address move with
// the traffic: ranked and degraded answers, loaded versions, loads.
TEST_F(EndToEndTest, MetricsPagesCountRequestsDegradedAnswersAndVersions) {
  ASSERT_GT(candidate_metrics_port_, 0);
  ASSERT_GT(ranking_metrics_port_, 0);
  auto stub = CandidateService::NewStub(*candidate_channel_);
  RecommendRequest request;
  request.mutable_context()->add_watches()->set_video_id("v00042");
  for (int i = 0; i < 3; ++i) {
    RecommendResponse response;
    auto context = Context();
    ASSERT_TRUE(stub->Recommend(context.get(), request, &response).ok());
  }
  // A deadline that leaves no time to rank: answered degraded (whether or
  // not the answer reaches this client in time). On a loaded machine the
  // deadline may pass before the call leaves the client: try a few times.
  absl::StatusOr<std::string> candidate;
  for (int attempt = 0; attempt < 10; ++attempt) {
    RecommendResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(23));
    stub->Recommend(&context, request, &response);
    absl::SleepFor(absl::Milliseconds(200));
    candidate = HttpGet(candidate_metrics_port_, "/metrics");
    if (candidate.ok() && candidate->find("DEGRADED_CALLER_DEADLINE") != std::string::npos) break;
  }
  ASSERT_TRUE(candidate.ok()) << candidate.status();
  EXPECT_THAT(*candidate, HasSubstr(
      "recsys_requests_total{server=\"candidate_server\",code=\"OK\",method=\"Recommend\"}"));
  EXPECT_THAT(*candidate, HasSubstr("recsys_request_duration_seconds_bucket{server=\"candidate_server\",method=\"Recommend\""));
  EXPECT_THAT(*candidate, HasSubstr("cause=\"DEGRADED_CALLER_DEADLINE\"}"));
  for (const char* stage :
       {"validate", "features", "user_tower", "ann", "ranking_call", "respond"}) {
    EXPECT_THAT(*candidate, HasSubstr(absl::StrCat(
        "recsys_stage_duration_seconds_count{server=\"candidate_server\",method=\"Recommend\","
        "stage=\"", stage, "\"}")));
  }
  // The trainer measured its IVF index's recall at export.
  EXPECT_THAT(*candidate, HasSubstr("recsys_ann_recall{server=\"candidate_server\",at=\""));
  EXPECT_THAT(*candidate, HasSubstr("recsys_model_loads_total{server=\"candidate_server\",result=\"accepted\"} 1"));
  EXPECT_THAT(*candidate, HasSubstr("recsys_model_version_loaded{server=\"candidate_server\",version=\""));
  EXPECT_THAT(*candidate, HasSubstr("recsys_ranking_breaker_open{server=\"candidate_server\"} 0"));
  absl::StatusOr<std::string> ranking = HttpGet(ranking_metrics_port_, "/metrics");
  ASSERT_TRUE(ranking.ok()) << ranking.status();
  EXPECT_THAT(*ranking, HasSubstr(
      "recsys_requests_total{server=\"ranking_server\",code=\"OK\",method=\"Rank\"}"));
  EXPECT_THAT(*ranking, HasSubstr("recsys_model_version_loaded{server=\"ranking_server\",version=\""));
  for (const char* stage : {"validate", "features", "tower", "respond"}) {
    EXPECT_THAT(*ranking, HasSubstr(absl::StrCat(
        "recsys_stage_duration_seconds_count{server=\"ranking_server\",method=\"Rank\","
        "stage=\"", stage, "\"}")));
  }
}

// With --access_log_sample=1 every call gets an access line; the request ID
// a caller sends is passed on to ranking, so both servers' lines carry it.
TEST_F(EndToEndTest, AccessLogLinesCarryTheCallersRequestIdThroughBothServers) {
  auto stub = CandidateService::NewStub(*candidate_channel_);
  RecommendRequest request;
  request.mutable_context()->add_watches()->set_video_id("v00042");
  RecommendResponse response;
  auto context = Context();
  context->AddMetadata("x-request-id", "e2e-access-log-1");
  ASSERT_TRUE(stub->Recommend(context.get(), request, &response).ok());
  absl::SleepFor(absl::Milliseconds(200));
  const std::string tmp = TestTempDir();
  const std::string candidate_log = testing::ReadFileOrEmpty(tmp + "/candidate.log");
  const std::string ranking_log = testing::ReadFileOrEmpty(tmp + "/ranking.log");
  EXPECT_THAT(candidate_log,
              HasSubstr(absl::StrCat("access method=Recommend request_id=e2e-access-log-1 ")));
  EXPECT_THAT(candidate_log, HasSubstr(absl::StrCat(" degraded=false cause=DEGRADED_NONE version=",
                                                    response.model_version(),
                                                    " ranking_version=",
                                                    response.ranking_model_version())));
  EXPECT_THAT(ranking_log,
              HasSubstr("access method=Rank request_id=e2e-access-log-1 "));
}

}  // namespace
}  // namespace recsys
