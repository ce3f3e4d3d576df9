#include "common/request_validation.h"

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
  const std::string f(field);
  if (context.watches_size() > kMaxContextEvents) {
    return Invalid(f + ".watches", absl::StrCat("more than ", kMaxContextEvents,
                                                " entries; send the most recent"));
  }
  for (int i = 0; i < context.watches_size(); ++i) {
    const Watch& w = context.watches(i);
    const std::string at = absl::StrCat(f, ".watches[", i, "]");
    if (absl::Status s = CheckVideoId(w.video_id(), at + ".video_id"); !s.ok()) return s;
    if (absl::Status s = CheckTime(w.time_s(), at + ".time_s"); !s.ok()) return s;
    if (!std::isfinite(w.watch_seconds()) || w.watch_seconds() < 0) {
      return Invalid(at + ".watch_seconds", "must be a finite number >= 0");
    }
  }
  if (context.searches_size() > kMaxContextEvents) {
    return Invalid(f + ".searches", absl::StrCat("more than ", kMaxContextEvents,
                                                 " entries; send the most recent"));
  }
  for (int i = 0; i < context.searches_size(); ++i) {
    const SearchQuery& s = context.searches(i);
    const std::string at = absl::StrCat(f, ".searches[", i, "]");
    if (s.query().empty()) return Invalid(at + ".query", "must not be empty");
    if (s.query().size() > static_cast<size_t>(kMaxQueryBytes)) {
      return Invalid(at + ".query", absl::StrCat("longer than ", kMaxQueryBytes, " bytes"));
    }
    if (absl::Status st = CheckTime(s.time_s(), at + ".time_s"); !st.ok()) return st;
  }
  if (context.impressions_size() > kMaxContextEvents) {
    return Invalid(f + ".impressions", absl::StrCat("more than ", kMaxContextEvents,
                                                    " entries; send the most recent"));
  }
  for (int i = 0; i < context.impressions_size(); ++i) {
    const Impression& imp = context.impressions(i);
    const std::string at = absl::StrCat(f, ".impressions[", i, "]");
    if (absl::Status s = CheckVideoId(imp.video_id(), at + ".video_id"); !s.ok()) return s;
    if (absl::Status s = CheckTime(imp.time_s(), at + ".time_s"); !s.ok()) return s;
  }
  const Demographics& d = context.demographics();
  if (d.age() < 0 || d.age() > 120) {
    return Invalid(f + ".demographics.age", "must be 0 (unknown) or 1..120 years");
  }
  if (!Gender_IsValid(d.gender())) {
    return Invalid(f + ".demographics.gender", "unknown enum value");
  }
  if (context.request_time_s() < 0) {
    return Invalid(f + ".request_time_s", "must be Unix seconds >= 0 (0 = now)");
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
