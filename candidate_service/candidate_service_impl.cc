#include "candidate_service/candidate_service_impl.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include <google/protobuf/arena.h>
#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc/proto_messages.h"
#include "common/base/grpc_status.h"
#include "common/grpc/request_validation.h"
#include "common/base/status_macros.h"
#include "common/serving/model_server.h"
#include "common/serving/stage_clock.h"

namespace recsys {
namespace {

using Clock = std::chrono::system_clock;

// A ranking call that times out counts against ranking (toward opening the
// circuit breaker) only when it was given at least this long: ranking
// answers in ~10 ms at p99, so 100 ms of silence means trouble, while a
// caller's 30 ms deadline says nothing about ranking.
constexpr Clock::duration kBudgetThatBlamesRanking = std::chrono::milliseconds(100);

// Moves the part of the user context the ranking model reads (user ID,
// watches, impressions, demographics and the request time) from `from` into
// `to`, without copying it: the two swap, then `to` drops the searches (up
// to megabytes of text, which ranking does not read) and any fields this
// build does not know. `from` is left with what `to` held. Both must be on
// the same arena (or none) for the swap to be shallow.
void MoveRankingContext(UserContext* from, UserContext* to) {
  to->Swap(from);
  to->clear_searches();
  const google::protobuf::Reflection* reflection = to->GetReflection();
  if (!reflection->GetUnknownFields(*to).empty()) reflection->MutableUnknownFields(to)->Clear();
}

DegradedCause CauseOf(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return DEGRADED_RANKING_DEADLINE;
    case grpc::StatusCode::UNAVAILABLE:
      return DEGRADED_RANKING_UNAVAILABLE;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return DEGRADED_RANKING_REJECTED;
    default:
      return DEGRADED_RANKING_ERROR;
  }
}

}  // namespace

// One Recommend call: owns everything the asynchronous ranking call needs
// and deletes itself when gRPC is done with it.
class RecommendCall final : public grpc::ServerUnaryReactor {
 public:
  RecommendCall(CandidateServiceImpl* service, grpc::CallbackServerContext* context,
                grpc::ByteBuffer* response_bytes, absl::Time start)
      : service_(service),
        context_(context),
        response_bytes_(response_bytes),
        start_(start),
        clock_(start) {
    if (service_->options_.metrics) service_->options_.metrics->AddInFlight(1);
  }

  // The call was admitted (it holds a place under the in-flight cap, freed
  // in `OnDone`).
  void Start(const grpc::ByteBuffer& request_bytes) {
    // Passed on to ranking: the caller's, or (when this server logs calls)
    // a new one, so that both servers' access lines share it.
    request_id_ = service_->access_log_.enabled() ? RequestIdOf(*context_)
                                                  : RequestIdFromMetadata(*context_);
    RecommendRequest& request = request_;
    absl::Status status = ParseRequest(request_bytes, &request);
    if (status.ok()) status = ValidateRecommendRequest(request);
    clock_.Mark("validate");
    if (!status.ok()) {
      Done(ToGrpcStatus(status));
      return;
    }
    absl::StatusOr<std::shared_ptr<const Retriever>> retriever =
        service_->RetrieverFor(request.model_version());
    if (!retriever.ok()) {
      Done(ToGrpcStatus(retriever.status()));
      return;
    }
    retriever_ = *std::move(retriever);
    if (request.explain()) trace_ = std::make_unique<NominationTrace>();
    const CandidateServiceOptions& options = service_->options_;
    const int num_candidates = request.num_candidates() > 0 ? request.num_candidates()
                                                            : options.default_num_candidates;
    num_results_ =
        request.num_results() > 0 ? request.num_results() : options.default_num_results;
    absl::StatusOr<std::vector<Nominee>> candidates =
        service_->Nominate(*retriever_, request.context(), num_candidates, context_->deadline(),
                           &clock_, &shards_missing_, trace_.get());
    if (!candidates.ok()) {
      Done(ToGrpcStatus(candidates.status()));
      return;
    }
    if (trace_ != nullptr) {
      // Before ranking takes the context (and drops its searches).
      retriever_->DescribeUserTower(request.context(), *trace_,
                                    response_.mutable_explanation()->mutable_user_tower());
    }
    // The candidates are written once, into the ranking request on the
    // call's arena, and a degraded answer reads them back from there.
    AddCandidates(*candidates, rank_request_.mutable_candidates());
    response_.set_model_version(retriever_->version());
    response_.set_shards_missing(shards_missing_);
    if (rank_request_.candidates().empty()) {
      FinishOk();
      return;
    }

    const Clock::time_point now = Clock::now();
    Clock::time_point deadline = now + absl::ToChronoMilliseconds(options.ranking_deadline);
    const Clock::time_point caller = context_->deadline();
    if (caller != Clock::time_point::max()) {
      deadline = std::min(deadline, caller - absl::ToChronoMilliseconds(options.degraded_reserve));
    }
    if (deadline - now < absl::ToChronoMilliseconds(options.min_ranking_time)) {
      FinishDegraded(DEGRADED_CALLER_DEADLINE, "the caller's deadline leaves no time to rank");
      return;
    }
    if (!service_->breaker_.Allow()) {
      service_->NoteBreaker();
      FinishDegraded(DEGRADED_RANKING_BREAKER_OPEN, "the circuit breaker is open");
      return;
    }
    // Retrieval is done with the context: ranking gets it.
    MoveRankingContext(request.mutable_context(), rank_request_.mutable_context());
    rank_request_.set_num_results(num_results_);
    rank_request_.set_model_version(retriever_->version());
    rank_request_.set_explain(trace_ != nullptr);
    ranking_context_.set_deadline(deadline);
    if (!request_id_.empty()) ranking_context_.AddMetadata(kRequestIdMetadataKey, request_id_);
    ranking_budget_ = deadline - now;
    service_->ranking_->async()->Rank(&ranking_context_, &rank_request_, &rank_response_,
                                      [this](grpc::Status s) { OnRanked(std::move(s)); });
  }

