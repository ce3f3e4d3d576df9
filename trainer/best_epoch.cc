#include "trainer/best_epoch.h"

namespace recsys {

bool BestEpochKeeper::Offer(int epoch, double score, torch::nn::Module& net) {
  if (!(score > best_score_)) return false;
  best_score_ = score;
  best_epoch_ = epoch;
  best_weights_.clear();
  for (const torch::Tensor& t : net.parameters()) best_weights_.push_back(t.detach().clone());
  return true;
}

bool BestEpochKeeper::ShouldStop(int epoch) const {
  return !best_weights_.empty() && patience_ > 0 && epoch - best_epoch_ >= patience_ &&
         epoch < max_epochs_;
}

int BestEpochKeeper::Restore(torch::nn::Module& net) {
  if (!best_weights_.empty()) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> params = net.parameters();
    for (size_t i = 0; i < params.size(); ++i) params[i].copy_(best_weights_[i]);
  }
  return best_epoch_;
}

}  // namespace recsys
