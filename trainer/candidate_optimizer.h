#ifndef RECSYS_TRAINER_CANDIDATE_OPTIMIZER_H_
#define RECSYS_TRAINER_CANDIDATE_OPTIMIZER_H_

// Training steps for `CandidateNet` that touch only the embedding rows a batch
// uses (sparse embedding gradients, paper section 3.2).
//
// libtorch's own route, sparse `Embedding` gradients and `optim::Adagrad`,
// builds, coalesces and indexes uncoalesced sparse tensors on every step,
// which cost most of a small model's step time. This does the same
// arithmetic with the embedding side in plain loops: bag means and the
// output rows are read straight from the tables into small leaf tensors, the
// loss is backpropagated through the tower and logits by libtorch, the
// leaves' gradients are summed per used row, and Adagrad updates just those
// rows (accumulator += g^2; row -= lr * g / (sqrt(accumulator) + 1e-10));
// the tower's dense parameters use libtorch's Adagrad. The test checks it
// against libtorch's sparse route step for step.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "common/features/features.h"
#include "trainer/nets/candidate_net.h"
#include "trainer/process_group.h"

namespace recsys {

class CandidateOptimizer {
 public:
  // With a `group` of more than one process (data-parallel training: each
  // rank steps on its own batch, every call collective), each step uses the
  // mean over the ranks of the tower's dense gradients (all-reduced) and of
  // the embedding rows' gradients (each rank's used rows and their
  // gradients gathered by every rank, summed in rank order): every rank
  // applies the same update, so the replicas stay equal.
  CandidateOptimizer(CandidateNet net, float learning_rate, ProcessGroup* group = nullptr);

  // One step of sampled softmax on `rows` with `labels` [B] and `sampled`
  // [S] (video indices) where `log_q` [V] is log of each video's expected
  // count among the S draws; returns the batch's mean loss.
  float Step(const std::vector<const CandidateFeatures*>& rows,
             const std::vector<int64_t>& labels, const std::vector<int64_t>& sampled,
             const torch::Tensor& log_q, bool logq_correction);

  // The user vectors [B, output_dim] of `rows` through the training path
  // (this class's own reading of the tables and assembly of the tower's
  // input), without a step: what the parity test holds equal to serving.
  torch::Tensor UserVectors(const std::vector<const CandidateFeatures*>& rows);

  // Data-parallel: seconds spent in the step's collectives (waiting for the
  // other ranks included) and the steps taken.
  double collective_seconds() const { return collective_seconds_; }
  int64_t steps() const { return steps_; }

 private:
  // One embedding table (rows of `weight` [N, D], contiguous) with its
  // Adagrad accumulator, and the rows a batch uses: `rows` (global, in
  // first-use order), `slot` (global -> position in `rows`, -1 = unused) and
  // their accumulated gradient [rows.size(), D].
  struct Table {
    explicit Table(const torch::Tensor& w);
    int64_t Local(int64_t row);
    // Adagrad on the used rows, then forgets them.
    void ApplyAndClear(float learning_rate);
    // Forgets the used rows without an update.
    void Clear();

    torch::Tensor weight, sum;
    int64_t dim;
    std::vector<int32_t> slot;
    std::vector<int64_t> rows;
    std::vector<float> grad;
  };

  // Bags of `table` rows, one per example: `local[offsets[b]..offsets[b+1])`.
  struct Bags {
    std::vector<int64_t> local, offsets;
  };
  // Each bag's mean row [B, D] (zeros for an empty bag), as a leaf that
  // receives the batch's gradient.
  static torch::Tensor BagMeans(const Table& table, const Bags& bags);
  // Adds d(loss)/d(row) for every bag member to `table.grad` (sized and
  // zeroed by the caller).
  static void BackwardBags(const torch::Tensor& means, const Bags& bags, Table* table);

  // A batch's input side: the bags (their rows marked used in the tables),
  // each block of the tower's input as a leaf, and the input row `x`.
  struct TowerInputs {
    // `recent_bags` read the watch table too (empty without the group).
    Bags watch_bags, recent_bags, token_bags, region_bags, device_bags;
    CandidateTowerBlocks<torch::Tensor> blocks;
    torch::Tensor x;
  };
  TowerInputs AssembleTowerInputs(const std::vector<const CandidateFeatures*>& rows);

  // Replaces each table's used rows and their gradients by the mean over
  // the group's ranks (every rank's rows, in rank order: the same rows,
  // order and sums on every rank). Three collectives for all the tables.
  static absl::Status ExchangeRows(const std::vector<Table*>& tables, ProcessGroup& group);

  CandidateNet net_;
  float learning_rate_;
  ProcessGroup* group_;
  double collective_seconds_ = 0;
  int64_t steps_ = 0;
  torch::optim::Adagrad tower_optimizer_;
  Table watches_, tokens_, regions_, devices_, video_vectors_, video_biases_;
};

}  // namespace recsys

#endif  // RECSYS_TRAINER_CANDIDATE_OPTIMIZER_H_
