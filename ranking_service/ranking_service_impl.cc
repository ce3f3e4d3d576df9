#include "ranking_service/ranking_service_impl.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <memory>
#include <numeric>
#include <vector>

#include <google/protobuf/arena.h>

#include "absl/strings/str_cat.h"
#include "common/grpc/proto_messages.h"
#include "common/base/grpc_status.h"
#include "common/grpc/request_validation.h"
#include "common/base/status_macros.h"
#include "common/serving/model_server.h"

namespace recsys {
namespace {

constexpr int kSmokeCandidates = 20;

// `RankCandidates` writing into `response` (which may live on an arena).
absl::Status RankInto(const RankingModel& model, const std::string& model_version,
                      const RankRequest& request, int64_t now_s, StageClock* clock,
                      RankResponse* response) {
  if (absl::Status s = ValidateRankRequest(request); !s.ok()) return s;
  MarkStage(clock, "validate");
  // Scored where the request holds them: no copy of the candidates.
  const google::protobuf::RepeatedPtrField<Candidate>& candidates = request.candidates();
  // Explain mode: the scoring pass itself records its inputs.
  std::unique_ptr<RankingTrace> trace;
  if (request.explain()) trace = std::make_unique<RankingTrace>();
  std::vector<float> predicted =
      model.PredictWatchSeconds(request.context(), candidates, now_s, clock, trace.get());
  size_t n = candidates.size();
  if (request.num_results() > 0) {
    n = std::min<size_t>(n, request.num_results());
  }
  // Only the first `n` are ordered (the answer is usually a tenth of the
  // candidates). Ties by video ID, then by position: a total order, so the
  // first `n` are the same as a full sort's.
  std::vector<int> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  const auto better = [&](int a, int b) {
    if (predicted[a] != predicted[b]) return predicted[a] > predicted[b];
    const int by_id = candidates[a].video_id().compare(candidates[b].video_id());
    return by_id != 0 ? by_id < 0 : a < b;
  };
  std::partial_sort(order.begin(), order.begin() + n, order.end(), better);
  if (trace != nullptr) {
    // Every candidate's rank: the rest in the same total order.
    std::sort(order.begin() + n, order.end(), better);
    RankingExplanation* explanation = response->mutable_explanation();
    explanation->set_model_version(model_version);
    model.Explain(request.context(), candidates, *trace, explanation);
    for (size_t rank = 0; rank < order.size(); ++rank) {
      explanation->mutable_candidates(order[rank])->set_rank(static_cast<int>(rank) + 1);
    }
  }
  response->set_model_version(model_version);
  response->mutable_videos()->Reserve(static_cast<int>(n));
  for (size_t i = 0; i < n; ++i) {
    const Candidate& c = candidates[order[i]];
    RankedVideo* v = response->add_videos();
    v->set_video_id(c.video_id());
    v->set_predicted_watch_seconds(predicted[order[i]]);
    v->set_retrieval_score(c.retrieval_score());
    v->set_source(c.source());
    if (const VideoRecord* r = model.catalog().FindRecord(c.video_id())) {
      v->set_title(r->title);
      v->set_channel_id(r->channel_id);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RankResponse> RankCandidates(const RankingModel& model,
                                            const std::string& model_version,
                                            const RankRequest& request,
                                            int64_t now_s, StageClock* clock) {
  RankResponse response;
  RECSYS_RETURN_IF_ERROR(RankInto(model, model_version, request, now_s, clock, &response));
  return response;
}

absl::StatusOr<std::unique_ptr<RankingServable>> RankingServable::Load(const Bundle& bundle) {
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<RankingModel> model, RankingModel::Load(bundle));
  RankRequest smoke;
  smoke.mutable_context()->set_request_time_s(bundle.manifest().training_window_end_s());
  for (const std::string& id : model->catalog().MostPopular(kSmokeCandidates)) {
    Candidate* c = smoke.add_candidates();
    c->set_video_id(id);
    c->set_source(SOURCE_DNN);
  }
  if (smoke.candidates_size() == 0) smoke.add_candidates()->set_video_id("smoke");
  absl::StatusOr<RankResponse> ranked = RankCandidates(*model, "smoke", smoke, /*now_s=*/1);
  if (!ranked.ok()) {
    return absl::DataLossError(absl::StrCat("smoke request on ", bundle.dir(),
                                            " failed: ", ranked.status().message()));
  }
  for (const RankedVideo& v : ranked->videos()) {
    if (!std::isfinite(v.predicted_watch_seconds())) {
      return absl::DataLossError(absl::StrCat("smoke request on ", bundle.dir(),
                                              " predicted a non-finite watch time for ",
                                              v.video_id()));
    }
  }
  return std::unique_ptr<RankingServable>(
      new RankingServable(bundle.version(), std::move(model)));
}

absl::Status RankingServiceImpl::RankBytes(const grpc::ByteBuffer& bytes,
                                           grpc::ByteBuffer* response_bytes,
                                           AccessLogEntry* answered) {
  StageClock clock;
  // The call's messages on one arena, freed at once on return.
  google::protobuf::Arena arena(CallArenaOptions());
  auto* request = google::protobuf::Arena::CreateMessage<RankRequest>(&arena);
  RECSYS_RETURN_IF_ERROR(ParseRequest(bytes, request));
  std::shared_ptr<const Servable> servable;
  if (!request->model_version().empty()) servable = versions_->Find(request->model_version());
  if (servable == nullptr) servable = versions_->Newest();
  if (servable == nullptr) {
    return absl::UnavailableError("no model loaded yet (the server is starting)");
  }
  const auto& ranking = static_cast<const RankingServable&>(*servable);
  auto* response = google::protobuf::Arena::CreateMessage<RankResponse>(&arena);
  RECSYS_RETURN_IF_ERROR(RankInto(ranking.model(), ranking.version(), *request,
                                  std::time(nullptr), &clock, response));
  RECSYS_RETURN_IF_ERROR(SerializeResponse(*response, response_bytes));
  clock.Mark("respond");
  answered->version = response->model_version();
  answered->results = response->videos_size();
  RecordStages(metrics_, "Rank", clock);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* RankingServiceImpl::Rank(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* request,
                                                   grpc::ByteBuffer* response) {
  const absl::Time start = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const auto finish = [&](const grpc::Status& status) {
    if (metrics_ != nullptr) {
      metrics_->RecordRequest("Rank", static_cast<absl::StatusCode>(status.error_code()), start);
    }
    reactor->Finish(status);
  };
  if (!limiter_.TryAcquire()) {
    finish(ToGrpcStatus(limiter_.Refusal()));
    return reactor;
  }
  if (metrics_ != nullptr) metrics_->AddInFlight(1);
  AccessLogEntry entry;
  absl::Status status = RankBytes(*request, response, &entry);
  if (metrics_ != nullptr) metrics_->AddInFlight(-1);
  limiter_.Release();
  if (access_log_.Sample()) {
    SetCallFields("Rank", *context, RequestIdOf(*context), status.code(), start, &entry);
    access_log_.Write(entry);
  }
  finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace recsys
