#ifndef RECSYS_TRAINER_TRAINER_H_
#define RECSYS_TRAINER_TRAINER_H_

// The offline pipeline: logs -> examples (through the shared feature code)
// -> candidate-generation and ranking networks trained by gradient descent
// in libtorch -> a versioned model bundle with the ANN index -> offline
// evaluation through the serving code itself.

#include "absl/status/statusor.h"
#include "common/logs/logs.h"
#include "trainer/trainer_options.h"

namespace recsys {

// Trains both models on `logs`, evaluates them on held-out data (each user's
// last watch for candidate generation; the last day's impressions for
// ranking) and commits a new bundle version. Invalid `options` are
// InvalidArgument (`TrainerOptions::Validate`); a libtorch error is Internal
// with libtorch's message (no exception leaves this function).
absl::StatusOr<TrainerReport> Train(const Logs& logs, const TrainerOptions& options);

}  // namespace recsys

#endif  // RECSYS_TRAINER_TRAINER_H_