  // The caller cancelled (or its deadline passed): so is the ranking call.
  void OnCancel() override {
    caller_cancelled_.store(true);
    ranking_context_.TryCancel();
  }

  void OnDone() override {
    if (service_->options_.metrics) service_->options_.metrics->AddInFlight(-1);
    service_->limiter_.Release();
    delete this;
  }

  // Finishes the call, counts it and logs it (when sampled).
  void Done(const grpc::Status& status) {
    if (status.ok()) clock_.Mark("respond");
    RecordStages(service_->options_.metrics, "Recommend", clock_);
    service_->NoteRequest("Recommend", status, start_);
    if (service_->access_log_.Sample()) {
      AccessLogEntry entry;
      SetCallFields("Recommend", *context_, request_id_,
                    static_cast<absl::StatusCode>(status.error_code()), start_, &entry);
      entry.degraded = response_.degraded();
      entry.degraded_cause = DegradedCause_Name(response_.degraded_cause());
      entry.version = response_.model_version();
      entry.ranking_version = response_.ranking_model_version();
      entry.results = response_.videos_size();
      service_->access_log_.Write(entry);
    }
    Finish(status);
  }

 private:
  void OnRanked(grpc::Status status) {
    clock_.Mark("ranking_call");
    CircuitBreaker& breaker = service_->breaker_;
    if (status.ok()) {
      breaker.RecordSuccess();
      service_->NoteBreaker();
      response_.set_ranking_model_version(rank_response_.model_version());
      for (RankedVideo& v : *rank_response_.mutable_videos()) {
        *response_.add_videos() = std::move(v);
      }
      if (rank_response_.model_version() != response_.model_version()) {
        response_.set_version_mismatch(true);
        service_->NoteVersionMismatch(response_.model_version(),
                                      rank_response_.model_version());
      }
      ranked_ = true;
      FinishOk();
      return;
    }
    if (caller_cancelled_.load()) {
      breaker.RecordAbandoned();
      service_->counters_.cancelled.fetch_add(1);
      Done(grpc::Status(grpc::StatusCode::CANCELLED, "the caller cancelled"));
      return;
    }
    const DegradedCause cause = CauseOf(status);
    if (cause == DEGRADED_RANKING_REJECTED) {
      breaker.RecordSuccess();  // ranking is up; the request was refused
    } else if (cause == DEGRADED_RANKING_DEADLINE &&
               ranking_budget_ < kBudgetThatBlamesRanking) {
      // The caller's own tight deadline left ranking too little time to say
      // anything about ranking's health.
      breaker.RecordAbandoned();
    } else {
      breaker.RecordFailure();
    }
    service_->NoteBreaker();
    FinishDegraded(cause, absl::StrCat("ranking answered ", status.error_code(), ": ",
                                       status.error_message()));
  }

  void FinishDegraded(DegradedCause cause, const std::string& detail) {
    service_->NoteDegraded(cause, detail);
    response_.set_degraded(true);
    response_.set_degraded_cause(cause);
    const google::protobuf::RepeatedPtrField<Candidate>& candidates = rank_request_.candidates();
    for (int i = 0; i < candidates.size() && i < num_results_; ++i) {
      const Candidate& c = candidates[i];
      RankedVideo* v = response_.add_videos();
      v->set_video_id(c.video_id());
      v->set_retrieval_score(c.retrieval_score());
      v->set_source(c.source());
      if (const VideoRecord* r = retriever_->FindVideo(c.video_id())) {
        v->set_title(r->title);
        v->set_channel_id(r->channel_id);
      }
    }
    FinishOk();
  }

