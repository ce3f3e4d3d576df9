#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "clients/call_method.h"
#include "clients/ghz_config.h"
#include "clients/ghz_report.h"
#include "clients/load_generator.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {
namespace {

using google::protobuf::Value;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = TempPath(name);
  std::ofstream(path) << text;
  return path;
}

// A config in the shape of deploy/k8s/loadtest/ghz/recommend.json.
constexpr char kRecommendConfig[] = R"({
  "name": "recsys Recommend",
  "call": "recsys.CandidateService.Recommend",
  "host": "127.0.0.1:50051",
  "insecure": true,
  "concurrency": 8,
  "connections": 2,
  "duration": "30s",
  "timeout": "2s",
  "tags": {"env": "test"},
  "data": [
    {"context": {"userId": "u1", "watches": [{"videoId": "v00012", "timeS": "1768428000",
                  "watchSeconds": 312.0}],
                 "demographics": {"region": "US", "gender": "GENDER_FEMALE", "age": 27}},
     "numResults": 20, "numCandidates": 500},
    {"context": {"userId": "u2"}, "numResults": 20},
    {"context": {"userId": "u3", "requestTimeS": 1768435200}, "numResults": 5}
  ]
})";

TEST(GhzConfigTest, ReadsTheFieldsOfAGhzConfig) {
  absl::StatusOr<GhzConfig> config = ParseGhzConfig(kRecommendConfig, "recommend.json");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(*config->name, "recsys Recommend");
  EXPECT_EQ(*config->call, "recsys.CandidateService.Recommend");
  EXPECT_EQ(*config->host, "127.0.0.1:50051");
  EXPECT_EQ(*config->concurrency, 8);
  EXPECT_EQ(*config->connections, 2);
  EXPECT_EQ(*config->duration, absl::Seconds(30));
  EXPECT_EQ(*config->timeout, absl::Seconds(2));
  EXPECT_TRUE(*config->insecure);
  EXPECT_FALSE(config->total.has_value());
  EXPECT_FALSE(config->rps.has_value());
  EXPECT_EQ(config->tags.at("env"), "test");
  ASSERT_TRUE(config->data.has_value());
  auto requests =
      RequestsFromJsonValue(CallMethod::kRecommend, *config->data, "recommend.json: data");
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 3u);
  const auto& first = static_cast<const RecommendRequest&>(*(*requests)[0]);
  EXPECT_EQ(first.context().user_id(), "u1");
  EXPECT_EQ(first.context().watches(0).time_s(), 1768428000);
  EXPECT_FLOAT_EQ(first.context().watches(0).watch_seconds(), 312.0f);
  EXPECT_EQ(first.context().demographics().gender(), GENDER_FEMALE);
  EXPECT_EQ(first.num_candidates(), 500);
  // A JSON number for an int64 works too.
  EXPECT_EQ(static_cast<const RecommendRequest&>(*(*requests)[2]).context().request_time_s(),
            1768435200);
}

TEST(GhzConfigTest, RpsTotalOutputAndIgnoredFields) {
  absl::StatusOr<GhzConfig> config = ParseGhzConfig(
      R"({"qps": 250, "total": 1000, "proto": "proto/recsys.proto", "import-paths": ["."],
          "format": "json", "output": "out.json", "connect-timeout": "3s",
          "data-file": "req.json"})",
      "c.json");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(*config->rps, 250);
  EXPECT_EQ(*config->total, 1000);
  EXPECT_EQ(*config->output_json, "out.json");
  EXPECT_EQ(*config->connect_timeout, absl::Seconds(3));
  EXPECT_EQ(*config->data_file, "req.json");
  // ghz's "no rate limit".
  config = ParseGhzConfig(R"({"rps": 0})", "c.json");
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->rps.has_value());
}

// The message names the file and the field.
void ExpectConfigError(const std::string& json, const std::string& field,
                       const std::string& detail) {
  absl::StatusOr<GhzConfig> config = ParseGhzConfig(json, "bad.json");
  ASSERT_FALSE(config.ok()) << json;
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(config.status().message());
  EXPECT_TRUE(absl::StartsWith(message, "bad.json: ")) << message;
  EXPECT_TRUE(absl::StrContains(message, field)) << message;
  EXPECT_TRUE(absl::StrContains(message, detail)) << message;
}

