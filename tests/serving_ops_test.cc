// The servers as operators run them, with the real binaries on real ports:
// TLS and mutual TLS (certificates made here with openssl), reflection
// turned off, the drain on SIGTERM, and Rank calls spread over every
// ranking replica. The bundle is a tiny one written by the test (the models'
// quality is e2e_test's business).

#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/http_get.h"
#include "common/serving/testing/tiny_bundle.h"
#include "proto/recsys.grpc.pb.h"
#include "tests/test_util.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;
using testing::ChildProcess;
using testing::FileTail;
using testing::ReadFileOrEmpty;
using testing::RunfilePath;
using testing::RunToCompletion;
using testing::WaitForPortFile;

// ServerReflectionRequest{list_services: ""}, by hand (field 7, length 0):
// the reflection service is a bidirectional stream, and one request then a
// half-close is a unary call on the wire.
constexpr char kListServicesRequest[] = "\x3a\x00";
constexpr char kReflectionMethod[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

std::string ReadOrDie(const std::string& path) {
  std::string contents = ReadFileOrEmpty(path);
  EXPECT_FALSE(contents.empty()) << path;
  return contents;
}

// A server binary started on 127.0.0.1:0 and the port it bound (0 when it
// did not come up).
struct Server {
  std::unique_ptr<ChildProcess> process;
  int port = 0;
  int metrics_port = 0;
  std::string log;
};

class ServingOpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(FreshTestDir("serving_ops"));
    const std::string& d = *dir_;
    ASSERT_TRUE(WriteTinyBundle(d + "/bundles", {.version = "20260101-000001"}).ok());
    // A CA, a server certificate for localhost / 127.0.0.1, a client
    // certificate from the same CA, and one from a CA nobody trusts.
    const std::string log = d + "/openssl.log";
    std::ofstream(d + "/server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    for (const std::string& command : std::vector<std::string>{
             "openssl req -x509 " + ec + " -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca",
             "openssl req -x509 " + ec +
                 " -keyout rogue-ca.key -out rogue-ca.pem -days 2 -subj /CN=rogue-ca",
             "openssl req " + ec + " -keyout server.key -out server.csr -subj /CN=localhost",
             "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out server.pem -days 2 -extfile server.ext",
             "openssl req " + ec + " -keyout client.key -out client.csr -subj /CN=candidate",
             "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out client.pem -days 2",
             "openssl req " + ec + " -keyout rogue.key -out rogue.csr -subj /CN=rogue",
             "openssl x509 -req -in rogue.csr -CA rogue-ca.pem -CAkey rogue-ca.key "
             "-CAcreateserial -out rogue.pem -days 2",
         }) {
      ASSERT_EQ(RunToCompletion({"/bin/sh", "-c", "cd '" + d + "' && " + command}, log), 0)
          << command << "\n" << FileTail(log);
    }
  }

  static void TearDownTestSuite() { delete dir_; }

  static std::string Path(const std::string& name) { return *dir_ + "/" + name; }

  // Starts `binary` ("ranking" or "candidate") with `flags` on a free port
  // and waits until it is SERVING.
  static Server Start(const std::string& binary, const std::string& name,
                      std::vector<std::string> flags) {
    Server server;
    server.log = Path(name + ".log");
    const std::string port_file = Path(name + ".port");
    const std::string metrics_file = Path(name + ".metrics");
    std::remove(port_file.c_str());
    std::remove(metrics_file.c_str());
    std::vector<std::string> argv = {
        RunfilePath(binary == "ranking" ? "ranking_service/ranking_server"
                                        : "candidate_service/candidate_server"),
        "--bundles=" + Path("bundles"), "--address=127.0.0.1:0", "--port_file=" + port_file,
        "--metrics_address=127.0.0.1:0", "--metrics_port_file=" + metrics_file};
    argv.insert(argv.end(), flags.begin(), flags.end());
    server.process = std::make_unique<ChildProcess>(argv, server.log);
    server.port = WaitForPortFile(port_file, 30);
    server.metrics_port = WaitForPortFile(metrics_file, 5);
    return server;
  }

  static std::string Local(int port) { return absl::StrCat("127.0.0.1:", port); }

  static std::shared_ptr<grpc::ChannelCredentials> ClientTls(const std::string& cert,
                                                             const std::string& key) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadOrDie(Path("ca.pem"));
    if (!cert.empty()) {
      options.pem_cert_chain = ReadOrDie(Path(cert));
      options.pem_private_key = ReadOrDie(Path(key));
    }
    return grpc::SslCredentials(options);
  }

  static std::vector<std::string> ServerTlsFlags(bool mutual) {
    std::vector<std::string> flags = {"--tls_cert_file=" + Path("server.pem"),
                                      "--tls_key_file=" + Path("server.key")};
    if (mutual) flags.push_back("--tls_client_ca_file=" + Path("ca.pem"));
    return flags;
  }

  static RecommendRequest Request() {
    RecommendRequest request;
    request.mutable_context()->add_watches()->set_video_id(TinyVideoId(0));
    request.set_num_results(5);
    return request;
  }

  static grpc::Status Recommend(const std::shared_ptr<grpc::Channel>& channel,
                                RecommendResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return CandidateService::NewStub(channel)->Recommend(&context, Request(), response);
  }

  static grpc::Status Rank(const std::shared_ptr<grpc::Channel>& channel) {
    RankRequest request;
    request.mutable_context()->add_watches()->set_video_id(TinyVideoId(0));
    request.add_candidates()->set_video_id(TinyVideoId(1));
    RankResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return RankingService::NewStub(channel)->Rank(&context, request, &response);
  }

  // recsys_requests_total{method="Rank",code="OK"} on a ranking server.
  static int64_t RankCallsServed(const Server& ranking) {
    absl::StatusOr<std::string> page = HttpGet(ranking.metrics_port, "/metrics");
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return -1;
    const std::string series =
        "recsys_requests_total{server=\"ranking_server\",code=\"OK\",method=\"Rank\"} ";
    for (absl::string_view line : absl::StrSplit(*page, '\n')) {
      if (absl::ConsumePrefix(&line, series)) {
        double value = 0;
        if (absl::SimpleAtod(line, &value)) return static_cast<int64_t>(value);
      }
    }
    return 0;
  }

  static std::string* dir_;
};

