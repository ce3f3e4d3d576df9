#include "ranking_service/ranking_service_impl.h"

#include <algorithm>
#include <ctime>
#include <numeric>
#include <vector>

#include "common/grpc_status.h"
#include "common/request_validation.h"

namespace recsys {

absl::StatusOr<RankResponse> RankCandidates(const RankingModel& model,
                                            const std::string& model_version,
                                            const RankRequest& request,
                                            int64_t now_s) {
  if (absl::Status s = ValidateRankRequest(request); !s.ok()) return s;
  std::vector<Candidate> candidates(request.candidates().begin(),
                                    request.candidates().end());
  std::vector<float> predicted =
      model.PredictWatchSeconds(request.context(), candidates, now_s);
  std::vector<size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (predicted[a] != predicted[b]) return predicted[a] > predicted[b];
    return candidates[a].video_id() < candidates[b].video_id();
  });
  size_t n = order.size();
  if (request.num_results() > 0) {
    n = std::min<size_t>(n, request.num_results());
  }
  RankResponse response;
  response.set_model_version(model_version);
  for (size_t i = 0; i < n; ++i) {
    const Candidate& c = candidates[order[i]];
    RankedVideo* v = response.add_videos();
    v->set_video_id(c.video_id());
    v->set_predicted_watch_seconds(predicted[order[i]]);
    v->set_retrieval_score(c.retrieval_score());
    v->set_source(c.source());
    if (const VideoRecord* r = model.catalog().FindRecord(c.video_id())) {
      v->set_title(r->title);
      v->set_channel_id(r->channel_id);
    }
  }
  return response;
}

grpc::ServerUnaryReactor* RankingServiceImpl::Rank(
    grpc::CallbackServerContext* context, const RankRequest* request,
    RankResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<RankResponse> result =
      RankCandidates(*model_, model_version_, *request, std::time(nullptr));
  if (result.ok()) *response = std::move(*result);
  reactor->Finish(ToGrpcStatus(result.status()));
  return reactor;
}

}  // namespace recsys