TEST(GhzConfigTest, BadConfigsNameTheFileAndTheField) {
  ExpectConfigError(R"({"concurency": 8})", "\"concurency\"", "unknown field");
  ExpectConfigError(R"({"cacert": "ca.pem"})", "\"cacert\"", "does not support");
  ExpectConfigError(R"({"metadata": {"a": "b"}})", "\"metadata\"", "does not support");
  ExpectConfigError(R"({"concurrency": "8"})", "\"concurrency\"", "whole number");
  ExpectConfigError(R"({"concurrency": 0})", "\"concurrency\"", ">= 1");
  ExpectConfigError(R"({"total": 2.5})", "\"total\"", "whole number");
  ExpectConfigError(R"({"duration": 30})", "\"duration\"", "duration");
  ExpectConfigError(R"({"duration": "30 seconds"})", "\"duration\"", "not a duration");
  ExpectConfigError(R"({"timeout": "-1s"})", "\"timeout\"", "negative");
  ExpectConfigError(R"({"timeout": "0s"})", "\"timeout\"", "positive");
  ExpectConfigError(R"({"insecure": false})", "\"insecure\"", "plaintext");
  ExpectConfigError(R"({"call": 3})", "\"call\"", "string");
  ExpectConfigError(R"({"data": "x"})", "\"data\"", "object or an array");
  ExpectConfigError(R"({"format": "html", "output": "x"})", "\"format\"", "not supported");
  ExpectConfigError(R"({"output": "x"})", "\"output\"", "format");
  ExpectConfigError(R"({"data": {}, "data-file": "x"})", "data-file", "only one");
  ExpectConfigError(R"([1, 2])", "", "JSON object");
  ExpectConfigError(R"({"call": "x")", "", "not valid JSON");
}

TEST(GhzConfigTest, Durations) {
  EXPECT_EQ(*ParseGhzDuration("30s"), absl::Seconds(30));
  EXPECT_EQ(*ParseGhzDuration("1m"), absl::Minutes(1));
  EXPECT_EQ(*ParseGhzDuration("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseGhzDuration("1m30s"), absl::Seconds(90));
  EXPECT_EQ(*ParseGhzDuration("1.5h"), absl::Minutes(90));
  EXPECT_EQ(*ParseGhzDuration("0"), absl::ZeroDuration());
  EXPECT_FALSE(ParseGhzDuration("").ok());
  EXPECT_FALSE(ParseGhzDuration("10").ok());
  EXPECT_FALSE(ParseGhzDuration("-5s").ok());
  EXPECT_FALSE(ParseGhzDuration("inf").ok());
}

TEST(CallMethodTest, NamesInGhzAndGrpcForms) {
  EXPECT_EQ(*ParseCallMethod("recsys.CandidateService.Recommend"), CallMethod::kRecommend);
  EXPECT_EQ(*ParseCallMethod("/recsys.CandidateService/Recommend"), CallMethod::kRecommend);
  EXPECT_EQ(*ParseCallMethod("recsys.CandidateService/GenerateCandidates"),
            CallMethod::kGenerateCandidates);
  EXPECT_EQ(*ParseCallMethod("recsys.RankingService.Rank"), CallMethod::kRank);
  EXPECT_EQ(*ParseCallMethod("recsys.bench.Echo.Echo"), CallMethod::kEcho);
  absl::StatusOr<CallMethod> bad = ParseCallMethod("recsys.CandidateService.Recomend");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "recsys.RankingService.Rank"));
  for (CallMethod m : AllCallMethods()) {
    EXPECT_EQ(*ParseCallMethod(CallMethodName(m)), m);
    EXPECT_EQ(*ParseCallMethod(CallMethodPath(m)), m);
  }
}

