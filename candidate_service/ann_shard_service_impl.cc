#include "candidate_service/ann_shard_service_impl.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/grpc_status.h"
#include "common/base/status_macros.h"

namespace recsys {

absl::Status ValidateShardSearchRequest(const ShardSearchRequest& request, int dimension) {
  if (request.query_size() != dimension) {
    return absl::InvalidArgumentError(absl::StrCat("query: expected ", dimension,
                                                   " values (the index's dimension), got ",
                                                   request.query_size()));
  }
  for (int i = 0; i < request.query_size(); ++i) {
    if (!std::isfinite(request.query(i))) {
      return absl::InvalidArgumentError(absl::StrCat("query[", i, "] is not finite"));
    }
  }
  if (request.k() < 1 || request.k() > kMaxShardSearchK) {
    return absl::InvalidArgumentError(
        absl::StrCat("k: must be in [1, ", kMaxShardSearchK, "], got ", request.k()));
  }
  return absl::OkStatus();
}

absl::Status SearchShard(const AnnIndexShard& shard, const ShardSearchRequest& request,
                         ShardSearchResponse* response) {
  RECSYS_RETURN_IF_ERROR(ValidateShardSearchRequest(request, shard.index().dimension()));
  RECSYS_ASSIGN_OR_RETURN(std::vector<Neighbor> neighbors,
                          shard.index().Search(request.query().data(), request.k()));
  response->mutable_rows()->Reserve(static_cast<int>(neighbors.size()));
  response->mutable_scores()->Reserve(static_cast<int>(neighbors.size()));
  for (const Neighbor& n : neighbors) {
    response->add_rows(n.row);
    response->add_scores(n.score);
  }
  response->set_model_version(shard.version());
  response->set_shard_index(shard.shard_index());
  response->set_num_shards(shard.num_shards());
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* AnnShardServiceImpl::Search(grpc::CallbackServerContext* context,
                                                      const ShardSearchRequest* request,
                                                      ShardSearchResponse* response) {
  const absl::Time start = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status;
  if (!limiter_.TryAcquire()) {
    status = limiter_.Refusal();
  } else {
    // The version the front retrieves with, when loaded; else the newest
    // (the front sees the other version in the answer and leaves it out).
    std::shared_ptr<const Servable> version;
    if (!request->model_version().empty()) version = versions_->Find(request->model_version());
    if (version == nullptr) version = versions_->Newest();
    status = version == nullptr
                 ? absl::UnavailableError("no model loaded yet (the server is starting)")
                 : SearchShard(*VersionManager::Get<AnnIndexShard>(version), *request, response);
    limiter_.Release();
  }
  if (options_.metrics != nullptr) {
    options_.metrics->RecordRequest("Search", status.code(), start);
  }
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace recsys
