#include "common/grpc/grpc_server.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(5);

std::shared_ptr<grpc::Channel> ChannelTo(int port) {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                             grpc::InsecureChannelCredentials());
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name, ".", getpid());
}

// Polls until `path` exists, for up to `timeout`.
bool WaitForFile(const std::string& path, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (access(path.c_str(), F_OK) == 0) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

GrpcServerOptions LocalOptions() {
  GrpcServerOptions options;
  options.address = "127.0.0.1:0";
  options.name = "test_server";
  return options;
}

TEST(StartGrpcServerTest, PortZeroPicksAPortAndHealthIsServing) {
  absl::StatusOr<StartedGrpcServer> started =
      StartGrpcServer(LocalOptions(), {});
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_GT(started->port, 0);

  absl::StatusOr<GrpcHealthStatus> health =
      CheckGrpcHealth(ChannelTo(started->port), "", kTimeout);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, GrpcHealthStatus::kServing);

  started->server->GetHealthCheckService()->SetServingStatus(false);
  health = CheckGrpcHealth(ChannelTo(started->port), "", kTimeout);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, GrpcHealthStatus::kNotServing);
  started->server->Shutdown();
}

TEST(StartGrpcServerTest, EachRegisteredServiceIsServing) {
  // Callback services with no overridden methods answer UNIMPLEMENTED, which
  // is all this test needs: a registered service with a name.
  CandidateService::CallbackService candidate;
  RankingService::CallbackService ranking;
  absl::StatusOr<StartedGrpcServer> started =
      StartGrpcServer(LocalOptions(), {&candidate, &ranking});
  ASSERT_TRUE(started.ok()) << started.status();
  auto channel = ChannelTo(started->port);

  for (const char* service :
       {"recsys.CandidateService", "recsys.RankingService",
        "grpc.reflection.v1alpha.ServerReflection"}) {
    absl::StatusOr<GrpcHealthStatus> health =
        CheckGrpcHealth(channel, service, kTimeout);
    ASSERT_TRUE(health.ok()) << service << ": " << health.status();
    EXPECT_EQ(*health, GrpcHealthStatus::kServing) << service;
  }
  absl::StatusOr<GrpcHealthStatus> unknown =
      CheckGrpcHealth(channel, "recsys.NoSuchService", kTimeout);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);

  // The registered services themselves are reachable on the same port.
  auto stub = RankingService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kTimeout));
  RankResponse response;
  grpc::Status status = stub->Rank(&context, RankRequest(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  started->server->Shutdown();
}

TEST(StartGrpcServerTest, WritesThePortFile) {
  GrpcServerOptions options = LocalOptions();
  options.port_file = TempPath("port_file");
  std::remove(options.port_file.c_str());
  absl::StatusOr<StartedGrpcServer> started = StartGrpcServer(options, {});
  ASSERT_TRUE(started.ok()) << started.status();

  std::ifstream in(options.port_file);
  int port = 0;
  in >> port;
  EXPECT_EQ(port, started->port);
  EXPECT_NE(access(absl::StrCat(options.port_file, ".tmp.", getpid()).c_str(),
                   F_OK),
            0)
      << "the temporary file is left behind";
  started->server->Shutdown();
  std::remove(options.port_file.c_str());
}

TEST(StartGrpcServerTest, PortInUseIsAnError) {
  absl::StatusOr<StartedGrpcServer> first =
      StartGrpcServer(LocalOptions(), {});
  ASSERT_TRUE(first.ok()) << first.status();

  GrpcServerOptions options = LocalOptions();
  options.address = absl::StrCat("127.0.0.1:", first->port);
  absl::StatusOr<StartedGrpcServer> second = StartGrpcServer(options, {});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable)
      << second.status();
  first->server->Shutdown();
}