TEST(DataFileTest, OneObjectOrAnArray) {
  const std::string one = WriteTemp("one.json", R"({"context": {"userId": "solo"}})");
  auto requests = RequestsFromJsonFile(CallMethod::kGenerateCandidates, one);
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 1u);
  EXPECT_EQ(static_cast<const GenerateCandidatesRequest&>(*requests->front()).context().user_id(),
            "solo");
  const std::string rank = WriteTemp(
      "rank.json", R"([{"candidates": [{"videoId": "a", "source": "SOURCE_DNN"}]}, {}])");
  requests = RequestsFromJsonFile(CallMethod::kRank, rank);
  ASSERT_TRUE(requests.ok()) << requests.status();
  EXPECT_EQ(requests->size(), 2u);
  const std::string echo = WriteTemp("echo.json", R"({"payload": "aGVsbG8=", "responseBytes": 7})");
  requests = RequestsFromJsonFile(CallMethod::kEcho, echo);
  ASSERT_TRUE(requests.ok()) << requests.status();
}

TEST(DataFileTest, BadDataNamesTheFileTheElementAndProtobufsReason) {
  const std::string path = WriteTemp(
      "bad.json", R"([{"context": {"userId": "ok"}},
                     {"context": {"watches": [{"vidoeId": "v1"}]}}])");
  auto requests = RequestsFromJsonFile(CallMethod::kRecommend, path);
  ASSERT_FALSE(requests.ok());
  const std::string message(requests.status().message());
  EXPECT_TRUE(absl::StartsWith(message, path + ": element 1: ")) << message;
  EXPECT_TRUE(absl::StrContains(message, "recsys.RecommendRequest")) << message;
  EXPECT_TRUE(absl::StrContains(message, "vidoeId")) << message;

  // A wrong type of value.
  const std::string typed = WriteTemp("typed.json", R"({"numResults": "many"})");
  requests = RequestsFromJsonFile(CallMethod::kRecommend, typed);
  ASSERT_FALSE(requests.ok());
  EXPECT_TRUE(absl::StrContains(requests.status().message(), typed)) << requests.status();
  // Not JSON, not objects, empty, missing.
  const std::string broken = WriteTemp("broken.json", R"([{"numResults": 1})");
  requests = RequestsFromJsonFile(CallMethod::kRecommend, broken);
  ASSERT_FALSE(requests.ok());
  EXPECT_TRUE(absl::StrContains(requests.status().message(), "not valid JSON"));
  requests = RequestsFromJsonFile(CallMethod::kRecommend, WriteTemp("nums.json", "[1, 2]"));
  ASSERT_FALSE(requests.ok());
  EXPECT_TRUE(absl::StrContains(requests.status().message(), "element 0"));
  requests = RequestsFromJsonFile(CallMethod::kRecommend, WriteTemp("empty.json", "[]"));
  ASSERT_FALSE(requests.ok());
  EXPECT_TRUE(absl::StrContains(requests.status().message(), "empty"));
  requests = RequestsFromJsonFile(CallMethod::kRecommend, TempPath("missing.json"));
  ASSERT_FALSE(requests.ok());
  EXPECT_EQ(requests.status().code(), absl::StatusCode::kNotFound);
}

// Records the user IDs asked for; every third call fails.
class RecordingService final : public CandidateService::CallbackService {
 public:
  grpc::ServerUnaryReactor* Recommend(grpc::CallbackServerContext* context,
                                      const RecommendRequest* request,
                                      RecommendResponse* response) override {
    int64_t n;
    {
      absl::MutexLock lock(&mu_);
      users_.push_back(request->context().user_id());
      n = static_cast<int64_t>(users_.size());
    }
    response->set_model_version("m1");
    response->set_ranking_model_version("m1");
    if (request->context().user_id() == "u2") {
      response->set_degraded(true);
      response->set_degraded_cause(DEGRADED_RANKING_UNAVAILABLE);
    }
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(n % 3 == 0 ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "try later")
                               : grpc::Status::OK);
    return reactor;
  }
  std::vector<std::string> users() {
    absl::MutexLock lock(&mu_);
    return users_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> users_ ABSL_GUARDED_BY(mu_);
};

class GhzRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    address_ = absl::StrCat("127.0.0.1:", port);
  }
  void TearDown() override { server_->Shutdown(); }

  RecordingService service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

