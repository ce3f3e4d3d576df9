// recsys_load as a user runs it: the binary against benchmarks/echo_server
// (both real processes, port 0 and a port file), with flags, a ghz config,
// a data file, and bad ones.

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

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

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

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = Temp(name);
  std::ofstream(path) << text;
  return path;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

struct Result {
  int exit_code;
  std::string output;
};

Result RecsysLoad(std::vector<std::string> args) {
  static int runs = 0;
  const std::string log = Temp(absl::StrCat("recsys_load_", runs++, ".log"));
  args.insert(args.begin(), Runfile("clients/recsys_load"));
  const int code = Wait(Spawn(args, log));
  return {code, ReadFile(log)};
}

class RecsysLoadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string port_file = Temp("echo.port");
    std::remove(port_file.c_str());
    server_ = Spawn({Runfile("benchmarks/echo_server"), "--port_file=" + port_file},
                    Temp("echo_server.log"));
    for (int i = 0; i < 200 && ReadFile(port_file).empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    address_ = "127.0.0.1:" + std::string(absl::StripAsciiWhitespace(ReadFile(port_file)));
  }
  static void TearDownTestSuite() {
    kill(server_, SIGTERM);
    Wait(server_);
  }

  static pid_t server_;
  static std::string address_;
};

pid_t RecsysLoadTest::server_ = -1;
std::string RecsysLoadTest::address_;

TEST_F(RecsysLoadTest, EchoClosedLoopWritesTheGhzReport) {
  ASSERT_NE(address_, "127.0.0.1:") << ReadFile(Temp("echo_server.log"));
  for (const char* transport : {"h2", "grpc"}) {
    const std::string json = Temp(absl::StrCat("echo_", transport, ".json"));
    const Result r = RecsysLoad({"--address=" + address_, "--call=recsys.bench.Echo.Echo",
                                 absl::StrCat("--transport=", transport), "--concurrency=8",
                                 "--connections=2", "--total=500", "--quiet",
                                 "--output_json=" + json});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(absl::StrContains(r.output, "Echo on " + address_ + ": closed loop, 8 in flight"))
        << r.output;
    EXPECT_TRUE(absl::StrContains(r.output, "calls: 500, ok: 500, failed: 0")) << r.output;
    EXPECT_TRUE(absl::StrContains(r.output, "qps: ")) << r.output;
    const std::string report = ReadFile(json);
    EXPECT_TRUE(absl::StrContains(report, "\"count\": 500")) << report;
    EXPECT_TRUE(absl::StrContains(report, "\"OK\": 500")) << report;
    EXPECT_TRUE(absl::StrContains(report, "\"call\": \"recsys.bench.Echo.Echo\"")) << report;
  }
}

TEST_F(RecsysLoadTest, AGhzConfigWithFlagsOverridingIt) {
  const std::string json = Temp("config.json");
  const std::string config = WriteFile(
      "echo_config.json",
      absl::StrCat(R"({"name": "echo", "call": "recsys.bench.Echo.Echo", "host": ")", address_,
                   R"(", "insecure": true, "concurrency": 4, "total": 300, "timeout": "5s",
                   "format": "json", "output": ")",
                   json, R"(", "data": [{"payload": "aGVsbG8=", "responseBytes": 10},
                                      {"responseBytes": 20}]})"));
  Result r = RecsysLoad({"--config=" + config, "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string report = ReadFile(json);
  EXPECT_TRUE(absl::StrContains(report, "\"count\": 300")) << report;
  EXPECT_TRUE(absl::StrContains(report, "\"concurrency\": 4")) << report;
  EXPECT_TRUE(absl::StrContains(report, "\"name\": \"echo\"")) << report;
  EXPECT_TRUE(absl::StrContains(report, "\"distinctRequests\": 2")) << report;
  // Flags win.
  r = RecsysLoad({"--config=" + config, "--quiet", "--total=40", "--concurrency=2"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  report = ReadFile(json);
  EXPECT_TRUE(absl::StrContains(report, "\"count\": 40")) << report;
  EXPECT_TRUE(absl::StrContains(report, "\"concurrency\": 2")) << report;
}

TEST_F(RecsysLoadTest, ADataFile) {
  const std::string data =
      WriteFile("echo_data.json", R"([{"responseBytes": 1}, {"responseBytes": 2}, {}])");
  const Result r = RecsysLoad({"--address=" + address_, "--call=/recsys.bench.Echo/Echo",
                               "--data_file=" + data, "--total=30", "--concurrency=3", "--quiet"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "3 distinct requests")) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "calls: 30, ok: 30")) << r.output;
}

TEST_F(RecsysLoadTest, BadConfigsAndDataAreExitStatus2WithTheFileAndTheField) {
  const std::string config = WriteFile(
      "bad_config.json", R"({"call": "recsys.bench.Echo.Echo", "concurency": 4})");
  Result r = RecsysLoad({"--config=" + config});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, config + ": field \"concurency\": unknown field"))
      << r.output;

  const std::string data = WriteFile(
      "bad_data.json", R"([{"context": {}}, {"context": {"userID": "x"}}])");
  r = RecsysLoad({"--address=" + address_, "--data_file=" + data});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, data + ": element 1: not a recsys.RecommendRequest"))
      << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "userID")) << r.output;

  // Data that is right for another call.
  const std::string config_data = WriteFile(
      "data_for_echo.json",
      R"({"call": "recsys.RankingService.Rank", "data": {"responseBytes": 5}})");
  r = RecsysLoad({"--config=" + config_data});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, config_data + ": field \"data\": not a recsys.RankRequest"))
      << r.output;

  r = RecsysLoad({"--call=recsys.Nope.Nope"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "unknown call")) << r.output;
  r = RecsysLoad({"--config=" + Temp("missing.json")});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(absl::StrContains(r.output, "missing.json")) << r.output;
}

TEST_F(RecsysLoadTest, WritesTheEchoRequestBodyForH2load) {
  const std::string body = Temp("echo.bin");
  const Result r = RecsysLoad({"--call=recsys.bench.Echo.Echo", "--payload_bytes=100",
                               "--response_bytes=7", "--write_request_body=" + body});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string bytes = ReadFile(body);
  // Flag byte, 4 bytes of length, then tag+length+100 bytes and tag+varint.
  ASSERT_EQ(bytes.size(), 5u + 2 + 100 + 2);
  EXPECT_EQ(bytes[0], '\0');
  EXPECT_EQ(bytes.substr(1, 4), std::string("\0\0\0\x68", 4));
}

TEST_F(RecsysLoadTest, HelpListsTheFlagsAndExamples) {
  const Result r = RecsysLoad({"--help"});
  for (const char* text : {"--concurrency", "--connections", "--total", "--duration_s",
                           "--config", "--data_file", "--output_json", "--call",
                           "--payload_bytes", "--response_bytes", "--transport", "--rps",
                           "recsys.bench.Echo.Echo", "loadtest/ghz/rank.json"}) {
    EXPECT_TRUE(absl::StrContains(r.output, text)) << text;
  }
}

}  // namespace
