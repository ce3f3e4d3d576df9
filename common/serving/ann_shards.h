#ifndef RECSYS_COMMON_SERVING_ANN_SHARDS_H_
#define RECSYS_COMMON_SERVING_ANN_SHARDS_H_

// Retrieval over an ANN index split into K shards (docs/serving.md, "Sharded
// retrieval"): shard I holds the rows r with r % K == I of every loaded
// bundle version's index (`AnnIndex::Shard`) and answers
// `recsys.AnnShardService/Search` (a candidate_server started with
// --shard_index and --num_shards); the candidate service's front
// (--ann_shards) fans each query out to the K shards with a deadline and
// merges their top-k (`MergeNeighbors`), which is the unsharded index's
// top-k when every shard answers.
//
//   `AnnIndexShard`  what one bundle version loads into on a shard server.
//   `AnnShardsClient` the front's fan-out.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/grpc/log_limiter.h"
#include "common/grpc/server_metrics.h"
#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/serving/version_manager.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {

// One bundle version's slice of the ANN index. Immutable after `Load`;
// thread-safe.
class AnnIndexShard : public Servable {
 public:
  // Loads the version's ANN index (checked against the manifest's `ann`
  // spec: size and dimension), keeps shard `shard_index` of `num_shards`
  // of it and frees the rest. InvalidArgument for a shard out of range;
  // the errors of `AnnIndex::Load` and `AnnIndex::Shard`.
  static absl::StatusOr<std::unique_ptr<AnnIndexShard>> Load(const Bundle& bundle,
                                                             const AnnIndex::Options& options,
                                                             int shard_index, int num_shards);

  const AnnIndex& index() const { return *index_; }
  // Vectors of the whole index (every shard's rows).
  int64_t total_rows() const { return total_rows_; }
  int shard_index() const { return shard_index_; }
  int num_shards() const { return num_shards_; }

 private:
  AnnIndexShard(std::string version, std::unique_ptr<AnnIndex> index, int64_t total_rows,
                int shard_index, int num_shards)
      : Servable(std::move(version)),
        index_(std::move(index)),
        total_rows_(total_rows),
        shard_index_(shard_index),
        num_shards_(num_shards) {}

  const std::unique_ptr<AnnIndex> index_;
  const int64_t total_rows_;
  const int shard_index_;
  const int num_shards_;
};

// The most rows one shard search may ask for.
inline constexpr int kMaxShardSearchK = 100000;

// The front's fan-out to the K shard servers. Thread-safe: any number of
// requests may search at once.
class AnnShardsClient {
 public:
  struct Options {
    // The shards' gRPC addresses (host:port or any gRPC target); position
    // i is shard i of K = addresses.size(). Not empty.
    std::vector<std::string> addresses;
    // The longest a search waits for the shards (the caller's deadline
    // shortens it). > 0.
    absl::Duration deadline = absl::Milliseconds(50);
    // Each call's outcome per shard (recsys_ann_shard_calls_total); not
    // owned, may be null.
    ServerMetrics* metrics = nullptr;
  };

  // What one search got.
  struct Result {
    // The merged top-k of the shards that answered, best first.
    std::vector<Neighbor> neighbors;
    // The shards left out: failed, late, or answered for another version
    // or shard index, or with rows outside the index.
    int missing = 0;
  };

  // Plaintext channels to `options.addresses` (reconnecting within 100 ms
  // to 1 s of a shard's return), connecting at once. InvalidArgument for
  // bad options.
  static absl::StatusOr<std::unique_ptr<AnnShardsClient>> Create(const Options& options);
  // Over the given stubs (shard i = stubs[i]), for tests.
  AnnShardsClient(std::vector<std::unique_ptr<AnnShardService::StubInterface>> stubs,
                  const Options& options);

  // Sends `query` and `k` for bundle `version` (whose index holds
  // `total_rows` rows) to every shard at once and waits for all of them, or
  // until the earlier of `options.deadline` from now and `deadline`; merges
  // what came back. Never fails: every shard missing is an empty list with
  // `missing` = K. Blocks the calling thread (it polls its own completion
  // queue, so it needs no other gRPC thread).
  Result Search(absl::Span<const float> query, int k, const std::string& version,
                int64_t total_rows, std::chrono::system_clock::time_point deadline) const;

  int num_shards() const { return static_cast<int>(stubs_.size()); }

 private:
  // Why shard `shard` is left out (`outcome`, its metrics label), logged
  // at most once a second.
  void NoteMissing(int shard, const char* outcome, const std::string& detail) const;

  const std::vector<std::unique_ptr<AnnShardService::StubInterface>> stubs_;
  const Options options_;
  mutable LogLimiter missing_log_;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_ANN_SHARDS_H_
