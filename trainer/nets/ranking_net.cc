#include "trainer/nets/ranking_net.h"

#include <algorithm>

#include "common/serving/models.h"
#include "trainer/nets/candidate_net.h"

namespace recsys {

RankingBatch MakeRankingBatch(
    const std::vector<const RankingExampleInputs*>& rows) {
  const int64_t b = rows.size();
  const int64_t width = rows.empty() ? 0 : rows[0]->normalized.size();
  size_t bag = 1;
  for (const auto* r : rows) bag = std::max(bag, r->query->last_watched.size());
  RankingBatch batch;
  batch.video = torch::zeros({b}, torch::kLong);
  batch.seed = torch::zeros({b}, torch::kLong);
  batch.channel = torch::zeros({b}, torch::kLong);
  batch.user_language = torch::zeros({b}, torch::kLong);
  batch.video_language = torch::zeros({b}, torch::kLong);
  batch.last_watched = torch::zeros({b, static_cast<int64_t>(bag)}, torch::kLong);
  batch.dense = torch::zeros({b, width});
  auto video = batch.video.accessor<int64_t, 1>();
  auto seed = batch.seed.accessor<int64_t, 1>();
  auto channel = batch.channel.accessor<int64_t, 1>();
  auto user_language = batch.user_language.accessor<int64_t, 1>();
  auto video_language = batch.video_language.accessor<int64_t, 1>();
  auto last = batch.last_watched.accessor<int64_t, 2>();
  auto dense = batch.dense.accessor<float, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const RankingExampleInputs& r = *rows[i];
    video[i] = r.video + 1;
    seed[i] = r.query->seed_video + 1;
    channel[i] = r.channel + 1;
    user_language[i] = r.query->user_language + 1;
    video_language[i] = r.language + 1;
    for (size_t j = 0; j < r.query->last_watched.size(); ++j) {
      last[i][j] = r.query->last_watched[j] + 1;
    }
    for (int64_t j = 0; j < width; ++j) dense[i][j] = r.normalized[j];
  }
  return batch;
}

RankingNetImpl::RankingNetImpl(const RankingNetOptions& options)
    : options_(options) {
  video_embedding_ = register_module(
      "video_embedding", ShiftedEmbedding(options.num_videos, options.video_dim, true));
  channel_embedding_ = register_module(
      "channel_embedding", ShiftedEmbedding(options.num_channels, options.channel_dim, true));
  language_embedding_ = register_module(
      "language_embedding",
      ShiftedEmbedding(options.num_languages, options.language_dim, true));
  int in = 3 * options.video_dim + options.channel_dim +
           2 * options.language_dim + NormalizedWidth(options.use_powers);
  tower_ = register_module("tower", torch::nn::ModuleList());
  for (int width : options.hidden_layers) {
    tower_->push_back(torch::nn::Linear(in, width));
    in = width;
  }
  tower_->push_back(torch::nn::Linear(in, 1));
}

torch::Tensor RankingNetImpl::Logits(const RankingBatch& batch) {
  // One table, three separate inputs (paper section 4.1, "shared
  // embeddings"); likewise one language table for user and video. The
  // request's columns (seed, bag, user language) are adjacent, so that
  // serving can compute their first-layer product once per request.
  torch::Tensor x = torch::cat({video_embedding_->forward(batch.video),
                                video_embedding_->forward(batch.seed),
                                BagMean(video_embedding_, batch.last_watched),
                                language_embedding_->forward(batch.user_language),
                                channel_embedding_->forward(batch.channel),
                                language_embedding_->forward(batch.video_language),
                                batch.dense},
                               1);
  for (size_t i = 0; i < tower_->size(); ++i) {
    x = tower_[i]->as<torch::nn::Linear>()->forward(x);
    if (i + 1 < tower_->size()) x = torch::relu(x);
  }
  return x.squeeze(1);
}

absl::Status RankingNetImpl::Export(BundleWriter* writer) {
  absl::Status s =
      ExportShiftedTable(video_embedding_->weight, kRankingVideoEmbedding, writer);
  if (!s.ok()) return s;
  s = ExportShiftedTable(channel_embedding_->weight, kRankingChannelEmbedding,
                         writer);
  if (!s.ok()) return s;
  s = ExportShiftedTable(language_embedding_->weight, kRankingLanguageEmbedding,
                         writer);
  if (!s.ok()) return s;
  return ExportLinears(tower_, kRankingTower, writer);
}

RankingExampleInputs MakeRankingExampleInputs(const RankingQuery* query,
                                              const RankingCandidateFeatures& features,
                                              const std::vector<QuantileNormalizer>& normalizers,
                                              bool use_powers) {
  RankingExampleInputs in;
  in.query = query;
  in.video = features.video;
  in.channel = features.channel;
  in.language = features.language;
  in.normalized.resize(NormalizedWidth(use_powers));
  NormalizeRankingContinuous(features, normalizers, use_powers, in.normalized.data());
  return in;
}

float RankingExampleWeight(bool clicked, float watch_seconds,
                           bundle::RankingObjective objective) {
  if (objective == bundle::RANKING_OBJECTIVE_CTR || !clicked) return 1.0f;
  return std::max(watch_seconds, 1.0f);
}

torch::Tensor WeightedLogisticLoss(const torch::Tensor& logits,
                                   const torch::Tensor& clicked,
                                   const torch::Tensor& weights) {
  torch::Tensor per_example =
      torch::nn::functional::binary_cross_entropy_with_logits(
          logits, clicked,
          torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions()
              .reduction(torch::kNone));
  return (per_example * weights).sum() / weights.sum();
}

}  // namespace recsys
