// recsys_web in a real browser. Two tiny bundle versions are served by the
// real ranking_server and candidate_server (--max_loaded_versions=2),
// recsys_web runs against them over logs of a few users, and headless
// Chromium renders its pages (--dump-dom: the DOM after parsing, as a user
// would see it). The expectations come from the services, not from the
// page's code: the same request sent over gRPC gives the titles the user
// page must show, in order, and each pinned version's answer the titles of
// its side of the compare view.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/grpc/http_get.h"
#include "common/grpc/request_validation.h"
#include "common/logs/logs.h"
#include "common/logs/user_context.h"
#include "common/serving/testing/tiny_bundle.h"
#include "proto/recsys.grpc.pb.h"
#include "tests/test_util.h"

extern char** environ;

namespace recsys {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ChildProcess;
using testing::CountOccurrences;
using testing::FileTail;
using testing::ReadFileOrEmpty;
using testing::RunfilePath;
using testing::RunToCompletion;
using testing::StartedServer;
using testing::StartServer;
using testing::TestTempDir;
using testing::WaitForPortFile;

constexpr char kOldVersion[] = "20251201-000001";
constexpr char kNewVersion[] = "20251215-000002";
constexpr int kNumVideos = 20;
constexpr int kNumResults = 8;
constexpr int64_t kDayS = 86400;

// The catalogue of the tiny bundles, and three users who watched some of it
// in the week before the bundles' training window ended.
Logs TestLogs() {
  Logs logs;
  for (int i = 0; i < kNumVideos; ++i) {
    logs.videos.push_back({TinyVideoId(i), TinyVideoTitle(i), TinyChannelId(i),
                           i % 2 == 0 ? "music|live" : "gaming", "en",
                           kTinyTrainingWindowEndS - (i + 1) * 7 * kDayS, 240});
  }
  logs.users = {{"u1", "US", "mobile", "female", 31, true, "en"},
                {"u2", "DE", "tv", "male", 45, false, "de"},
                {"u3", "", "", "", 0, false, ""}};
  const int64_t t0 = kTinyTrainingWindowEndS - 7 * kDayS;
  logs.watches = {{"u1", TinyVideoId(3), t0, 200},         {"u1", TinyVideoId(5), t0 + 600, 150},
                  {"u1", TinyVideoId(8), t0 + kDayS, 230}, {"u2", TinyVideoId(1), t0 + 60, 30},
                  {"u2", TinyVideoId(12), t0 + 90, 240}};
  logs.searches = {{"u1", t0 + kDayS + 60, "tiny video"}};
  return logs;
}

// Where Chromium is: the first `chromium` on PATH (empty when none).
std::string FindChromium() {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path == nullptr ? "/usr/bin" : path, ':')) {
    const std::string candidate = absl::StrCat(dir, "/chromium");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return access("/usr/bin/chromium", X_OK) == 0 ? "/usr/bin/chromium" : "";
}

class RecsysWebBrowserTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string tmp = TestTempDir();
    const std::string bundles = tmp + "/bundles";
    for (const auto& [version, seed] : {std::pair{kOldVersion, 1u}, std::pair{kNewVersion, 2u}}) {
      TinyBundleOptions options;
      options.version = version;
      options.seed = seed;
      options.covisitation = true;
      absl::StatusOr<std::string> written = WriteTinyBundle(bundles, options);
      ASSERT_TRUE(written.ok()) << written.status();
    }
    logs_dir_ = new std::string(tmp + "/logs");
    ASSERT_TRUE(WriteLogs(*logs_dir_, TestLogs()).ok());

    ranking_ = new StartedServer(StartServer("ranking_service/ranking_server", "ranking",
                                             {"--bundles=" + bundles, "--max_loaded_versions=2"}));
    ASSERT_GT(ranking_->port, 0) << FileTail(ranking_->log);
    candidate_ = new StartedServer(StartServer(
        "candidate_service/candidate_server", "candidate",
        {"--bundles=" + bundles, "--max_loaded_versions=2",
         absl::StrCat("--ranking_address=127.0.0.1:", ranking_->port),
         "--ranking_deadline_ms=5000"}));
    ASSERT_GT(candidate_->port, 0) << FileTail(candidate_->log);

    web_log_ = new std::string(tmp + "/recsys_web.log");
    web_ = new ChildProcess({RunfilePath("web/recsys_web"), "--listen=127.0.0.1:0",
                             "--port_file=" + tmp + "/web.port", "--logs=" + *logs_dir_,
                             absl::StrCat("--candidate_address=127.0.0.1:", candidate_->port),
                             absl::StrCat("--num_results=", kNumResults)},
                            *web_log_);
    web_port_ = WaitForPortFile(tmp + "/web.port", 30);
    ASSERT_GT(web_port_, 0) << FileTail(*web_log_);
    stub_ = CandidateService::NewStub(grpc::CreateChannel(
                absl::StrCat("127.0.0.1:", candidate_->port), grpc::InsecureChannelCredentials()))
                .release();
  }

  static void TearDownTestSuite() {
    if (web_ != nullptr) EXPECT_EQ(web_->Stop(), 0) << FileTail(*web_log_);
    if (candidate_ != nullptr) EXPECT_EQ(candidate_->process->Stop(), 0);
    if (ranking_ != nullptr) EXPECT_EQ(ranking_->process->Stop(), 0);
    delete stub_;
    delete web_;
    delete candidate_;
    delete ranking_;
    delete web_log_;
    delete logs_dir_;
  }

  void SetUp() override {
    chromium_ = FindChromium();
    ASSERT_FALSE(chromium_.empty())
        << "chromium not found on PATH: run ./recsys test (it installs Debian's chromium), or "
           "apt-get install chromium";
    ASSERT_NE(stub_, nullptr) << "the suite's set-up failed";
  }

  // The request a client sends for `user`: the user's whole history as of a
  // second after their last event, as recsys_client builds it.
  static RecommendRequest RequestFor(const std::string& user, const std::string& version) {
    const Logs logs = TestLogs();
    UserHistories::Options limits;
    limits.max_watches = kMaxWatches;
    limits.max_searches = kMaxSearches;
    limits.max_impressions = kMaxImpressions;
    int64_t last_s = 0;
    for (const WatchRecord& w : logs.watches) {
      if (w.user_id == user) last_s = std::max(last_s, w.time_s);
    }
    for (const SearchRecord& s : logs.searches) {
      if (s.user_id == user) last_s = std::max(last_s, s.time_s);
    }
    RecommendRequest request;
    *request.mutable_context() = *UserHistories::Build(logs, limits).ContextAt(user, last_s + 1);
    request.set_num_results(kNumResults);
    request.set_explain(true);
    request.set_model_version(version);
    return request;
  }

  static RecommendResponse Recommend(const RecommendRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    RecommendResponse response;
    const grpc::Status status = stub_->Recommend(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message() << FileTail(candidate_->log);
    return response;
  }

  // Runs headless Chromium with `flags` on the page `path_and_query`;
  // returns its stdout (the DOM for --dump-dom).
  std::string Chromium(const std::string& path_and_query, const std::vector<std::string>& flags) {
    const std::string tmp = TestTempDir();
    const std::string out = tmp + "/chromium.out";
    const std::string err = tmp + "/chromium.err";
    std::string command = absl::StrCat("HOME=", tmp, " timeout 60 ", chromium_,
                                       " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage"
                                       " --no-first-run --disable-extensions --user-data-dir=",
                                       tmp, "/chromium-profile");
    for (const std::string& flag : flags) absl::StrAppend(&command, " '", flag, "'");
    absl::StrAppend(&command, " 'http://127.0.0.1:", web_port_, path_and_query, "' >", out,
                    " 2>", err);
    const int code = RunToCompletion({"/bin/sh", "-c", command}, tmp + "/chromium.sh.log");
    EXPECT_EQ(code, 0) << command << "\n" << FileTail(err);
    return ReadFileOrEmpty(out);
  }

  std::string DumpDom(const std::string& path_and_query) {
    return Chromium(path_and_query, {"--dump-dom"});
  }

  // Checks that `dom` holds exactly the cards of `response`, titles in its
  // order.
  static void ExpectCards(const std::string& dom, const RecommendResponse& response) {
    ASSERT_GT(response.videos_size(), 0);
    EXPECT_EQ(CountOccurrences(dom, "<div class=\"card\""), response.videos_size());
    size_t at = 0;
    for (const RankedVideo& v : response.videos()) {
      const std::string card = absl::StrCat("<div class=\"card\" data-video-id=\"", v.video_id(), "\">");
      const size_t card_at = dom.find(card, at);
      ASSERT_NE(card_at, std::string::npos) << card << " not after position " << at;
      ASSERT_FALSE(v.title().empty());
      const std::string title = absl::StrCat("<div class=\"title\">", v.title(), "</div>");
      const size_t title_at = dom.find(title, card_at);
      ASSERT_NE(title_at, std::string::npos) << title;
      EXPECT_EQ(title_at, dom.find("<div class=\"title\">", card_at)) << "the card's title is " << title;
      at = title_at;
    }
  }

  // Checks the explain tables: one per repeated field of the explanation
  // (as the proto defines it), and a row for every video of the answer.
  static void ExpectExplainTables(const std::string& dom, const RecommendResponse& response) {
    for (const char* field : {"explanation", "candidates", "removed", "user_tower.watches_kept",
                              "user_tower.dense", "ranking_request.last_watched"}) {
      EXPECT_THAT(dom, HasSubstr(absl::StrCat("<table class=\"explain\" data-field=\"", field, "\">")))
          << field;
    }
    ASSERT_TRUE(response.has_explanation()) << "the candidate server did not explain";
    ASSERT_EQ(response.explanation().candidates_size(), response.videos_size());
    // The candidates table runs to the next top-level explain table.
    const size_t table = dom.find("<table class=\"explain\" data-field=\"candidates\">");
    ASSERT_NE(table, std::string::npos);
    const size_t end = dom.find("<table class=\"explain\" data-field=", table + 1);
    const std::string candidates = dom.substr(table, end - table);
    for (const CandidateExplanation& c : response.explanation().candidates()) {
      EXPECT_THAT(candidates, HasSubstr(absl::StrCat("<tr><td>", c.video_id(), "</td>")));
    }
  }

  static std::string* logs_dir_;
  static std::string* web_log_;
  static StartedServer* ranking_;
  static StartedServer* candidate_;
  static ChildProcess* web_;
  static int web_port_;
  static CandidateService::Stub* stub_;
  std::string chromium_;
};

