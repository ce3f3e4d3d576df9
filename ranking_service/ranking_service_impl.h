#ifndef RECSYS_RANKING_SERVICE_RANKING_SERVICE_IMPL_H_
#define RECSYS_RANKING_SERVICE_RANKING_SERVICE_IMPL_H_

// RankingService: scores each candidate by predicted expected watch time
// (exp of the ranking network's logit) and returns them best first, with the
// bundle version the caller's candidates came from when it is loaded.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/grpc/in_flight_limiter.h"
#include "common/grpc/access_log.h"
#include "common/grpc/server_metrics.h"
#include "common/serving/bundle.h"
#include "common/serving/models.h"
#include "common/serving/stage_clock.h"
#include "common/serving/version_manager.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {

// The request -> response logic, without gRPC. Validates, scores, orders
// (ties by video ID) and attaches display metadata. `now_s` stands in for a
// context without a request time. Marks "validate", "features" and "tower"
// on `clock` when given.
absl::StatusOr<RankResponse> RankCandidates(const RankingModel& model,
                                            const std::string& model_version,
                                            const RankRequest& request,
                                            int64_t now_s, StageClock* clock = nullptr);

// What one bundle version loads into for the ranking service.
class RankingServable : public Servable {
 public:
  // Loads and validates the ranking model of `bundle`, then ranks the
  // catalogue's most-watched videos for an empty context as a smoke request: every
  // prediction must be finite. The version is the directory's name.
  static absl::StatusOr<std::unique_ptr<RankingServable>> Load(const Bundle& bundle);

  const RankingModel& model() const { return *model_; }

 private:
  RankingServable(std::string version, std::unique_ptr<RankingModel> model)
      : Servable(std::move(version)), model_(std::move(model)) {}
  std::unique_ptr<RankingModel> model_;
};

struct RankingServiceOptions {
  // Requests handled at once; past it RESOURCE_EXHAUSTED. <= 0: no cap.
  int max_in_flight = 256;
  // Prometheus metrics (not owned; may be null).
  ServerMetrics* metrics = nullptr;
  // Fraction of calls written to the access log (common/grpc/access_log.h).
  double access_log_sample = 0;
};

// Ranks with `RankRequest.model_version` when the version manager has it
// loaded, else with the newest loaded version. The request arrives as bytes
// (a raw method): bytes that do not parse get INVALID_ARGUMENT saying so.
// Thread-safe: each call holds the servable it started with.
class RankingServiceImpl final
    : public RankingService::WithRawCallbackMethod_Rank<RankingService::Service> {
 public:
  // `versions` must outlive the service.
  RankingServiceImpl(const VersionManager* versions, const RankingServiceOptions& options)
      : versions_(versions),
        limiter_(options.max_in_flight),
        metrics_(options.metrics),
        access_log_(options.access_log_sample) {}

  grpc::ServerUnaryReactor* Rank(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;

  const InFlightLimiter& limiter() const { return limiter_; }

 private:
  // `*answered` receives the response's version and length.
  absl::Status RankBytes(const grpc::ByteBuffer& request, grpc::ByteBuffer* response,
                         AccessLogEntry* answered);

  const VersionManager* versions_;
  InFlightLimiter limiter_;
  ServerMetrics* metrics_;
  const AccessLog access_log_;
};

}  // namespace recsys

#endif  // RECSYS_RANKING_SERVICE_RANKING_SERVICE_IMPL_H_