TEST_F(GhzRunTest, CallsCycleThroughTheDataArray) {
  absl::StatusOr<GhzConfig> config = ParseGhzConfig(kRecommendConfig, "recommend.json");
  ASSERT_TRUE(config.ok());
  auto requests = RequestsFromJsonValue(CallMethod::kRecommend, *config->data, "data");
  ASSERT_TRUE(requests.ok());
  Workload workload;
  workload.requests = SerializeAll(*requests);
  LoadOptions options;
  options.concurrency = 1;
  options.max_calls = 9;
  options.duration = absl::InfiniteDuration();
  auto generator =
      LoadGenerator::Create(LoadTarget{address_, 1, LoadTransport::kHttp2}, workload, options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  (*generator)->Run();
  EXPECT_EQ(service_.users(), (std::vector<std::string>{"u1", "u2", "u3", "u1", "u2", "u3",
                                                        "u1", "u2", "u3"}));
}

// The ghz fields of a report, and ours.
TEST_F(GhzRunTest, JsonReportHasGhzFieldsWithSaneValues) {
  Workload workload;
  RecommendRequest a;
  a.mutable_context()->set_user_id("u1");
  RecommendRequest b;
  b.mutable_context()->set_user_id("u2");
  workload.requests = SerializeAll(std::vector<RecommendRequest>{a, b});
  LoadOptions options;
  options.concurrency = 4;
  options.max_calls = 300;
  options.duration = absl::InfiniteDuration();
  auto generator =
      LoadGenerator::Create(LoadTarget{address_, 2, LoadTransport::kHttp2}, workload, options);
  ASSERT_TRUE(generator.ok()) << generator.status();
  const LoadReport report = (*generator)->Run();

  GhzRunOptions run;
  run.name = "test \"run\"";
  run.call = "recsys.CandidateService.Recommend";
  run.host = address_;
  run.total = 300;
  run.concurrency = 4;
  run.connections = 2;
  run.timeout = absl::Seconds(1);
  run.loop = "closed";
  run.distinct_requests = 2;
  const std::string text = GhzJsonReport(report, run, absl::FromUnixSeconds(1800000000));
  absl::StatusOr<Value> json = ParseJsonValue(text, "report");
  ASSERT_TRUE(json.ok()) << json.status() << "\n" << text;
  const auto& f = json->struct_value().fields();
  for (const char* field : {"name", "endReason", "options", "date", "count", "total", "average",
                            "fastest", "slowest", "rps", "errorDistribution",
                            "statusCodeDistribution", "latencyDistribution", "histogram",
                            "recsys"}) {
    EXPECT_EQ(f.count(field), 1u) << field;
  }
  EXPECT_EQ(f.at("name").string_value(), "test \"run\"");
  EXPECT_EQ(f.at("endReason").string_value(), "normal");
  EXPECT_EQ(f.at("date").string_value(), "2027-01-15T08:00:00Z");
  EXPECT_EQ(f.at("count").number_value(), 300);
  const auto& opts = f.at("options").struct_value().fields();
  EXPECT_EQ(opts.at("call").string_value(), "recsys.CandidateService.Recommend");
  EXPECT_EQ(opts.at("host").string_value(), address_);
  EXPECT_EQ(opts.at("concurrency").number_value(), 4);
  EXPECT_EQ(opts.at("total").number_value(), 300);
  EXPECT_EQ(opts.at("connections").number_value(), 2);
  EXPECT_EQ(opts.at("timeout").number_value(), 1e9);
  EXPECT_TRUE(opts.at("insecure").bool_value());

  // Every call is in statusCodeDistribution; each third failed.
  double codes = 0;
  for (const auto& [code, n] : f.at("statusCodeDistribution").struct_value().fields()) {
    codes += n.number_value();
  }
  EXPECT_EQ(codes, 300);
  EXPECT_EQ(f.at("statusCodeDistribution").struct_value().fields().at("OK").number_value(), 200);
  EXPECT_EQ(
      f.at("statusCodeDistribution").struct_value().fields().at("Unavailable").number_value(),
      100);
  EXPECT_EQ(f.at("errorDistribution")
                .struct_value()
                .fields()
                .at("rpc error: code = Unavailable desc = try later")
                .number_value(),
            100);

  // Nanoseconds, in order; rps = count / total.
  const double fastest = f.at("fastest").number_value();
  const double slowest = f.at("slowest").number_value();
  const double average = f.at("average").number_value();
  const double total = f.at("total").number_value();
  EXPECT_GT(fastest, 0);
  EXPECT_LE(fastest, slowest);
  EXPECT_LT(slowest, 1e9);
  EXPECT_GT(average, 0);
  EXPECT_GE(total, slowest);
  EXPECT_NEAR(f.at("rps").number_value(), 300 / (total / 1e9), 0.01 * 300 / (total / 1e9));

  const auto& latencies = f.at("latencyDistribution").list_value().values();
  ASSERT_EQ(latencies.size(), 7);
  const int percentages[] = {10, 25, 50, 75, 90, 95, 99};
  double previous = 0;
  for (int i = 0; i < 7; ++i) {
    const auto& l = latencies[i].struct_value().fields();
    EXPECT_EQ(l.at("percentage").number_value(), percentages[i]);
    EXPECT_GE(l.at("latency").number_value(), previous);
    EXPECT_GE(l.at("latency").number_value(), fastest);
    EXPECT_LE(l.at("latency").number_value(), slowest);
    previous = l.at("latency").number_value();
  }
  const auto& histogram = f.at("histogram").list_value().values();
  ASSERT_EQ(histogram.size(), 11);
  double in_buckets = 0;
  double frequencies = 0;
  for (const Value& bucket : histogram) {
    in_buckets += bucket.struct_value().fields().at("count").number_value();
    frequencies += bucket.struct_value().fields().at("frequency").number_value();
  }
  EXPECT_EQ(in_buckets, 200);  // OK calls.
  EXPECT_NEAR(frequencies, 1.0, 1e-3);
  EXPECT_NEAR(histogram[histogram.size() - 1].struct_value().fields().at("mark").number_value(), slowest / 1e9,
              1e-6);

  const auto& ours = f.at("recsys").struct_value().fields();
  // u2 (every other call) is degraded; failed calls have no answer.
  EXPECT_EQ(ours.at("degraded").number_value(), report.summary.degraded);
  EXPECT_GT(ours.at("degraded").number_value(), 50);
  EXPECT_EQ(ours.at("degradedByCause")
                .struct_value()
                .fields()
                .at("RANKING_UNAVAILABLE")
                .number_value(),
            report.summary.degraded);
  EXPECT_EQ(ours.at("failed").number_value(), 100);
  EXPECT_EQ(ours.at("byCode").struct_value().fields().at("UNAVAILABLE").number_value(), 100);
  const auto& quantiles = ours.at("latency").struct_value().fields();
  EXPECT_LE(quantiles.at("p50").number_value(), quantiles.at("p99").number_value());
  EXPECT_LE(quantiles.at("p99").number_value(), quantiles.at("p99.9").number_value());
  EXPECT_LE(quantiles.at("p99.9").number_value(), quantiles.at("max").number_value());
  EXPECT_EQ(ours.at("modelVersions").struct_value().fields().at("m1").number_value(), 200);
  EXPECT_LE(ours.at("maxInFlight").number_value(), 4);
  EXPECT_EQ(ours.at("loop").string_value(), "closed");
}

TEST(GhzReportTest, NoOkCallMeansNullDistributions) {
  LoadReport report;
  report.summary.calls = 1;
  report.summary.by_code[grpc::StatusCode::UNAVAILABLE] = 1;
  report.end_reason = "normal";
  const std::string text = GhzJsonReport(report, GhzRunOptions(), absl::UnixEpoch());
  absl::StatusOr<Value> json = ParseJsonValue(text, "report");
  ASSERT_TRUE(json.ok()) << text;
  EXPECT_EQ(json->struct_value().fields().at("latencyDistribution").kind_case(),
            Value::kNullValue);
  EXPECT_EQ(JsonQuote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

}  // namespace
}  // namespace recsys
