#ifndef RECSYS_TRAINER_CANDIDATE_EVALUATION_H_
#define RECSYS_TRAINER_CANDIDATE_EVALUATION_H_

// Offline evaluation of candidate generation as served: each held-out
// user's last watch ranked by the exported model through `Retriever`, next
// to the baselines fitted on the same training watches.

#include <string>

#include "absl/status/status.h"
#include "common/serving/retriever.h"
#include "trainer/trainer_options.h"
#include "trainer/training_data.h"

namespace recsys {

// Appends the table to `report->summary` and the metrics to
// `report->metrics` (`ann_factory` and `ann_recall` are reported as given).
absl::Status EvaluateCandidates(const TrainingData& p, const Retriever& retriever,
                                const std::string& ann_factory, float ann_recall,
                                const TrainerOptions& options, TrainerReport* report);

}  // namespace recsys

#endif  // RECSYS_TRAINER_CANDIDATE_EVALUATION_H_
