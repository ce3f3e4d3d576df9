#include "common/grpc/server_metrics.h"

#include <algorithm>
#include <exception>

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/str_cat.h"

namespace recsys {
namespace {

// Request durations, seconds: 0.5 ms to 5 s.
const std::vector<double>& DurationBuckets() {
  static const std::vector<double> kBuckets = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                               0.05,   0.1,   0.2,   0.5,   1,    2, 5};
  return kBuckets;
}

// Stage durations, seconds: 10 us to 1 s.
const std::vector<double>& StageBuckets() {
  static const std::vector<double> kBuckets = {0.00001, 0.00002, 0.00005, 0.0001, 0.0002,
                                               0.0005,  0.001,   0.002,   0.005,  0.01,
                                               0.02,    0.05,    0.1,     0.2,    1};
  return kBuckets;
}

}  // namespace

ServerMetrics::ServerMetrics(const std::string& server)
    : registry_(std::make_shared<prometheus::Registry>()) {
  const prometheus::Labels labels = {{"server", server}};
  requests_ = &prometheus::BuildCounter()
                   .Name("recsys_requests_total")
                   .Help("Finished calls by method and gRPC status code.")
                   .Labels(labels)
                   .Register(*registry_);
  durations_ = &prometheus::BuildHistogram()
                    .Name("recsys_request_duration_seconds")
                    .Help("Time from a call's arrival to its answer, seconds.")
                    .Labels(labels)
                    .Register(*registry_);
  stages_ = &prometheus::BuildHistogram()
                 .Name("recsys_stage_duration_seconds")
                 .Help("Time of one stage of a call, seconds.")
                 .Labels(labels)
                 .Register(*registry_);
  degraded_ = &prometheus::BuildCounter()
                   .Name("recsys_degraded_answers_total")
                   .Help("Answers in retrieval order, by cause (RecommendResponse.degraded_cause).")
                   .Labels(labels)
                   .Register(*registry_);
  loads_ = &prometheus::BuildCounter()
                .Name("recsys_model_loads_total")
                .Help("Bundle versions loaded (accepted) or refused by validation (rejected).")
                .Labels(labels)
                .Register(*registry_);
  versions_ = &prometheus::BuildGauge()
                   .Name("recsys_model_version_loaded")
                   .Help("1 for each bundle version loaded now.")
                   .Labels(labels)
                   .Register(*registry_);
  ann_recall_ = &prometheus::BuildGauge()
                     .Name("recsys_ann_recall")
                     .Help("The ANN index's recall of the exact top-`at` retrieval, measured "
                           "when the bundle was exported, per loaded version.")
                     .Labels(labels)
                     .Register(*registry_);
  shard_calls_ = &prometheus::BuildCounter()
                     .Name("recsys_ann_shard_calls_total")
                     .Help("Searches sent to each ANN shard by outcome; every outcome but ok "
                           "leaves the shard out of the answer.")
                     .Labels(labels)
                     .Register(*registry_);
  in_flight_ = &prometheus::BuildGauge()
                    .Name("recsys_in_flight_requests")
                    .Help("Calls being handled now.")
                    .Labels(labels)
                    .Register(*registry_)
                    .Add({});
  mismatches_ = &prometheus::BuildCounter()
                     .Name("recsys_version_mismatches_total")
                     .Help("Answers ranked with another bundle version than retrieved them.")
                     .Labels(labels)
                     .Register(*registry_)
                     .Add({});
  breaker_open_ = &prometheus::BuildGauge()
                       .Name("recsys_ranking_breaker_open")
                       .Help("1 while the circuit breaker in front of ranking is open.")
                       .Labels(labels)
                       .Register(*registry_)
                       .Add({});
}

ServerMetrics::~ServerMetrics() = default;

absl::StatusOr<std::unique_ptr<ServerMetrics>> ServerMetrics::Create(const std::string& server,
                                                                     const std::string& address) {
  auto metrics = std::unique_ptr<ServerMetrics>(new ServerMetrics(server));
  if (address.empty()) return metrics;
  try {
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  metrics->exposer_->RegisterCollectable(metrics->registry_);
  const std::vector<int> ports = metrics->exposer_->GetListeningPorts();
  metrics->port_ = ports.empty() ? 0 : ports.front();
  return metrics;
}

void ServerMetrics::RecordRequest(const std::string& method, absl::StatusCode code,
                                  absl::Time start) {
  requests_->Add({{"method", method}, {"code", absl::StatusCodeToString(code)}}).Increment();
  durations_->Add({{"method", method}}, DurationBuckets())
      .Observe(absl::ToDoubleSeconds(absl::Now() - start));
}

void ServerMetrics::RecordStage(const char* method, const char* stage, absl::Duration took) {
  prometheus::Histogram* histogram = nullptr;
  {
    absl::MutexLock lock(&stages_mu_);
    prometheus::Histogram*& cached = stage_histograms_[{method, stage}];
    if (cached == nullptr) {
      cached = &stages_->Add({{"method", method}, {"stage", stage}}, StageBuckets());
    }
    histogram = cached;
  }
  histogram->Observe(absl::ToDoubleSeconds(took));
}

void ServerMetrics::AddInFlight(int delta) { in_flight_->Increment(delta); }

void ServerMetrics::RecordDegraded(const std::string& cause) {
  degraded_->Add({{"cause", cause}}).Increment();
}

void ServerMetrics::RecordVersionMismatch() { mismatches_->Increment(); }

void ServerMetrics::SetBreakerOpen(bool open) { breaker_open_->Set(open ? 1 : 0); }

void ServerMetrics::SetLoadedVersions(const std::vector<std::string>& versions) {
  absl::MutexLock lock(&mu_);
  for (auto& [version, gauge] : version_gauges_) versions_->Remove(gauge);
  version_gauges_.clear();
  for (auto it = recall_gauges_.begin(); it != recall_gauges_.end();) {
    if (std::find(versions.begin(), versions.end(), it->first) == versions.end()) {
      ann_recall_->Remove(it->second);
      recall_gauges_.erase(it++);
    } else {
      ++it;
    }
  }
  for (const std::string& version : versions) {
    prometheus::Gauge& gauge = versions_->Add({{"version", version}});
    gauge.Set(1);
    version_gauges_[version] = &gauge;
  }
}

void ServerMetrics::SetAnnRecall(const std::string& version, double recall, int at) {
  absl::MutexLock lock(&mu_);
  if (auto it = recall_gauges_.find(version); it != recall_gauges_.end()) {
    ann_recall_->Remove(it->second);
  }
  prometheus::Gauge& gauge =
      ann_recall_->Add({{"version", version}, {"at", absl::StrCat(at)}});
  gauge.Set(recall);
  recall_gauges_[version] = &gauge;
}

void ServerMetrics::RecordShardCall(int shard, const char* outcome) {
  shard_calls_->Add({{"shard", absl::StrCat(shard)}, {"outcome", outcome}}).Increment();
}

void ServerMetrics::RecordModelLoad(bool accepted) {
  loads_->Add({{"result", accepted ? "accepted" : "rejected"}}).Increment();
}

}  // namespace recsys
