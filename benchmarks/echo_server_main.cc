// echo_server: recsys.bench.Echo/Echo (benchmarks/echo.proto) on a bare gRPC
// callback-API server: no health service, reflection, metrics or limits, so
// that what a load generator measures against it is the load generator and
// gRPC itself (benchmarks/loadgen_vs_h2load.sh).
//
//   echo_server --address=127.0.0.1:0 --port_file=/tmp/echo.port
//   recsys_load --address=127.0.0.1:$(cat /tmp/echo.port)
//       --call=recsys.bench.Echo.Echo --concurrency=64 --duration_s=5
//
// Serves until SIGINT or SIGTERM, then stops (calls in flight get 2 s).

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "common/base/command_line.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "clients/echo_service.h"

ABSL_FLAG(std::string, address, "127.0.0.1:0",
          "host:port to listen on; port 0 lets the kernel pick a free one "
          "(see --port_file).");
ABSL_FLAG(int32_t, max_connection_age_ms, 0,
          "If positive, each connection gets a GOAWAY after about this long "
          "(gRPC's max connection age; calls in flight get 10 s more), to "
          "see a client move to new connections.");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound port is written here (decimal and a newline, "
          "through a temporary file and a rename) once the server listens.");

namespace {

bool WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> positional = recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "A bare gRPC server of recsys.bench.Echo/Echo (answers with "
      "EchoRequest.response_bytes bytes), for measuring load generators.\n"
      "\n"
      "  echo_server --address=127.0.0.1:0 --port_file=/tmp/echo.port");
  if (positional.size() > 1) {
    spdlog::error("echo_server: unexpected argument '{}'; see --help", positional[1]);
    return 2;
  }
  // Debian's Abseil is built with Mutex deadlock detection on, which gRPC's
  // mutexes pay for on every lock.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Blocked before gRPC starts its threads, which inherit the mask: the
  // signals are taken by sigwait below, never by a gRPC thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  recsys::EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_address),
                           grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  if (const int age_ms = absl::GetFlag(FLAGS_max_connection_age_ms); age_ms > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, age_ms);
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 10000);
  }
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    spdlog::error("echo_server: cannot listen on {}", absl::GetFlag(FLAGS_address));
    return 1;
  }
  const std::string port_file = absl::GetFlag(FLAGS_port_file);
  if (!port_file.empty() && !WritePortFile(port_file, port)) {
    spdlog::error("echo_server: cannot write {}", port_file);
    server->Shutdown();
    return 1;
  }
  std::cout << "echo_server listening on port " << port << std::endl;
  int signal = 0;
  sigwait(&signals, &signal);
  std::cout << "echo_server: signal " << signal << ", " << service.calls()
            << " calls answered; stopping" << std::endl;
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}
