#ifndef RECSYS_CLIENTS_LOAD_GENERATOR_H_
#define RECSYS_CLIENTS_LOAD_GENERATOR_H_

// A load generator for the services' unary methods (clients/call_method.h)
// over pre-serialized requests (each serialized once, never per call), in
// two modes:
//
//   - open loop: calls are issued at a fixed rate whatever the server's
//     latency (a slow server gets a growing number of calls in flight, not
//     fewer calls), optionally capped at `max_in_flight`;
//   - closed loop (ghz's --concurrency): N workers, each sending its next
//     call as soon as its previous one ends. No thread per worker: the next
//     call is sent from the previous one's completion, on the transport's
//     thread.
//
// Calls go round-robin over one or more connections, through the built-in
// HTTP/2 client (clients/http2_transport.h, the default: as lean as h2load)
// or gRPC C++ (given channels, or LoadTransport::kGrpc). Every call is
// recorded without a lock (a slot in a preallocated, append-only log,
// claimed with one atomic increment): when it was sent, its latency and
// status, and for Recommend whether it was degraded and which model
// versions answered, so that a test can tell when a new bundle version
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
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "clients/call_method.h"
#include "clients/call_transport.h"
#include "common/logs/logs.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {

// One finished call.
struct CallRecord {
  // The call's position in the send order, from 0.
  int64_t index = 0;
  // When the call was due and when it was sent, since the run's start. Sent
  // later than scheduled only when the sender falls behind the rate or
  // `max_in_flight` holds it back; the same in closed loop.
  absl::Duration scheduled;
  absl::Duration sent;
  // From sending to the callback with the outcome.
  absl::Duration latency;
  grpc::StatusCode code = grpc::StatusCode::OK;
  // The server's message; empty for OK.
  std::string error_message;
  // The answer's fields; empty / false / DEGRADED_NONE when the call failed
  // or the method has no such field. GenerateCandidates fills
  // `model_version`, Rank `ranking_model_version`, Echo nothing.
  std::string model_version;
  std::string ranking_model_version;
  bool degraded = false;
  DegradedCause degraded_cause = DEGRADED_NONE;
  bool version_mismatch = false;

  // When the answer arrived, since the run's start.
  absl::Duration completed() const { return sent + latency; }
  bool ok() const { return code == grpc::StatusCode::OK; }
};

// Latency over a set of calls: quantiles by nearest rank, the mean, the
// extremes; zero when empty.
struct LatencySummary {
  absl::Duration p50;
  absl::Duration p90;
  absl::Duration p95;
  absl::Duration p99;
  absl::Duration p999;
  absl::Duration min;
  absl::Duration mean;
  absl::Duration max;
  // ghz's latencyDistribution: the latency at each of kGhzPercentages.
  std::vector<absl::Duration> ghz_percentiles;
  // ghz's histogram: 11 marks from min to max, evenly spaced, each with the
  // calls above the previous mark and at most this one.
  std::vector<std::pair<absl::Duration, int64_t>> histogram;
};

// The percentages of ghz's latencyDistribution.
inline constexpr int kGhzPercentages[] = {10, 25, 50, 75, 90, 95, 99};

// Latency summary of `latencies` (reordered).
LatencySummary SummarizeLatencies(std::vector<absl::Duration>& latencies);

