#include "clients/load_generator.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc/request_validation.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {
namespace {

// Answers Recommend after `delay` with the current `version`, both settable
// while serving.
class FakeCandidateService final : public CandidateService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Recommend(grpc::CallbackServerContext* context,
                                      const RecommendRequest* /*request*/,
                                      RecommendResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::string version;
    absl::Duration delay;
    {
      absl::MutexLock lock(&mu_);
      version = version_;
      delay = delay_;
      ++calls_;
    }
    response->set_model_version(version);
    response->set_ranking_model_version(version);
    if (delay == absl::ZeroDuration()) {
      reactor->Finish(grpc::Status::OK);
    } else {
      std::thread([reactor, delay] {
        absl::SleepFor(delay);
        reactor->Finish(grpc::Status::OK);
      }).detach();
    }
    return reactor;
  }

  void set_version(const std::string& v) {
    absl::MutexLock lock(&mu_);
    version_ = v;
  }
  void set_delay(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    delay_ = d;
  }

 private:
  absl::Mutex mu_;
  std::string version_ ABSL_GUARDED_BY(mu_) = "v1";
  absl::Duration delay_ ABSL_GUARDED_BY(mu_);
  int64_t calls_ ABSL_GUARDED_BY(mu_) = 0;
};

class LoadGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

  FakeCandidateService service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