  void FinishOk() {
    if (shards_missing_ > 0 && !response_.degraded()) {
      service_->NoteDegraded(DEGRADED_SHARD_UNAVAILABLE,
                             absl::StrCat(shards_missing_, " ANN shards left out"));
      response_.set_degraded(true);
      response_.set_degraded_cause(DEGRADED_SHARD_UNAVAILABLE);
    }
    if (trace_ != nullptr) {
      AssembleExplanation(*retriever_, *trace_, rank_request_.candidates(),
                          ranked_ ? &rank_response_.explanation() : nullptr, &response_);
    }
    Done(ToGrpcStatus(SerializeResponse(response_, response_bytes_)));
  }

  CandidateServiceImpl* const service_;
  grpc::CallbackServerContext* const context_;
  grpc::ByteBuffer* const response_bytes_;
  const absl::Time start_;
  StageClock clock_;
  std::string request_id_;
  std::atomic<bool> caller_cancelled_{false};
  int num_results_ = 0;
  int shards_missing_ = 0;
  Clock::duration ranking_budget_{};
  std::shared_ptr<const Retriever> retriever_;
  // Explain mode only: what retrieval read and nominated.
  std::unique_ptr<NominationTrace> trace_;
  // Whether the answer is ranking's (`rank_response_` holds it).
  bool ranked_ = false;
  grpc::ClientContext ranking_context_;
  // The call's protobuf messages live on `arena_` and go with it when the
  // call is deleted: one free of a few blocks instead of one per watch,
  // candidate and string. All four on the same arena, so that moving the
  // context and the videos between them swaps pointers.
  google::protobuf::Arena arena_{CallArenaOptions()};
  RecommendRequest& request_ = *google::protobuf::Arena::CreateMessage<RecommendRequest>(&arena_);
  // The ranking call's request. Holds the retrieved candidates from
  // retrieval on: what a degraded answer is made of.
  RankRequest& rank_request_ = *google::protobuf::Arena::CreateMessage<RankRequest>(&arena_);
  RankResponse& rank_response_ = *google::protobuf::Arena::CreateMessage<RankResponse>(&arena_);
  RecommendResponse& response_ =
      *google::protobuf::Arena::CreateMessage<RecommendResponse>(&arena_);
};

namespace {

// Where a video stands in a Recommend answer's explanation.
struct Nominated {
  // Every source that nominated it, the one it carries first.
  std::vector<CandidateSource> sources;
  float score = 0;
  // In the candidate list sent to ranking; -1 when not in it.
  int position = -1;
};

void AddSource(CandidateSource source, std::vector<CandidateSource>* sources) {
  if (std::find(sources->begin(), sources->end(), source) == sources->end()) {
    sources->push_back(source);
  }
}

// The common fields of one answer or removed video.
void Describe(const Retriever& retriever, absl::string_view video_id, const Nominated& n,
              const RankingExplanation* ranking, CandidateExplanation* out) {
  out->set_video_id(std::string(video_id));
  for (CandidateSource source : n.sources) out->add_sources(source);
  out->set_retrieval_score(n.score);
  out->set_retrieval_rank(n.position + 1);
  if (ranking != nullptr && n.position >= 0 && n.position < ranking->candidates_size()) {
    *out->mutable_ranking() = ranking->candidates(n.position);
  }
  if (const VideoRecord* r = retriever.FindVideo(video_id)) out->set_title(r->title);
}

}  // namespace