TEST(StartGrpcServerTest, RejectsBadOptions) {
  GrpcServerOptions options = LocalOptions();
  options.address = "";
  EXPECT_EQ(StartGrpcServer(options, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = LocalOptions();
  options.max_receive_message_bytes = 0;
  EXPECT_EQ(StartGrpcServer(options, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CheckGrpcHealthTest, NoServerIsUnavailableWithinTheDeadline) {
  // Bind and release a port so that nothing listens on it.
  absl::StatusOr<StartedGrpcServer> started =
      StartGrpcServer(LocalOptions(), {});
  ASSERT_TRUE(started.ok()) << started.status();
  const int port = started->port;
  started->server->Shutdown();
  started->server.reset();

  const absl::Time start = absl::Now();
  absl::StatusOr<GrpcHealthStatus> health =
      CheckGrpcHealth(ChannelTo(port), "", absl::Milliseconds(500));
  EXPECT_FALSE(health.ok());
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST(RunGrpcServerTest, ServesUntilSigtermThenReturnsOk) {
  GrpcServerOptions options = LocalOptions();
  options.port_file = TempPath("run_port_file");
  std::remove(options.port_file.c_str());

  absl::Status result = absl::UnknownError("not returned");
  std::thread server_thread(
      [&options, &result] { result = RunGrpcServer(options, {}); });
  ASSERT_TRUE(WaitForFile(options.port_file, absl::Seconds(10)));
  int port = 0;
  std::ifstream(options.port_file) >> port;
  ASSERT_GT(port, 0);

  absl::StatusOr<GrpcHealthStatus> health =
      CheckGrpcHealth(ChannelTo(port), "", kTimeout);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, GrpcHealthStatus::kServing);

  // The handler catches SIGTERM on any thread; the process survives it.
  kill(getpid(), SIGTERM);
  server_thread.join();
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_FALSE(CheckGrpcHealth(ChannelTo(port), "", absl::Milliseconds(500))
                   .ok());
  std::remove(options.port_file.c_str());
}

TEST(RunGrpcServerTest, ReturnsTheBindError) {
  absl::StatusOr<StartedGrpcServer> first =
      StartGrpcServer(LocalOptions(), {});
  ASSERT_TRUE(first.ok()) << first.status();
  GrpcServerOptions options = LocalOptions();
  options.address = absl::StrCat("127.0.0.1:", first->port);
  EXPECT_EQ(RunGrpcServer(options, {}).code(),
            absl::StatusCode::kUnavailable);
  first->server->Shutdown();
}

TEST(RunGrpcServerTest, NotServingWhileLoadingThenServingAndThePortFileAppears) {
  GrpcServerOptions options = LocalOptions();
  options.port_file = TempPath("load_port_file");
  std::remove(options.port_file.c_str());
  std::atomic<int> bound_port{0};
  absl::Notification loading, finish_loading;
  options.load = [&](int port) {
    bound_port.store(port);
    loading.Notify();
    finish_loading.WaitForNotification();
    return absl::OkStatus();
  };
  std::atomic<int> reloads{0};
  options.on_reload_signal = [&] { reloads.fetch_add(1); };
  absl::Status result = absl::UnknownError("not returned");
  std::thread server_thread([&] { result = RunGrpcServer(options, {}); });
  loading.WaitForNotification();
  const int port = bound_port.load();
  absl::StatusOr<GrpcHealthStatus> health = CheckGrpcHealth(ChannelTo(port), "", kTimeout);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, GrpcHealthStatus::kNotServing);
  EXPECT_NE(access(options.port_file.c_str(), F_OK), 0) << "port file before SERVING";
  finish_loading.Notify();
  ASSERT_TRUE(WaitForFile(options.port_file, absl::Seconds(10)));
  health = CheckGrpcHealth(ChannelTo(port), "", kTimeout);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, GrpcHealthStatus::kServing);

  // SIGHUP reaches the callback; the server keeps running.
  kill(getpid(), SIGHUP);
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (reloads.load() == 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(reloads.load(), 1);
  kill(getpid(), SIGTERM);
  server_thread.join();
  EXPECT_TRUE(result.ok()) << result;
  std::remove(options.port_file.c_str());
}

TEST(RunGrpcServerTest, AFailedLoadStopsTheServerWithItsError) {
  GrpcServerOptions options = LocalOptions();
  options.load = [](int) { return absl::FailedPreconditionError("no valid model bundle"); };
  absl::Status result = RunGrpcServer(options, {});
  EXPECT_EQ(result.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(result.message(), "no valid model bundle");
}

}  // namespace
}  // namespace recsys
