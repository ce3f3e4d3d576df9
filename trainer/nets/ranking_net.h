#ifndef RECSYS_TRAINER_RANKING_NET_H_
#define RECSYS_TRAINER_RANKING_NET_H_

// The ranking network in libtorch (paper section 4): the impressed video, the
// seed video and the bag of last-watched videos share one embedding table
// yet enter the network as separate inputs, and so do the user's language
// and the video's; with the channel embedding and the quantile-normalised
// continuous features they feed a ReLU tower to one logit. Trained as weighted logistic regression (positives weighted by
// watch seconds, negatives by 1), so exp(logit) estimates expected watch
// time per impression.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "common/serving/bundle.h"
#include "common/features/features.h"
#include "common/features/quantiles.h"
#include "proto/bundle.pb.h"

namespace recsys {

struct RankingNetOptions {
  int64_t num_videos = 0;
  int64_t num_channels = 0;
  int64_t num_languages = 0;
  int video_dim = 32;
  int channel_dim = 8;
  int language_dim = 4;
  std::vector<int> hidden_layers = {256};
  bool use_powers = true;
};

// One impression's inputs: the request-level part is shared by pointer.
struct RankingExampleInputs {
  const RankingQuery* query = nullptr;
  int32_t video = -1;
  int32_t channel = -1;
  int32_t language = -1;  // the video's; the user's is in `query`
  std::vector<float> normalized;  // NormalizedWidth(use_powers) floats
};

// One impression's inputs from its extracted features (`features` are the
// candidate's, `query` the request's, kept by pointer): the trainer's
// examples and the parity test are built here.
RankingExampleInputs MakeRankingExampleInputs(const RankingQuery* query,
                                              const RankingCandidateFeatures& features,
                                              const std::vector<QuantileNormalizer>& normalizers,
                                              bool use_powers);

// Embedding rows are shifted by one: row 0 is the OOV/padding row.
struct RankingBatch {
  torch::Tensor video;         // [B]
  torch::Tensor seed;          // [B]
  torch::Tensor last_watched;  // [B, L], 0 = padding
  torch::Tensor user_language;   // [B]
  torch::Tensor channel;         // [B]
  torch::Tensor video_language;  // [B]
  torch::Tensor dense;         // [B, NormalizedWidth]
};

RankingBatch MakeRankingBatch(const std::vector<const RankingExampleInputs*>& rows);

class RankingNetImpl : public torch::nn::Module {
 public:
  explicit RankingNetImpl(const RankingNetOptions& options);

  torch::Tensor Logits(const RankingBatch& batch);  // [B]

  // Writes the tensors `RankingModel::Load` reads (quantiles and the rest of
  // the manifest are the caller's).
  absl::Status Export(BundleWriter* writer);

  const RankingNetOptions& options() const { return options_; }

 private:
  RankingNetOptions options_;
  torch::nn::Embedding video_embedding_{nullptr}, channel_embedding_{nullptr},
      language_embedding_{nullptr};
  torch::nn::ModuleList tower_;
};
TORCH_MODULE(RankingNet);

// An impression's weight in the loss: for the watch-time objective a
// clicked impression weighs its watch seconds (at least 1, so that a click
// with no recorded watch still counts) and an unclicked one 1; for CTR
// every impression weighs 1.
float RankingExampleWeight(bool clicked, float watch_seconds,
                           bundle::RankingObjective objective);

// Weighted logistic loss: sum_i w_i * BCE(logit_i, clicked_i) / sum_i w_i.
torch::Tensor WeightedLogisticLoss(const torch::Tensor& logits,
                                   const torch::Tensor& clicked,
                                   const torch::Tensor& weights);

}  // namespace recsys

#endif  // RECSYS_TRAINER_RANKING_NET_H_