std::string* ServingOpsTest::dir_ = nullptr;

// The deployment of deploy/k8s's prod overlay: callers reach the candidate
// server over TLS, and candidate and ranking authenticate each other (mTLS).
TEST_F(ServingOpsTest, MutualTlsBetweenTheServersAndTlsToCallers) {
  Server ranking = Start("ranking", "ranking_mtls", ServerTlsFlags(/*mutual=*/true));
  ASSERT_GT(ranking.port, 0) << FileTail(ranking.log);
  std::vector<std::string> flags = ServerTlsFlags(/*mutual=*/false);
  for (const std::string& f :
       {"--ranking_address=" + Local(ranking.port), "--ranking_tls_ca_file=" + Path("ca.pem"),
        "--ranking_tls_cert_file=" + Path("client.pem"),
        "--ranking_tls_key_file=" + Path("client.key"), std::string("--ranking_deadline_ms=5000")}) {
    flags.push_back(f);
  }
  Server candidate = Start("candidate", "candidate_tls", flags);
  ASSERT_GT(candidate.port, 0) << FileTail(candidate.log);
  EXPECT_THAT(ReadFileOrEmpty(candidate.log), HasSubstr("(round_robin, TLS)"));

  // A TLS client that trusts the CA: ranked answers (ranking reached over mTLS).
  RecommendResponse response;
  grpc::Status status = Recommend(
      grpc::CreateChannel(Local(candidate.port), ClientTls("", "")), &response);
  ASSERT_TRUE(status.ok()) << status.error_message() << FileTail(candidate.log);
  EXPECT_FALSE(response.degraded()) << DegradedCause_Name(response.degraded_cause());
  EXPECT_EQ(response.ranking_model_version(), "20260101-000001");
  EXPECT_GT(response.videos_size(), 0);

  // A plaintext client is refused by the TLS port.
  status = Recommend(
      grpc::CreateChannel(Local(candidate.port), grpc::InsecureChannelCredentials()), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();

  // Health over TLS, as a TLS-capable prober sees it.
  absl::StatusOr<GrpcHealthStatus> health = CheckGrpcHealth(
      grpc::CreateChannel(Local(candidate.port), ClientTls("", "")), "", absl::Seconds(5));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, GrpcHealthStatus::kServing);
  EXPECT_EQ(candidate.process->Stop(), 0);
  EXPECT_EQ(ranking.process->Stop(), 0);
}

