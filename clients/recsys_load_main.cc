// recsys_load: a ghz-compatible load generator for the services' unary
// methods (and the echo benchmark's), open or closed loop.
//
// Closed loop (--concurrency=N, as ghz): N calls in flight, each worker
// sending its next call when its previous one ends. Open loop (--rps, the
// default): calls issued at a fixed rate whatever the server's latency, each
// with its own deadline (with --concurrency too: at most N in flight). A
// line per second tells what came back (status codes, degraded answers and
// why, which model versions answered, latency quantiles), and a summary ends
// the run; --output_json writes it in ghz's JSON report format.
//
//   recsys_load --address=127.0.0.1:50051 --logs=data/world --concurrency=8 --duration_s=30
//   recsys_load --address=127.0.0.1:50051 --logs=data/world --rps=200 --duration_s=30
//   recsys_load --config=deploy/k8s/loadtest/ghz/recommend.json --output_json=out/recommend.json
//   recsys_load --address=127.0.0.1:50052 --call=recsys.RankingService.Rank --data_file=rank.json
//   recsys_load --address=127.0.0.1:50051 --worst_request --count=20 --sequential
//   recsys_load --logs=data/world --write_request_body=/tmp/body.bin   (for h2load)

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/flag.h"
#include "common/base/command_line.h"
#include "absl/flags/internal/private_handle_accessor.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/call_method.h"
#include "clients/ghz_config.h"
#include "clients/ghz_report.h"
#include "clients/load_generator.h"
#include "common/logs/logs.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051",
          "host:port of the server (ghz's host; also accepted as the one "
          "positional argument, and as \"host\" in --config).");
ABSL_FLAG(std::string, call, "recsys.CandidateService.Recommend",
          "The method, as ghz names it: recsys.CandidateService.Recommend, "
          "recsys.CandidateService.GenerateCandidates, recsys.RankingService.Rank "
          "or recsys.bench.Echo.Echo (benchmarks/echo_server); the "
          "/package.Service/Method form works too.");
ABSL_FLAG(int32_t, concurrency, 0,
          "Closed loop, as ghz: this many workers, each sending its next call "
          "as soon as its previous one ends. With --rps as well: calls at "
          "--rps, at most this many in flight. 0: open loop at --rps.");
ABSL_FLAG(int32_t, connections, 1,
          "Connections to the server, each its own TCP connection (HTTP/2 "
          "connections or gRPC channels); calls and workers are spread "
          "round-robin over them.");
ABSL_FLAG(std::string, transport, "h2",
          "h2: the built-in HTTP/2 client (one event loop per client thread, "
          "every connection written once per loop turn, as h2load; the "
          "default: 2-4 us of client CPU a call). grpc: gRPC C++ (generic stub "
          "on completion queues: 13-18 us a call).");
ABSL_FLAG(int32_t, client_threads, 1,
          "Client threads (h2: event loops; grpc: completion-queue pollers), "
          "each serving its share of the connections; at most --connections.");
ABSL_FLAG(double, rps, 100,
          "Open loop: calls issued per second whatever the server's latency. "
          "Ignored with --concurrency unless given explicitly (then a cap).");
ABSL_FLAG(double, duration_s, 10,
          "How long calls are issued, seconds; 0: no time limit (needs "
          "--total). Default: 10, or no limit when --total is given.");
ABSL_FLAG(int64_t, total, 0,
          "Calls in all (ghz's --total); 0: open loop, --rps x --duration_s; "
          "closed loop, until --duration_s.");
ABSL_FLAG(int64_t, count, 0, "The same as --total (its older name).");
ABSL_FLAG(int32_t, deadline_ms, 1000,
          "Deadline of each call, milliseconds (ghz's timeout).");
ABSL_FLAG(std::string, logs, "",
          "World directory (CSV logs): one request per user, the user's context "
          "as of just after their last watch (Recommend, GenerateCandidates; "
          "Rank adds --num_candidates videos of the catalogue). Empty, without "
          "--data_file or --config data: a few hand-built contexts.");
