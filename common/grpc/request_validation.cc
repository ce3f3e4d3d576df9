#include "common/grpc/request_validation.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace recsys {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::Status CheckVideoId(const std::string& id, const std::string& field) {
  if (id.empty()) return Invalid(field, "must not be empty");
  if (id.size() > static_cast<size_t>(kMaxVideoIdBytes)) {
    return Invalid(field, absl::StrCat("longer than ", kMaxVideoIdBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckTime(int64_t time_s, const std::string& field) {
  if (time_s < 0) return Invalid(field, "must be Unix seconds >= 0");
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateUserContext(const UserContext& context,
                                 absl::string_view field) {
  // Field paths are built only for the error: a valid request with 10,000
  // watches allocates nothing here.
  const auto at = [&](absl::string_view list, int i, absl::string_view leaf) {
    return absl::StrCat(field, ".", list, "[", i, "].", leaf);
  };
  if (context.user_id().size() > static_cast<size_t>(kMaxUserIdBytes)) {
    return Invalid(absl::StrCat(field, ".user_id"),
                   absl::StrCat("longer than ", kMaxUserIdBytes, " bytes"));
  }
  if (context.watches_size() > kMaxWatches) {
    return Invalid(absl::StrCat(field, ".watches"),
                   absl::StrCat("more than ", kMaxWatches, " entries; send the most recent"));
  }
  for (int i = 0; i < context.watches_size(); ++i) {
    const Watch& w = context.watches(i);
    if (w.video_id().empty() || w.video_id().size() > static_cast<size_t>(kMaxVideoIdBytes)) {
      return CheckVideoId(w.video_id(), at("watches", i, "video_id"));
    }
    if (w.time_s() < 0) return CheckTime(w.time_s(), at("watches", i, "time_s"));
    if (!std::isfinite(w.watch_seconds()) || w.watch_seconds() < 0) {
      return Invalid(at("watches", i, "watch_seconds"), "must be a finite number >= 0");
    }
  }
  if (context.searches_size() > kMaxSearches) {
    return Invalid(absl::StrCat(field, ".searches"),
                   absl::StrCat("more than ", kMaxSearches, " entries; send the most recent"));
  }
  for (int i = 0; i < context.searches_size(); ++i) {
    const SearchQuery& s = context.searches(i);
    if (s.query().empty()) return Invalid(at("searches", i, "query"), "must not be empty");
    if (s.query().size() > static_cast<size_t>(kMaxQueryBytes)) {
      return Invalid(at("searches", i, "query"),
                     absl::StrCat("longer than ", kMaxQueryBytes, " bytes"));
    }
    if (s.time_s() < 0) return CheckTime(s.time_s(), at("searches", i, "time_s"));
  }
  if (context.impressions_size() > kMaxImpressions) {
    return Invalid(absl::StrCat(field, ".impressions"),
                   absl::StrCat("more than ", kMaxImpressions, " entries; send the most recent"));
  }
  for (int i = 0; i < context.impressions_size(); ++i) {
    const Impression& imp = context.impressions(i);
    if (imp.video_id().empty() ||
        imp.video_id().size() > static_cast<size_t>(kMaxVideoIdBytes)) {
      return CheckVideoId(imp.video_id(), at("impressions", i, "video_id"));
    }
    if (imp.time_s() < 0) return CheckTime(imp.time_s(), at("impressions", i, "time_s"));
  }
  const Demographics& d = context.demographics();
  if (d.age() < 0 || d.age() > 120) {
    return Invalid(absl::StrCat(field, ".demographics.age"),
                   "must be 0 (unknown) or 1..120 years");
  }
  if (!Gender_IsValid(d.gender())) {
    return Invalid(absl::StrCat(field, ".demographics.gender"), "unknown enum value");
  }
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"region", &d.region()},
                                    {"device", &d.device()},
                                    {"language", &d.language()}}) {
    if (value->size() > static_cast<size_t>(kMaxDemographicBytes)) {
      return Invalid(absl::StrCat(field, ".demographics.", name),
                     absl::StrCat("longer than ", kMaxDemographicBytes, " bytes"));
    }
  }
  if (context.request_time_s() < 0) {
    return Invalid(absl::StrCat(field, ".request_time_s"), "must be Unix seconds >= 0 (0 = now)");
  }
  return absl::OkStatus();
}

absl::Status ValidateRecommendRequest(const RecommendRequest& request) {
  if (!request.has_context()) {
    return Invalid("context", "required (send an empty context for a new user)");
  }
  if (request.num_results() < 0 || request.num_results() > kMaxResults) {
    return Invalid("num_results", absl::StrCat("must be 0 (default) to ", kMaxResults));
  }
  if (request.num_candidates() < 0 || request.num_candidates() > kMaxCandidates) {
    return Invalid("num_candidates",
                   absl::StrCat("must be 0 (default) to ", kMaxCandidates));
  }
  if (request.model_version().size() > static_cast<size_t>(kMaxModelVersionBytes)) {
    return Invalid("model_version", absl::StrCat("longer than ", kMaxModelVersionBytes, " bytes"));
  }
  return ValidateUserContext(request.context(), "context");
}

absl::Status ValidateGenerateCandidatesRequest(
    const GenerateCandidatesRequest& request) {
  if (!request.has_context()) {
    return Invalid("context", "required (send an empty context for a new user)");
  }
  if (request.num_candidates() < 0 || request.num_candidates() > kMaxCandidates) {
    return Invalid("num_candidates",
                   absl::StrCat("must be 0 (default) to ", kMaxCandidates));
  }
  return ValidateUserContext(request.context(), "context");
}

absl::Status ValidateRankRequest(const RankRequest& request) {
  if (!request.has_context()) {
    return Invalid("context", "required (send an empty context for a new user)");
  }
  if (request.candidates_size() == 0) {
    return Invalid("candidates", "must not be empty");
  }
  if (request.candidates_size() > kMaxCandidates) {
    return Invalid("candidates", absl::StrCat("more than ", kMaxCandidates, " entries"));
  }
  for (int i = 0; i < request.candidates_size(); ++i) {
    const Candidate& c = request.candidates(i);
    const std::string at = absl::StrCat("candidates[", i, "]");
    if (absl::Status s = CheckVideoId(c.video_id(), at + ".video_id"); !s.ok()) return s;
    if (!std::isfinite(c.retrieval_score())) {
      return Invalid(at + ".retrieval_score", "must be a finite number");
    }
    if (!CandidateSource_IsValid(c.source())) {
      return Invalid(at + ".source", "unknown enum value");
    }
  }
  if (request.num_results() < 0) {
    return Invalid("num_results", "must be >= 0 (0 = all candidates)");
  }
  return ValidateUserContext(request.context(), "context");
}

}  // namespace recsys