std::string* RecsysWebBrowserTest::logs_dir_ = nullptr;
std::string* RecsysWebBrowserTest::web_log_ = nullptr;
StartedServer* RecsysWebBrowserTest::ranking_ = nullptr;
StartedServer* RecsysWebBrowserTest::candidate_ = nullptr;
ChildProcess* RecsysWebBrowserTest::web_ = nullptr;
int RecsysWebBrowserTest::web_port_ = 0;
CandidateService::Stub* RecsysWebBrowserTest::stub_ = nullptr;

TEST_F(RecsysWebBrowserTest, IndexListsTheUsers) {
  const std::string dom = DumpDom("/");
  for (const char* user : {"u1", "u2", "u3"}) {
    EXPECT_THAT(dom, HasSubstr(absl::StrCat("<a href=\"/user?id=", user, "\">", user, "</a>")));
  }
}

TEST_F(RecsysWebBrowserTest, UserPageShowsTheServicesAnswerHistoryAndExplanation) {
  const RecommendResponse expected = Recommend(RequestFor("u1", ""));
  EXPECT_EQ(expected.model_version(), kNewVersion);
  const std::string dom = DumpDom("/user?id=u1");
  ExpectCards(dom, expected);
  EXPECT_THAT(dom, HasSubstr(absl::StrCat("data-version=\"", kNewVersion, "\"")));
  ExpectExplainTables(dom, expected);
  // The history: u1's watches with the catalogue's titles, newest first.
  const size_t history = dom.find("<table class=\"history\"");
  ASSERT_NE(history, std::string::npos);
  const size_t v8 = dom.find(absl::StrCat("<td>", TinyVideoTitle(8), "</td>"), history);
  const size_t v3 = dom.find(absl::StrCat("<td>", TinyVideoTitle(3), "</td>"), history);
  ASSERT_NE(v8, std::string::npos);
  ASSERT_NE(v3, std::string::npos);
  EXPECT_LT(v8, v3);
  EXPECT_THAT(dom, HasSubstr("“tiny video”"));

  // A screenshot, for a person to look at.
  const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  const std::string png = absl::StrCat(outputs != nullptr ? outputs : TestTempDir(), "/recsys_web.png");
  Chromium("/user?id=u1", {"--screenshot=" + png, "--window-size=1280,900", "--hide-scrollbars"});
  const std::string bytes = ReadFileOrEmpty(png);
  EXPECT_GT(bytes.size(), 10000u);
  EXPECT_EQ(bytes.substr(0, 8), "\x89PNG\r\n\x1a\n");
}