ABSL_FLAG(int32_t, max_users, 1000, "Users taken from --logs, at most.");
ABSL_FLAG(int32_t, num_results, 20, "num_results of the built requests.");
ABSL_FLAG(int32_t, num_candidates, 0,
          "num_candidates of built Recommend / GenerateCandidates requests (0: "
          "the server's default); the candidates of built Rank requests "
          "(0: 500).");
ABSL_FLAG(std::string, data_file, "",
          "JSON request data, as ghz's --data-file: one object or an array of "
          "objects in proto3 JSON of the call's request message (calls cycle "
          "through the array), e.g. "
          "[{\"context\": {\"watches\": [{\"videoId\": \"v00042\"}]}, \"numResults\": 5}].");
ABSL_FLAG(std::string, config, "",
          "A ghz JSON config file (as deploy/k8s/loadtest/ghz/*.json): call, host, "
          "concurrency, connections, total, duration (\"30s\", \"1m\", "
          "\"500ms\"), timeout, rps, data or data-file, insecure, name, tags, "
          "output + format json. Flags given on the command line override it.");
ABSL_FLAG(std::string, output_json, "",
          "Write the summary here as ghz's JSON report (count, total, average, "
          "fastest, slowest, rps, errorDistribution, statusCodeDistribution, "
          "latencyDistribution, histogram, options), ours under \"recsys\".");
ABSL_FLAG(int32_t, payload_bytes, 1690,
          "recsys.bench.Echo.Echo: bytes of payload in each request (default: "
          "a Recommend request from the demo world's logs, 1,693 bytes on "
          "average, benchmarks/loadgen_demo.sh).");
ABSL_FLAG(int32_t, response_bytes, 1360,
          "recsys.bench.Echo.Echo: bytes of payload the server answers with "
          "(default: a demo Recommend answer of 20 videos, 1,364 bytes on "
          "average).");
ABSL_FLAG(bool, worst_request, false,
          "Recommend: send only the largest request the services accept (every "
          "list and string at its limit of common/grpc/request_validation.h).");
ABSL_FLAG(bool, sequential, false,
          "One call at a time: the next is sent when the previous one ends "
          "(--rps then caps the rate).");
ABSL_FLAG(bool, insecure, true,
          "Plaintext (ghz's --insecure); recsys_load has no TLS, so false is "
          "an error.");
ABSL_FLAG(double, connect_timeout_s, 5,
          "Wait up to this long for the connections before the run starts "
          "(then it starts anyway and calls fail until the server is up); "
          "0: do not wait.");
ABSL_FLAG(std::string, name, "", "A name for the run, in the JSON report.");
ABSL_FLAG(bool, fail_on_error, false, "Exit with status 1 if any call failed.");
ABSL_FLAG(std::string, calls_csv, "",
          "If set, every call is written here, one row each: index, sent and "
          "completed (Unix ms), latency_ms, status code, model_version, "
          "ranking_model_version, degraded, degraded_cause, version_mismatch.");
ABSL_FLAG(std::string, write_request_body, "",
          "For scripts: write the first request, framed as a gRPC message "
          "(h2load's --data body), to this path and exit without calling the "
          "server (any --call, e.g. the echo request for "
          "benchmarks/loadgen_vs_h2load.sh).");
ABSL_FLAG(bool, quiet, false, "No per-second lines.");