void AssembleExplanation(const Retriever& retriever, const NominationTrace& trace,
                         const google::protobuf::RepeatedPtrField<Candidate>& candidates,
                         const RankingExplanation* ranking, RecommendResponse* response) {
  Explanation* explanation = response->mutable_explanation();
  explanation->set_candidate_model_version(response->model_version());
  if (ranking != nullptr) {
    explanation->set_ranking_model_version(response->ranking_model_version());
    *explanation->mutable_ranking_request() = ranking->request();
    explanation->set_ranking_use_powers(ranking->use_powers());
  }
  // Each video's sources: the candidate list's first, then the sources'
  // own lists (a video both nominated is in the list once).
  absl::flat_hash_map<absl::string_view, Nominated> nominated;
  for (int i = 0; i < candidates.size(); ++i) {
    Nominated& n = nominated[candidates[i].video_id()];
    n.sources.push_back(candidates[i].source());
    n.score = candidates[i].retrieval_score();
    n.position = i;
  }
  std::vector<absl::string_view> beyond;  // nominated, but not in the list
  for (const std::vector<Nominee>* source : {&trace.network, &trace.covisited}) {
    for (const Nominee& nominee : *source) {
      auto [it, added] = nominated.try_emplace(*nominee.video_id);
      if (added) {
        it->second.score = nominee.score;
        beyond.push_back(*nominee.video_id);
      }
      AddSource(nominee.source, &it->second.sources);
    }
  }

  absl::flat_hash_map<absl::string_view, int> in_answer;
  for (int i = 0; i < response->videos_size(); ++i) {
    const std::string& id = response->videos(i).video_id();
    in_answer[id] = i;
    CandidateExplanation* c = explanation->add_candidates();
    Describe(retriever, id, nominated[id], ranking, c);
    c->set_final_rank(i + 1);
  }
  for (const Nominee& watched : trace.watched) {
    CandidateExplanation* c = explanation->add_removed();
    Describe(retriever, *watched.video_id, Nominated{{watched.source}, watched.score, -1},
             nullptr, c);
    c->set_removed(REMOVAL_ALREADY_WATCHED);
  }
  for (absl::string_view id : beyond) {
    CandidateExplanation* c = explanation->add_removed();
    Describe(retriever, id, nominated[id], nullptr, c);
    c->set_removed(REMOVAL_BEYOND_NUM_CANDIDATES);
  }
  // Below the cut: the list's other videos, in ranked order when ranked.
  std::vector<int> cut;
  for (int i = 0; i < candidates.size(); ++i) {
    if (!in_answer.contains(candidates[i].video_id())) cut.push_back(i);
  }
  if (ranking != nullptr && ranking->candidates_size() == candidates.size()) {
    std::stable_sort(cut.begin(), cut.end(), [ranking](int a, int b) {
      return ranking->candidates(a).rank() < ranking->candidates(b).rank();
    });
  }
  for (int i : cut) {
    const std::string& id = candidates[i].video_id();
    CandidateExplanation* c = explanation->add_removed();
    Describe(retriever, id, nominated[id], ranking, c);
    c->set_removed(REMOVAL_BELOW_CUT);
  }
}

std::shared_ptr<const Retriever> CandidateServiceImpl::CurrentRetriever() const {
  return VersionManager::Get<Retriever>(versions_->Newest());
}

absl::StatusOr<std::shared_ptr<const Retriever>> CandidateServiceImpl::RetrieverFor(
    const std::string& version) const {
  if (version.empty()) {
    std::shared_ptr<const Retriever> newest = CurrentRetriever();
    if (newest == nullptr) {
      return absl::UnavailableError("no model loaded yet (the server is starting)");
    }
    return newest;
  }
  std::shared_ptr<const Servable> found = versions_->Find(version);
  if (found == nullptr) {
    return absl::NotFoundError(absl::StrCat(
        "model_version: version '", version, "' is not loaded (loaded: ",
        absl::StrJoin(versions_->LoadedVersions(), ", "), ")"));
  }
  return VersionManager::Get<Retriever>(std::move(found));
}

absl::StatusOr<std::vector<Nominee>> CandidateServiceImpl::Nominate(
    const Retriever& retriever, const UserContext& context, int n, Clock::time_point deadline,
    StageClock* clock, int* shards_missing, NominationTrace* trace) const {
  *shards_missing = 0;
  if (options_.ann_shards == nullptr) return retriever.Nominate(context, n, clock, trace);
  return retriever.Nominate(
      context, n, clock,
      [&](absl::Span<const float> query, int k) -> absl::StatusOr<std::vector<Neighbor>> {
        AnnShardsClient::Result got = options_.ann_shards->Search(
            query, k, retriever.version(), retriever.ann_size(), deadline);
        *shards_missing = got.missing;
        return std::move(got.neighbors);
      },
      trace);
}

void CandidateServiceImpl::NoteRequest(const char* method, const grpc::Status& status,
                                       absl::Time start) {
  if (options_.metrics == nullptr) return;
  options_.metrics->RecordRequest(method, static_cast<absl::StatusCode>(status.error_code()),
                                  start);
}

void CandidateServiceImpl::NoteBreaker() {
  if (options_.metrics == nullptr) return;
  options_.metrics->SetBreakerOpen(breaker_.state() != CircuitBreaker::State::kClosed);
}

