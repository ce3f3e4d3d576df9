// The candidate service in process, over real gRPC on local ports, with a
// fake ranking service whose behaviour each test sets: ranked, unavailable,
// hung, refusing. What is checked is what a caller sees.

#include "candidate_service/candidate_service_impl.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/grpc/grpc_server.h"
#include "common/serving/ann_shards.h"
#include "common/serving/retriever.h"
#include "common/serving/testing/tiny_bundle.h"
#include "common/serving/version_manager.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

constexpr char kVersion[] = "20260101-000001";

enum class RankingMode { kRank, kUnavailable, kHang, kRefuse, kOtherVersion };

// A RankingService whose answers the test sets. Ranks by reversing the
// candidates, so a ranked answer is told apart from retrieval order.
class FakeRanking final : public RankingService::CallbackService {
 public:
  void set_mode(RankingMode mode) { mode_.store(mode); }
  int calls() const { return calls_.load(); }
  int cancelled() const { return cancelled_.load(); }
  RankRequest last_request() {
    absl::MutexLock lock(&mu_);
    return last_request_;
  }

  grpc::ServerUnaryReactor* Rank(grpc::CallbackServerContext* context,
                                 const RankRequest* request,
                                 RankResponse* response) override {
    calls_.fetch_add(1);
    {
      absl::MutexLock lock(&mu_);
      last_request_ = *request;
    }
    switch (mode_.load()) {
      case RankingMode::kHang:
        return new HungCall(&cancelled_);
      case RankingMode::kUnavailable:
        return Finished(context, grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
      case RankingMode::kRefuse:
        return Finished(context,
                        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "candidates[0]: bad"));
      case RankingMode::kRank:
      case RankingMode::kOtherVersion:
        break;
    }
    response->set_model_version(mode_.load() == RankingMode::kOtherVersion
                                    ? "19990101-000000"
                                    : request->model_version());
    for (int i = request->candidates_size() - 1; i >= 0; --i) {
      RankedVideo* v = response->add_videos();
      v->set_video_id(request->candidates(i).video_id());
      v->set_predicted_watch_seconds(static_cast<float>(i + 1));
      if (response->videos_size() == request->num_results()) break;
    }
    return Finished(context, grpc::Status::OK);
  }

 private:
  // Never answers; finishes only when the caller cancels.
  class HungCall final : public grpc::ServerUnaryReactor {
   public:
    explicit HungCall(std::atomic<int>* cancelled) : cancelled_(cancelled) {}
    void OnCancel() override {
      cancelled_->fetch_add(1);
      Finish(grpc::Status::CANCELLED);
    }
    void OnDone() override { delete this; }

   private:
    std::atomic<int>* cancelled_;
  };

  static grpc::ServerUnaryReactor* Finished(grpc::CallbackServerContext* context,
                                            const grpc::Status& status) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  std::atomic<RankingMode> mode_{RankingMode::kRank};
  std::atomic<int> calls_{0};
  std::atomic<int> cancelled_{0};
  absl::Mutex mu_;
  RankRequest last_request_ ABSL_GUARDED_BY(mu_);
};

GrpcServerOptions LocalServer(const std::string& name) {
  GrpcServerOptions options;
  options.address = "127.0.0.1:0";
  options.name = name;
  return options;
}

std::shared_ptr<grpc::Channel> ChannelTo(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                             grpc::InsecureChannelCredentials());
}

class CandidateServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = FreshTestDir("candidate_service_test");
    TinyBundleOptions bundle;
    bundle.version = kVersion;
    ASSERT_TRUE(WriteTinyBundle(root_, bundle).ok());
    VersionManager::Options options;
    options.root = root_;
    options.name = "candidate_test";
    auto versions = VersionManager::Create(
        options, [](const Bundle& b) -> absl::StatusOr<std::shared_ptr<const Servable>> {
          auto r = Retriever::Load(b, AnnIndex::Options());
          if (!r.ok()) return r.status();
          return std::shared_ptr<const Servable>(std::move(*r));
        });
    ASSERT_TRUE(versions.ok()) << versions.status();
    versions_ = std::move(*versions);
    ASSERT_TRUE(versions_->LoadInitial().ok());

    auto ranking = StartGrpcServer(LocalServer("fake_ranking"), {&ranking_});
    ASSERT_TRUE(ranking.ok()) << ranking.status();
    ranking_server_ = std::move(*ranking);
  }

  // Starts the candidate service with `options`, ranking through the fake
  // (or through `ranking_port` when not 0).
  void StartService(CandidateServiceOptions options, int ranking_port = 0) {
    service_ = std::make_unique<CandidateServiceImpl>(
        versions_.get(),
        RankingService::NewStub(ChannelTo(ranking_port != 0 ? ranking_port
                                                             : ranking_server_.port)),
        options);
    auto started = StartGrpcServer(LocalServer("candidate_test"), {service_.get()});
    ASSERT_TRUE(started.ok()) << started.status();
    candidate_server_ = std::move(*started);
    stub_ = CandidateService::NewStub(ChannelTo(candidate_server_.port));
  }

  void TearDown() override {
    if (candidate_server_.server) candidate_server_.server->Shutdown();
    if (ranking_server_.server) ranking_server_.server->Shutdown();
  }

  static RecommendRequest Request() {
    RecommendRequest request;
    UserContext* context = request.mutable_context();
    context->add_watches()->set_video_id(TinyVideoId(3));
    context->add_watches()->set_video_id(TinyVideoId(5));
    context->add_searches()->set_query("cat dog");
    context->mutable_demographics()->set_region("US");
    request.set_num_candidates(10);
    request.set_num_results(5);
    return request;
  }

  // Explain mode: 18 candidates of the tiny bundle's 20 videos (the ANN
  // step asks for 18 + 2 watched: every video), 5 results.
  static RecommendRequest ExplainRequest() {
    RecommendRequest request = Request();
    request.set_num_candidates(18);
    request.set_explain(true);
    return request;
  }

  grpc::Status Recommend(const RecommendRequest& request, RecommendResponse* response,
                         absl::Duration deadline = absl::Seconds(10)) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return stub_->Recommend(&context, request, response);
  }

  std::string root_;
  std::unique_ptr<VersionManager> versions_;
  FakeRanking ranking_;
  StartedGrpcServer ranking_server_;
  StartedGrpcServer candidate_server_;
  std::unique_ptr<CandidateServiceImpl> service_;
  std::unique_ptr<CandidateService::Stub> stub_;
};