// Counts over a set of calls.
struct CallSummary {
  int64_t calls = 0;
  int64_t ok = 0;
  int64_t degraded = 0;
  int64_t version_mismatches = 0;
  // Bytes of the serialized answers of OK calls (not for SummarizeCalls).
  int64_t response_bytes = 0;
  // Every call, by its status code (OK included).
  std::map<grpc::StatusCode, int64_t> by_code;
  // Failed calls by code and the server's message.
  std::map<std::pair<grpc::StatusCode, std::string>, int64_t> errors;
  // Degraded answers by cause.
  std::map<DegradedCause, int64_t> degraded_by_cause;
  // OK answers by `model_version` and by `ranking_model_version` ("" when
  // ranking was skipped or the method has none).
  std::map<std::string, int64_t> model_versions;
  std::map<std::string, int64_t> ranking_model_versions;
  // Over every call, failed ones included.
  LatencySummary latency;
  // Over OK calls only (what ghz reports as fastest, slowest and the
  // latency distribution).
  LatencySummary ok_latency;

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

// gRPC's name of a code, e.g. "DEADLINE_EXCEEDED".
std::string StatusCodeName(grpc::StatusCode code);
// ghz's (Go's) name of a code, e.g. "DeadlineExceeded".
std::string GhzStatusCodeName(grpc::StatusCode code);

struct LoadOptions {
  // Open loop: calls issued per second (the schedule; see `max_in_flight`).
  // Unused in closed loop.
  double requests_per_second = 100;
  // How long calls are issued; the run then waits for those in flight.
  // Infinite: until `max_calls`.
  absl::Duration duration = absl::Seconds(10);
  // Deadline of each call.
  absl::Duration deadline = absl::Seconds(1);
  // Calls in all; 0: open loop, requests_per_second * duration; closed
  // loop, no limit. The run stops issuing at whichever of `duration` and
  // `max_calls` comes first.
  int64_t max_calls = 0;
  // Open loop only. 0: no limit. Otherwise at most this many calls in
  // flight: the sender waits for one to finish, so 1 sends calls one after
  // another (at most at the rate).
  int max_in_flight = 0;
  // Closed loop, as ghz runs: this many workers, each sending its next call
  // as soon as its previous one ends (so exactly this many calls are in
  // flight until the end). 0: open loop.
  int concurrency = 0;
  // Threads that take the calls' completions and send closed-loop workers'
  // next calls (HTTP/2: event loops; gRPC: completion-queue pollers), each
  // serving its share of the connections. At most one per connection.
  int client_threads = 1;
  // Before the clock starts, wait up to this long for every connection
  // (zero: do not wait; the first calls then include connecting).
  absl::Duration connect_timeout = absl::ZeroDuration();
  // Keep every call in `LoadReport::calls`. Off, the report has summaries
  // and intervals only (a record is ~150 bytes; the log keeps 48 a call).
  bool keep_calls = true;
  // When set, called on the thread that runs `Run` every `report_interval`
  // (and once for the last, partial interval) with the calls completed in
  // it. Must be quick: in open loop it delays the calls due meanwhile.
  std::function<void(const IntervalStats&)> on_interval;
  absl::Duration report_interval = absl::Seconds(1);
};

// What to call: one method, and the serialized requests calls cycle through.
struct Workload {
  CallMethod method = CallMethod::kRecommend;
  std::vector<std::string> requests;
};

// Serialized `messages`, for a Workload.
std::vector<std::string> SerializeAll(
    const std::vector<std::unique_ptr<google::protobuf::Message>>& messages);
std::vector<std::string> SerializeAll(const std::vector<RecommendRequest>& requests);

// A finished run.
struct LoadReport {
  // The wall-clock time of the run's start: the offsets of `calls` are
  // since it.
  absl::Time start;
  // From the start to the last call sent.
  absl::Duration send_window;
  // From the start to the last call's completion (ghz's "total").
  absl::Duration total;
  // Every call, by `index` (empty unless `LoadOptions::keep_calls`).
  std::vector<CallRecord> calls;
  CallSummary summary;
  // Calls sent per second over `send_window`.
  double achieved_rps = 0;
  // Calls completed per second over `total` (ghz's "rps").
  double completed_rps = 0;
  // The most calls in flight at once.
  int64_t max_in_flight = 0;
  // Whether every connection was up within `connect_timeout` (true when
  // not waited for).
  bool connected = true;
  // Why it stopped issuing calls: "normal" (`max_calls` reached) or
  // "timeout" (`duration` over), as ghz's endReason.
  std::string end_reason;
  // The calls completed in each `report_interval`, in order.
  std::vector<IntervalStats> intervals;

