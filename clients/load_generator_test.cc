#include "clients/load_generator.h"

#include <atomic>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "benchmarks/echo.grpc.pb.h"
#include "clients/echo_service.h"
#include "clients/http2_transport.h"
#include "clients/hpack.h"
#include "common/grpc/request_validation.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {
namespace {

// Answers Recommend after `delay` with the current `version`, both settable
// while serving.
class FakeCandidateService final : public CandidateService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Recommend(grpc::CallbackServerContext* context,
                                      const RecommendRequest* request,
                                      RecommendResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    std::string version;
    absl::Duration delay;
    grpc::Status status = grpc::Status::OK;
    {
      absl::MutexLock lock(&mu_);
      version = version_;
      delay = delay_;
      ++calls_;
      max_concurrent_ = std::max(max_concurrent_, ++concurrent_);
      peers_.insert(context->peer());
      user_ids_.push_back(request->context().user_id());
      if (fail_every_ > 0 && calls_ % fail_every_ == 0) status = fail_status_;
    }
    response->set_model_version(version);
    response->set_ranking_model_version(version);
    if (degraded_) {
      response->set_degraded(true);
      response->set_degraded_cause(DEGRADED_RANKING_DEADLINE);
      response->set_ranking_model_version("");
    }
    auto finish = [this, reactor, status] {
      {
        absl::MutexLock lock(&mu_);
        --concurrent_;
      }
      reactor->Finish(status);
    };
    if (delay == absl::ZeroDuration()) {
      finish();
    } else {
      std::thread([finish, delay] {
        absl::SleepFor(delay);
        finish();
      }).detach();
    }
    return reactor;
  }

