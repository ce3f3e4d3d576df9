// recsys_load: open-loop load on a running CandidateService's Recommend.
//
// Calls are issued at --rps whatever the server's latency, each with its own
// deadline; a line per second tells what came back (status codes, degraded
// answers and why, which model versions answered, latency quantiles), and a
// summary ends the run.
//
//   recsys_load --address=127.0.0.1:50051 --logs=data/world --rps=200 --duration_s=30
//   recsys_load --address=127.0.0.1:50051 --worst_request --count=20 --sequential
//   recsys_load --logs=data/world --write_request_body=/tmp/body.bin   (for h2load)

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/logs/logs.h"
#include "clients/load_generator.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051", "host:port of the CandidateService.");
ABSL_FLAG(double, rps, 100, "Calls issued per second (open loop).");
ABSL_FLAG(double, duration_s, 10, "How long calls are issued, seconds.");
ABSL_FLAG(int32_t, deadline_ms, 1000, "Deadline of each call, milliseconds.");
ABSL_FLAG(std::string, logs, "",
          "World directory (CSV logs): one request per user, the user's context "
          "as of just after their last watch. Empty: a few hand-built contexts.");
ABSL_FLAG(int32_t, max_users, 1000, "Users taken from --logs, at most.");
ABSL_FLAG(int32_t, num_results, 20, "num_results of each request.");
ABSL_FLAG(bool, worst_request, false,
          "Send only the largest request the services accept (every list and "
          "string at its limit of common/grpc/request_validation.h).");
ABSL_FLAG(int64_t, count, 0,
          "Calls in all; 0: --rps x --duration_s. With --count, --duration_s "
          "0 means no time limit.");
ABSL_FLAG(bool, sequential, false,
          "One call at a time: the next is sent when the previous one ends "
          "(closed loop; --rps then caps the rate).");
ABSL_FLAG(bool, fail_on_error, false, "Exit with status 1 if any call failed.");
ABSL_FLAG(std::string, calls_csv, "",
          "If set, every call is written here, one row each: index, sent and "
          "completed (Unix ms), latency_ms, status code, model_version, "
          "ranking_model_version, degraded, degraded_cause, version_mismatch.");
ABSL_FLAG(std::string, write_request_body, "",
          "For scripts (benchmarks/serving_faults.sh): write the first request, "
          "framed as a gRPC message (h2load's --data body), to this path and "
          "exit without calling the server.");
ABSL_FLAG(bool, quiet, false, "No per-second lines.");

