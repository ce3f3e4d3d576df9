#ifndef RECSYS_TRAINER_CANDIDATE_TRAINING_H_
#define RECSYS_TRAINER_CANDIDATE_TRAINING_H_

// The candidate-generation stage: rollback examples from the training
// watches, then the network trained with sampled softmax, keeping the epoch
// with the best HR@50 on the validation watches.

#include <random>

#include "common/logs/logs.h"
#include "trainer/nets/candidate_net.h"
#include "trainer/examples.h"
#include "trainer/trainer_options.h"
#include "trainer/training_data.h"

namespace recsys {

struct CandidateTraining {
  // The kept epoch's network, in eval mode.
  CandidateNet net{nullptr};
  // How its examples were made: the feature options and the example-age
  // scale that the bundle must record.
  ExampleOptions example_options;
  // 1-based.
  int kept_epoch = 0;
  // Epochs trained (fewer than `candidate_epochs` when patience stopped it).
  int epochs_run = 0;
  // The kept epoch's validation scores (0 without validation watches).
  double validation_hr50 = 0;
  double validation_ndcg10 = 0;
};

// `options` must be valid. Deterministic given `rng` and libtorch's seed.
CandidateTraining TrainCandidateModel(const Logs& logs, const TrainingData& p,
                                      const TrainerOptions& options, std::mt19937_64& rng);

}  // namespace recsys

#endif  // RECSYS_TRAINER_CANDIDATE_TRAINING_H_