TEST_F(RecsysWebBrowserTest, CompareShowsEachVersionsOwnAnswer) {
  const RecommendResponse old_answer = Recommend(RequestFor("u1", kOldVersion));
  const RecommendResponse new_answer = Recommend(RequestFor("u1", kNewVersion));
  ASSERT_EQ(old_answer.model_version(), kOldVersion);
  ASSERT_EQ(new_answer.model_version(), kNewVersion);
  const std::string dom =
      DumpDom(absl::StrCat("/compare?id=u1&a=", kOldVersion, "&b=", kNewVersion));
  const size_t a = dom.find(absl::StrCat("data-side=\"A\" data-version=\"", kOldVersion, "\""));
  const size_t b = dom.find(absl::StrCat("data-side=\"B\" data-version=\"", kNewVersion, "\""));
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  ASSERT_LT(a, b);
  const size_t end = dom.find("</section>", b);
  ExpectCards(dom.substr(a, b - a), old_answer);
  ExpectCards(dom.substr(b, end - b), new_answer);
}

TEST_F(RecsysWebBrowserTest, BadInputGetsAnErrorPage) {
  const std::string dom = DumpDom("/user?id=nobody");
  EXPECT_THAT(dom, HasSubstr("<h1>Error 404</h1>"));
  EXPECT_THAT(dom, HasSubstr("user 'nobody' is not in the logs"));
  // The statuses, without a browser.
  EXPECT_THAT(HttpGet(web_port_, "/user?id=nobody").status().message(), HasSubstr(" 404 "));
  EXPECT_THAT(HttpGet(web_port_, absl::StrCat("/compare?id=u1&a=19990101-000000&b=", kNewVersion))
                  .status()
                  .message(),
              HasSubstr(" 404 "));
  EXPECT_THAT(HttpGet(web_port_, "/compare?id=u1&a=x").status().message(), HasSubstr(" 400 "));
  EXPECT_TRUE(HttpGet(web_port_, "/?q=u2").ok());
  EXPECT_TRUE(web_->running()) << FileTail(*web_log_);

  // With the candidate server down, the page says so: 503.
  const std::string tmp = TestTempDir();
  ChildProcess down({RunfilePath("web/recsys_web"), "--listen=127.0.0.1:0",
                     "--port_file=" + tmp + "/down.port", "--logs=" + *logs_dir_,
                     "--candidate_address=127.0.0.1:1", "--deadline_ms=2000"},
                    tmp + "/down.log");
  const int port = WaitForPortFile(tmp + "/down.port", 30);
  ASSERT_GT(port, 0) << FileTail(tmp + "/down.log");
  EXPECT_THAT(HttpGet(port, "/user?id=u1").status().message(), HasSubstr(" 503 "));
  EXPECT_EQ(down.Stop(), 0) << FileTail(tmp + "/down.log");
}

}  // namespace
}  // namespace recsys