  // Every `n`th call fails with `status`.
  void set_failures(int n, grpc::Status status) {
    absl::MutexLock lock(&mu_);
    fail_every_ = n;
    fail_status_ = std::move(status);
  }
  void set_degraded(bool degraded) { degraded_ = degraded; }
  int64_t calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  int64_t max_concurrent() {
    absl::MutexLock lock(&mu_);
    return max_concurrent_;
  }
  std::set<std::string> peers() {
    absl::MutexLock lock(&mu_);
    return peers_;
  }
  std::vector<std::string> user_ids() {
    absl::MutexLock lock(&mu_);
    return user_ids_;
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
  int64_t concurrent_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t max_concurrent_ ABSL_GUARDED_BY(mu_) = 0;
  int fail_every_ ABSL_GUARDED_BY(mu_) = 0;
  grpc::Status fail_status_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> peers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> user_ids_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> degraded_{false};
};

// Answers Rank and GenerateCandidates with a version.
class FakeRankingService final : public RankingService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Rank(grpc::CallbackServerContext* context,
                                 const RankRequest* request,
                                 RankResponse* response) override {
    for (const Candidate& c : request->candidates()) {
      response->add_videos()->set_video_id(c.video_id());
    }
    response->set_model_version("r1");
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

class LoadGeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    builder.RegisterService(&ranking_);
    builder.RegisterService(&echo_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = "127.0.0.1:" + std::to_string(port);
    channel_ = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }

  FakeCandidateService service_;
  FakeRankingService ranking_;
  EchoService echo_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
};

Workload RecommendWorkload() {
  Workload w;
  w.method = CallMethod::kRecommend;
  w.requests = SerializeAll(HandBuiltRecommendRequests(10));
  return w;
}

// The same behaviour through both transports.
class TransportTest : public LoadGeneratorTest,
                      public ::testing::WithParamInterface<LoadTransport> {
 protected:
  LoadTarget Target(int connections = 1) const {
    LoadTarget t;
    t.address = address_;
    t.connections = connections;
    t.transport = GetParam();
    return t;
  }
};

std::string TransportName(const ::testing::TestParamInfo<LoadTransport>& info) {
  return info.param == LoadTransport::kHttp2 ? "Http2" : "Grpc";
}

INSTANTIATE_TEST_SUITE_P(Transports, TransportTest,
                         ::testing::Values(LoadTransport::kHttp2, LoadTransport::kGrpc),
                         TransportName);

TEST_P(TransportTest, ClosedLoopKeepsExactlyConcurrencyCallsInFlight) {
  service_.set_delay(absl::Milliseconds(20));
  LoadOptions options;
  options.concurrency = 4;
  options.max_calls = 40;
  options.duration = absl::InfiniteDuration();
  auto generator = LoadGenerator::Create(Target(), RecommendWorkload(), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  const absl::Time start = absl::Now();
  const LoadReport report = (*generator)->Run();
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(report.summary.calls, 40);
  EXPECT_EQ(report.summary.ok, 40) << FormatCallSummary(report.summary);
  // Never more than 4 at once, on either side, and 4 most of the time:
  // 10 rounds of 20 ms.
  EXPECT_EQ(report.max_in_flight, 4);
  EXPECT_EQ(service_.max_concurrent(), 4);
  EXPECT_GE(took, absl::Milliseconds(200));
  EXPECT_LT(took, absl::Milliseconds(2000));
  EXPECT_EQ(report.end_reason, "normal");
  // Each worker's calls follow one another: at any time at most 4 calls
  // are between their sending and their completion.
  std::vector<std::pair<absl::Duration, int>> edges;
  for (const CallRecord& c : report.calls) {
    edges.emplace_back(c.sent, +1);
    edges.emplace_back(c.completed(), -1);
  }
  std::sort(edges.begin(), edges.end());
  int in_flight = 0;
  int most = 0;
  for (const auto& [t, d] : edges) most = std::max(most, in_flight += d);
  EXPECT_LE(most, 4);
}

TEST_P(TransportTest, TotalGivesExactlyThatManyCalls) {
  LoadOptions options;
  options.concurrency = 16;
  options.max_calls = 1000;
  options.duration = absl::InfiniteDuration();
  auto generator = LoadGenerator::Create(Target(), RecommendWorkload(), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  const LoadReport report = (*generator)->Run();
  EXPECT_EQ(report.summary.calls, 1000);
  EXPECT_EQ(report.summary.ok, 1000) << FormatCallSummary(report.summary);
  EXPECT_EQ(service_.calls(), 1000);
  ASSERT_EQ(report.calls.size(), 1000u);
  for (size_t i = 0; i < report.calls.size(); ++i) {
    EXPECT_EQ(report.calls[i].index, static_cast<int64_t>(i));
  }
  EXPECT_GT(report.completed_rps, 0);
  EXPECT_GE(report.total, report.send_window);
}

TEST_P(TransportTest, DurationEndsAClosedLoop) {
  service_.set_delay(absl::Milliseconds(5));
  LoadOptions options;
  options.concurrency = 2;
  options.duration = absl::Milliseconds(300);
  auto generator = LoadGenerator::Create(Target(), RecommendWorkload(), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  const LoadReport report = (*generator)->Run();
  EXPECT_EQ(report.end_reason, "timeout");
  EXPECT_GT(report.summary.calls, 10);
  EXPECT_LT(report.summary.calls, 2 * 300 / 5 + 4);
  EXPECT_LT(report.send_window, absl::Milliseconds(310));
}

TEST_P(TransportTest, ConnectionsAreSeparateTcpConnections) {
  LoadOptions options;
  options.concurrency = 6;
  options.max_calls = 60;
  options.duration = absl::InfiniteDuration();
  auto generator = LoadGenerator::Create(Target(/*connections=*/3), RecommendWorkload(), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  const LoadReport report = (*generator)->Run();
  EXPECT_EQ(report.summary.ok, 60);
  // One peer (client address and port) per connection.
  EXPECT_EQ(service_.peers().size(), 3u);
}

TEST_P(TransportTest, ErrorsAreCountedByCodeAndMessage) {
  service_.set_failures(4, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                        "too many calls in flight: 100% (café)"));
  LoadOptions options;
  options.concurrency = 1;
  options.max_calls = 20;
  options.duration = absl::InfiniteDuration();
  auto generator = LoadGenerator::Create(Target(), RecommendWorkload(), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  const LoadReport report = (*generator)->Run();
  EXPECT_EQ(report.summary.ok, 15);
  EXPECT_EQ(report.summary.by_code.at(grpc::StatusCode::RESOURCE_EXHAUSTED), 5);
  ASSERT_EQ(report.summary.errors.size(), 1u);
  EXPECT_EQ(report.summary.errors.begin()->first.second,
            "too many calls in flight: 100% (café)");
  // OK latencies apart from all latencies.
  EXPECT_GT(report.summary.ok_latency.max, absl::ZeroDuration());
}

TEST_P(TransportTest, DeadlinesEndCallsWithDeadlineExceeded) {
  service_.set_delay(absl::Milliseconds(300));
  LoadOptions options;
  options.concurrency = 3;
  options.max_calls = 6;
  options.duration = absl::InfiniteDuration();
  options.deadline = absl::Milliseconds(50);
  auto generator = LoadGenerator::Create(Target(), RecommendWorkload(), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  const absl::Time start = absl::Now();
  const LoadReport report = (*generator)->Run();
  EXPECT_EQ(report.summary.by_code.at(grpc::StatusCode::DEADLINE_EXCEEDED), 6)
      << FormatCallSummary(report.summary);
  for (const CallRecord& c : report.calls) {
    EXPECT_GE(c.latency, absl::Milliseconds(45));
    EXPECT_LT(c.latency, absl::Milliseconds(250));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_P(TransportTest, DegradedAnswersAndVersionsAreRecorded) {
  service_.set_degraded(true);
  service_.set_version("v7");
  LoadOptions options;
  options.concurrency = 2;
  options.max_calls = 10;
  options.duration = absl::InfiniteDuration();
  auto generator = LoadGenerator::Create(Target(), RecommendWorkload(), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  const LoadReport report = (*generator)->Run();
  EXPECT_EQ(report.summary.degraded, 10);
  EXPECT_EQ(report.summary.degraded_by_cause.at(DEGRADED_RANKING_DEADLINE), 10);
  EXPECT_EQ(report.summary.model_versions.at("v7"), 10);
  EXPECT_EQ(report.summary.ranking_model_versions.at(""), 10);
}

TEST_P(TransportTest, OpenLoopAndSequentialSendFromTheRunThread) {
  LoadOptions options;
  options.requests_per_second = 500;
  options.duration = absl::Milliseconds(200);
  auto generator = LoadGenerator::Create(Target(2), RecommendWorkload(), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  LoadReport report = (*generator)->Run();
  EXPECT_EQ(report.summary.ok, 100);

  service_.set_delay(absl::Milliseconds(10));
  options.requests_per_second = 10000;
  options.duration = absl::InfiniteDuration();
  options.max_calls = 10;
  options.max_in_flight = 1;
  generator = LoadGenerator::Create(Target(), RecommendWorkload(), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  report = (*generator)->Run();
  ASSERT_EQ(report.calls.size(), 10u);
  for (size_t i = 1; i < report.calls.size(); ++i) {
    EXPECT_GE(report.calls[i].sent, report.calls[i - 1].completed());
  }
}

TEST_P(TransportTest, RankAndEchoCalls) {
  RankRequest rank;
  for (int i = 0; i < 300; ++i) rank.add_candidates()->set_video_id(absl::StrCat("v", i));
  Workload workload;
  workload.method = CallMethod::kRank;
  workload.requests = {rank.SerializeAsString()};
  LoadOptions options;
  options.concurrency = 2;
  options.max_calls = 10;
  options.duration = absl::InfiniteDuration();
  auto generator = LoadGenerator::Create(Target(), workload, options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  LoadReport report = (*generator)->Run();
  EXPECT_EQ(report.summary.ok, 10) << FormatCallSummary(report.summary);
  EXPECT_EQ(report.summary.ranking_model_versions.at("r1"), 10);

  // Bigger than a frame and than the initial flow-control windows, both
  // ways.
  workload.method = CallMethod::kEcho;
  workload.requests = {EchoRequestMessage(1 << 20, 3 << 20)->SerializeAsString()};
  options.max_calls = 6;
  options.deadline = absl::Seconds(10);
  generator = LoadGenerator::Create(Target(), workload, options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  report = (*generator)->Run();
  EXPECT_EQ(report.summary.ok, 6) << FormatCallSummary(report.summary);
  EXPECT_EQ(echo_.calls(), 6);

  // A method the server does not serve.
  workload.method = CallMethod::kGenerateCandidates;
  workload.requests = {GenerateCandidatesRequest().SerializeAsString()};
  generator = LoadGenerator::Create(Target(), workload, options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  report = (*generator)->Run();
  EXPECT_EQ(report.summary.by_code.at(grpc::StatusCode::UNIMPLEMENTED), 6)
      << FormatCallSummary(report.summary);
}

TEST_P(TransportTest, NoServerMeansUnavailable) {
  // A port nothing listens on: this server's, once it is shut down.
  server_->Shutdown(std::chrono::system_clock::now());
  server_->Wait();
  LoadOptions options;
  options.concurrency = 2;
  options.max_calls = 8;
  options.duration = absl::InfiniteDuration();
  options.deadline = absl::Milliseconds(500);
  auto generator = LoadGenerator::Create(Target(), RecommendWorkload(), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  LoadReport report = (*generator)->Run();
  EXPECT_EQ(report.summary.calls, 8);
  EXPECT_EQ(report.summary.ok, 0);
  EXPECT_EQ(report.summary.by_code.at(grpc::StatusCode::UNAVAILABLE), 8)
      << FormatCallSummary(report.summary);

  if (GetParam() == LoadTransport::kHttp2) {
    // A closed loop against a server that is down does not spin: calls
    // wait for the next connection attempt (every 250 ms).
    options.max_calls = 0;
    options.duration = absl::Seconds(1);
    generator = LoadGenerator::Create(Target(), RecommendWorkload(), options);
    ASSERT_TRUE(generator.ok()) << generator.status();
    report = (*generator)->Run();
    EXPECT_EQ(report.summary.failed(), report.summary.calls);
    EXPECT_GE(report.summary.calls, 2);
    EXPECT_LE(report.summary.calls, 2 * 6);
  }
}

// A server that sends GOAWAY every 200 ms (max connection age, as the
// servers' --max_connection_age_s): the calls carry on over new
// connections, none fails.
TEST_P(TransportTest, GoawayMovesCallsToANewConnection) {
  FakeCandidateService service;
  service.set_delay(absl::Milliseconds(2));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 200);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 2000);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  LoadTarget target;
  target.address = absl::StrCat("127.0.0.1:", port);
  target.transport = GetParam();
  LoadOptions options;
  options.concurrency = 8;
  options.duration = absl::Milliseconds(1500);
  auto generator = LoadGenerator::Create(target, RecommendWorkload(), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  const LoadReport report = (*generator)->Run();
  EXPECT_GT(report.summary.calls, 100);
  EXPECT_EQ(report.summary.failed(), 0) << FormatCallSummary(report.summary);
  // A new connection (client port) after each GOAWAY.
  EXPECT_GE(service.peers().size(), 4u);
  server->Shutdown();
}

// A server that takes 2 streams at a time per connection: the other calls
// wait for a stream (and those the server refuses before the client knows
// the limit are sent again); none fails.
TEST_P(TransportTest, CallsWaitForTheServersStreamLimit) {
  FakeCandidateService service;
  service.set_delay(absl::Milliseconds(10));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 2);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  LoadTarget target;
  target.address = absl::StrCat("127.0.0.1:", port);
  target.transport = GetParam();
  LoadOptions options;
  options.concurrency = 8;
  options.max_calls = 40;
  options.duration = absl::InfiniteDuration();
  options.deadline = absl::Seconds(5);
  auto generator = LoadGenerator::Create(target, RecommendWorkload(), options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  const LoadReport report = (*generator)->Run();
  EXPECT_EQ(report.summary.ok, 40) << FormatCallSummary(report.summary);
  EXPECT_LE(service.max_concurrent(), 2);
  server->Shutdown();
}

TEST(Http2Test, GrpcTimeoutValues) {
  EXPECT_EQ(GrpcTimeoutValue(absl::Seconds(1)), "1000000u");
  EXPECT_EQ(GrpcTimeoutValue(absl::Milliseconds(250)), "250000u");
  EXPECT_EQ(GrpcTimeoutValue(absl::Seconds(30)), "30000000u");
  EXPECT_EQ(GrpcTimeoutValue(absl::Seconds(300)), "300000m");
  EXPECT_EQ(GrpcTimeoutValue(absl::Nanoseconds(5)), "5n");
  EXPECT_EQ(GrpcTimeoutValue(absl::Hours(50)), "180000S");
}

TEST(Http2Test, StatusMappingsAndPercentDecoding) {
  EXPECT_EQ(StatusFromHttp2Error(8), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(StatusFromHttp2Error(7), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(StatusFromHttp2Error(0), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(StatusFromHttpStatus(404), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(StatusFromHttpStatus(503), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(StatusFromHttpStatus(418), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(PercentDecode("100%25 caf%C3%A9"), "100% caf\xc3\xa9");
  EXPECT_EQ(PercentDecode("50%"), "50%");
  EXPECT_EQ(PercentDecode("%zz"), "%zz");
}

TEST(Http2Test, BadAddressesAreRefused) {
  Http2TransportOptions options;
  options.requests = {"x"};
  options.address = "no-port";
  EXPECT_FALSE(NewHttp2Transport(options).ok());
  options.address = "no.such.host.invalid:80";
  EXPECT_FALSE(NewHttp2Transport(options).ok());
  options.address = "127.0.0.1:80";
  options.requests.clear();
  EXPECT_FALSE(NewHttp2Transport(options).ok());
}

// RFC 7541 appendix C.
TEST(HpackTest, HuffmanCodesOfTheRfcExamples) {
  const std::string www = hpack::HuffmanEncode("www.example.com");
  EXPECT_EQ(www, std::string("\xf1\xe3\xc2\xe5\xf2\x3a\x6b\xa0\xab\x90\xf4\xff"));
  EXPECT_EQ(hpack::HuffmanEncode("no-cache"), std::string("\xa8\xeb\x10\x64\x9c\xbf"));
  EXPECT_EQ(*hpack::HuffmanDecode(www), "www.example.com");
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(*hpack::HuffmanDecode(hpack::HuffmanEncode(all)), all);
  // Padding longer than 7 bits, or not ones.
  EXPECT_FALSE(hpack::HuffmanDecode(www + "\xff").ok());
  EXPECT_FALSE(hpack::HuffmanDecode(std::string("\x00", 1)).ok());
}

TEST(HpackTest, DecodesTheRfcRequestSequenceWithHuffman) {
  // C.4.1 to C.4.3: three requests on one connection, sharing the table.
  hpack::Decoder decoder;
  std::vector<std::string> fields;
  auto collect = [&](absl::string_view n, absl::string_view v) {
    fields.push_back(absl::StrCat(n, ": ", v));
  };
  ASSERT_TRUE(decoder
                  .Decode(std::string("\x82\x86\x84\x41\x8c\xf1\xe3\xc2\xe5\xf2\x3a"
                                      "\x6b\xa0\xab\x90\xf4\xff"),
                          collect)
                  .ok());
  EXPECT_EQ(fields, (std::vector<std::string>{":method: GET", ":scheme: http", ":path: /",
                                              ":authority: www.example.com"}));
  EXPECT_EQ(decoder.table_size(), 57u);
  fields.clear();
  ASSERT_TRUE(
      decoder.Decode(std::string("\x82\x86\x84\xbe\x58\x86\xa8\xeb\x10\x64\x9c\xbf"),
                     collect)
          .ok());
  EXPECT_EQ(fields.back(), "cache-control: no-cache");
  EXPECT_EQ(fields[3], ":authority: www.example.com");
  EXPECT_EQ(decoder.table_size(), 110u);
  fields.clear();
  ASSERT_TRUE(decoder
                  .Decode(std::string("\x82\x87\x85\xbf\x40\x88\x25\xa8\x49\xe9\x5b"
                                      "\xa9\x7d\x7f\x89\x25\xa8\x49\xe9\x5b\xb8\xe8"
                                      "\xb4\xbf"),
                          collect)
                  .ok());
  EXPECT_EQ(fields.back(), "custom-key: custom-value");
  EXPECT_EQ(fields[1], ":scheme: https");
  EXPECT_EQ(decoder.table_size(), 164u);
  EXPECT_EQ(decoder.table_entries(), 3u);
  // An index past the table is an error.
  EXPECT_FALSE(decoder.Decode(std::string("\xff\x00"), collect).ok());
}

TEST(HpackTest, LiteralsWithoutIndexingRoundTrip) {
  std::string block;
  hpack::AppendLiteralWithoutIndexing(":path", "/recsys.bench.Echo/Echo", &block);
  hpack::AppendLiteralWithoutIndexing("te", "trailers", &block);
  hpack::AppendLiteralWithoutIndexing("grpc-timeout", std::string(200, 'x'), &block);
  hpack::Decoder decoder;
  std::vector<std::pair<std::string, std::string>> fields;
  ASSERT_TRUE(decoder
                  .Decode(block,
                          [&](absl::string_view n, absl::string_view v) {
                            fields.emplace_back(std::string(n), std::string(v));
                          })
                  .ok());
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].second, "/recsys.bench.Echo/Echo");
  EXPECT_EQ(fields[1].first, "te");
  EXPECT_EQ(fields[2].second.size(), 200u);
  // Never indexed by the decoder.
  EXPECT_EQ(decoder.table_entries(), 0u);
}

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
