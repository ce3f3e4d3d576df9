#ifndef RECSYS_CANDIDATE_SERVICE_CANDIDATE_SERVICE_IMPL_H_
#define RECSYS_CANDIDATE_SERVICE_CANDIDATE_SERVICE_IMPL_H_

// CandidateService: Recommend (retrieve, then rank through the
// RankingService) and GenerateCandidates (retrieval only).
//
// Recommend reads top to bottom: validate -> features -> user tower -> ANN
// -> call ranking (with a deadline) -> assemble. When ranking fails or times
// out the response is the retrieval order with `degraded` set, so a slow
// ranker costs quality, not availability.

#include <memory>
#include <string>

#include "common/serving/retriever.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {

struct CandidateServiceOptions {
  int default_num_candidates = 200;
  int default_num_results = 20;
  // Deadline of the call to the RankingService.
  int ranking_deadline_ms = 500;
};

// Thread-safe: the retriever is immutable and the stub is thread-safe.
class CandidateServiceImpl final : public CandidateService::CallbackService {
 public:
  CandidateServiceImpl(std::shared_ptr<const Retriever> retriever,
                       std::unique_ptr<RankingService::StubInterface> ranking,
                       const CandidateServiceOptions& options)
      : retriever_(std::move(retriever)),
        ranking_(std::move(ranking)),
        options_(options) {}

  grpc::ServerUnaryReactor* Recommend(grpc::CallbackServerContext* context,
                                      const RecommendRequest* request,
                                      RecommendResponse* response) override;

  grpc::ServerUnaryReactor* GenerateCandidates(
      grpc::CallbackServerContext* context,
      const GenerateCandidatesRequest* request,
      GenerateCandidatesResponse* response) override;

 private:
  std::shared_ptr<const Retriever> retriever_;
  std::unique_ptr<RankingService::StubInterface> ranking_;
  CandidateServiceOptions options_;
};

}  // namespace recsys

#endif  // RECSYS_CANDIDATE_SERVICE_CANDIDATE_SERVICE_IMPL_H_
