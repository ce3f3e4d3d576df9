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

// How pages are held out from training the ranking model.
enum class RankingSplit {
  // The last `holdout_days` of pages evaluate, the `ranking_validation_days`
  // before them choose the epoch (logged impressions: a time split).
  kByDays,
  // Each user's last page evaluates, the one before it chooses the epoch
  // (pages made from watches, which spread over years on MovieLens: the
  // last days would hold a handful of pages).
  kByUser,
};

// Adds the ranking model to `writer` (flushed, not committed) and its
// evaluation to `report`. `logs` must hold impressions; `options` must be
// valid. `sources`, when given, holds the nominating source of each
// impression of `logs` (pages made from retrieval); otherwise every
// impression counts as nominated by the network.
absl::Status TrainRanking(const Logs& logs, const TrainingData& p,
                          const CandidateModel& candidate_model, const Retriever& retriever,
                          const TrainerOptions& options, BundleWriter& writer,
                          TrainerReport* report, RankingSplit split = RankingSplit::kByDays,
                          const std::vector<CandidateSource>* sources = nullptr);

}  // namespace recsys

#endif  // RECSYS_TRAINER_RANKING_TRAINING_H_