// Ranking with --tls_client_ca_file answers only clients whose certificate
// its CA signed: not plaintext, not TLS without a certificate, not a
// certificate from another CA.
TEST_F(ServingOpsTest, MutualTlsRefusesClientsWithoutAValidCertificate) {
  Server ranking = Start("ranking", "ranking_mtls_refuse", ServerTlsFlags(/*mutual=*/true));
  ASSERT_GT(ranking.port, 0) << FileTail(ranking.log);
  const std::string target = Local(ranking.port);
  grpc::Status with_certificate =
      Rank(grpc::CreateChannel(target, ClientTls("client.pem", "client.key")));
  EXPECT_TRUE(with_certificate.ok()) << with_certificate.error_message();

  grpc::Status plaintext = Rank(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE) << plaintext.error_message();
  grpc::Status no_certificate = Rank(grpc::CreateChannel(target, ClientTls("", "")));
  EXPECT_EQ(no_certificate.error_code(), grpc::StatusCode::UNAVAILABLE)
      << no_certificate.error_message();
  grpc::Status rogue = Rank(grpc::CreateChannel(target, ClientTls("rogue.pem", "rogue.key")));
  EXPECT_EQ(rogue.error_code(), grpc::StatusCode::UNAVAILABLE) << rogue.error_message();

  // A candidate server without its client certificate is refused too: its
  // answers are degraded (retrieval order), never wrong or missing.
  Server candidate = Start(
      "candidate", "candidate_no_client_cert",
      {"--ranking_address=" + target, "--ranking_tls_ca_file=" + Path("ca.pem"),
       "--ranking_deadline_ms=2000", "--breaker_failures=0"});
  ASSERT_GT(candidate.port, 0) << FileTail(candidate.log);
  RecommendResponse response;
  grpc::Status status = Recommend(
      grpc::CreateChannel(Local(candidate.port), grpc::InsecureChannelCredentials()), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.degraded());
  EXPECT_EQ(response.degraded_cause(), DEGRADED_RANKING_UNAVAILABLE);
  EXPECT_GT(response.videos_size(), 0);
}

TEST_F(ServingOpsTest, BadTlsFlagsStopTheServerWithAClearError) {
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--tls_cert_file=" + Path("server.pem")}, "needs both --tls_cert_file and --tls_key_file"},
      {{"--tls_cert_file=" + Path("server.pem"), "--tls_key_file=" + Path("missing.key")},
       "--tls_key_file=" + Path("missing.key") + ": cannot read the file"},
      {{"--tls_cert_file=" + Path("server.ext"), "--tls_key_file=" + Path("server.key")},
       "not a PEM file"},
      {{"--tls_client_ca_file=" + Path("ca.pem")}, "needs both"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {RunfilePath("ranking_service/ranking_server"),
                                     "--bundles=" + Path("bundles"), "--address=127.0.0.1:0"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    const std::string log = Path("bad_tls.log");
    std::remove(log.c_str());
    EXPECT_EQ(RunToCompletion(argv, log), 2) << FileTail(log);
    EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr(c.message));
  }
  const std::string log = Path("bad_ranking_tls.log");
  EXPECT_EQ(RunToCompletion({RunfilePath("candidate_service/candidate_server"),
                             "--bundles=" + Path("bundles"), "--address=127.0.0.1:0",
                             "--ranking_tls_cert_file=" + Path("client.pem")},
                            log),
            2);
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr("needs --ranking_tls_ca_file"));
}

TEST_F(ServingOpsTest, ReflectionIsServedUnlessTurnedOff) {
  Server on = Start("ranking", "ranking_reflection_on", {});
  Server off = Start("ranking", "ranking_reflection_off", {"--reflection=false"});
  ASSERT_GT(on.port, 0) << FileTail(on.log);
  ASSERT_GT(off.port, 0) << FileTail(off.log);
  const std::string request(kListServicesRequest, 2);
  absl::StatusOr<std::string> listed =
      RawUnaryCall(grpc::CreateChannel(Local(on.port), grpc::InsecureChannelCredentials()),
                   kReflectionMethod, request, absl::Seconds(5));
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_THAT(*listed, HasSubstr("recsys.RankingService"));
  absl::StatusOr<std::string> refused =
      RawUnaryCall(grpc::CreateChannel(Local(off.port), grpc::InsecureChannelCredentials()),
                   kReflectionMethod, request, absl::Seconds(5));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnimplemented) << refused.status();
  // Health and the service itself are unaffected.
  grpc::Status ranked =
      Rank(grpc::CreateChannel(Local(off.port), grpc::InsecureChannelCredentials()));
  EXPECT_TRUE(ranked.ok()) << ranked.error_message();
}

