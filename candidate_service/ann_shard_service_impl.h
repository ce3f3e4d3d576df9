#ifndef RECSYS_CANDIDATE_SERVICE_ANN_SHARD_SERVICE_IMPL_H_
#define RECSYS_CANDIDATE_SERVICE_ANN_SHARD_SERVICE_IMPL_H_

// AnnShardService: one shard of the candidate model's ANN index
// (common/serving/ann_shards.h), what candidate_server serves when started
// with --shard_index and --num_shards. A search reads top to bottom: admit
// -> the requested bundle version (else the newest) -> validate against
// its index -> search -> answer the rows of the whole index.

#include <memory>

#include "common/grpc/in_flight_limiter.h"
#include "common/grpc/server_metrics.h"
#include "common/serving/ann_shards.h"
#include "common/serving/version_manager.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {

// InvalidArgument naming the field: a `query` that is not `dimension`
// values (or holds a non-finite one), `k` outside [1, kMaxShardSearchK].
absl::Status ValidateShardSearchRequest(const ShardSearchRequest& request, int dimension);

// Validates `request` against `shard` and answers it: its top-k rows (of
// the whole index) and scores, version, shard index and count.
absl::Status SearchShard(const AnnIndexShard& shard, const ShardSearchRequest& request,
                         ShardSearchResponse* response);

struct AnnShardServiceOptions {
  // Requests handled at once; past it RESOURCE_EXHAUSTED. <= 0: no cap.
  int max_in_flight = 256;
  // Prometheus metrics (not owned; may be null).
  ServerMetrics* metrics = nullptr;
};

// Thread-safe: each call holds the version (an `AnnIndexShard`) it started
// with.
class AnnShardServiceImpl final : public AnnShardService::CallbackService {
 public:
  // `versions` (loading `AnnIndexShard`s) must outlive the service.
  AnnShardServiceImpl(const VersionManager* versions, const AnnShardServiceOptions& options)
      : versions_(versions), options_(options), limiter_(options.max_in_flight) {}

  grpc::ServerUnaryReactor* Search(grpc::CallbackServerContext* context,
                                   const ShardSearchRequest* request,
                                   ShardSearchResponse* response) override;

 private:
  const VersionManager* versions_;
  const AnnShardServiceOptions options_;
  InFlightLimiter limiter_;
};

}  // namespace recsys

#endif  // RECSYS_CANDIDATE_SERVICE_ANN_SHARD_SERVICE_IMPL_H_
