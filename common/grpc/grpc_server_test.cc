#include "common/grpc/grpc_server.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <utility>

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

// A TCP socket on 127.0.0.1 with a kernel-chosen port that this object
// holds for its lifetime. Without SO_REUSEADDR and SO_REUSEPORT no other
// socket can bind the port meanwhile, so a test that connects to it cannot
// race another process for it. Bound only, a connection is refused; once
// `Listen` is called, the kernel completes every handshake but nobody ever
// accepts or answers: a silent peer.
class HeldPort {
 public:
  HeldPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
  }
  ~HeldPort() {
    if (fd_ >= 0) close(fd_);
  }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;

  // 0 when the socket could not be bound.
  int port() const { return port_; }
  bool Listen() { return listen(fd_, 16) == 0; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Catches SIGTERM with a handler that does nothing, for the object's
// lifetime (the previous disposition is restored after). `RunGrpcServer`
// installs its own handler while it runs and restores this one when it
// returns, so a SIGTERM that `ServerThread` sends before the server is
// waiting for it, or after it stopped, cannot kill the test process.
class ScopedIgnoredSigterm {
 public:
  ScopedIgnoredSigterm() {
    struct sigaction action = {};
    action.sa_handler = [](int) {};
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, &previous_);
  }
  ~ScopedIgnoredSigterm() { sigaction(SIGTERM, &previous_, nullptr); }
  ScopedIgnoredSigterm(const ScopedIgnoredSigterm&) = delete;
  ScopedIgnoredSigterm& operator=(const ScopedIgnoredSigterm&) = delete;

 private:
  struct sigaction previous_ = {};
};

// Runs `RunGrpcServer(options, {})` on a thread of its own. `Stop` (also
// called by the destructor) sends SIGTERM until `RunGrpcServer` returns and
// joins the thread, so a test whose ASSERT fails half way fails instead of
// destroying a joinable `std::thread` (which aborts the whole binary).
// `before_stop`, when set, runs first: e.g. to release a blocked `load`.
class ServerThread {
 public:
  explicit ServerThread(GrpcServerOptions options,
                        std::function<void()> before_stop = nullptr)
      : before_stop_(std::move(before_stop)),
        thread_([this, options = std::move(options)] {
          result_ = RunGrpcServer(options, {});
          done_.Notify();
        }) {}
  ~ServerThread() { Stop().IgnoreError(); }
  ServerThread(const ServerThread&) = delete;
  ServerThread& operator=(const ServerThread&) = delete;

  // Stops the server with SIGTERM (repeated every 50 ms: a signal that
  // arrives before `RunGrpcServer` installed its handler is ignored) and
  // returns what `RunGrpcServer` returned.
  absl::Status Stop() {
    if (thread_.joinable()) {
      if (before_stop_) before_stop_();
      while (!done_.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
        kill(getpid(), SIGTERM);
      }
      thread_.join();
    }
    return result_;
  }

 private:
  ScopedIgnoredSigterm ignored_sigterm_;
  std::function<void()> before_stop_;
  absl::Notification done_;
  absl::Status result_ = absl::UnknownError("not returned");
  std::thread thread_;  // Last: it starts after the members it uses.
};

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

TEST(CheckGrpcHealthTest, NoServerIsUnavailable) {
  // A port we hold bound without listening: the connection is refused, and
  // no other process can start listening on it during the test.
  HeldPort refused;
  ASSERT_GT(refused.port(), 0);
  absl::StatusOr<GrpcHealthStatus> health =
      CheckGrpcHealth(ChannelTo(refused.port()), "", kTimeout);
  EXPECT_EQ(health.status().code(), absl::StatusCode::kUnavailable)
      << health.status();
}

TEST(CheckGrpcHealthTest, ASilentPeerIsDeadlineExceeded) {
  // The connection is accepted by the kernel but nothing ever answers: only
  // the call's deadline can end it. (Were the deadline ignored, the call
  // would hang until Bazel's test timeout: a failure, not a flake.)
  HeldPort silent;
  ASSERT_GT(silent.port(), 0);
  ASSERT_TRUE(silent.Listen());
  absl::StatusOr<GrpcHealthStatus> health =
      CheckGrpcHealth(ChannelTo(silent.port()), "", absl::Milliseconds(300));
  EXPECT_EQ(health.status().code(), absl::StatusCode::kDeadlineExceeded)
      << health.status();
}

TEST(RunGrpcServerTest, ServesUntilSigtermThenReturnsOk) {
  GrpcServerOptions options = LocalOptions();
  options.port_file = TempPath("run_port_file");
  std::remove(options.port_file.c_str());

  ServerThread server(options);
  ASSERT_TRUE(WaitForFile(options.port_file, absl::Seconds(10)));
  int port = 0;
  std::ifstream(options.port_file) >> port;
  ASSERT_GT(port, 0);

  absl::StatusOr<GrpcHealthStatus> health =
      CheckGrpcHealth(ChannelTo(port), "", kTimeout);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, GrpcHealthStatus::kServing);

  // The handler catches SIGTERM on any thread; the process survives it.
  absl::Status result = server.Stop();
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
  absl::Notification reloaded;
  options.on_reload_signal = [&] {
    reloads.fetch_add(1);
    reloaded.Notify();
  };
  // Were an ASSERT below to fail while `load` blocks, stopping the server
  // must release it first.
  ServerThread server(options, [&] {
    if (!finish_loading.HasBeenNotified()) finish_loading.Notify();
  });
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
  ASSERT_TRUE(reloaded.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(reloads.load(), 1);
  health = CheckGrpcHealth(ChannelTo(port), "", kTimeout);
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(*health, GrpcHealthStatus::kServing);
  absl::Status result = server.Stop();
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
