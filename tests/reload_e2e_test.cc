// Hot reload under load, end to end with the real binaries: both servers
// watch a bundles root (--poll_interval_s=1) while the load generator sends a
// steady 200 Recommend calls a second over a real channel; the test writes
// three new bundle versions and one corrupt one into the root meanwhile.
// Every call must succeed, undegraded; answers must move to each new version
// (candidate and ranking model alike) within the poll interval plus the load
// time; the corrupt version must never serve. The last version is followed by
// a SIGHUP to the candidate server, which then switches ahead of the ranking
// server: its answers must say `version_mismatch` until both stages agree,
// and never outside a switch. Then both servers restart next to a corrupt
// newest version and must serve the newest valid one; a root of corrupt
// versions only is a start-up error.
//
// Prints what it measured (rate, latency quantiles, switch delays) to stdout.

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/http_get.h"
#include "common/logs/logs.h"
#include "proto/recsys.grpc.pb.h"
#include "tests/test_util.h"
#include "clients/load_generator.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;
using testing::ChildProcess;
using testing::CopyDirectory;
using testing::CountOccurrences;
using testing::FileTail;
using testing::ReadFileOrEmpty;
using testing::RunfilePath;
using testing::RunToCompletion;
using testing::TestTempDir;
using testing::WaitForPortFile;

constexpr double kPollIntervalS = 1;
constexpr double kRequestsPerSecond = 200;
constexpr absl::Duration kLoadDuration = absl::Seconds(25);
// Allowed for loading a version when the server's log does not say.
constexpr double kDefaultLoadAllowanceS = 5;
// Scheduling on a busy 2-core machine, the watcher's own listing, calls in
// flight: added to poll interval + load time.
constexpr double kSwitchSlackS = 2;
constexpr double kServerStartTimeoutS = 60;
// Bytes left in a corrupt version's weights.bin.
constexpr uintmax_t kTruncatedWeightsBytes = 100;

// The two servers on one bundles root.
struct Servers {
  std::unique_ptr<ChildProcess> ranking;
  std::unique_ptr<ChildProcess> candidate;
  std::string ranking_log;
  std::string candidate_log;
  std::shared_ptr<grpc::Channel> candidate_channel;
  // Their Prometheus /metrics ports.
  int ranking_metrics_port = 0;
  int candidate_metrics_port = 0;

  void Stop() {
    if (candidate != nullptr) {
      EXPECT_EQ(candidate->Stop(), 0) << FileTail(candidate_log);
    }
    if (ranking != nullptr) {
      EXPECT_EQ(ranking->Stop(), 0) << FileTail(ranking_log);
    }
  }
};

