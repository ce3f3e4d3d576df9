#ifndef RECSYS_TRAINER_BEST_EPOCH_H_
#define RECSYS_TRAINER_BEST_EPOCH_H_

// Early stopping for both models: keeps a copy of the weights of the epoch
// with the best validation score and says when `patience` epochs in a row
// have not bettered it.

#include <limits>
#include <vector>

#include <torch/torch.h>

namespace recsys {

// Not thread-safe; one per training run.
class BestEpochKeeper {
 public:
  // At most `max_epochs` epochs; `patience` <= 0: never stop early.
  BestEpochKeeper(int max_epochs, int patience)
      : max_epochs_(max_epochs), patience_(patience), best_epoch_(max_epochs) {}

  // Records `score` (higher is better; NaN never is) of the 1-based `epoch`;
  // when it beats every earlier one, copies `net`'s parameters and returns
  // true.
  bool Offer(int epoch, double score, torch::nn::Module& net);

  // True when `epoch` (1-based, just finished) is not the last and the best
  // recorded score is `patience` or more epochs old. False while nothing is
  // recorded.
  bool ShouldStop(int epoch) const;

  // Copies the kept parameters back into `net` (nothing when none was
  // recorded) and returns the kept epoch: the best one, or `max_epochs`
  // when no score was recorded.
  int Restore(torch::nn::Module& net);

  int best_epoch() const { return best_epoch_; }
  double best_score() const { return best_score_; }

 private:
  int max_epochs_, patience_, best_epoch_;
  double best_score_ = -std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_weights_;
};

}  // namespace recsys

#endif  // RECSYS_TRAINER_BEST_EPOCH_H_
