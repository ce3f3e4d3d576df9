#ifndef RECSYS_CANDIDATE_SERVICE_CANDIDATE_SERVICE_IMPL_H_
#define RECSYS_CANDIDATE_SERVICE_CANDIDATE_SERVICE_IMPL_H_

// CandidateService: Recommend (retrieve, then rank through the
// RankingService) and GenerateCandidates (retrieval only).
//
// Recommend reads top to bottom: admit (a cap on requests in flight) ->
// parse -> validate -> the bundle version (the newest, or the request's
// `model_version`) -> candidates (user tower,
// ANN on the local index or fanned out to its shards, co-visitation,
// most-popular fallback) -> call ranking (unless the breaker is open or
// the caller's deadline leaves no time) -> assemble. When ranking fails, is
// late or is skipped, the answer is the retrieval order with `degraded` set
// and `degraded_cause` saying why: a slow ranker costs quality, not
// availability. docs/serving.md has every failure and what it does.
//
// Explain mode (`RecommendRequest.explain`): retrieval records what it read
// and each source's nominees, ranking is asked for its part
// (`RankRequest.explain`), and the answer's `explanation` puts them
// together (`AssembleExplanation`); a degraded answer still explains
// retrieval. Without it, nothing is recorded.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "candidate_service/circuit_breaker.h"
#include "common/grpc/in_flight_limiter.h"
#include "common/grpc/log_limiter.h"
#include "common/grpc/access_log.h"
#include "common/grpc/server_metrics.h"
#include "common/serving/ann_shards.h"
#include "common/serving/retriever.h"
#include "common/serving/version_manager.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {

// `RecommendResponse.explanation` of an answer (whose videos, versions and
// degraded state are set): the user tower's reading is already in it (set
// during retrieval); this adds the ranking request features (`ranking`,
// null when the answer is not ranked), each answer video's sources,
// retrieval score and rank, ranking inputs and final rank, and the removed
// videos (already watched, beyond num_candidates, below the cut) with
// why. `candidates` is the list sent (or meant) for ranking, in retrieval
// order.
void AssembleExplanation(const Retriever& retriever, const NominationTrace& trace,
                         const google::protobuf::RepeatedPtrField<Candidate>& candidates,
                         const RankingExplanation* ranking, RecommendResponse* response);

struct CandidateServiceOptions {
  int default_num_candidates = 200;
  int default_num_results = 20;
  // Upper bound of the ranking call's deadline. The call's deadline is the
  // smaller of this and the caller's remaining time minus `degraded_reserve`.
  absl::Duration ranking_deadline = absl::Milliseconds(500);
  // Time kept back from the caller's deadline to assemble and send the
  // degraded answer when ranking is late.
  absl::Duration degraded_reserve = absl::Milliseconds(20);
  // Below this much time for ranking, ranking is skipped (degraded at once).
  absl::Duration min_ranking_time = absl::Milliseconds(5);
  // Requests handled at once; past it RESOURCE_EXHAUSTED. <= 0: no cap.
  int max_in_flight = 256;
  CircuitBreaker::Options breaker;
  // Prometheus metrics (not owned; may be null).
  ServerMetrics* metrics = nullptr;
  // Fraction of calls written to the access log (common/grpc/access_log.h).
  double access_log_sample = 0;
  // When set (not owned), the ANN step asks these shards of the index
  // instead of the version's own index (`--ann_shards`): an answer missing
  // shards counts them in `shards_missing`, and a Recommend answer that is
  // otherwise whole is `degraded` with DEGRADED_SHARD_UNAVAILABLE.
  const AnnShardsClient* ann_shards = nullptr;
};

// Counters of what the service did, for tests and (later) metrics.
struct CandidateServiceCounters {
  std::atomic<int64_t> degraded[DegradedCause_ARRAYSIZE] = {};
  std::atomic<int64_t> version_mismatches{0};
  std::atomic<int64_t> cancelled{0};
};

// Thread-safe: each call holds the retriever (bundle version) it started
// with; the stub and the breaker are thread-safe.
class CandidateServiceImpl final
    : public CandidateService::WithRawCallbackMethod_Recommend<
          CandidateService::WithRawCallbackMethod_GenerateCandidates<
              CandidateService::Service>> {
 public:
  // `versions` must outlive the service.
  CandidateServiceImpl(const VersionManager* versions,
                       std::unique_ptr<RankingService::StubInterface> ranking,
                       const CandidateServiceOptions& options)
      : versions_(versions),
        ranking_(std::move(ranking)),
        options_(options),
        limiter_(options.max_in_flight),
        breaker_(options.breaker),
        access_log_(options.access_log_sample) {}

  grpc::ServerUnaryReactor* Recommend(grpc::CallbackServerContext* context,
                                      const grpc::ByteBuffer* request,
                                      grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* GenerateCandidates(grpc::CallbackServerContext* context,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response) override;

  const CandidateServiceCounters& counters() const { return counters_; }
  const CircuitBreaker& breaker() const { return breaker_; }
  const InFlightLimiter& limiter() const { return limiter_; }

 private:
  friend class RecommendCall;

  // The retriever of the newest loaded version; nullptr before the first.
  std::shared_ptr<const Retriever> CurrentRetriever() const;
  // The retriever of `RecommendRequest.model_version`: the newest when it is
  // empty (Unavailable before the first), NotFound naming the field and the
  // loaded versions when that version is not loaded (its length is checked
  // by `ValidateRecommendRequest`).
  absl::StatusOr<std::shared_ptr<const Retriever>> RetrieverFor(const std::string& version) const;
  // `retriever`'s nominees for `context`, its ANN step on `ann_shards`
  // (waiting until `deadline` at most) when the options have them;
  // `*shards_missing` is the number of shards left out. `trace` as in
  // `Retriever::Nominate` (explain mode).
  absl::StatusOr<std::vector<Nominee>> Nominate(const Retriever& retriever,
                                                const UserContext& context, int n,
                                                std::chrono::system_clock::time_point deadline,
                                                StageClock* clock, int* shards_missing,
                                                NominationTrace* trace = nullptr) const;
  // Counts and logs (rate-limited) one degraded answer.
  void NoteDegraded(DegradedCause cause, const std::string& detail);
  void NoteVersionMismatch(const std::string& candidate_version,
                           const std::string& ranking_version);
  // The breaker's state in the metrics.
  void NoteBreaker();
  // Counts one finished call in the metrics (when there are any).
  void NoteRequest(const char* method, const grpc::Status& status, absl::Time start);

  const VersionManager* versions_;
  std::unique_ptr<RankingService::StubInterface> ranking_;
  const CandidateServiceOptions options_;
  InFlightLimiter limiter_;
  CircuitBreaker breaker_;
  CandidateServiceCounters counters_;
  const AccessLog access_log_;
  LogLimiter degraded_log_;
  LogLimiter rejected_log_{absl::Seconds(10)};
  LogLimiter mismatch_log_{absl::Seconds(10)};
};

}  // namespace recsys

#endif  // RECSYS_CANDIDATE_SERVICE_CANDIDATE_SERVICE_IMPL_H_