// Waits for health SERVING (a model is loaded) on `channel`.
bool WaitForServing(const std::shared_ptr<grpc::Channel>& channel, double timeout_s) {
  const absl::Time deadline = absl::Now() + absl::Seconds(timeout_s);
  while (absl::Now() < deadline) {
    absl::StatusOr<GrpcHealthStatus> health =
        CheckGrpcHealth(channel, "", absl::Seconds(2));
    if (health.ok() && *health == GrpcHealthStatus::kServing) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

class ReloadEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string tmp = TestTempDir();
    world_dir_ = new std::string(tmp + "/world");
    const std::string trained = tmp + "/trained";
    const std::string log = tmp + "/setup.log";
    // The tiny world: the trainer trains both models on it in seconds.
    ASSERT_EQ(RunToCompletion({RunfilePath("simulator/world_gen"), "--out=" + *world_dir_,
                               "--preset=tiny", "--seed=7"},
                              log),
              0)
        << FileTail(log);
    ASSERT_EQ(RunToCompletion({RunfilePath("trainer/trainer"), "--logs=" + *world_dir_,
                               "--bundles=" + trained, "--progress=false", "--seed=7"},
                              log),
              0)
        << FileTail(log);
    std::vector<std::string> versions;
    for (const auto& entry : std::filesystem::directory_iterator(trained)) {
      const std::string name = entry.path().filename().string();
      if (entry.is_directory() && name[0] != '.') versions.push_back(name);
    }
    ASSERT_EQ(versions.size(), 1u);
    trained_version_dir_ = new std::string(trained + "/" + versions[0]);
    trained_version_ = new std::string(versions[0]);
  }

  static void TearDownTestSuite() {
    delete world_dir_;
    delete trained_version_dir_;
    delete trained_version_;
  }

  void SetUp() override {
    ASSERT_NE(trained_version_, nullptr) << "the suite set-up failed";
  }

  // Copies the trained version into `root` as `<root>/.tmp-<name>`, makes it
  // corrupt (weights.bin truncated) when asked, then renames it to
  // `<root>/<name>`, as a trainer publishes a version. Returns the time of
  // the rename.
  static absl::Time Publish(const std::string& root, const std::string& name,
                            bool corrupt) {
    std::filesystem::create_directories(root);
    const std::string tmp = root + "/.tmp-" + name;
    const std::string error = CopyDirectory(*trained_version_dir_, tmp);
    EXPECT_EQ(error, "");
    if (corrupt) {
      std::filesystem::resize_file(tmp + "/weights.bin", kTruncatedWeightsBytes);
    }
    const int rc = std::rename(tmp.c_str(), (root + "/" + name).c_str());
    const absl::Time renamed = absl::Now();
    EXPECT_EQ(rc, 0) << "rename " << tmp;
    return renamed;
  }

  // Starts ranking, then candidate, on `root`; logs are `<tag>_*.log`.
  static void StartServers(const std::string& root, const std::string& tag,
                           Servers* servers) {
    const std::string tmp = TestTempDir();
    const std::string poll = absl::StrCat("--poll_interval_s=", kPollIntervalS);
    servers->ranking_log = tmp + "/" + tag + "_ranking.log";
    servers->candidate_log = tmp + "/" + tag + "_candidate.log";
    const std::string ranking_port_file = tmp + "/" + tag + "_ranking.port";
    const std::string candidate_port_file = tmp + "/" + tag + "_candidate.port";
    servers->ranking = std::make_unique<ChildProcess>(
        std::vector<std::string>{RunfilePath("ranking_service/ranking_server"),
                                 "--bundles=" + root, "--address=127.0.0.1:0",
                                 "--port_file=" + ranking_port_file, poll,
                                 "--metrics_address=127.0.0.1:0",
                                 "--metrics_port_file=" + ranking_port_file + ".metrics"},
        servers->ranking_log);
    const int ranking_port = WaitForPortFile(ranking_port_file, kServerStartTimeoutS);
    ASSERT_GT(ranking_port, 0) << FileTail(servers->ranking_log);
    servers->candidate = std::make_unique<ChildProcess>(
        std::vector<std::string>{RunfilePath("candidate_service/candidate_server"),
                                 "--bundles=" + root, "--address=127.0.0.1:0",
                                 "--port_file=" + candidate_port_file, poll,
                                 absl::StrCat("--ranking_address=127.0.0.1:", ranking_port),
                                 "--metrics_address=127.0.0.1:0",
                                 "--metrics_port_file=" + candidate_port_file + ".metrics"},
        servers->candidate_log);
    const int candidate_port = WaitForPortFile(candidate_port_file, kServerStartTimeoutS);
    ASSERT_GT(candidate_port, 0) << FileTail(servers->candidate_log);
    servers->ranking_metrics_port = WaitForPortFile(ranking_port_file + ".metrics", 5);
    servers->candidate_metrics_port = WaitForPortFile(candidate_port_file + ".metrics", 5);
    auto ranking_channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", ranking_port),
                                               grpc::InsecureChannelCredentials());
    servers->candidate_channel = grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", candidate_port), grpc::InsecureChannelCredentials());
    ASSERT_TRUE(WaitForServing(ranking_channel, kServerStartTimeoutS))
        << FileTail(servers->ranking_log);
    ASSERT_TRUE(WaitForServing(servers->candidate_channel, kServerStartTimeoutS))
        << FileTail(servers->candidate_log);
  }

  static std::vector<RecommendRequest> Requests() {
    absl::StatusOr<Logs> logs = ReadLogs(*world_dir_);
    EXPECT_TRUE(logs.ok()) << logs.status();
    if (!logs.ok()) return {};
    return RecommendRequestsFromLogs(*logs, /*max_requests=*/200, /*num_results=*/20);
  }

  static std::string* world_dir_;
  static std::string* trained_version_dir_;
  static std::string* trained_version_;
};

std::string* ReloadEndToEndTest::world_dir_ = nullptr;
std::string* ReloadEndToEndTest::trained_version_dir_ = nullptr;
std::string* ReloadEndToEndTest::trained_version_ = nullptr;

// The load time the server logged for `version` ("loaded bundle version
// <version> in <seconds> s"), if it did.
std::optional<double> LoggedLoadSeconds(const std::string& log, const std::string& version) {
  const std::string marker = "loaded bundle version " + version + " in ";
  const size_t at = log.find(marker);
  if (at == std::string::npos) return std::nullopt;
  const size_t begin = at + marker.size();
  const size_t end = log.find(' ', begin);
  double seconds = 0;
  if (end == std::string::npos ||
      !absl::SimpleAtod(log.substr(begin, end - begin), &seconds)) {
    return std::nullopt;
  }
  return seconds;
}