namespace recsys {
namespace {

// Whether `flag` was given on the command line (it then overrides --config).
bool Explicit(absl::string_view flag) {
  const absl::CommandLineFlag* f = absl::FindCommandLineFlag(flag);
  // The public CommandLineFlag::IsSpecifiedOnCommandLine of newer Abseils;
  // Debian 12's (20220623) has it private, behind this accessor.
  return f != nullptr &&
         absl::flags_internal::PrivateHandleAccessor::IsSpecifiedOnCommandLine(*f);
}

struct LoadToolOptions {
  CallMethod method = CallMethod::kRecommend;
  LoadTarget target;
  LoadOptions load;
  bool rate_given = false;
  std::vector<std::unique_ptr<google::protobuf::Message>> requests;
  std::string data_source;
  bool worst_request = false;
  bool fail_on_error = false;
  bool quiet = false;
  std::string calls_csv;
  std::string write_request_body;
  std::string output_json;
  std::string name;
  std::map<std::string, std::string> tags;
};

absl::Status Invalid(absl::string_view message) {
  return absl::InvalidArgumentError(message);
}

std::string ShortName(CallMethod method) {
  const std::string& name = CallMethodName(method);
  return name.substr(name.rfind('.') + 1);
}

// The requests to send when no data is given: built from the logs, or
// hand-built.
absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>> BuiltRequests(
    CallMethod method, const std::string& logs_dir, int max_users, int num_results,
    int num_candidates, std::string* source) {
  std::vector<std::unique_ptr<google::protobuf::Message>> out;
  if (method == CallMethod::kEcho) {
    const int payload = absl::GetFlag(FLAGS_payload_bytes);
    const int response = absl::GetFlag(FLAGS_response_bytes);
    if (payload < 0 || response < 0) {
      return Invalid("--payload_bytes and --response_bytes must be >= 0");
    }
    out.push_back(EchoRequestMessage(payload, response));
    *source = absl::StrFormat("echo: %d payload bytes, %d response bytes", payload, response);
    return out;
  }
  std::vector<RecommendRequest> recommend;
  std::vector<std::string> video_ids;
  if (logs_dir.empty()) {
    recommend = HandBuiltRecommendRequests(num_results);
    for (int i = 0; i < 2000; ++i) video_ids.push_back(absl::StrFormat("v%05d", i));
    *source = "hand-built contexts";
  } else {
    absl::StatusOr<Logs> logs = ReadLogs(logs_dir);
    if (!logs.ok()) return logs.status();
    recommend = RecommendRequestsFromLogs(*logs, max_users, num_results);
    if (recommend.empty()) {
      return Invalid(absl::StrCat("no user with a watch in ", logs_dir));
    }
    for (const VideoRecord& v : logs->videos) video_ids.push_back(v.video_id);
    *source = absl::StrCat("logs ", logs_dir);
  }
  switch (method) {
    case CallMethod::kRecommend:
      for (RecommendRequest& r : recommend) {
        if (num_candidates > 0) r.set_num_candidates(num_candidates);
        out.push_back(std::make_unique<RecommendRequest>(std::move(r)));
      }
      break;
    case CallMethod::kGenerateCandidates:
      for (GenerateCandidatesRequest& r : GenerateCandidatesRequestsFor(recommend, num_candidates)) {
        out.push_back(std::make_unique<GenerateCandidatesRequest>(std::move(r)));
      }
      break;
    case CallMethod::kRank:
      for (RankRequest& r : RankRequestsFor(recommend, video_ids,
                                            num_candidates > 0 ? num_candidates : 500,
                                            num_results)) {
        out.push_back(std::make_unique<RankRequest>(std::move(r)));
      }
      if (out.empty()) return Invalid("no video to rank in the logs");
      break;
    case CallMethod::kEcho:
      break;
  }
  return out;
}

absl::StatusOr<LoadToolOptions> OptionsFromFlags(const std::vector<char*>& positional) {
  LoadToolOptions o;
  std::optional<GhzConfig> config;
  const std::string config_path = absl::GetFlag(FLAGS_config);
  if (!config_path.empty()) {
    absl::StatusOr<GhzConfig> c = ReadGhzConfig(config_path);
    if (!c.ok()) return c.status();
    config = *std::move(c);
  }

  // The call.
  std::string call = absl::GetFlag(FLAGS_call);
  if (!Explicit("call") && config.has_value() && config->call.has_value()) call = *config->call;
  absl::StatusOr<CallMethod> method = ParseCallMethod(call);
  if (!method.ok()) {
    if (!Explicit("call") && config.has_value() && config->call.has_value()) {
      return Invalid(absl::StrCat(config_path, ": field \"call\": ", method.status().message()));
    }
    return Invalid(absl::StrCat("--call: ", method.status().message()));
  }
  o.method = *method;

  // Where.
  if (positional.size() > 2) {
    return Invalid(absl::StrCat("unexpected argument '", positional[2], "'"));
  }
  o.target.address = absl::GetFlag(FLAGS_address);
  if (positional.size() == 2) {
    if (Explicit("address")) return Invalid("give the host as --address or as an argument, not both");
    o.target.address = positional[1];
  } else if (!Explicit("address") && config.has_value() && config->host.has_value()) {
    o.target.address = *config->host;
  }
  const std::string transport = absl::GetFlag(FLAGS_transport);
  if (transport == "h2") {
    o.target.transport = LoadTransport::kHttp2;
  } else if (transport == "grpc") {
    o.target.transport = LoadTransport::kGrpc;
  } else {
    return Invalid(absl::StrCat("--transport: '", transport, "' is neither h2 nor grpc"));
  }
  if (!absl::GetFlag(FLAGS_insecure)) {
    return Invalid("--insecure=false: recsys_load speaks plaintext only (no TLS)");
  }

  // How many, how fast, how long.
  int64_t concurrency = absl::GetFlag(FLAGS_concurrency);
  if (!Explicit("concurrency") && config.has_value() && config->concurrency.has_value()) {
    concurrency = *config->concurrency;
  }
  int64_t connections = absl::GetFlag(FLAGS_connections);
  if (!Explicit("connections") && config.has_value() && config->connections.has_value()) {
    connections = *config->connections;
  }
  if (concurrency < 0 || concurrency > 1000000) {
    return Invalid("--concurrency must be in [0, 1000000]");
  }
  if (connections < 1 || connections > 10000) {
    return Invalid("--connections must be in [1, 10000]");
  }
  o.target.connections = static_cast<int>(connections);
  if (Explicit("total") && Explicit("count") &&
      absl::GetFlag(FLAGS_total) != absl::GetFlag(FLAGS_count)) {
    return Invalid("--total and --count are the same flag: give one");
  }
  int64_t total = 0;
  bool total_given = true;
  if (Explicit("total")) {
    total = absl::GetFlag(FLAGS_total);
  } else if (Explicit("count")) {
    total = absl::GetFlag(FLAGS_count);
  } else if (config.has_value() && config->total.has_value()) {
    total = *config->total;
  } else {
    total = std::max(absl::GetFlag(FLAGS_total), absl::GetFlag(FLAGS_count));
    total_given = total > 0;
  }
  if (total < 0) return Invalid("--total must be >= 0");
  o.load.max_calls = total;

  double rps = absl::GetFlag(FLAGS_rps);
  o.rate_given = Explicit("rps");
  if (!o.rate_given && config.has_value() && config->rps.has_value()) {
    rps = *config->rps;
    o.rate_given = true;
  }
  if (!(rps > 0)) return Invalid("--rps must be positive");
  o.load.requests_per_second = rps;

  std::optional<absl::Duration> duration;
  if (Explicit("duration_s")) {
    const double s = absl::GetFlag(FLAGS_duration_s);
    if (!(s >= 0)) return Invalid("--duration_s must be >= 0");
    duration = absl::Seconds(s);
  } else if (config.has_value() && config->duration.has_value()) {
    duration = *config->duration;
  } else if (!(total_given && total > 0)) {
    duration = absl::Seconds(absl::GetFlag(FLAGS_duration_s));
  }
  if (!duration.has_value() || *duration == absl::ZeroDuration()) {
    if (total == 0) {
      return Invalid("--duration_s must be positive (or 0 with --total)");
    }
    o.load.duration = absl::InfiniteDuration();
  } else {
    o.load.duration = *duration;
  }

  if (Explicit("deadline_ms") || !(config.has_value() && config->timeout.has_value())) {
    const int32_t deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
    if (deadline_ms <= 0) return Invalid("--deadline_ms must be positive");
    o.load.deadline = absl::Milliseconds(deadline_ms);
  } else {
    o.load.deadline = *config->timeout;
  }

  // Open or closed loop.
  const bool sequential = absl::GetFlag(FLAGS_sequential);
  if (sequential && concurrency > 1) {
    return Invalid("--sequential is --concurrency=1 with a rate: give one of them");
  }
  if (sequential) {
    o.load.max_in_flight = 1;
  } else if (concurrency > 0 && o.rate_given) {
    o.load.max_in_flight = static_cast<int>(concurrency);
  } else if (concurrency > 0) {
    o.load.concurrency = static_cast<int>(concurrency);
  }

  // What to send.
  o.worst_request = absl::GetFlag(FLAGS_worst_request);
  const std::string logs_dir = absl::GetFlag(FLAGS_logs);
  const std::string data_file = absl::GetFlag(FLAGS_data_file);
  const int max_users = absl::GetFlag(FLAGS_max_users);
  const int num_results = absl::GetFlag(FLAGS_num_results);
  const int num_candidates = absl::GetFlag(FLAGS_num_candidates);
  if (max_users <= 0 || num_results < 0 || num_candidates < 0) {
    return Invalid("--max_users must be positive, --num_results and --num_candidates >= 0");
  }
  if (!data_file.empty() && (o.worst_request || !logs_dir.empty())) {
    return Invalid("--data_file excludes --logs and --worst_request");
  }
  if (o.worst_request && o.method != CallMethod::kRecommend) {
    return Invalid("--worst_request is a Recommend request");
  }
  if (o.method == CallMethod::kEcho && !logs_dir.empty()) {
    return Invalid("--logs makes recsys requests, not echo requests: drop it or --call");
  }
  if (o.method != CallMethod::kEcho && (Explicit("payload_bytes") || Explicit("response_bytes"))) {
    return Invalid("--payload_bytes and --response_bytes are for --call=recsys.bench.Echo.Echo");
  }
  if (o.worst_request) {
    auto r = std::make_unique<RecommendRequest>(
        WorstLegalRecommendRequest(absl::ToUnixSeconds(absl::Now())));
    o.requests.push_back(std::move(r));
    o.data_source = "the worst legal request";
  } else if (!data_file.empty()) {
    absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>> r =
        RequestsFromJsonFile(o.method, data_file);
    if (!r.ok()) return r.status();
    o.requests = *std::move(r);
    o.data_source = data_file;
  } else if (logs_dir.empty() && config.has_value() && config->data.has_value()) {
    absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>> r =
        RequestsFromJsonValue(o.method, *config->data,
                              absl::StrCat(config_path, ": field \"data\""));
    if (!r.ok()) return r.status();
    o.requests = *std::move(r);
    o.data_source = absl::StrCat(config_path, " data");
  } else if (logs_dir.empty() && config.has_value() && config->data_file.has_value()) {
    std::string path = *config->data_file;
    // As written (from the working directory), else next to the config.
    if (!ReadTextFile(path).ok() && !absl::StartsWith(path, "/")) {
      const size_t slash = config_path.rfind('/');
      if (slash != std::string::npos) path = config_path.substr(0, slash + 1) + path;
    }
    absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>> r =
        RequestsFromJsonFile(o.method, path);
    if (!r.ok()) {
      return Invalid(absl::StrCat(config_path, ": field \"data-file\": ", r.status().message()));
    }
    o.requests = *std::move(r);
    o.data_source = path;
  } else {
    absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>> r = BuiltRequests(
        o.method, logs_dir, max_users, num_results, num_candidates, &o.data_source);
    if (!r.ok()) return r.status();
    o.requests = *std::move(r);
  }

  const double connect_timeout_s = absl::GetFlag(FLAGS_connect_timeout_s);
  if (!(connect_timeout_s >= 0)) return Invalid("--connect_timeout_s must be >= 0");
  o.load.connect_timeout = absl::Seconds(connect_timeout_s);
  if (!Explicit("connect_timeout_s") && config.has_value() && config->connect_timeout.has_value()) {
    o.load.connect_timeout = *config->connect_timeout;
  }
  o.load.client_threads = absl::GetFlag(FLAGS_client_threads);
  if (o.load.client_threads < 1 || o.load.client_threads > 256) {
    return Invalid("--client_threads must be in [1, 256]");
  }
  o.fail_on_error = absl::GetFlag(FLAGS_fail_on_error);
  o.quiet = absl::GetFlag(FLAGS_quiet);
  o.calls_csv = absl::GetFlag(FLAGS_calls_csv);
  o.write_request_body = absl::GetFlag(FLAGS_write_request_body);
  o.output_json = absl::GetFlag(FLAGS_output_json);
  if (!Explicit("output_json") && config.has_value() && config->output_json.has_value()) {
    o.output_json = *config->output_json;
  }
  o.name = absl::GetFlag(FLAGS_name);
  if (!Explicit("name") && config.has_value() && config->name.has_value()) o.name = *config->name;
  if (config.has_value()) o.tags = config->tags;
  // The per-call records: for the CSV and the version timeline.
  o.load.keep_calls = !o.calls_csv.empty() || o.method == CallMethod::kRecommend;
  return o;
}

absl::Status WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status WriteCallsCsv(const LoadReport& report, const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  out << "index,sent_unix_ms,completed_unix_ms,latency_ms,code,model_version,"
         "ranking_model_version,degraded,degraded_cause,version_mismatch\n";
  for (const CallRecord& c : report.calls) {
    out << absl::StrFormat("%d,%d,%d,%.3f,%d,%s,%s,%d,%s,%d\n", c.index,
                           absl::ToUnixMillis(report.start + c.sent),
                           absl::ToUnixMillis(report.start + c.completed()),
                           absl::ToDoubleMilliseconds(c.latency), static_cast<int>(c.code),
                           c.model_version, c.ranking_model_version, c.degraded ? 1 : 0,
                           absl::StripPrefix(DegradedCause_Name(c.degraded_cause),
                                             "DEGRADED_"),
                           c.version_mismatch ? 1 : 0);
  }
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// When each model version answered first and last, since the start.
void PrintVersionTimeline(const LoadReport& report) {
  if (report.calls.empty()) return;
  for (const auto& [version, n] : report.summary.model_versions) {
    if (version.empty()) continue;
    const auto first = report.FirstAnswerWithModelVersion(version);
    const auto last = report.LastAnswerWithModelVersion(version);
    const auto ranking = report.FirstAnswerWithRankingVersion(version);
    std::cout << absl::StrFormat(
        "version %s: %d answers, first at %.2fs, last at %.2fs; first ranked by it "
        "at %s\n",
        version, n, absl::ToDoubleSeconds(first.value_or(absl::ZeroDuration())),
        absl::ToDoubleSeconds(last.value_or(absl::ZeroDuration())),
        ranking.has_value() ? absl::StrFormat("%.2fs", absl::ToDoubleSeconds(*ranking))
                            : std::string("-"));
  }
}

std::string ModeText(const LoadToolOptions& o) {
  std::string mode;
  if (o.load.concurrency > 0) {
    mode = absl::StrFormat("closed loop, %d in flight", o.load.concurrency);
  } else if (o.load.max_in_flight == 1) {
    mode = "one call at a time";
  } else if (o.load.max_in_flight > 1) {
    mode = absl::StrFormat("%.1f calls/s, at most %d in flight", o.load.requests_per_second,
                           o.load.max_in_flight);
  } else {
    mode = absl::StrFormat("%.1f calls/s", o.load.requests_per_second);
  }
  if (o.target.connections > 1) absl::StrAppend(&mode, ", ", o.target.connections, " connections");
  if (o.load.max_calls > 0) absl::StrAppend(&mode, ", ", o.load.max_calls, " calls");
  if (o.load.duration != absl::InfiniteDuration()) {
    absl::StrAppend(&mode, absl::StrFormat(", %.1fs", absl::ToDoubleSeconds(o.load.duration)));
  }
  return mode;
}

int Run(LoadToolOptions options) {
  if (!options.write_request_body.empty()) {
    const google::protobuf::Message& first = *options.requests.front();
    const std::string body = GrpcFramedMessage(first);
    if (absl::Status s = WriteFile(options.write_request_body, body); !s.ok()) {
      spdlog::error("recsys_load: {}", std::string(s.message()));
      return 2;
    }
    std::cout << "wrote " << body.size() << " bytes (a gRPC-framed "
              << first.GetDescriptor()->name() << ") to " << options.write_request_body
              << "\n";
    return 0;
  }
  if (!options.quiet) {
    options.load.on_interval = [](const IntervalStats& interval) {
      std::cout << FormatInterval(interval) << std::endl;
    };
  }
  Workload workload;
  workload.method = options.method;
  workload.requests = SerializeAll(options.requests);
  size_t request_bytes = 0;
  for (const std::string& r : workload.requests) request_bytes += r.size();
  const size_t num_requests = workload.requests.size();

  absl::StatusOr<std::unique_ptr<LoadGenerator>> generator =
      LoadGenerator::Create(options.target, std::move(workload), options.load);
  if (!generator.ok()) {
    spdlog::error("recsys_load: {}", std::string(generator.status().message()));
    return 2;
  }
  // benchmarks/serving_faults.sh reads "the worst legal request, N bytes".
  std::cout << absl::StrFormat(
                   "%s on %s: %s, deadline %s, %d distinct requests (%s, %.0f bytes%s)\n",
                   ShortName(options.method), options.target.address, ModeText(options),
                   absl::FormatDuration(options.load.deadline), num_requests,
                   options.data_source,
                   static_cast<double>(request_bytes) / static_cast<double>(num_requests),
                   num_requests > 1 ? " on average" : "")
            << std::flush;
  const LoadReport report = (*generator)->Run();
  const absl::Time end = absl::Now();
  if (!report.connected) {
    spdlog::warn("recsys_load: not connected to {} within {} (--connect_timeout_s); the run "
                 "started anyway",
                 options.target.address, absl::FormatDuration(options.load.connect_timeout));
  }
  const CallSummary& s = report.summary;
  std::cout << "\nsummary: " << absl::StrFormat("%.1f calls/s sent over %.2fs\n",
                                               report.achieved_rps,
                                               absl::ToDoubleSeconds(report.send_window))
            << FormatCallSummary(s)
            << absl::StrFormat(
                   "qps: %.1f calls completed per second over %.3fs (%s; at most %d in "
                   "flight)\n",
                   report.completed_rps, absl::ToDoubleSeconds(report.total),
                   report.end_reason == "timeout" ? "stopped by the duration"
                                                  : "all calls sent",
                   report.max_in_flight);
  PrintVersionTimeline(report);
  for (const CallRecord& c : report.calls) {
    if (!c.ok()) {
      std::cout << "first failure: call " << c.index << ": "
                << absl::StatusCodeToString(static_cast<absl::StatusCode>(c.code))
                << ": " << c.error_message << "\n";
      break;
    }
  }
  if (!options.calls_csv.empty()) {
    if (absl::Status st = WriteCallsCsv(report, options.calls_csv); !st.ok()) {
      spdlog::error("recsys_load: {}", std::string(st.message()));
      return 2;
    }
  }
  if (!options.output_json.empty()) {
    GhzRunOptions ghz;
    ghz.name = options.name;
    ghz.call = CallMethodName(options.method);
    ghz.host = options.target.address;
    ghz.total = options.load.max_calls;
    ghz.concurrency = options.load.concurrency > 0 ? options.load.concurrency
                                                   : options.load.max_in_flight;
    ghz.connections = options.target.connections;
    ghz.rps = options.load.concurrency > 0 ? 0 : options.load.requests_per_second;
    ghz.duration = options.load.duration == absl::InfiniteDuration() ? absl::ZeroDuration()
                                                                     : options.load.duration;
    ghz.timeout = options.load.deadline;
    ghz.cpus = static_cast<int>(std::thread::hardware_concurrency());
    ghz.tags = options.tags;
    ghz.loop = options.load.concurrency > 0 ? "closed" : "open";
    ghz.distinct_requests = static_cast<int64_t>(num_requests);
    ghz.data_source = options.data_source;
    if (absl::Status st = WriteFile(options.output_json, GhzJsonReport(report, ghz, end));
        !st.ok()) {
      spdlog::error("recsys_load: {}", std::string(st.message()));
      return 2;
    }
    std::cout << "wrote the JSON report to " << options.output_json << "\n";
  }
  if (options.fail_on_error && s.failed() > 0) {
    spdlog::error("recsys_load: {} of {} calls failed", s.failed(), s.calls);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  std::vector<char*> positional = recsys::ParseCommandLineAndInitLogging(argc, argv,
      "A ghz-compatible load generator for the recsys services: closed loop "
      "(--concurrency, as ghz) or open loop (--rps), over --connections; a "
      "line per second (ok, errors by code, degraded by cause, versions seen, "
      "p50/p99), a summary (QPS, latency p50/p90/p95/p99/p99.9, min/mean/max, "
      "errors by code, degraded answers), and --output_json in ghz's JSON "
      "report format.\n"
      "\n"
      "Examples:\n"
      "  # Recommend, 8 in flight for 30 s, users of a world\n"
      "  recsys_load --address=127.0.0.1:50051 --logs=data/world --concurrency=8 --duration_s=30\n"
      "  # open loop at 200 calls/s\n"
      "  recsys_load --address=127.0.0.1:50051 --logs=data/world --rps=200 --duration_s=30\n"
      "  # a ghz config (call, host, concurrency, duration, data ...); flags override it\n"
      "  recsys_load --config=deploy/k8s/loadtest/ghz/rank.json --duration_s=5 --output_json=out/rank.json\n"
      "  # a ghz data file: one object or an array of objects, proto3 JSON of the request\n"
      "  echo '[{\"context\": {\"watches\": [{\"videoId\": \"v00042\"}]}, \"numResults\": 5}]' > req.json\n"
      "  recsys_load --address=127.0.0.1:50051 --data_file=req.json --total=1000 --concurrency=4\n"
      "  # the echo benchmark (benchmarks/echo_server), and its h2load body\n"
      "  recsys_load --address=127.0.0.1:PORT --call=recsys.bench.Echo.Echo --concurrency=64 "
      "--duration_s=5\n"
      "  recsys_load --call=recsys.bench.Echo.Echo --write_request_body=/tmp/echo.bin\n"
      "  # the largest legal request, one at a time\n"
      "  recsys_load --address=127.0.0.1:50051 --worst_request --count=20 --sequential\n"
      "\n"
      "Exit status: 0; 1 when --fail_on_error and a call failed; 2 for bad "
      "flags, an invalid config or data file (the message names the file and "
      "the field or array element), or unreadable logs.");
  // Debian's Abseil is built with Mutex deadlock detection on, which gRPC's
  // mutexes pay for on every lock (~4% of the client's CPU under load).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::StatusOr<recsys::LoadToolOptions> options = recsys::OptionsFromFlags(positional);
  if (!options.ok()) {
    spdlog::error("recsys_load: {}; see --help", std::string(options.status().message()));
    return 2;
  }
  return recsys::Run(*std::move(options));
}