TEST_F(CandidateServiceTest, RanksThroughRankingAndPassesTheBundleVersion) {
  StartService(CandidateServiceOptions());
  RecommendRequest request = Request();
  request.mutable_context()->set_user_id("u1");
  request.mutable_context()->set_request_time_s(1'700'000'000);
  Impression* impression = request.mutable_context()->add_impressions();
  impression->set_video_id(TinyVideoId(7));
  impression->set_time_s(1'699'999'000);
  RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_FALSE(response.degraded());
  EXPECT_EQ(response.degraded_cause(), DEGRADED_NONE);
  EXPECT_EQ(response.model_version(), kVersion);
  EXPECT_EQ(response.ranking_model_version(), kVersion);
  EXPECT_FALSE(response.version_mismatch());
  EXPECT_EQ(response.videos_size(), 5);
  const RankRequest sent = ranking_.last_request();
  EXPECT_EQ(sent.model_version(), kVersion);
  EXPECT_EQ(sent.candidates_size(), 10);
  EXPECT_EQ(sent.num_results(), 5);
  // Ranking gets what it reads, not the searches.
  EXPECT_EQ(sent.context().watches_size(), 2);
  EXPECT_EQ(sent.context().searches_size(), 0);
  EXPECT_EQ(sent.context().demographics().region(), "US");
  EXPECT_EQ(sent.context().user_id(), "u1");
  EXPECT_EQ(sent.context().request_time_s(), 1'700'000'000);
  ASSERT_EQ(sent.context().impressions_size(), 1);
  EXPECT_EQ(sent.context().impressions(0).video_id(), TinyVideoId(7));
  EXPECT_EQ(sent.context().impressions(0).time_s(), 1'699'999'000);
  // The fake reverses the candidates: the answer is ranking's order.
  EXPECT_EQ(response.videos(0).video_id(), sent.candidates(9).video_id());
  for (const RankedVideo& v : response.videos()) {
    EXPECT_NE(v.video_id(), TinyVideoId(3));  // watched
    EXPECT_NE(v.video_id(), TinyVideoId(5));
  }
}

TEST_F(CandidateServiceTest, DegradedRetrievalOrderWhenRankingIsUnavailable) {
  ranking_.set_mode(RankingMode::kUnavailable);
  StartService(CandidateServiceOptions());
  RecommendResponse response;
  ASSERT_TRUE(Recommend(Request(), &response).ok());
  EXPECT_TRUE(response.degraded());
  EXPECT_EQ(response.degraded_cause(), DEGRADED_RANKING_UNAVAILABLE);
  EXPECT_EQ(response.model_version(), kVersion);
  EXPECT_TRUE(response.ranking_model_version().empty());
  ASSERT_EQ(response.videos_size(), 5);
  // Retrieval order: scores non-increasing, titles attached.
  for (int i = 1; i < response.videos_size(); ++i) {
    EXPECT_GE(response.videos(i - 1).retrieval_score(), response.videos(i).retrieval_score());
  }
  EXPECT_FALSE(response.videos(0).title().empty());
  EXPECT_EQ(service_->counters().degraded[DEGRADED_RANKING_UNAVAILABLE].load(), 1);
}

// The ANN step on shards of which none answers (nothing listens there):
// answers OK, counted missing, from co-visitation and the popular list;
// Recommend still ranked but degraded, unless ranking degraded it itself.
TEST_F(CandidateServiceTest, MissingAnnShardsDegradeButDoNotFail) {
  AnnShardsClient::Options shards;
  shards.addresses = {"127.0.0.1:1", "127.0.0.1:1"};
  shards.deadline = absl::Seconds(2);
  auto client = AnnShardsClient::Create(shards);
  ASSERT_TRUE(client.ok()) << client.status();
  CandidateServiceOptions options;
  options.ann_shards = client->get();
  StartService(options);
  RecommendResponse response;
  ASSERT_TRUE(Recommend(Request(), &response).ok());
  EXPECT_EQ(response.shards_missing(), 2);
  EXPECT_TRUE(response.degraded());
  EXPECT_EQ(response.degraded_cause(), DEGRADED_SHARD_UNAVAILABLE);
  EXPECT_EQ(response.ranking_model_version(), kVersion);  // ranked
  EXPECT_EQ(response.videos_size(), 5);
  EXPECT_EQ(service_->counters().degraded[DEGRADED_SHARD_UNAVAILABLE].load(), 1);

  GenerateCandidatesRequest request;
  *request.mutable_context() = Request().context();
  request.set_num_candidates(10);
  GenerateCandidatesResponse candidates;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  ASSERT_TRUE(stub_->GenerateCandidates(&context, request, &candidates).ok());
  EXPECT_EQ(candidates.shards_missing(), 2);
  EXPECT_EQ(candidates.candidates_size(), 10);
  for (const Candidate& c : candidates.candidates()) EXPECT_NE(c.source(), SOURCE_DNN);

  // Ranking down too: ranking's cause, the shards still counted.
  ranking_.set_mode(RankingMode::kUnavailable);
  RecommendResponse unranked;
  ASSERT_TRUE(Recommend(Request(), &unranked).ok());
  EXPECT_EQ(unranked.degraded_cause(), DEGRADED_RANKING_UNAVAILABLE);
  EXPECT_EQ(unranked.shards_missing(), 2);
}

TEST_F(CandidateServiceTest, DegradedWhenNothingListensAtTheRankingAddress) {
  // Bind and release a port so that nothing listens on it.
  auto probe = StartGrpcServer(LocalServer("probe"), {});
  ASSERT_TRUE(probe.ok());
  const int dead_port = probe->port;
  probe->server->Shutdown();
  probe->server.reset();
  StartService(CandidateServiceOptions(), dead_port);
  RecommendResponse response;
  ASSERT_TRUE(Recommend(Request(), &response).ok());
  EXPECT_TRUE(response.degraded());
  EXPECT_EQ(response.degraded_cause(), DEGRADED_RANKING_UNAVAILABLE);
  EXPECT_EQ(response.videos_size(), 5);
}

TEST_F(CandidateServiceTest, HungRankingAnswersDegradedBeforeTheCallersDeadline) {
  ranking_.set_mode(RankingMode::kHang);
  CandidateServiceOptions options;
  options.ranking_deadline = absl::Seconds(5);  // the caller's deadline is shorter
  // Room for a loaded 2-core CI machine to assemble and send the answer.
  options.degraded_reserve = absl::Milliseconds(40);
  StartService(options);
  RecommendResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = Recommend(Request(), &response, absl::Milliseconds(100));
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  EXPECT_LT(took, absl::Milliseconds(100));
  EXPECT_TRUE(response.degraded());
  EXPECT_EQ(response.degraded_cause(), DEGRADED_RANKING_DEADLINE);
  EXPECT_EQ(response.videos_size(), 5);
  // The ranking call was cancelled, not left running.
  const absl::Time wait_until = absl::Now() + absl::Seconds(5);
  while (ranking_.cancelled() < 1 && absl::Now() < wait_until) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(ranking_.cancelled(), 1);
}

TEST_F(CandidateServiceTest, ACallerThatCancelsCancelsTheRankingCall) {
  ranking_.set_mode(RankingMode::kHang);
  StartService(CandidateServiceOptions());
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  RecommendResponse response;
  absl::Notification done;
  grpc::Status status;
  const RecommendRequest request = Request();
  stub_->async()->Recommend(&context, &request, &response, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  const absl::Time wait_until = absl::Now() + absl::Seconds(5);
  while (ranking_.calls() < 1 && absl::Now() < wait_until) absl::SleepFor(absl::Milliseconds(2));
  ASSERT_EQ(ranking_.calls(), 1);
  context.TryCancel();
  done.WaitForNotification();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  while (ranking_.cancelled() < 1 && absl::Now() < wait_until) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(ranking_.cancelled(), 1);
}

TEST_F(CandidateServiceTest, ACallerDeadlineTooShortToRankSkipsRanking) {
  CandidateServiceOptions options;
  options.degraded_reserve = absl::Milliseconds(500);
  StartService(options);
  RecommendResponse response;
  ASSERT_TRUE(Recommend(Request(), &response, absl::Milliseconds(300)).ok());
  EXPECT_TRUE(response.degraded());
  EXPECT_EQ(response.degraded_cause(), DEGRADED_CALLER_DEADLINE);
  EXPECT_EQ(ranking_.calls(), 0);
}

TEST_F(CandidateServiceTest, BreakerOpensAfterFailuresThenProbesAndCloses) {
  ranking_.set_mode(RankingMode::kUnavailable);
  CandidateServiceOptions options;
  options.breaker.failure_threshold = 3;
  options.breaker.cool_down = absl::Milliseconds(300);
  StartService(options);
  RecommendResponse response;
  for (int i = 0; i < 3; ++i) {
    response.Clear();
    ASSERT_TRUE(Recommend(Request(), &response).ok());
    EXPECT_EQ(response.degraded_cause(), DEGRADED_RANKING_UNAVAILABLE);
  }
  EXPECT_EQ(ranking_.calls(), 3);
  EXPECT_EQ(service_->breaker().state(), CircuitBreaker::State::kOpen);
  // Open: ranking is not called, the answer is degraded at once.
  response.Clear();
  ASSERT_TRUE(Recommend(Request(), &response).ok());
  EXPECT_EQ(response.degraded_cause(), DEGRADED_RANKING_BREAKER_OPEN);
  EXPECT_EQ(ranking_.calls(), 3);
  // Ranking recovers; after the cool-down one probe goes through and closes it.
  ranking_.set_mode(RankingMode::kRank);
  absl::SleepFor(absl::Milliseconds(350));
  response.Clear();
  ASSERT_TRUE(Recommend(Request(), &response).ok());
  EXPECT_FALSE(response.degraded());
  EXPECT_EQ(ranking_.calls(), 4);
  EXPECT_EQ(service_->breaker().state(), CircuitBreaker::State::kClosed);
  EXPECT_EQ(service_->breaker().times_opened(), 1);
}

TEST_F(CandidateServiceTest, TimeoutsOfCallersOwnTightDeadlinesDoNotOpenTheBreaker) {
  ranking_.set_mode(RankingMode::kHang);
  CandidateServiceOptions options;
  options.breaker.failure_threshold = 2;
  StartService(options);
  // 80 ms - 20 ms reserve: ranking gets 60 ms at most, too little to blame
  // it (kBudgetThatBlamesRanking). On a loaded machine a request may spend
  // so long before the ranking call that none is made
  // (DEGRADED_CALLER_DEADLINE), or the degraded answer may arrive after the
  // caller's deadline (DEADLINE_EXCEEDED here); go on until four calls have
  // timed out, more than the breaker's threshold.
  int ranking_timeouts = 0;
  for (int i = 0; i < 20 && ranking_timeouts < 4; ++i) {
    RecommendResponse response;
    const grpc::Status status = Recommend(Request(), &response, absl::Milliseconds(80));
    if (!status.ok()) {
      ASSERT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
          << status.error_message();
      continue;
    }
    ASSERT_THAT(response.degraded_cause(),
                ::testing::AnyOf(DEGRADED_RANKING_DEADLINE, DEGRADED_CALLER_DEADLINE));
    ranking_timeouts += response.degraded_cause() == DEGRADED_RANKING_DEADLINE;
  }
  EXPECT_EQ(ranking_timeouts, 4);
  EXPECT_EQ(service_->breaker().state(), CircuitBreaker::State::kClosed);
  // More calls than the threshold reached ranking (one issued just before
  // its deadline may not have).
  EXPECT_GE(ranking_.calls(), 3);
  EXPECT_LE(ranking_.calls(), 4);
}

TEST_F(CandidateServiceTest, RankingRefusingAValidatedRequestIsSurfacedNotCountedAsAnOutage) {
  ranking_.set_mode(RankingMode::kRefuse);
  CandidateServiceOptions options;
  options.breaker.failure_threshold = 2;
  StartService(options);
  for (int i = 0; i < 4; ++i) {
    RecommendResponse response;
    ASSERT_TRUE(Recommend(Request(), &response).ok());
    EXPECT_TRUE(response.degraded());
    EXPECT_EQ(response.degraded_cause(), DEGRADED_RANKING_REJECTED);
  }
  EXPECT_EQ(service_->breaker().state(), CircuitBreaker::State::kClosed);
  EXPECT_EQ(ranking_.calls(), 4);
  EXPECT_EQ(service_->counters().degraded[DEGRADED_RANKING_REJECTED].load(), 4);
}

TEST_F(CandidateServiceTest, AVersionMismatchIsReported) {
  ranking_.set_mode(RankingMode::kOtherVersion);
  StartService(CandidateServiceOptions());
  RecommendResponse response;
  ASSERT_TRUE(Recommend(Request(), &response).ok());
  EXPECT_FALSE(response.degraded());
  EXPECT_TRUE(response.version_mismatch());
  EXPECT_EQ(response.model_version(), kVersion);
  EXPECT_EQ(response.ranking_model_version(), "19990101-000000");
  EXPECT_EQ(service_->counters().version_mismatches.load(), 1);
}

TEST_F(CandidateServiceTest, PastTheInFlightCapRequestsAreRefusedAtOnce) {
  ranking_.set_mode(RankingMode::kHang);
  CandidateServiceOptions options;
  options.max_in_flight = 2;
  options.ranking_deadline = absl::Seconds(2);
  StartService(options);
  struct Pending {
    grpc::ClientContext context;
    RecommendResponse response;
    absl::Notification done;
    grpc::Status status;
  };
  Pending a, b;
  const RecommendRequest request = Request();
  for (Pending* p : {&a, &b}) {
    p->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    stub_->async()->Recommend(&p->context, &request, &p->response, [p](grpc::Status s) {
      p->status = std::move(s);
      p->done.Notify();
    });
  }
  const absl::Time wait_until = absl::Now() + absl::Seconds(5);
  while (ranking_.calls() < 2 && absl::Now() < wait_until) absl::SleepFor(absl::Milliseconds(2));
  ASSERT_EQ(ranking_.calls(), 2);
  RecommendResponse response;
  const absl::Time start = absl::Now();
  grpc::Status status = Recommend(Request(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("in flight"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  a.done.WaitForNotification();
  b.done.WaitForNotification();
  EXPECT_TRUE(a.status.ok());
  EXPECT_TRUE(a.response.degraded());
  // Capacity is back once they finished (a call leaves the count when gRPC
  // is done with it, just after its answer is sent).
  const absl::Time drained_by = absl::Now() + absl::Seconds(5);
  while (service_->limiter().in_flight() > 0 && absl::Now() < drained_by) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  ranking_.set_mode(RankingMode::kRank);
  response.Clear();
  EXPECT_TRUE(Recommend(Request(), &response).ok());
  EXPECT_EQ(service_->limiter().refused(), 1);
}

TEST_F(CandidateServiceTest, BytesThatDoNotParseAreInvalidArgument) {
  StartService(CandidateServiceOptions());
  RecommendRequest request;
  request.mutable_context()->add_watches()->set_video_id("vX");
  std::string bytes = request.SerializeAsString();
  const size_t at = bytes.find("vX");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = '\xff';  // not UTF-8
  absl::StatusOr<std::string> answer =
      RawUnaryCall(ChannelTo(candidate_server_.port), "/recsys.CandidateService/Recommend",
                   bytes, absl::Seconds(10));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(answer.status().message(), HasSubstr("could not be parsed"));
  EXPECT_THAT(answer.status().message(), HasSubstr("UTF-8"));
}

TEST_F(CandidateServiceTest, InvalidRequestNamesTheField) {
  StartService(CandidateServiceOptions());
  RecommendRequest request = Request();
  request.mutable_context()->set_user_id(std::string(1000, 'u'));
  RecommendResponse response;
  grpc::Status status = Recommend(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("context.user_id"));
}

TEST_F(CandidateServiceTest, ColdStartGetsTheMostPopularListWithoutWatchedVideos) {
  StartService(CandidateServiceOptions());
  RecommendRequest request;
  request.mutable_context()->add_watches()->set_video_id("not-in-the-bundle");
  request.mutable_context()->add_watches()->set_video_id(TinyVideoId(0));
  request.set_num_candidates(6);
  // The watch of v00 is known: only an unknown context is cold.
  GenerateCandidatesRequest known;
  *known.mutable_context() = request.context();
  known.set_num_candidates(6);
  grpc::ClientContext c1;
  GenerateCandidatesResponse known_response;
  ASSERT_TRUE(stub_->GenerateCandidates(&c1, known, &known_response).ok());
  ASSERT_GT(known_response.candidates_size(), 0);
  EXPECT_EQ(known_response.candidates(0).source(), SOURCE_DNN);

  GenerateCandidatesRequest cold;
  cold.mutable_context()->add_watches()->set_video_id("not-in-the-bundle");
  cold.set_num_candidates(6);
  grpc::ClientContext c2;
  GenerateCandidatesResponse cold_response;
  ASSERT_TRUE(stub_->GenerateCandidates(&c2, cold, &cold_response).ok());
  ASSERT_EQ(cold_response.candidates_size(), 6);
  // The tiny bundle's popularity decreases with the video's index.
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(cold_response.candidates(i).source(), SOURCE_POPULAR);
    EXPECT_EQ(cold_response.candidates(i).video_id(), TinyVideoId(i));
  }
}

TEST_F(CandidateServiceTest, AShortRetrievedListIsFilledFromPopular) {
  StartService(CandidateServiceOptions());
  // The tiny bundle has 20 videos; 2 watched leave 18 from the network.
  GenerateCandidatesRequest request;
  request.mutable_context()->add_watches()->set_video_id(TinyVideoId(0));
  request.mutable_context()->add_watches()->set_video_id(TinyVideoId(1));
  request.set_num_candidates(50);
  grpc::ClientContext context;
  GenerateCandidatesResponse response;
  ASSERT_TRUE(stub_->GenerateCandidates(&context, request, &response).ok());
  // Every video but the watched ones, each once.
  EXPECT_EQ(response.candidates_size(), 18);
  std::set<std::string> seen;
  for (const Candidate& c : response.candidates()) {
    EXPECT_TRUE(seen.insert(c.video_id()).second) << c.video_id();
    EXPECT_NE(c.video_id(), TinyVideoId(0));
    EXPECT_NE(c.video_id(), TinyVideoId(1));
  }
}

TEST_F(CandidateServiceTest, WithoutExplainTheAnswerCarriesNoExplanation) {
  StartService(CandidateServiceOptions());
  RecommendResponse plain, off;
  ASSERT_TRUE(Recommend(Request(), &plain).ok());
  RecommendRequest request = Request();
  request.set_explain(false);
  ASSERT_TRUE(Recommend(request, &off).ok());
  EXPECT_FALSE(off.has_explanation());
  EXPECT_FALSE(ranking_.last_request().explain());
  EXPECT_EQ(off.SerializeAsString(), plain.SerializeAsString());
}

TEST_F(CandidateServiceTest, ExplainAssemblesRetrievalRankingAndWhatWasRemoved) {
  StartService(CandidateServiceOptions());
  RecommendResponse response;
  ASSERT_TRUE(Recommend(ExplainRequest(), &response).ok());
  ASSERT_FALSE(response.degraded());
  const RankRequest sent = ranking_.last_request();
  EXPECT_TRUE(sent.explain());
  ASSERT_EQ(sent.candidates_size(), 18);
  ASSERT_TRUE(response.has_explanation());
  const Explanation& e = response.explanation();
  EXPECT_EQ(e.candidate_model_version(), kVersion);
  EXPECT_EQ(e.ranking_model_version(), kVersion);

  // The user tower read both watches (in its vocabulary), oldest first.
  const UserTowerReading& tower = e.user_tower();
  ASSERT_EQ(tower.watches_kept_size(), 2);
  EXPECT_EQ(tower.watches_kept(0).video_id(), TinyVideoId(3));
  EXPECT_EQ(tower.watches_kept(0).vocabulary_row(), 3);
  EXPECT_EQ(tower.watches_kept(1).video_id(), TinyVideoId(5));
  EXPECT_TRUE(tower.knows_anything());
  ASSERT_EQ(tower.demographics_categorical_size(), 2);
  EXPECT_EQ(tower.demographics_categorical(0).name(), "region");
  EXPECT_EQ(tower.demographics_categorical(0).value(), "US");
  EXPECT_EQ(tower.dense_size(), kNumCandidateDense);
  // Every token of "cat dog" is accounted for, kept or dropped.
  EXPECT_EQ(tower.tokens_kept_size() + tower.tokens_dropped_size(), 3);

  // The answer: ranking's order, each with its place in the list sent.
  ASSERT_EQ(e.candidates_size(), 5);
  for (int i = 0; i < 5; ++i) {
    const CandidateExplanation& c = e.candidates(i);
    EXPECT_EQ(c.video_id(), response.videos(i).video_id());
    EXPECT_EQ(c.final_rank(), i + 1);
    ASSERT_GT(c.retrieval_rank(), 0);
    const Candidate& listed = sent.candidates(c.retrieval_rank() - 1);
    EXPECT_EQ(listed.video_id(), c.video_id());
    EXPECT_EQ(c.retrieval_score(), listed.retrieval_score());
    ASSERT_GE(c.sources_size(), 1);
    EXPECT_EQ(c.sources(0), listed.source());
    EXPECT_FALSE(c.title().empty());
  }
  // Removed: the two watched videos the ANN step found, then the 13
  // candidates below the cut.
  int watched = 0, below = 0;
  std::set<std::string> removed;
  for (const CandidateExplanation& c : e.removed()) {
    EXPECT_TRUE(removed.insert(c.video_id()).second) << c.video_id();
    EXPECT_EQ(c.final_rank(), 0);
    if (c.removed() == REMOVAL_ALREADY_WATCHED) {
      ++watched;
      EXPECT_TRUE(c.video_id() == TinyVideoId(3) || c.video_id() == TinyVideoId(5));
      EXPECT_EQ(c.retrieval_rank(), 0);
    } else {
      EXPECT_EQ(c.removed(), REMOVAL_BELOW_CUT);
      ++below;
      EXPECT_GT(c.retrieval_rank(), 0);
    }
  }
  EXPECT_EQ(watched, 2);
  EXPECT_EQ(below, 13);
}

TEST_F(CandidateServiceTest, ADegradedAnswerStillExplainsRetrieval) {
  ranking_.set_mode(RankingMode::kUnavailable);
  StartService(CandidateServiceOptions());
  RecommendResponse response;
  ASSERT_TRUE(Recommend(ExplainRequest(), &response).ok());
  ASSERT_TRUE(response.degraded());
  const Explanation& e = response.explanation();
  EXPECT_EQ(e.candidate_model_version(), kVersion);
  EXPECT_TRUE(e.ranking_model_version().empty());
  EXPECT_EQ(e.user_tower().watches_kept_size(), 2);
  ASSERT_EQ(e.candidates_size(), 5);
  for (int i = 0; i < 5; ++i) {
    // Retrieval order: the answer's i-th is the list's i-th.
    EXPECT_EQ(e.candidates(i).retrieval_rank(), i + 1);
    EXPECT_FALSE(e.candidates(i).has_ranking());
  }
  int below = 0;
  for (const CandidateExplanation& c : e.removed()) {
    if (c.removed() != REMOVAL_BELOW_CUT) continue;
    // In retrieval order, past the answer's five.
    EXPECT_EQ(c.retrieval_rank(), 6 + below);
    ++below;
  }
  EXPECT_EQ(below, 13);
}

TEST_F(CandidateServiceTest, ModelVersionPinsALoadedVersionAndRefusesOthers) {
  StartService(CandidateServiceOptions());
  RecommendRequest request = Request();
  request.set_model_version(kVersion);
  RecommendResponse response;
  ASSERT_TRUE(Recommend(request, &response).ok());
  EXPECT_EQ(response.model_version(), kVersion);

  request.set_model_version("20990101-000000");
  grpc::Status status = Recommend(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("model_version"));
  EXPECT_THAT(status.error_message(), HasSubstr("20990101-000000"));
  EXPECT_THAT(status.error_message(), HasSubstr(kVersion));  // the loaded ones

  request.set_model_version(std::string(1000, 'x'));
  status = Recommend(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("model_version"));
}

TEST(CandidateServiceStartTest, UnavailableUntilAModelIsLoaded) {
  const std::string root = FreshTestDir("candidate_service_empty");
  VersionManager::Options options;
  options.root = root;
  auto versions = VersionManager::Create(
      options, [](const Bundle&) -> absl::StatusOr<std::shared_ptr<const Servable>> {
        return absl::InternalError("unused");
      });
  ASSERT_TRUE(versions.ok());
  CandidateServiceImpl service(
      versions->get(), RankingService::NewStub(ChannelTo(1)), CandidateServiceOptions());
  auto started = StartGrpcServer(LocalServer("candidate_empty"), {&service});
  ASSERT_TRUE(started.ok());
  auto stub = CandidateService::NewStub(ChannelTo(started->port));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  RecommendRequest request;
  request.mutable_context();
  RecommendResponse response;
  grpc::Status status = stub->Recommend(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("no model loaded"));
  started->server->Shutdown();
}

}  // namespace
}  // namespace recsys