  // The completion time (since `start`) of the first OK answer whose
  // `model_version` / `ranking_model_version` is `version`; nullopt if none
  // (or `calls` was not kept).
  std::optional<absl::Duration> FirstAnswerWithModelVersion(
      const std::string& version) const;
  std::optional<absl::Duration> FirstAnswerWithRankingVersion(
      const std::string& version) const;
  // The completion time of the last OK answer with that `model_version`.
  std::optional<absl::Duration> LastAnswerWithModelVersion(
      const std::string& version) const;
};

// `connections` channels to `address`, each its own TCP connection (a
// distinct channel argument and a local subchannel pool, so gRPC does not
// share one subchannel between them); plaintext, no limit on the size of
// what is sent.
std::vector<std::shared_ptr<grpc::Channel>> CreateLoadChannels(const std::string& address,
                                                               int connections);

// How calls reach the server (clients/call_transport.h).
enum class LoadTransport {
  // The built-in HTTP/2 client (clients/http2_transport.h): what h2load
  // does, ~4x less CPU per call than gRPC C++.
  kHttp2,
  // gRPC C++ (generic stub, completion queues).
  kGrpc,
};

struct LoadTarget {
  // "host:port".
  std::string address;
  // Connections, each its own TCP connection.
  int connections = 1;
  LoadTransport transport = LoadTransport::kHttp2;
};

// Drives one run over one or more connections (calls round-robin over them).
// `Run` may be called once; `CompletedSoFar` may be called from any thread
// meanwhile.
class LoadGenerator {
 public:
  // InvalidArgument for no channel, an empty `requests`, a non-positive
  // rate (open loop), duration or deadline, a negative `max_calls`,
  // `max_in_flight` or `concurrency`, or both `max_in_flight` and
  // `concurrency`.
  static absl::StatusOr<std::unique_ptr<LoadGenerator>> Create(const LoadTarget& target,
                                                               Workload workload,
                                                               LoadOptions options);
  // gRPC over `channels`.
  static absl::StatusOr<std::unique_ptr<LoadGenerator>> Create(
      std::vector<std::shared_ptr<grpc::Channel>> channels, Workload workload,
      LoadOptions options);
  // Recommend over one channel.
  static absl::StatusOr<std::unique_ptr<LoadGenerator>> Create(
      std::shared_ptr<grpc::Channel> channel, std::vector<RecommendRequest> requests,
      LoadOptions options);

  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Issues the calls, cycling through the requests, then waits for every
  // call to finish (each is bounded by its deadline) and returns the report.
  LoadReport Run();

  // The calls completed so far, in completion order. Thread-safe.
  std::vector<CallRecord> CompletedSoFar() const;

 private:
  struct State;
  class Worker;
  struct Call;

  LoadGenerator(std::unique_ptr<CallTransport> transport, Workload workload,
                LoadOptions options);

  void RunOpenLoop();
  void RunClosedLoop();
  // Waits until fewer than `limit` calls are pending (sent, and their
  // completion not yet done with) or `until_ns` (since the start) passes;
  // true in the first case.
  bool WaitInFlightBelow(int64_t limit, int64_t until_ns);
  // Open loop: sends call `index`.
  void Issue(int64_t index);
  // Reports every whole interval that ended by `now_offset`; with `flush`,
  // also the partial one.
  void ReportIntervals(absl::Duration now_offset, bool flush);

  const LoadOptions options_;
  std::unique_ptr<CallTransport> transport_;
  // What the transport's threads touch; outlives them (Run stops them).
  std::unique_ptr<State> state_;

  // The thread that runs `Run` only.
  int64_t reported_calls_ = 0;
  absl::Duration next_report_end_;
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

// GenerateCandidates requests with the contexts of `recommend` requests.
std::vector<GenerateCandidatesRequest> GenerateCandidatesRequestsFor(
    const std::vector<RecommendRequest>& recommend, int32_t num_candidates);

// Rank requests with the contexts of `recommend` requests, each with
// `num_candidates` candidates taken from `video_ids` (a different window of
// it for each request, wrapping around; SOURCE_DNN, decreasing retrieval
// scores) and asking for `num_results`.
std::vector<RankRequest> RankRequestsFor(const std::vector<RecommendRequest>& recommend,
                                         const std::vector<std::string>& video_ids,
                                         int num_candidates, int32_t num_results);

// An echo request whose serialized size is `payload_bytes` + a few bytes of
// framing, asking for `response_bytes`.
std::unique_ptr<google::protobuf::Message> EchoRequestMessage(int payload_bytes,
                                                              int response_bytes);

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
