#ifndef RECSYS_TRAINER_CANDIDATE_NET_H_
#define RECSYS_TRAINER_CANDIDATE_NET_H_

// The candidate-generation network in libtorch (paper section 3): averaged
// watch and search-token embeddings (and, with the `recent` group, the
// average of the last few watches from the same watch table), region and
// device embeddings and dense features, concatenated into a ReLU tower whose
// output `u` scores every video by u.v_j + b_j, trained with sampled softmax
// and logQ correction.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "common/serving/bundle.h"
#include "common/features/features.h"

namespace recsys {

// The logit given to sampled negatives that equal the example's label.
inline constexpr float kMaskedLogit = -1e9f;

struct CandidateNetOptions {
  int64_t num_videos = 0;
  int64_t num_tokens = 0;
  int64_t num_regions = 0;
  int64_t num_devices = 0;
  int embedding_dim = 64;
  int region_dim = 8;
  int device_dim = 4;
  // Hidden ReLU layers, input side first; empty = depth 0.
  std::vector<int> hidden_layers = {256};
  int output_dim = 64;
  // The `recent` block (`CandidateFeatures::recent_ids`, averaged over the
  // watch table: no new parameters, a first layer `embedding_dim` wider).
  bool use_recent = false;
};

// Model inputs for a batch. Embedding rows are shifted by one: row 0 is the
// out-of-vocabulary / padding row, kept at zero.
struct CandidateBatch {
  torch::Tensor watch_ids;    // [B, Lw] int64, 0 = padding
  torch::Tensor recent_ids;   // [B, Lr] int64, 0 = padding
  torch::Tensor token_ids;    // [B, Lt] int64, 0 = padding
  torch::Tensor region;       // [B] int64, 0 = OOV
  torch::Tensor device;       // [B] int64, 0 = OOV
  torch::Tensor dense;        // [B, kNumCandidateDense] float
};

CandidateBatch MakeCandidateBatch(
    const std::vector<const CandidateFeatures*>& features);

class CandidateNetImpl : public torch::nn::Module {
 public:
  explicit CandidateNetImpl(const CandidateNetOptions& options);

  // The user vectors `u`, [B, output_dim].
  torch::Tensor UserVectors(const CandidateBatch& batch);

  // The sampled softmax's logits, [B, 1 + S]: column 0 the label, then the
  // sampled negatives (see `SampledSoftmaxLoss`).
  torch::Tensor SampledLogits(const torch::Tensor& user_vectors,
                              const torch::Tensor& labels,
                              const torch::Tensor& sampled,
                              const torch::Tensor& log_q_labels,
                              const torch::Tensor& log_q_sampled,
                              bool logq_correction);

  // Sampled softmax loss (mean over the batch): cross-entropy of
  // `SampledLogits` with the label in column 0. `labels` [B] and `sampled`
  // [S] are video indices; `log_q_labels` / `log_q_sampled` are log of each
  // one's expected count among the S draws (log S + log Q(j)). With
  // `logq_correction`, those are subtracted from the logits; sampled
  // negatives equal to the example's label ("accidental hits") are masked to
  // `kMaskedLogit`.
  torch::Tensor SampledSoftmaxLoss(const torch::Tensor& user_vectors,
                                   const torch::Tensor& labels,
                                   const torch::Tensor& sampled,
                                   const torch::Tensor& log_q_labels,
                                   const torch::Tensor& log_q_sampled,
                                   bool logq_correction);

  // Exact logits over every video, [B, num_videos] (evaluation only).
  torch::Tensor AllLogits(const torch::Tensor& user_vectors);

  // Writes the tensors `CandidateModel::Load` reads.
  absl::Status Export(BundleWriter* writer);

  const CandidateNetOptions& options() const { return options_; }

  // The tables and the tower, for `CandidateOptimizer`'s training path.
  torch::nn::Embedding& watch_embedding() { return watch_embedding_; }
  torch::nn::Embedding& token_embedding() { return token_embedding_; }
  torch::nn::Embedding& region_embedding() { return region_embedding_; }
  torch::nn::Embedding& device_embedding() { return device_embedding_; }
  torch::nn::Embedding& video_embedding() { return video_embedding_; }
  torch::nn::Embedding& video_bias() { return video_bias_; }
  // The ReLU tower over the concatenated inputs.
  torch::Tensor Tower(torch::Tensor x);
  std::vector<torch::Tensor> TowerParameters() { return tower_->parameters(); }

 private:
  CandidateNetOptions options_;
  torch::nn::Embedding watch_embedding_{nullptr}, token_embedding_{nullptr},
      region_embedding_{nullptr}, device_embedding_{nullptr};
  torch::nn::ModuleList tower_;
  torch::nn::Embedding video_embedding_{nullptr}, video_bias_{nullptr};
};
TORCH_MODULE(CandidateNet);

// The sampled softmax's logits from gathered output rows: `v_pos` [B, D] /
// `b_pos` [B] the labels' embeddings and biases, `v_neg` [S, D] / `b_neg` [S]
// the sampled negatives'. `label_ids` [B] and `sampled_ids` [S] only need to
// be equal exactly when the videos are (they find accidental hits).
torch::Tensor SampledLogitsFromRows(const torch::Tensor& user_vectors,
                                   const torch::Tensor& v_pos, const torch::Tensor& b_pos,
                                   const torch::Tensor& v_neg, const torch::Tensor& b_neg,
                                   const torch::Tensor& label_ids,
                                   const torch::Tensor& sampled_ids,
                                   const torch::Tensor& log_q_labels,
                                   const torch::Tensor& log_q_sampled,
                                   bool logq_correction);

// The tower's input [B, input width] from its blocks, each [B, width],
// concatenated in the order `ForEachCandidateTowerBlock` defines: the row
// serving's `CandidateModel::BuildInput` assembles. The net and
// `CandidateOptimizer` both build their input here.
torch::Tensor CandidateTowerInput(CandidateTowerBlocks<torch::Tensor> blocks);

// An embedding table of `n` values shifted by one: row 0 is the OOV /
// padding row, kept at zero (padding_idx); the rest start N(0, 0.05).
torch::nn::Embedding ShiftedEmbedding(int64_t n, int dim, bool sparse);

// Mean of the embeddings of the non-zero `ids` [B, L] per row; zero rows for
// empty bags. Row 0 of `embedding` must be the zero padding row.
torch::Tensor BagMean(torch::nn::Embedding& embedding, const torch::Tensor& ids);

// Writes `module`'s Linear layers as "<prefix>/<i>/weight|bias".
absl::Status ExportLinears(torch::nn::ModuleList& layers,
                           const std::string& prefix, BundleWriter* writer);

// Writes rows 1.. of a shifted embedding table (row 0 is the OOV row).
absl::Status ExportShiftedTable(const torch::Tensor& weight,
                                const std::string& name, BundleWriter* writer);

}  // namespace recsys

#endif  // RECSYS_TRAINER_CANDIDATE_NET_H_
