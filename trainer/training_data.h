#ifndef RECSYS_TRAINER_TRAINING_DATA_H_
#define RECSYS_TRAINER_TRAINING_DATA_H_

// The first stage: what the trainer derives from the logs before training
// either model (histories, the held-out watches, vocabularies, counts).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "common/features/vocabulary.h"
#include "common/logs/logs.h"
#include "common/logs/user_context.h"
#include "proto/recsys.pb.h"

namespace recsys {

// Immutable after `PrepareTrainingData`.
struct TrainingData {
  UserHistories histories;
  // The same with every earlier watch in a context, so that evaluation
  // excludes everything a user already watched (the models still read only
  // their most recent events).
  UserHistories eval_histories;
  // Per user: the held-out test and validation watches (last, second-to-last).
  absl::flat_hash_map<std::string, WatchRecord> test, validation;
  // Watches usable as labels and for counts (everything but the held-out).
  std::vector<const WatchRecord*> train_watches;
  // The last watch's time, Unix seconds.
  int64_t window_end_s = 0;
  Vocabulary videos, tokens, regions, devices;
  // Training watches (plus `TrainingDataOptions::unsampled_video_counts`).
  absl::flat_hash_map<std::string, int64_t> video_counts;
};

struct TrainingDataOptions {
  // Histories keep at least the most recent this many watches and searches.
  int max_watches = 50;
  int max_searches = 50;
  // The video and token vocabularies keep the most frequent this many
  // values (<= 0: all).
  int max_videos = 1000000;
  int max_tokens = 1000000;
  // Training on a sample of the users (`InUserSample`): the watches of the
  // users left out, per video. Added to `video_counts`, so that the video
  // vocabulary, the negative sampler's distribution and popularity cover
  // the whole corpus while the examples come from the sample. Not owned;
  // may be null.
  const absl::flat_hash_map<std::string, int64_t>* unsampled_video_counts = nullptr;
};

// Whether `user_id` is in a sample of `fraction` of all users: a fixed hash
// of the ID, so the same users every run and on every machine; fraction >= 1
// keeps everyone. Independent of the data-parallel split by user.
bool InUserSample(absl::string_view user_id, double fraction);

TrainingData PrepareTrainingData(const Logs& logs, const TrainingDataOptions& options);

// The example-age scale: the training window's length in days, at least 1.
float ExampleAgeScaleDays(const Logs& logs, const TrainingData& p);

// Vocabulary indices of `candidates` (all in the vocabulary: they come from
// the ANN over it).
std::vector<int64_t> Rows(const TrainingData& p, const std::vector<Candidate>& candidates);

}  // namespace recsys

#endif  // RECSYS_TRAINER_TRAINING_DATA_H_
