#ifndef RECSYS_TRAINER_TRAINING_LOOP_H_
#define RECSYS_TRAINER_TRAINING_LOOP_H_

// Pieces of an epoch that both models' training loops share.

#include <cstddef>
#include <random>
#include <vector>

#include <torch/torch.h>

namespace recsys {

// The indices 0..n-1 shuffled by `rng` and cut into batches of
// `batch_size` (the last may be shorter).
std::vector<std::vector<size_t>> Batches(size_t n, int batch_size, std::mt19937_64& rng);

// A sparse gradient with no rows (every index in the batch was the padding
// row) has a degenerate shape that libtorch 1.13's Adagrad rejects; such a
// gradient changes nothing, so it is dropped before the step.
void DropEmptySparseGradients(torch::nn::Module& module);

}  // namespace recsys

#endif  // RECSYS_TRAINER_TRAINING_LOOP_H_