struct PublishedVersion {
  std::string name;
  bool corrupt = false;
  // SIGHUP the candidate server right after the rename: it rescans at once,
  // ahead of the ranking server's next poll, so that answers are
  // mismatched (and say so) until the ranking server has the version too.
  bool sighup_candidate = false;
  // Since the start of the load.
  absl::Duration publish_at;
  absl::Time renamed;
};

// One Recommend call; the answer, or a failed expectation.
std::optional<RecommendResponse> RecommendOnce(const std::shared_ptr<grpc::Channel>& channel,
                                               const RecommendRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  RecommendResponse response;
  grpc::Status status =
      CandidateService::NewStub(channel)->Recommend(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  if (!status.ok()) return std::nullopt;
  return response;
}

TEST_F(ReloadEndToEndTest, NewVersionsServeUnderLoadAndCorruptOnesNever) {
  const std::string root = TestTempDir() + "/reload_bundles";
  Publish(root, *trained_version_, /*corrupt=*/false);
  Servers servers;
  ASSERT_NO_FATAL_FAILURE(StartServers(root, "reload", &servers));

  // Versions sort as strings: every name here sorts after the trainer's
  // (the current UTC time). The corrupt one sorts between the first and the
  // second new one, and is the newest while it is alone.
  std::vector<PublishedVersion> published = {
      {"29990101-000001", false, false, absl::Seconds(3), {}},
      {"29990101-000002", true, false, absl::Seconds(8), {}},
      {"29990101-000003", false, false, absl::Seconds(11), {}},
      {"29990101-000004", false, true, absl::Seconds(17), {}},
  };
  const std::string corrupt_name = published[1].name;

  LoadOptions options;
  options.requests_per_second = kRequestsPerSecond;
  options.duration = kLoadDuration;
  options.deadline = absl::Seconds(5);
  options.on_interval = [](const IntervalStats& interval) {
    std::printf("%s\n", FormatInterval(interval).c_str());
    std::fflush(stdout);
  };
  std::vector<RecommendRequest> requests = Requests();
  ASSERT_GE(requests.size(), 100u);
  auto generator =
      LoadGenerator::Create(servers.candidate_channel, std::move(requests), options);
  ASSERT_TRUE(generator.ok()) << generator.status();

  LoadReport report;
  const absl::Time load_start = absl::Now();
  std::thread load([&] { report = (*generator)->Run(); });
  for (PublishedVersion& v : published) {
    absl::SleepFor(load_start + v.publish_at - absl::Now());
    v.renamed = Publish(root, v.name, v.corrupt);
    if (v.sighup_candidate) {
      EXPECT_TRUE(servers.candidate->Signal(SIGHUP));
    }
    std::printf("published %s%s%s at %.2fs\n", v.name.c_str(),
                v.corrupt ? " (corrupt: weights.bin truncated)" : "",
                v.sighup_candidate ? " (then SIGHUP to the candidate server)" : "",
                absl::ToDoubleSeconds(v.renamed - load_start));
  }
  load.join();

  const CallSummary& s = report.summary;
  std::printf("\n%s", FormatCallSummary(s).c_str());
  std::printf("load: %.1f calls/s over %.2fs (target %.0f/s), p50 %.2fms, p99 %.2fms, "
              "max %.2fms\n",
              report.achieved_rps, absl::ToDoubleSeconds(report.send_window),
              kRequestsPerSecond, absl::ToDoubleMilliseconds(s.latency.p50),
              absl::ToDoubleMilliseconds(s.latency.p99),
              absl::ToDoubleMilliseconds(s.latency.max));

  // A steady load, and every call answered, ranked.
  EXPECT_GE(s.calls, static_cast<int64_t>(kRequestsPerSecond * 22));
  EXPECT_GE(report.achieved_rps, 0.99 * kRequestsPerSecond);
  EXPECT_GE(report.send_window, absl::Seconds(22));
  EXPECT_EQ(s.failed(), 0) << FormatCallSummary(s);
  for (const CallRecord& c : report.calls) {
    if (!c.ok()) {
      ADD_FAILURE() << "first failed call: " << c.index << " sent at "
                    << absl::FormatDuration(c.sent) << ": code " << c.code << ": "
                    << c.error_message;
      break;
    }
  }
  EXPECT_EQ(s.degraded, 0) << FormatCallSummary(s);

  // The corrupt version never served, and each server said why once.
  EXPECT_EQ(s.model_versions.count(corrupt_name), 0u);
  EXPECT_EQ(s.ranking_model_versions.count(corrupt_name), 0u);
  const std::string rejected = "rejected bundle version " + corrupt_name;
  const std::string ranking_log = ReadFileOrEmpty(servers.ranking_log);
  const std::string candidate_log = ReadFileOrEmpty(servers.candidate_log);
  EXPECT_EQ(CountOccurrences(ranking_log, rejected), 1) << FileTail(servers.ranking_log);
  EXPECT_EQ(CountOccurrences(candidate_log, rejected), 1)
      << FileTail(servers.candidate_log);

  // Each valid new version serves, both stages, within the poll interval
  // plus its load time.
  struct Switch {
    std::string name;
    absl::Time renamed;
    absl::Time settled;  // Both stages answer with it from here on.
  };
  std::vector<Switch> switches;
  for (const PublishedVersion& v : published) {
    if (v.corrupt) continue;
    const std::optional<double> candidate_load = LoggedLoadSeconds(candidate_log, v.name);
    const std::optional<double> ranking_load = LoggedLoadSeconds(ranking_log, v.name);
    const std::optional<absl::Duration> first_candidate =
        report.FirstAnswerWithModelVersion(v.name);
    const std::optional<absl::Duration> first_ranking =
        report.FirstAnswerWithRankingVersion(v.name);
    ASSERT_TRUE(first_candidate.has_value()) << v.name << " never served";
    ASSERT_TRUE(first_ranking.has_value()) << v.name << " never ranked";
    const double candidate_delay_s =
        absl::ToDoubleSeconds(report.start + *first_candidate - v.renamed);
    const double ranking_delay_s =
        absl::ToDoubleSeconds(report.start + *first_ranking - v.renamed);
    const double candidate_bound_s =
        kPollIntervalS + candidate_load.value_or(kDefaultLoadAllowanceS) + kSwitchSlackS;
    const double ranking_bound_s =
        kPollIntervalS + ranking_load.value_or(kDefaultLoadAllowanceS) + kSwitchSlackS;
    std::printf(
        "switch to %s%s: first answer %.3fs after the rename (load %s s, bound %.1fs), "
        "first ranked by it %.3fs after (load %s s, bound %.1fs)\n",
        v.name.c_str(), v.sighup_candidate ? " (SIGHUP)" : "", candidate_delay_s,
        candidate_load ? absl::StrFormat("%.2f", *candidate_load).c_str() : "?",
        candidate_bound_s, ranking_delay_s,
        ranking_load ? absl::StrFormat("%.2f", *ranking_load).c_str() : "?",
        ranking_bound_s);
    EXPECT_GE(candidate_delay_s, 0) << v.name;
    EXPECT_LE(candidate_delay_s, candidate_bound_s) << v.name;
    EXPECT_LE(ranking_delay_s, ranking_bound_s) << v.name;
    // Answers to calls sent before the last answer of the old version may
    // still be in flight; a second covers them.
    switches.push_back(
        {v.name, v.renamed,
         report.start + std::max(*first_candidate, *first_ranking) + absl::Seconds(1)});
  }

  // Between a rename and its settling, the stages may disagree (mismatch);
  // outside, never. After settling, no answer from an older version.
  int64_t mismatches_in_switches = 0, mismatches_outside = 0, older_after_switch = 0;
  int64_t misreported_mismatches = 0;
  for (const CallRecord& c : report.calls) {
    if (c.ok() && !c.degraded &&
        c.version_mismatch != (c.model_version != c.ranking_model_version)) {
      ++misreported_mismatches;
    }
    const absl::Time sent = report.start + c.sent;
    bool in_switch = false;
    for (const Switch& w : switches) {
      if (sent >= w.renamed && sent <= w.settled) in_switch = true;
      if (sent > w.settled &&
          (c.model_version < w.name || c.ranking_model_version < w.name)) {
        ++older_after_switch;
      }
    }
    if (!c.version_mismatch) continue;
    ++(in_switch ? mismatches_in_switches : mismatches_outside);
  }
  std::printf("version mismatches: %lld during switches, %lld outside\n",
              static_cast<long long>(mismatches_in_switches),
              static_cast<long long>(mismatches_outside));
  EXPECT_EQ(mismatches_outside, 0);
  // `version_mismatch` says whether the two versions differ.
  EXPECT_EQ(misreported_mismatches, 0);
  EXPECT_EQ(older_after_switch, 0);
  const std::string newest = published.back().name;
  EXPECT_EQ(report.calls.back().model_version, newest);
  EXPECT_EQ(report.calls.back().ranking_model_version, newest);

  // The metrics pages tell the same story: every valid version accepted
  // (the first at start), the corrupt one rejected once, the newest loaded.
  int64_t valid_versions = 1;
  for (const PublishedVersion& v : published) valid_versions += v.corrupt ? 0 : 1;
  for (const auto& [server, port] :
       {std::pair<std::string, int>{"ranking_server", servers.ranking_metrics_port},
        std::pair<std::string, int>{"candidate_server", servers.candidate_metrics_port}}) {
    absl::StatusOr<std::string> page = HttpGet(port, "/metrics");
    ASSERT_TRUE(page.ok()) << server << ": " << page.status();
    const std::string labels = "{server=\"" + server + "\",";
    EXPECT_THAT(*page, ::testing::HasSubstr(absl::StrCat(
        "recsys_model_loads_total", labels, "result=\"accepted\"} ", valid_versions, "\n")));
    EXPECT_THAT(*page, ::testing::HasSubstr(
        absl::StrCat("recsys_model_loads_total", labels, "result=\"rejected\"} 1\n")));
    EXPECT_THAT(*page, ::testing::HasSubstr(absl::StrCat(
        "recsys_model_version_loaded", labels, "version=\"", newest, "\"} 1\n")));
    EXPECT_THAT(*page, ::testing::Not(::testing::HasSubstr(
        absl::StrCat("version=\"", corrupt_name, "\""))));
  }

  // Restart next to a corrupt newest version: the newest valid one serves.
  servers.Stop();
  const std::string corrupt_newest = "29990101-000009";
  Publish(root, corrupt_newest, /*corrupt=*/true);
  Servers restarted;
  ASSERT_NO_FATAL_FAILURE(StartServers(root, "restart", &restarted));
  std::optional<RecommendResponse> answer =
      RecommendOnce(restarted.candidate_channel, Requests().front());
  ASSERT_TRUE(answer.has_value());
  std::printf("after a restart next to corrupt %s: model_version %s, "
              "ranking_model_version %s\n",
              corrupt_newest.c_str(), answer->model_version().c_str(),
              answer->ranking_model_version().c_str());
  EXPECT_EQ(answer->model_version(), newest);
  EXPECT_EQ(answer->ranking_model_version(), newest);
  EXPECT_FALSE(answer->degraded());
  EXPECT_FALSE(answer->version_mismatch());
  for (const std::string& log : {restarted.ranking_log, restarted.candidate_log}) {
    EXPECT_EQ(CountOccurrences(ReadFileOrEmpty(log),
                               "rejected bundle version " + corrupt_newest),
              1)
        << FileTail(log);
  }
  restarted.Stop();
}

TEST_F(ReloadEndToEndTest, OnlyCorruptVersionsIsAStartError) {
  const std::string root = TestTempDir() + "/corrupt_bundles";
  Publish(root, "29990101-000001", /*corrupt=*/true);
  Publish(root, "29990101-000002", /*corrupt=*/true);
  for (const bool candidate : {false, true}) {
    const std::string binary = candidate ? "candidate_service/candidate_server"
                                         : "ranking_service/ranking_server";
    const std::string log =
        TestTempDir() + "/corrupt_" + std::filesystem::path(binary).filename().string() +
        ".log";
    std::vector<std::string> argv = {RunfilePath(binary), "--bundles=" + root,
                                     "--address=127.0.0.1:0", "--poll_interval_s=1"};
    // Nothing listens there: the server must exit before it matters.
    if (candidate) argv.push_back("--ranking_address=127.0.0.1:1");
    ChildProcess server(argv, log);
    int exit_code = 0;
    ASSERT_TRUE(server.WaitForExit(kServerStartTimeoutS, &exit_code))
        << binary << " still runs with no valid version:\n"
        << FileTail(log);
    std::printf("%s with only corrupt versions: exit %d, last line: %s", binary.c_str(),
                exit_code, FileTail(log, 400).c_str());
    EXPECT_NE(exit_code, 0);
    const std::string output = ReadFileOrEmpty(log);
    EXPECT_THAT(output, HasSubstr("29990101-000001"));
    EXPECT_THAT(output, HasSubstr("29990101-000002"));
    // The reason: the weights file is shorter than its tensors.
    EXPECT_THAT(output, HasSubstr("weights.bin"));
    EXPECT_THAT(output, HasSubstr("truncated"));
  }
}

}  // namespace
}  // namespace recsys
