// The handlers of recsys_web against a fake RecommendationSource, and the
// HTTP server around them on a real local port.

#include "web/web_app.h"

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "absl/strings/str_cat.h"
#include "web/web_server.h"

namespace recsys::web {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Logs SmallLogs() {
  Logs logs;
  logs.videos = {{"v1", "Jazz <live> & more", "c1", "music|live", "en", 0, 60},
                 {"v2", "Pasta quick", "c2", "cooking", "en", 0, 120},
                 {"v3", "Guitar lesson", "c1", "music", "en", 0, 300}};
  logs.users = {{"alice", "US", "mobile", "female", 30, true, "en"},
                {"bob", "DE", "tv", "", 0, false, "de"}};
  logs.watches = {{"alice", "v1", 100, 50}, {"bob", "v2", 150, 10}};
  return logs;
}

// Answers every request with v2 then v3 (v3 only for version "new"),
// remembers the requests, or fails with `error` when set.
class FakeSource : public RecommendationSource {
 public:
  absl::StatusOr<RecommendResponse> Recommend(const RecommendRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    if (!error_.ok()) return error_;
    RecommendResponse response;
    response.set_model_version(request.model_version().empty() ? "newest" : request.model_version());
    response.set_ranking_model_version(response.model_version());
    RankedVideo* v = response.add_videos();
    v->set_video_id("v2");
    v->set_title("Pasta quick");
    v->set_channel_id("c2");
    v->set_predicted_watch_seconds(95.4f);
    v->set_source(SOURCE_DNN);
    if (request.model_version() == "new") {
      v = response.add_videos();
      v->set_video_id("v3");
      v->set_title("Guitar <lesson>");
      v->set_channel_id("c1");
      v->set_predicted_watch_seconds(61);
      v->set_source(SOURCE_COVISIT);
    }
    if (request.explain()) {
      Explanation* e = response.mutable_explanation();
      e->set_candidate_model_version(response.model_version());
      e->add_candidates()->set_video_id("v2");
    }
    return response;
  }

  std::vector<RecommendRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  void set_error(absl::Status error) {
    std::lock_guard<std::mutex> lock(mu_);
    error_ = std::move(error);
  }

 private:
  std::mutex mu_;
  std::vector<RecommendRequest> requests_;
  absl::Status error_;
};

class WebAppTest : public ::testing::Test {
 protected:
  WebAppTest() : directory_(SmallLogs()), app_(Options(), &directory_, &source_) {}

  static WebApp::Options Options() {
    WebApp::Options options;
    options.num_results = 7;
    return options;
  }

  UserDirectory directory_;
  FakeSource source_;
  WebApp app_;
};

TEST_F(WebAppTest, IndexListsMatchingUsersAndOffersPasting) {
  HttpPage page = app_.Index("");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.html, HasSubstr("<a href=\"/user?id=alice\">alice</a>"));
  EXPECT_THAT(page.html, HasSubstr("<a href=\"/user?id=bob\">bob</a>"));
  EXPECT_THAT(page.html, HasSubstr("<form method=\"post\" action=\"/context\">"));
  page = app_.Index("<B");
  EXPECT_THAT(page.html, HasSubstr("value=\"&lt;B\""));
  EXPECT_THAT(page.html, HasSubstr("0 of 2 users match"));
  EXPECT_THAT(app_.Index("b").html, Not(HasSubstr("alice")));
}

TEST_F(WebAppTest, UserPageSendsWhatAClientSendsAndShowsEverything) {
  const HttpPage page = app_.User("alice", "");
  ASSERT_EQ(page.status, 200) << page.html;
  ASSERT_EQ(source_.requests().size(), 1u);
  const RecommendRequest sent = source_.requests()[0];
  EXPECT_EQ(sent.context().SerializeAsString(), directory_.ContextFor("alice")->SerializeAsString());
  EXPECT_TRUE(sent.explain());
  EXPECT_EQ(sent.model_version(), "");
  EXPECT_EQ(sent.num_results(), 7);
  // The card: title, channel, topic from the logs, watch time, source.
  EXPECT_THAT(page.html, HasSubstr("<div class=\"card\" data-video-id=\"v2\">"));
  EXPECT_THAT(page.html, HasSubstr("<div class=\"title\">Pasta quick</div>"));
  EXPECT_THAT(page.html, HasSubstr("<span class=\"channel\">c2</span>"));
  EXPECT_THAT(page.html, HasSubstr("<span class=\"topic\">cooking</span>"));
  EXPECT_THAT(page.html, HasSubstr("<b>1:35</b> (95.4 s)"));
  EXPECT_THAT(page.html, HasSubstr("<span class=\"source\">dnn</span>"));
  // The history, with the logs' title escaped, and the explain tables.
  EXPECT_THAT(page.html, HasSubstr("<td>Jazz &lt;live&gt; &amp; more</td><td>c1</td><td>music, live</td>"));
  EXPECT_THAT(page.html, HasSubstr("<table class=\"explain\" data-field=\"candidates\">"));
  EXPECT_THAT(page.html, HasSubstr("data-version=\"newest\""));
}

