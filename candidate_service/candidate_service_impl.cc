#include "candidate_service/candidate_service_impl.h"

#include <chrono>

#include "common/grpc_status.h"
#include "common/request_validation.h"

namespace recsys {
namespace {

// State of one Recommend call while the ranking call is in flight.
struct PendingRank {
  grpc::ClientContext client_context;
  RankRequest request;
  RankResponse response;
};

void FillDegraded(const Retriever& retriever, const std::vector<Candidate>& candidates,
                  int num_results, RecommendResponse* response) {
  response->set_degraded(true);
  for (int i = 0; i < static_cast<int>(candidates.size()) && i < num_results; ++i) {
    const Candidate& c = candidates[i];
    RankedVideo* v = response->add_videos();
    v->set_video_id(c.video_id());
    v->set_retrieval_score(c.retrieval_score());
    v->set_source(c.source());
    if (const VideoRecord* r = retriever.FindVideo(c.video_id())) {
      v->set_title(r->title);
      v->set_channel_id(r->channel_id);
    }
  }
}

}  // namespace

grpc::ServerUnaryReactor* CandidateServiceImpl::Recommend(
    grpc::CallbackServerContext* context, const RecommendRequest* request,
    RecommendResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status s = ValidateRecommendRequest(*request); !s.ok()) {
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  const int num_candidates = request->num_candidates() > 0
                                 ? request->num_candidates()
                                 : options_.default_num_candidates;
  const int num_results = request->num_results() > 0 ? request->num_results()
                                                     : options_.default_num_results;
  absl::StatusOr<std::vector<Candidate>> candidates =
      retriever_->Retrieve(request->context(), num_candidates);
  if (!candidates.ok()) {
    reactor->Finish(ToGrpcStatus(candidates.status()));
    return reactor;
  }
  response->set_model_version(retriever_->version());
  if (candidates->empty()) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  auto pending = std::make_shared<PendingRank>();
  *pending->request.mutable_context() = request->context();
  for (Candidate& c : *candidates) *pending->request.add_candidates() = c;
  pending->request.set_num_results(num_results);
  pending->client_context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::milliseconds(options_.ranking_deadline_ms));
  std::shared_ptr<const Retriever> retriever = retriever_;
  ranking_->async()->Rank(
      &pending->client_context, &pending->request, &pending->response,
      [pending, retriever, reactor, response, num_results,
       candidates = std::move(*candidates)](grpc::Status status) {
        if (status.ok()) {
          response->set_ranking_model_version(pending->response.model_version());
          for (RankedVideo& v : *pending->response.mutable_videos()) {
            *response->add_videos() = std::move(v);
          }
        } else {
          FillDegraded(*retriever, candidates, num_results, response);
        }
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* CandidateServiceImpl::GenerateCandidates(
    grpc::CallbackServerContext* context, const GenerateCandidatesRequest* request,
    GenerateCandidatesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::Status status = ValidateGenerateCandidatesRequest(*request);
  if (status.ok()) {
    const int n = request->num_candidates() > 0 ? request->num_candidates()
                                                : options_.default_num_candidates;
    absl::StatusOr<std::vector<Candidate>> candidates =
        retriever_->Retrieve(request->context(), n);
    if (candidates.ok()) {
      response->set_model_version(retriever_->version());
      for (Candidate& c : *candidates) *response->add_candidates() = std::move(c);
    }
    status = candidates.status();
  }
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace recsys
