#ifndef RECSYS_RANKING_SERVICE_RANKING_SERVICE_IMPL_H_
#define RECSYS_RANKING_SERVICE_RANKING_SERVICE_IMPL_H_

// RankingService: scores each candidate by predicted expected watch time
// (exp of the ranking network's logit) and returns them best first.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/serving/models.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {

// The request -> response logic, without gRPC. Validates, scores, orders
// (ties by video ID) and attaches display metadata. `now_s` stands in for a
// context without a request time.
absl::StatusOr<RankResponse> RankCandidates(const RankingModel& model,
                                            const std::string& model_version,
                                            const RankRequest& request,
                                            int64_t now_s);

// Thread-safe: the model is immutable and shared by all calls.
class RankingServiceImpl final : public RankingService::CallbackService {
 public:
  RankingServiceImpl(std::shared_ptr<const RankingModel> model,
                     std::string model_version)
      : model_(std::move(model)), model_version_(std::move(model_version)) {}

  grpc::ServerUnaryReactor* Rank(grpc::CallbackServerContext* context,
                                 const RankRequest* request,
                                 RankResponse* response) override;

 private:
  std::shared_ptr<const RankingModel> model_;
  std::string model_version_;
};

}  // namespace recsys

#endif  // RECSYS_RANKING_SERVICE_RANKING_SERVICE_IMPL_H_
