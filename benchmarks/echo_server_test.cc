// benchmarks/echo_server as the benchmark script runs it: port 0 and a port
// file, answers of the asked size, the load generator against it, a clean
// stop on SIGTERM.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "benchmarks/echo.grpc.pb.h"
#include "clients/load_generator.h"

namespace recsys {
namespace {

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return path;
  return absl::StrCat(srcdir, "/", workspace != nullptr ? workspace : "recsys", "/", path);
}

std::string Temp(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(EchoServerTest, AnswersTheAskedSizeAndStopsOnSigterm) {
  const std::string port_file = Temp("echo.port");
  const std::string log = Temp("echo_server.log");
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    const std::string binary = Runfile("benchmarks/echo_server");
    const std::string flag = "--port_file=" + port_file;
    execl(binary.c_str(), binary.c_str(), "--address=127.0.0.1:0", flag.c_str(), nullptr);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  for (int i = 0; i < 200 && ReadFile(port_file).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string port(absl::StripAsciiWhitespace(ReadFile(port_file)));
  ASSERT_FALSE(port.empty()) << ReadFile(log);
  const std::string address = "127.0.0.1:" + port;

  auto stub = bench::Echo::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  for (int size : {0, 1, 1100, 100000}) {
    grpc::ClientContext context;
    bench::EchoRequest request;
    request.set_payload(std::string(1600, 'p'));
    request.set_response_bytes(size);
    bench::EchoResponse response;
    const grpc::Status status = stub->Echo(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.payload().size(), static_cast<size_t>(size));
  }
  {
    grpc::ClientContext context;
    bench::EchoRequest request;
    request.set_response_bytes(-1);
    bench::EchoResponse response;
    EXPECT_EQ(stub->Echo(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }

  // The load generator's default echo request, closed loop, both transports.
  for (LoadTransport transport : {LoadTransport::kHttp2, LoadTransport::kGrpc}) {
    Workload workload;
    workload.method = CallMethod::kEcho;
    workload.requests = {EchoRequestMessage(1600, 1100)->SerializeAsString()};
    LoadOptions options;
    options.concurrency = 16;
    options.max_calls = 2000;
    options.duration = absl::InfiniteDuration();
    auto generator = LoadGenerator::Create(LoadTarget{address, 2, transport}, workload, options);
    ASSERT_TRUE(generator.ok()) << generator.status();
    const LoadReport report = (*generator)->Run();
    EXPECT_EQ(report.summary.ok, 2000) << FormatCallSummary(report.summary);
    EXPECT_EQ(report.max_in_flight, 16);
  }

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadFile(log);
  EXPECT_TRUE(absl::StrContains(ReadFile(log), "4005 calls answered")) << ReadFile(log);
}

}  // namespace
}  // namespace recsys