TEST_F(LoadGeneratorTest, IssuesCallsAtTheRateAndRecordsVersions) {
  LoadOptions options;
  options.requests_per_second = 200;
  options.duration = absl::Seconds(1.5);
  options.report_interval = absl::Milliseconds(500);
  int intervals = 0;
  options.on_interval = [&](const IntervalStats&) { ++intervals; };
  auto generator =
      LoadGenerator::Create(channel_, HandBuiltRecommendRequests(10), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  std::thread switcher([&] {
    absl::SleepFor(absl::Milliseconds(700));
    service_.set_version("v2");
  });
  const LoadReport report = (*generator)->Run();
  switcher.join();
  EXPECT_EQ(report.summary.calls, 300);
  EXPECT_EQ(report.summary.ok, 300);
  EXPECT_EQ(report.summary.failed(), 0);
  EXPECT_GT(report.achieved_rps, 180);
  EXPECT_LT(report.achieved_rps, 220);
  ASSERT_EQ(report.calls.size(), 300u);
  for (size_t i = 0; i < report.calls.size(); ++i) {
    EXPECT_EQ(report.calls[i].index, static_cast<int64_t>(i));
    EXPECT_EQ(report.calls[i].scheduled, absl::Milliseconds(5) * static_cast<int64_t>(i));
  }
  EXPECT_GE(intervals, 3);
  EXPECT_GE(report.intervals.size(), 3u);
  const auto first_v2 = report.FirstAnswerWithModelVersion("v2");
  const auto last_v1 = report.LastAnswerWithModelVersion("v1");
  ASSERT_TRUE(first_v2.has_value());
  ASSERT_TRUE(last_v1.has_value());
  EXPECT_GT(*first_v2, absl::Milliseconds(650));
  EXPECT_LT(*first_v2, absl::Milliseconds(900));
  EXPECT_EQ(report.FirstAnswerWithRankingVersion("v2"), first_v2);
  EXPECT_FALSE(report.FirstAnswerWithModelVersion("v3").has_value());
  EXPECT_EQ(report.summary.model_versions.at("v1") + report.summary.model_versions.at("v2"),
            300);
}

TEST_F(LoadGeneratorTest, OpenLoopKeepsTheRateWhenTheServerIsSlow) {
  service_.set_delay(absl::Milliseconds(200));
  LoadOptions options;
  options.requests_per_second = 100;
  options.duration = absl::Seconds(1);
  auto generator =
      LoadGenerator::Create(channel_, HandBuiltRecommendRequests(10), options);
  ASSERT_TRUE(generator.ok());
  const LoadReport report = (*generator)->Run();
  EXPECT_EQ(report.summary.ok, 100);
  // About 20 calls were in flight at once: the sender did not wait.
  EXPECT_LT(report.send_window, absl::Milliseconds(1100));
  EXPECT_GE(report.summary.latency.p50, absl::Milliseconds(200));
  int64_t max_in_flight = 0;
  for (const IntervalStats& i : report.intervals) {
    max_in_flight = std::max(max_in_flight, i.in_flight);
  }
  EXPECT_GE(max_in_flight, 10);
}

TEST_F(LoadGeneratorTest, SequentialSendsOneCallAtATime) {
  service_.set_delay(absl::Milliseconds(20));
  LoadOptions options;
  options.requests_per_second = 10000;
  options.duration = absl::InfiniteDuration();
  options.max_calls = 10;
  options.max_in_flight = 1;
  auto generator =
      LoadGenerator::Create(channel_, HandBuiltRecommendRequests(10), options);
  ASSERT_TRUE(generator.ok());
  const LoadReport report = (*generator)->Run();
  ASSERT_EQ(report.calls.size(), 10u);
  for (size_t i = 1; i < report.calls.size(); ++i) {
    EXPECT_GE(report.calls[i].sent, report.calls[i - 1].completed());
  }
}

TEST_F(LoadGeneratorTest, DeadlinesAreRecordedByCode) {
  service_.set_delay(absl::Milliseconds(300));
  LoadOptions options;
  options.requests_per_second = 50;
  options.duration = absl::Milliseconds(200);
  options.deadline = absl::Milliseconds(50);
  auto generator =
      LoadGenerator::Create(channel_, HandBuiltRecommendRequests(10), options);
  ASSERT_TRUE(generator.ok());
  const LoadReport report = (*generator)->Run();
  EXPECT_EQ(report.summary.calls, 10);
  EXPECT_EQ(report.summary.ok, 0);
  EXPECT_EQ(report.summary.by_code.at(grpc::StatusCode::DEADLINE_EXCEEDED), 10);
  EXPECT_TRUE(report.summary.model_versions.empty());
  EXPECT_NE(FormatCallSummary(report.summary).find("DEADLINE_EXCEEDED:10"),
            std::string::npos)
      << FormatCallSummary(report.summary);
}

TEST(LoadGeneratorOptionsTest, BadOptionsAreRejected) {
  auto channel = grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
  EXPECT_FALSE(LoadGenerator::Create(channel, {}, LoadOptions()).ok());
  LoadOptions options;
  options.requests_per_second = 0;
  EXPECT_FALSE(
      LoadGenerator::Create(channel, HandBuiltRecommendRequests(1), options).ok());
  options = LoadOptions();
  options.duration = absl::InfiniteDuration();
  EXPECT_FALSE(
      LoadGenerator::Create(channel, HandBuiltRecommendRequests(1), options).ok());
}

TEST(RequestsTest, HandBuiltRequestsAreValid) {
  for (const RecommendRequest& r : HandBuiltRecommendRequests(20)) {
    EXPECT_TRUE(ValidateRecommendRequest(r).ok()) << ValidateRecommendRequest(r);
    EXPECT_EQ(r.num_results(), 20);
  }
}

TEST(RequestsTest, WorstLegalRequestIsValidAndAtEveryLimit) {
  const RecommendRequest r = WorstLegalRecommendRequest(1800000000);
  ASSERT_TRUE(ValidateRecommendRequest(r).ok()) << ValidateRecommendRequest(r);
  EXPECT_EQ(r.num_results(), kMaxResults);
  EXPECT_EQ(r.num_candidates(), kMaxCandidates);
  const UserContext& c = r.context();
  ASSERT_EQ(c.watches_size(), kMaxWatches);
  ASSERT_EQ(c.searches_size(), kMaxSearches);
  ASSERT_EQ(c.impressions_size(), kMaxImpressions);
  EXPECT_EQ(c.watches(0).video_id().size(), static_cast<size_t>(kMaxVideoIdBytes));
  EXPECT_EQ(c.impressions(7).video_id().size(), static_cast<size_t>(kMaxVideoIdBytes));
  EXPECT_EQ(c.searches(3).query().size(), static_cast<size_t>(kMaxQueryBytes));
  EXPECT_EQ(c.user_id().size(), static_cast<size_t>(kMaxUserIdBytes));
  EXPECT_EQ(c.demographics().region().size(), static_cast<size_t>(kMaxDemographicBytes));
  EXPECT_EQ(c.demographics().language().size(), static_cast<size_t>(kMaxDemographicBytes));
  EXPECT_NE(c.watches(0).video_id(), c.watches(1).video_id());
  EXPECT_LT(c.watches(kMaxWatches - 1).time_s(), c.request_time_s());
  // One more of anything is refused.
  RecommendRequest more = r;
  more.mutable_context()->add_watches()->set_video_id("v");
  EXPECT_FALSE(ValidateRecommendRequest(more).ok());
  more = r;
  more.mutable_context()->add_searches()->set_query("q");
  EXPECT_FALSE(ValidateRecommendRequest(more).ok());
  more = r;
  more.mutable_context()->add_impressions()->set_video_id("v");
  EXPECT_FALSE(ValidateRecommendRequest(more).ok());
  more = r;
  more.mutable_context()->mutable_searches(0)->mutable_query()->push_back('x');
  EXPECT_FALSE(ValidateRecommendRequest(more).ok());
  more = r;
  more.mutable_context()->mutable_impressions(0)->mutable_video_id()->push_back('x');
  EXPECT_FALSE(ValidateRecommendRequest(more).ok());
  more = r;
  more.mutable_context()->mutable_user_id()->push_back('x');
  EXPECT_FALSE(ValidateRecommendRequest(more).ok());
  more = r;
  more.mutable_context()->mutable_demographics()->mutable_device()->push_back('x');
  EXPECT_FALSE(ValidateRecommendRequest(more).ok());
  // The servers accept requests of up to 16 MiB (GrpcServerOptions).
  EXPECT_LT(r.ByteSizeLong(), size_t{16} << 20);
}

TEST(RequestsTest, GrpcFramedMessageHasTheLengthPrefix) {
  RecommendRequest r;
  r.set_num_results(300);  // 3 bytes: tag, then varint 300 in two bytes.
  const std::string framed = GrpcFramedMessage(r);
  ASSERT_EQ(framed.size(), 5u + r.ByteSizeLong());
  EXPECT_EQ(framed[0], '\0');
  EXPECT_EQ(framed.substr(1, 4), std::string("\0\0\0\x03", 4));
  RecommendRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(framed.substr(5)));
  EXPECT_EQ(parsed.num_results(), 300);
}

}  // namespace
}  // namespace recsys