void CandidateServiceImpl::NoteDegraded(DegradedCause cause, const std::string& detail) {
  counters_.degraded[cause].fetch_add(1);
  if (options_.metrics) options_.metrics->RecordDegraded(DegradedCause_Name(cause));
  int64_t suppressed = 0;
  if (cause == DEGRADED_RANKING_REJECTED) {
    // Not an outage: this service validated the request, so ranking refusing
    // it is a bug (or incompatible releases). Surfaced as an error.
    if (rejected_log_.Allow(&suppressed)) {
      spdlog::error("candidate_server: BUG: ranking refused a validated request ({}); "
                    "answered in retrieval order ({} more since the last line)",
                    detail, suppressed);
    }
    return;
  }
  if (degraded_log_.Allow(&suppressed)) {
    spdlog::warn("candidate_server: degraded answer ({}): {} ({} more degraded since the "
                 "last line)",
                 DegradedCause_Name(cause), detail, suppressed);
  }
}

void CandidateServiceImpl::NoteVersionMismatch(const std::string& candidate_version,
                                               const std::string& ranking_version) {
  counters_.version_mismatches.fetch_add(1);
  if (options_.metrics) options_.metrics->RecordVersionMismatch();
  int64_t suppressed = 0;
  if (mismatch_log_.Allow(&suppressed)) {
    spdlog::warn("candidate_server: candidates from version {} were ranked with version {} "
                 "(ranking does not have {} loaded; {} more mismatches since the last line)",
                 candidate_version, ranking_version, candidate_version, suppressed);
  }
}

grpc::ServerUnaryReactor* CandidateServiceImpl::Recommend(grpc::CallbackServerContext* context,
                                                          const grpc::ByteBuffer* request,
                                                          grpc::ByteBuffer* response) {
  const absl::Time start = absl::Now();
  if (!limiter_.TryAcquire()) {
    // Refused before anything is allocated for the call.
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    const grpc::Status refused = ToGrpcStatus(limiter_.Refusal());
    NoteRequest("Recommend", refused, start);
    reactor->Finish(refused);
    return reactor;
  }
  auto* call = new RecommendCall(this, context, response, start);
  call->Start(*request);
  return call;
}

grpc::ServerUnaryReactor* CandidateServiceImpl::GenerateCandidates(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes) {
  const absl::Time start = absl::Now();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!limiter_.TryAcquire()) {
    const grpc::Status refused = ToGrpcStatus(limiter_.Refusal());
    NoteRequest("GenerateCandidates", refused, start);
    reactor->Finish(refused);
    return reactor;
  }
  StageClock clock(start);
  std::string version;
  int results = 0;
  auto generate = [&]() -> absl::Status {
    // The call's messages on one arena, freed at once on return.
    google::protobuf::Arena arena(CallArenaOptions());
    auto& request = *google::protobuf::Arena::CreateMessage<GenerateCandidatesRequest>(&arena);
    RECSYS_RETURN_IF_ERROR(ParseRequest(*request_bytes, &request));
    RECSYS_RETURN_IF_ERROR(ValidateGenerateCandidatesRequest(request));
    clock.Mark("validate");
    std::shared_ptr<const Retriever> retriever = CurrentRetriever();
    if (retriever == nullptr) {
      return absl::UnavailableError("no model loaded yet (the server is starting)");
    }
    const int n = request.num_candidates() > 0 ? request.num_candidates()
                                               : options_.default_num_candidates;
    int shards_missing = 0;
    RECSYS_ASSIGN_OR_RETURN(std::vector<Nominee> candidates,
                            Nominate(*retriever, request.context(), n, context->deadline(),
                                     &clock, &shards_missing));
    auto& response = *google::protobuf::Arena::CreateMessage<GenerateCandidatesResponse>(&arena);
    version = retriever->version();
    results = static_cast<int>(candidates.size());
    response.set_model_version(version);
    response.set_shards_missing(shards_missing);
    AddCandidates(candidates, response.mutable_candidates());
    RECSYS_RETURN_IF_ERROR(SerializeResponse(response, response_bytes));
    clock.Mark("respond");
    return absl::OkStatus();
  };
  const grpc::Status status = ToGrpcStatus(generate());
  limiter_.Release();
  RecordStages(options_.metrics, "GenerateCandidates", clock);
  NoteRequest("GenerateCandidates", status, start);
  if (access_log_.Sample()) {
    AccessLogEntry entry;
    SetCallFields("GenerateCandidates", *context, RequestIdOf(*context),
                  static_cast<absl::StatusCode>(status.error_code()), start, &entry);
    entry.version = version;
    entry.results = results;
    access_log_.Write(entry);
  }
  reactor->Finish(status);
  return reactor;
}

}  // namespace recsys
