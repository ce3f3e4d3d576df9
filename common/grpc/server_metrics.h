#ifndef RECSYS_COMMON_GRPC_SERVER_METRICS_H_
#define RECSYS_COMMON_GRPC_SERVER_METRICS_H_

// Prometheus metrics of one server (prometheus-cpp), served over HTTP at
// /metrics on an address of their own (`--metrics_address`), in the
// Prometheus text format. Every series carries the label `server`.
//
//   recsys_requests_total{method, code}             counter
//   recsys_request_duration_seconds{method}         histogram
//   recsys_stage_duration_seconds{method, stage}    histogram, the stages of
//       a call in order: candidate_server validate (parse + checks),
//       features, user_tower, ann, popular_fill, ranking_call (Recommend
//       only: the whole ranking RPC), respond (merge + serialise);
//       ranking_server validate, features, tower, respond (sort + serialise)
//   recsys_in_flight_requests                       gauge
//   recsys_degraded_answers_total{cause}            counter (candidate)
//   recsys_version_mismatches_total                 counter (candidate)
//   recsys_ranking_breaker_open                     gauge 0/1 (candidate)
//   recsys_model_version_loaded{version}            gauge 1 per loaded version
//   recsys_model_loads_total{result}                counter: accepted | rejected
//   recsys_ann_recall{version, at}                  gauge: the ANN index's
//       recall of the exact top-`at`, measured at export (candidate)
//   recsys_ann_shard_calls_total{shard, outcome}    counter: a sharded
//       candidate server's searches per ANN shard: ok, deadline_exceeded,
//       unavailable, error, other_version, other_shard, bad_answer (every
//       outcome but ok leaves the shard out of the answer)
//
// Thread-safe. Recording costs a hash-map look-up under a mutex per call
// (prometheus-cpp's Family::Add), about a microsecond.

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace prometheus {
class Counter;
class Exposer;
class Gauge;
class Histogram;
template <typename T>
class Family;
class Registry;
}  // namespace prometheus

namespace recsys {

class ServerMetrics {
 public:
  // Metrics for `server` (e.g. "candidate_server"), served at
  // http://`address`/metrics when `address` is not empty ("host:port", port
  // 0 = any free port). Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<ServerMetrics>> Create(const std::string& server,
                                                               const std::string& address);
  ~ServerMetrics();

  // The bound HTTP port; 0 when not served.
  int port() const { return port_; }

  // One finished call of `method` that started at `start`, labelled with
  // its status code's name (e.g. "OK", "RESOURCE_EXHAUSTED").
  void RecordRequest(const std::string& method, absl::StatusCode code, absl::Time start);
  // The time one stage of a `method` call took (see the list above).
  // `stage` is a string literal: histograms are cached by its address.
  void RecordStage(const char* method, const char* stage, absl::Duration took);
  void AddInFlight(int delta);
  void RecordDegraded(const std::string& cause);
  void RecordVersionMismatch();
  void SetBreakerOpen(bool open);
  // The versions loaded now (the previous set's series are removed, their
  // ANN recall too).
  void SetLoadedVersions(const std::vector<std::string>& versions);
  // The ANN recall of a loaded version (see the list above).
  void SetAnnRecall(const std::string& version, double recall, int at);
  void RecordModelLoad(bool accepted);
  // One search's outcome at ANN shard `shard` (see the list above).
  void RecordShardCall(int shard, const char* outcome);

 private:
  explicit ServerMetrics(const std::string& server);

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* durations_;
  prometheus::Family<prometheus::Histogram>* stages_;
  prometheus::Family<prometheus::Counter>* degraded_;
  prometheus::Family<prometheus::Counter>* loads_;
  prometheus::Family<prometheus::Gauge>* versions_;
  prometheus::Family<prometheus::Gauge>* ann_recall_;
  prometheus::Family<prometheus::Counter>* shard_calls_;
  prometheus::Gauge* in_flight_;
  prometheus::Counter* mismatches_;
  prometheus::Gauge* breaker_open_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, prometheus::Gauge*> version_gauges_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, prometheus::Gauge*> recall_gauges_ ABSL_GUARDED_BY(mu_);
  // Stage histograms by the addresses of their (literal) method and stage.
  absl::Mutex stages_mu_;
  absl::flat_hash_map<std::pair<const char*, const char*>, prometheus::Histogram*>
      stage_histograms_ ABSL_GUARDED_BY(stages_mu_);
};

}  // namespace recsys

#endif  // RECSYS_COMMON_GRPC_SERVER_METRICS_H_
