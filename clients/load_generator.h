#ifndef RECSYS_CLIENTS_LOAD_GENERATOR_H_
#define RECSYS_CLIENTS_LOAD_GENERATOR_H_

// An open-loop load generator for `recsys.CandidateService/Recommend`: calls
// are issued at a fixed rate whatever the server's latency (a slow server
// gets a growing number of calls in flight, not fewer calls), with gRPC's
// callback API, so that one thread drives thousands of calls in flight. Every
// call is recorded: when it was sent, its latency and status, and which model
// versions answered it, so that a test can tell when a new bundle version
// started serving.
//
// Also the requests to send: user contexts from a world's logs, a few
// hand-built ones, and the largest request `common/grpc/request_validation.h`
// accepts.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/logs/logs.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {

// One finished call.
struct CallRecord {
  // The call's position in the send order, from 0.
  int64_t index = 0;
  // When the call was due and when it was sent, since the run's start. Sent
  // later than scheduled only when the sender falls behind the rate or
  // `max_in_flight` holds it back.
  absl::Duration scheduled;
  absl::Duration sent;
  // From sending to the callback with the outcome.
  absl::Duration latency;
  grpc::StatusCode code = grpc::StatusCode::OK;
  // The server's message; empty for OK.
  std::string error_message;
  // The answer's fields; empty / false / DEGRADED_NONE when the call failed.
  std::string model_version;
  std::string ranking_model_version;
  bool degraded = false;
  DegradedCause degraded_cause = DEGRADED_NONE;
  bool version_mismatch = false;

  // When the answer arrived, since the run's start.
  absl::Duration completed() const { return sent + latency; }
  bool ok() const { return code == grpc::StatusCode::OK; }
};

// Latency quantiles over a set of calls (nearest rank); zero when empty.
struct LatencySummary {
  absl::Duration p50;
  absl::Duration p99;
  absl::Duration max;
};

// Counts over a set of calls.
struct CallSummary {
  int64_t calls = 0;
  int64_t ok = 0;
  int64_t degraded = 0;
  int64_t version_mismatches = 0;
  // Every call, by its status code (OK included).
  std::map<grpc::StatusCode, int64_t> by_code;
  // Degraded answers by cause.
  std::map<DegradedCause, int64_t> degraded_by_cause;
  // OK answers by `model_version` and by `ranking_model_version` ("" when
  // ranking was skipped).
  std::map<std::string, int64_t> model_versions;
  std::map<std::string, int64_t> ranking_model_versions;
  // Over every call, failed ones included.
  LatencySummary latency;

  int64_t failed() const { return calls - ok; }
};

CallSummary SummarizeCalls(absl::Span<const CallRecord> calls);

// The calls that completed in one interval of a run.
struct IntervalStats {
  // The interval [start, end), since the run's start.
  absl::Duration start;
  absl::Duration end;
  // Calls sent but not completed at `end`.
  int64_t in_flight = 0;
  CallSummary summary;
};

// One line for an interval: "t=3s ok=200 ... p50=2.1ms p99=8.0ms".
std::string FormatInterval(const IntervalStats& interval);

// A summary as a few lines of text, e.g. for the end of a run.
std::string FormatCallSummary(const CallSummary& summary);

struct LoadOptions {
  // Calls issued per second (the schedule; see `max_in_flight`).
  double requests_per_second = 100;
  // How long calls are issued; the run then waits for those in flight.
  absl::Duration duration = absl::Seconds(10);
  // Deadline of each call.
  absl::Duration deadline = absl::Seconds(1);
  // Calls in all; 0: requests_per_second * duration. The run stops issuing
  // at whichever of `duration` and `max_calls` comes first.
  int64_t max_calls = 0;
  // 0: open loop (no limit). Otherwise at most this many calls in flight:
  // the sender waits for one to finish, so 1 sends calls one after another.
  int max_in_flight = 0;
  // When set, called on the sending thread every `report_interval` (and once
  // for the last, partial interval) with the calls completed in it. Must be
  // quick: it delays the calls due meanwhile.
  std::function<void(const IntervalStats&)> on_interval;
  absl::Duration report_interval = absl::Seconds(1);
};

