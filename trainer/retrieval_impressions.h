#ifndef RECSYS_TRAINER_RETRIEVAL_IMPRESSIONS_H_
#define RECSYS_TRAINER_RETRIEVAL_IMPRESSIONS_H_

// Impressions for logs that have none (MovieLens, any watch-only log): the
// pages the candidate generator would have shown. At a user's training
// watch, the exported retriever nominates candidates from the context just
// before it (the served nomination, `Retriever::Candidates`, as many as the
// service ranks). When the watched video is among them, it becomes the
// clicked impression (weighted by its watch time) and `page_size - 1` other
// nominated videos, drawn at random among those the user does not watch
// later, the unclicked ones, in nomination order. A watch whose video was
// not nominated gives no page: the ranking model only ever orders
// nominated videos, and a clicked video slipped in from outside would teach
// it that a low retrieval score means a click. The ranking model then
// learns to order what candidate generation nominates, as in the paper,
// from watches alone.

#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "common/logs/logs.h"
#include "common/serving/retriever.h"
#include "trainer/training_data.h"

namespace recsys {

struct RetrievalImpressionOptions {
  // Candidates nominated per page (the service's --num_candidates).
  int nominated = 200;
  // Videos per page: the watched one and `page_size - 1` others.
  int page_size = 20;
  // Training watches tried per user, the most recent ones.
  int watches_per_user = 50;
};

// The pages, and for each impression the source that nominated it (the
// ranking model reads the source, as at serving).
struct RetrievalImpressions {
  std::vector<ImpressionRecord> impressions;
  std::vector<CandidateSource> sources;  // parallel to `impressions`
};

// At most one page per tried training watch (never a held-out test or
// validation watch), page IDs "retrieved-<user>-<n>". Deterministic for
// `rng`'s state.
absl::StatusOr<RetrievalImpressions> ImpressionsFromRetrieval(
    const TrainingData& p, const Retriever& retriever,
    const RetrievalImpressionOptions& options, std::mt19937_64& rng);

}  // namespace recsys

#endif  // RECSYS_TRAINER_RETRIEVAL_IMPRESSIONS_H_
