#ifndef RECSYS_TRAINER_COVISITATION_H_
#define RECSYS_TRAINER_COVISITATION_H_

// The export stage's item-to-item co-visitation table (the candidate
// service's second source, common/serving/covisitation.h): for each video
// of the candidate vocabulary, the videos most often watched near it.

#include <vector>

#include "absl/status/statusor.h"
#include "common/features/vocabulary.h"
#include "common/logs/logs.h"
#include "common/serving/covisitation.h"

namespace recsys {

struct CovisitationOptions {
  // Two watches co-visit when they are among this many consecutive watches
  // of a user (with 5, each watch co-visits the 4 before and the 4 after
  // it). >= 2.
  int window = 5;
  // Neighbours kept per video, the best. >= 1.
  int max_neighbours = 50;
};

// The table over `videos` (row i: video `videos.value(i)`) from `watches`,
// which must be the training watches only (`TrainingData::train_watches`:
// never the held-out test and validation watches).
//
// Each user's watches of vocabulary videos (others are skipped) are taken
// in the order given, stably sorted by time: with `train_watches`, that is
// `UserHistories`' order (time, then the logs' row order). Watches at
// positions p < q of that sequence co-visit when q - p < `window`, with
// weight 1 / (q - p). For two different videos i and j, a user contributes
// the largest weight among their co-visits (at most 1: a user counts once
// per pair, as in the item-kNN baseline, evaluation/baselines.h), `c_ij` sums
// that over users, `n_i` counts the users who watched i, and the score is
// the cosine-like `c_ij / sqrt(n_i * n_j)`, in (0, 1]. Each video keeps its
// `max_neighbours` best (ties by row).
//
// Deterministic: users are summed in the order they first appear in
// `watches`, so the same watches give the same bits. InvalidArgument for
// options out of range.
absl::StatusOr<CovisitationTable> BuildCovisitation(
    const std::vector<const WatchRecord*>& watches, const Vocabulary& videos,
    const CovisitationOptions& options);

}  // namespace recsys

#endif  // RECSYS_TRAINER_COVISITATION_H_