// A finished run.
struct LoadReport {
  // The wall-clock time of the run's start: the offsets of `calls` are
  // since it.
  absl::Time start;
  // From the start to the last call sent.
  absl::Duration send_window;
  // Every call, by `index`.
  std::vector<CallRecord> calls;
  CallSummary summary;
  // Calls sent per second over `send_window`.
  double achieved_rps = 0;
  // The calls completed in each `report_interval`, in order.
  std::vector<IntervalStats> intervals;

  // The completion time (since `start`) of the first OK answer whose
  // `model_version` / `ranking_model_version` is `version`; nullopt if none.
  std::optional<absl::Duration> FirstAnswerWithModelVersion(
      const std::string& version) const;
  std::optional<absl::Duration> FirstAnswerWithRankingVersion(
      const std::string& version) const;
  // The completion time of the last OK answer with that `model_version`.
  std::optional<absl::Duration> LastAnswerWithModelVersion(
      const std::string& version) const;
};

// Drives one run of Recommend calls over a channel. `Run` may be called
// once; `CompletedSoFar` may be called from any thread meanwhile.
class LoadGenerator {
 public:
  // InvalidArgument for an empty `requests`, a non-positive rate, duration
  // or deadline, or a negative `max_calls` / `max_in_flight`.
  static absl::StatusOr<std::unique_ptr<LoadGenerator>> Create(
      std::shared_ptr<grpc::Channel> channel,
      std::vector<RecommendRequest> requests, LoadOptions options);

  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Issues the calls, cycling through the requests, then waits for every
  // call to finish (each is bounded by its deadline) and returns the report.
  LoadReport Run();

  // The calls completed so far, in completion order. Thread-safe.
  std::vector<CallRecord> CompletedSoFar() const;

 private:
  struct Call;

  LoadGenerator(std::shared_ptr<grpc::Channel> channel,
                std::vector<RecommendRequest> requests, LoadOptions options);

  void Issue(int64_t index, absl::Duration scheduled);
  void Finish(Call* call, const grpc::Status& status);
  // Reports every whole interval that ended by `now_offset`; with `flush`,
  // also the partial one.
  void ReportIntervals(absl::Duration now_offset, bool flush);

  const std::vector<RecommendRequest> requests_;
  const LoadOptions options_;
  std::unique_ptr<CandidateService::Stub> stub_;
  absl::Time start_;

  mutable absl::Mutex mu_;
  int64_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // In completion order.
  std::vector<CallRecord> completed_ ABSL_GUARDED_BY(mu_);

  // Sending thread only.
  int64_t reported_calls_ = 0;
  absl::Duration next_report_end_;
  std::vector<IntervalStats> intervals_;
};

// One request per user of `logs` with a watch (at most `max_requests`, in
// user order): the user's context as of one second after their last watch,
// asking for `num_results` videos.
std::vector<RecommendRequest> RecommendRequestsFromLogs(const Logs& logs,
                                                        int max_requests,
                                                        int32_t num_results);

// A few fixed contexts for when no logs are at hand: a cold-start user, one
// with searches and demographics, one with watches of IDs the bundle may not
// know (ignored by the models).
std::vector<RecommendRequest> HandBuiltRecommendRequests(int32_t num_results);

// The largest RecommendRequest `ValidateRecommendRequest` accepts: as many
// watches, searches and impressions as allowed, every video ID, query, user
// ID and demographic string as long as allowed (distinct, ASCII), and the
// largest `num_results` and `num_candidates`. Events are one second apart,
// the last one second before `request_time_s`. The limits are
// `common/grpc/request_validation.h`'s constants.
RecommendRequest WorstLegalRecommendRequest(int64_t request_time_s);

// `message` framed as a gRPC message on the wire (a length-prefixed
// message): a zero byte (uncompressed), the length as 4 bytes big-endian,
// then the serialized message. What h2load needs as a request body.
std::string GrpcFramedMessage(const google::protobuf::Message& message);

}  // namespace recsys

#endif  // RECSYS_CLIENTS_LOAD_GENERATOR_H_
