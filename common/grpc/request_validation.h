#ifndef RECSYS_COMMON_GRPC_REQUEST_VALIDATION_H_
#define RECSYS_COMMON_GRPC_REQUEST_VALIDATION_H_

// Checks requests before any work: a malformed request gets
// InvalidArgument naming the offending field (e.g.
// "context.watches[3].video_id: must not be empty"). Unknown video IDs are
// not malformed: the models ignore them.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/recsys.pb.h"

namespace recsys {

// Limits of one request. The whole watch history may be sent (every watched
// video is kept out of the answer: a hash set, cheap); the models read only
// the most recent 50 watches, 50 searches and 100 impressions, so searches
// and impressions are capped closer to that. The worst request these allow
// costs a few milliseconds of CPU (docs/results.md, "Serving under faults").
inline constexpr int kMaxWatches = 10000;
inline constexpr int kMaxSearches = 1000;
inline constexpr int kMaxImpressions = 1000;
inline constexpr int kMaxQueryBytes = 500;
inline constexpr int kMaxVideoIdBytes = 64;
inline constexpr int kMaxUserIdBytes = 256;
// `RecommendRequest.model_version` names a bundle directory.
inline constexpr int kMaxModelVersionBytes = 256;
// Region, device and language codes.
inline constexpr int kMaxDemographicBytes = 64;
inline constexpr int kMaxCandidates = 2000;
inline constexpr int kMaxResults = 500;

// `field` is the context's path in the request, e.g. "context".
absl::Status ValidateUserContext(const UserContext& context,
                                 absl::string_view field);

absl::Status ValidateRecommendRequest(const RecommendRequest& request);
absl::Status ValidateGenerateCandidatesRequest(
    const GenerateCandidatesRequest& request);
absl::Status ValidateRankRequest(const RankRequest& request);

}  // namespace recsys

#endif  // RECSYS_COMMON_GRPC_REQUEST_VALIDATION_H_