// SIGTERM with --drain_s: health turns NOT_SERVING at once (load balancers
// stop sending), calls are still answered during the drain, then the
// server exits 0.
TEST_F(ServingOpsTest, DrainAnswersCallsWhileHealthSaysNotServing) {
  Server ranking = Start("ranking", "ranking_drain", {"--drain_s=3"});
  ASSERT_GT(ranking.port, 0) << FileTail(ranking.log);
  auto channel = grpc::CreateChannel(Local(ranking.port), grpc::InsecureChannelCredentials());
  grpc::Status first = Rank(channel);
  ASSERT_TRUE(first.ok()) << first.error_message();
  const absl::Time signalled = absl::Now();
  ASSERT_TRUE(ranking.process->Signal(SIGTERM));
  absl::SleepFor(absl::Milliseconds(500));
  absl::StatusOr<GrpcHealthStatus> health = CheckGrpcHealth(channel, "", absl::Seconds(2));
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, GrpcHealthStatus::kNotServing);
  for (int i = 0; i < 5; ++i) {
    grpc::Status status = Rank(channel);
    EXPECT_TRUE(status.ok()) << status.error_message();
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(3)) << "the drain checks ran too late";
  int exit_code = -1;
  ASSERT_TRUE(ranking.process->WaitForExit(10, &exit_code)) << FileTail(ranking.log);
  EXPECT_EQ(exit_code, 0);
  EXPECT_GE(absl::Now() - signalled, absl::Seconds(3));
  EXPECT_THAT(ReadFileOrEmpty(ranking.log), HasSubstr("health NOT_SERVING, draining for 3s"));
}

// Two ranking processes behind one target (what dns:/// of a headless
// Service resolves to: every replica's address): with the default
// round_robin policy both receive Rank calls; pick_first would pin one.
TEST_F(ServingOpsTest, RankCallsSpreadOverEveryRankingAddress) {
  Server a = Start("ranking", "ranking_a", {});
  Server b = Start("ranking", "ranking_b", {});
  ASSERT_GT(a.port, 0) << FileTail(a.log);
  ASSERT_GT(b.port, 0) << FileTail(b.log);
  const std::string target = absl::StrCat("ipv4:127.0.0.1:", a.port, ",127.0.0.1:", b.port);
  for (const std::string& policy : std::vector<std::string>{"round_robin", "pick_first"}) {
    Server candidate = Start("candidate", "candidate_" + policy,
                             {"--ranking_address=" + target, "--ranking_lb_policy=" + policy,
                              "--ranking_deadline_ms=5000"});
    ASSERT_GT(candidate.port, 0) << FileTail(candidate.log);
    auto channel = grpc::CreateChannel(Local(candidate.port), grpc::InsecureChannelCredentials());
    if (policy == "round_robin") {
      // round_robin picks among the connected addresses: on a loaded machine
      // the second connection can come up after the first calls, so the
      // spread is counted once both have served a call (within 20 s).
      const int64_t a_start = RankCallsServed(a), b_start = RankCallsServed(b);
      const absl::Time give_up = absl::Now() + absl::Seconds(20);
      while ((RankCallsServed(a) == a_start || RankCallsServed(b) == b_start) &&
             absl::Now() < give_up) {
        RecommendResponse response;
        ASSERT_TRUE(Recommend(channel, &response).ok());
      }
    }
    const int64_t a_before = RankCallsServed(a), b_before = RankCallsServed(b);
    constexpr int kCalls = 40;
    for (int i = 0; i < kCalls; ++i) {
      RecommendResponse response;
      ASSERT_TRUE(Recommend(channel, &response).ok());
      ASSERT_FALSE(response.degraded());
    }
    const int64_t to_a = RankCallsServed(a) - a_before, to_b = RankCallsServed(b) - b_before;
    EXPECT_EQ(to_a + to_b, kCalls) << policy;
    if (policy == "round_robin") {
      EXPECT_GE(to_a, kCalls / 4) << "a: " << to_a << ", b: " << to_b;
      EXPECT_GE(to_b, kCalls / 4) << "a: " << to_a << ", b: " << to_b;
    } else {
      EXPECT_TRUE(to_a == 0 || to_b == 0) << "a: " << to_a << ", b: " << to_b;
    }
    EXPECT_EQ(candidate.process->Stop(), 0);
  }
}

}  // namespace
}  // namespace recsys