TEST_F(WebAppTest, ComparePutsBothVersionsSideBySide) {
  const HttpPage page = app_.Compare("alice", "old", "new");
  ASSERT_EQ(page.status, 200) << page.html;
  const auto requests = source_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].model_version(), "old");
  EXPECT_EQ(requests[1].model_version(), "new");
  const size_t a = page.html.find("data-side=\"A\" data-version=\"old\"");
  const size_t b = page.html.find("data-side=\"B\" data-version=\"new\"");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_THAT(page.html.substr(b), HasSubstr("<div class=\"title\">Guitar &lt;lesson&gt;</div>"));
  EXPECT_THAT(page.html.substr(b), HasSubstr("not in A"));
  EXPECT_THAT(page.html.substr(a, b - a), HasSubstr("#1 in B"));
  EXPECT_THAT(page.html, HasSubstr("1 videos are in both lists."));
}

TEST_F(WebAppTest, PastedContextIsSentAsPasted) {
  HttpPage page = app_.PastedContext(
      R"({"watches": [{"video_id": "v1", "time_s": 5}], "demographics": {"region": "FR"}})", "", "");
  ASSERT_EQ(page.status, 200) << page.html;
  EXPECT_EQ(source_.requests().back().context().watches(0).video_id(), "v1");
  EXPECT_EQ(source_.requests().back().context().demographics().region(), "FR");
  EXPECT_THAT(page.html, HasSubstr("pasted context"));
  // Its compare form carries the JSON.
  EXPECT_THAT(page.html, HasSubstr("name=\"context\" value=\"{&quot;watches&quot;"));
  page = app_.PastedContext(R"({"watches": []})", "old", "new");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.html, HasSubstr("data-side=\"B\" data-version=\"new\""));
}

TEST_F(WebAppTest, BadInputGetsAnErrorPageWithAStatus) {
  struct Case {
    HttpPage page;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {app_.User("nobody", ""), 404, "user &#39;nobody&#39; is not in the logs"},
      {app_.User("", ""), 400, "no user given"},
      {app_.Compare("alice", "old", ""), 400, "comparing needs two bundle versions"},
      {app_.Compare("alice", std::string(300, 'x'), "b"), 400, "longer than 256 bytes"},
      {app_.PastedContext("{not json", "", ""), 400, "not a recsys.UserContext in JSON"},
      {app_.PastedContext(R"({"watchez": []})", "", ""), 400, "not a recsys.UserContext in JSON"},
      {app_.PastedContext("", "", ""), 400, "the context is empty"},
      {app_.PastedContext("{}", "", "new"), 400, "version b without version a"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.page.status, c.status) << c.message;
    EXPECT_THAT(c.page.html, HasSubstr(c.message));
    EXPECT_THAT(c.page.html, HasSubstr("<div class=\"error\">"));
  }
  source_.set_error(absl::UnavailableError("Recommend on 127.0.0.1:1 failed: connection refused"));
  HttpPage down = app_.User("alice", "");
  EXPECT_EQ(down.status, 503);
  EXPECT_THAT(down.html, HasSubstr("connection refused"));
  source_.set_error(absl::NotFoundError("model_version: 'x' is not loaded"));
  EXPECT_EQ(app_.Compare("alice", "x", "y").status, 404);

  const WebApp without_logs(WebApp::Options(), nullptr, &source_);
  EXPECT_EQ(without_logs.User("alice", "").status, 400);
  EXPECT_THAT(without_logs.Index("").html, HasSubstr("No logs were given"));
}

TEST_F(WebAppTest, ServesThePagesOverHttp) {
  WebServer::Options options;
  options.port = 0;
  absl::StatusOr<std::unique_ptr<WebServer>> server = WebServer::Create(options, &app_);
  ASSERT_TRUE(server.ok()) << server.status();
  std::thread serving([&] { (*server)->Run(); });
  httplib::Client client("127.0.0.1", (*server)->port());

  auto res = client.Get("/user?id=alice");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(res->body, HasSubstr("Pasta quick"));
  res = client.Get("/compare?id=alice&a=old&b=new");
  ASSERT_TRUE(res);
  EXPECT_THAT(res->body, HasSubstr("Guitar &lt;lesson&gt;"));
  res = client.Post("/context", httplib::Params{{"context", R"({"user_id": "x<y"})"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("x&lt;y (pasted)"));
  res = client.Get("/user?id=nobody");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = client.Get("/no/such/page");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_THAT(res->body, HasSubstr("no page at /no/such/page"));

  // A second server on the same port is refused.
  WebServer::Options same = options;
  same.port = (*server)->port();
  EXPECT_EQ(WebServer::Create(same, &app_).status().code(), absl::StatusCode::kUnavailable);

  (*server)->Stop();
  serving.join();
}

TEST(ParseListenAddressTest, SplitsHostAndPort) {
  absl::StatusOr<WebServer::Options> options = ParseListenAddress("0.0.0.0:8080");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->host, "0.0.0.0");
  EXPECT_EQ(options->port, 8080);
  for (const char* bad : {"8080", ":80", "host:", "host:x", "host:70000", "host:-1"}) {
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace recsys::web