namespace recsys {
namespace {

struct LoadToolOptions {
  std::string address;
  LoadOptions load;
  std::string logs_dir;
  int32_t max_users = 1000;
  int32_t num_results = 20;
  bool worst_request = false;
  bool fail_on_error = false;
  bool quiet = false;
  std::string calls_csv;
  std::string write_request_body;
};

absl::StatusOr<LoadToolOptions> OptionsFromFlags() {
  LoadToolOptions o;
  o.address = absl::GetFlag(FLAGS_address);
  o.load.requests_per_second = absl::GetFlag(FLAGS_rps);
  if (!(o.load.requests_per_second > 0)) {
    return absl::InvalidArgumentError("--rps must be positive");
  }
  o.load.max_calls = absl::GetFlag(FLAGS_count);
  if (o.load.max_calls < 0) return absl::InvalidArgumentError("--count must be >= 0");
  const double duration_s = absl::GetFlag(FLAGS_duration_s);
  if (duration_s < 0 || (duration_s == 0 && o.load.max_calls == 0)) {
    return absl::InvalidArgumentError(
        "--duration_s must be positive (or 0 with --count)");
  }
  o.load.duration =
      duration_s == 0 ? absl::InfiniteDuration() : absl::Seconds(duration_s);
  const int32_t deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  if (deadline_ms <= 0) return absl::InvalidArgumentError("--deadline_ms must be positive");
  o.load.deadline = absl::Milliseconds(deadline_ms);
  o.load.max_in_flight = absl::GetFlag(FLAGS_sequential) ? 1 : 0;
  o.logs_dir = absl::GetFlag(FLAGS_logs);
  o.max_users = absl::GetFlag(FLAGS_max_users);
  o.num_results = absl::GetFlag(FLAGS_num_results);
  if (o.max_users <= 0 || o.num_results < 0) {
    return absl::InvalidArgumentError("--max_users must be positive, --num_results >= 0");
  }
  o.worst_request = absl::GetFlag(FLAGS_worst_request);
  o.fail_on_error = absl::GetFlag(FLAGS_fail_on_error);
  o.quiet = absl::GetFlag(FLAGS_quiet);
  o.calls_csv = absl::GetFlag(FLAGS_calls_csv);
  o.write_request_body = absl::GetFlag(FLAGS_write_request_body);
  return o;
}

absl::StatusOr<std::vector<RecommendRequest>> BuildRequests(const LoadToolOptions& o) {
  if (o.worst_request) {
    return std::vector<RecommendRequest>{
        WorstLegalRecommendRequest(absl::ToUnixSeconds(absl::Now()))};
  }
  if (o.logs_dir.empty()) return HandBuiltRecommendRequests(o.num_results);
  absl::StatusOr<Logs> logs = ReadLogs(o.logs_dir);
  if (!logs.ok()) return logs.status();
  std::vector<RecommendRequest> requests =
      RecommendRequestsFromLogs(*logs, o.max_users, o.num_results);
  if (requests.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no user with a watch in ", o.logs_dir));
  }
  return requests;
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
  for (const auto& [version, n] : report.summary.model_versions) {
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

int Run(LoadToolOptions options) {
  absl::StatusOr<std::vector<RecommendRequest>> requests = BuildRequests(options);
  if (!requests.ok()) {
    std::cerr << "error: " << requests.status().message() << "\n";
    return 2;
  }
  if (!options.write_request_body.empty()) {
    const std::string body = GrpcFramedMessage(requests->front());
    if (absl::Status s = WriteFile(options.write_request_body, body); !s.ok()) {
      std::cerr << "error: " << s.message() << "\n";
      return 2;
    }
    std::cout << "wrote " << body.size() << " bytes (a gRPC-framed RecommendRequest) to "
              << options.write_request_body << "\n";
    return 0;
  }
  if (!options.quiet) {
    options.load.on_interval = [](const IntervalStats& interval) {
      std::cout << FormatInterval(interval) << std::endl;
    };
  }
  const size_t num_requests = requests->size();
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  auto channel = grpc::CreateCustomChannel(options.address,
                                           grpc::InsecureChannelCredentials(), args);
  absl::StatusOr<std::unique_ptr<LoadGenerator>> generator =
      LoadGenerator::Create(channel, *std::move(requests), options.load);
  if (!generator.ok()) {
    std::cerr << "error: " << generator.status().message() << "\n";
    return 2;
  }
  std::cout << absl::StrFormat(
                   "Recommend on %s: %s, deadline %s, %d distinct requests%s\n",
                   options.address,
                   options.load.max_in_flight == 1
                       ? std::string("one call at a time")
                       : absl::StrFormat("%.1f calls/s", options.load.requests_per_second),
                   absl::FormatDuration(options.load.deadline), num_requests,
                   options.worst_request
                       ? absl::StrFormat(" (the worst legal request, %d bytes)",
                                         WorstLegalRecommendRequest(0).ByteSizeLong())
                       : std::string())
            << std::flush;
  const LoadReport report = (*generator)->Run();
  std::cout << "\nsummary: " << absl::StrFormat("%.1f calls/s sent over %.2fs\n",
                                               report.achieved_rps,
                                               absl::ToDoubleSeconds(report.send_window))
            << FormatCallSummary(report.summary);
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
    if (absl::Status s = WriteCallsCsv(report, options.calls_csv); !s.ok()) {
      std::cerr << "error: " << s.message() << "\n";
      return 2;
    }
  }
  if (options.fail_on_error && report.summary.failed() > 0) {
    std::cerr << "error: " << report.summary.failed() << " of " << report.summary.calls
              << " calls failed\n";
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Open-loop load on recsys.CandidateService/Recommend: a line per second "
      "(ok, errors by code, degraded by cause, versions seen, p50/p99) and a "
      "summary.\n"
      "\n"
      "  recsys_load --address=127.0.0.1:50051 --logs=data/world --rps=200 "
      "--duration_s=30\n"
      "  recsys_load --address=127.0.0.1:50051 --worst_request --count=20 "
      "--sequential\n"
      "\n"
      "Exit status: 0; 1 when --fail_on_error and a call failed; 2 for bad "
      "flags or unreadable logs.");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::cerr << "error: unexpected argument '" << positional[1] << "'; see --help\n";
    return 2;
  }
  absl::StatusOr<recsys::LoadToolOptions> options = recsys::OptionsFromFlags();
  if (!options.ok()) {
    std::cerr << "error: " << options.status().message() << "; see --help\n";
    return 2;
  }
  return recsys::Run(*std::move(options));
}
