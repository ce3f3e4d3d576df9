#ifndef RECSYS_TRAINER_EXAMPLES_H_
#define RECSYS_TRAINER_EXAMPLES_H_

// Candidate-generation training examples (paper section 3.4): every label is
// a watch, and its inputs are what the user did strictly before it
// ("rollback", never a random hold-out that leaks the future), built
// through the same `UserContext` and feature code the services use. A fixed
// maximum of examples per user keeps heavy users from dominating the loss.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/features/features.h"
#include "common/logs/logs.h"
#include "common/logs/user_context.h"

namespace recsys {

struct CandidateExample {
  CandidateFeatures features;
  // The label's index in the video vocabulary.
  int32_t label = 0;
  int64_t label_time_s = 0;
};

struct ExampleOptions {
  // true: the paper's counter-example (figure 5): the label is held out at
  // random and the inputs are the user's other events, before AND after it.
  // Only for the rollback-vs-random-hold-out experiment.
  bool random_holdout = false;
  // At most this many examples per user, chosen at random (<= 0: all).
  int max_examples_per_user = 100;
  CandidateFeatureOptions features;
  // Example age: `ScaledExampleAgeAt(window_end_s, label time, age_scale_days)`.
  int64_t window_end_s = 0;
  float age_scale_days = 1;
};

// One example per label watch (labels whose video is out of vocabulary are
// skipped), users in `histories.user_ids()` order. Deterministic given `rng`.
// With `random_holdout`, `histories` should keep every event
// (UserHistories::Options), since inputs then come from the whole history.
std::vector<CandidateExample> MakeRollbackExamples(
    const UserHistories& histories, const std::vector<const WatchRecord*>& labels,
    const CandidateVocabularies& vocabs, const ExampleOptions& options,
    std::mt19937_64& rng);

// ---------------------------------------------------------------------------
// Ranking vocabularies (paper section 4.1): "truncated by including only the
// top N after sorting based on their frequency in clicked impressions";
// everything else embeds as zero.

struct RankingVocabularySet {
  Vocabulary videos;     // impressed, seed and last-watched videos
  Vocabulary channels;
  Vocabulary languages;  // user and video languages: one ID space
};

// Counts the clicked impressions before `before_s` (the training part: the
// held-out days never shape the vocabularies): the clicked videos, their
// channels, their languages and the clicking users' languages (users.csv).
// `max_videos` / `max_channels` <= 0 keep all.
RankingVocabularySet CountRankingVocabularies(const Logs& logs, int64_t before_s,
                                              int max_videos, int max_channels);

}  // namespace recsys

#endif  // RECSYS_TRAINER_EXAMPLES_H_
