#ifndef RECSYS_TRAINER_RANKING_TRAINING_H_
#define RECSYS_TRAINER_RANKING_TRAINING_H_

// The ranking stage: pages of impressions before the held-out days become
// examples (features through the serving code's extraction, the retrieval
// score from the exported candidate model); the network is trained as
// weighted logistic regression, its epoch count chosen on the last
// validation days, then exported and evaluated through the serving code,
// alone and after retrieval.

#include "absl/status/status.h"
#include "common/logs/logs.h"
#include "common/serving/bundle.h"
#include "common/serving/models.h"
#include "common/serving/retriever.h"
#include "trainer/trainer_options.h"
#include "trainer/training_data.h"

namespace recsys {

// Adds the ranking model to `writer` (flushed, not committed) and its
// evaluation to `report`. `logs` must hold impressions; `options` must be
// valid.
absl::Status TrainRanking(const Logs& logs, const TrainingData& p,
                          const CandidateModel& candidate_model, const Retriever& retriever,
                          const TrainerOptions& options, BundleWriter& writer,
                          TrainerReport* report);

}  // namespace recsys

#endif  // RECSYS_TRAINER_RANKING_TRAINING_H_
