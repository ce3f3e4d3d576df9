#include "trainer/nets/candidate_net.h"

#include <algorithm>

#include "common/serving/models.h"

namespace recsys {
namespace {

// [B, L] int64 of `ids` + 1, zero-padded to the longest row (at least 1).
torch::Tensor PaddedIds(const std::vector<const std::vector<int32_t>*>& rows) {
  size_t width = 1;
  for (const auto* r : rows) width = std::max(width, r->size());
  torch::Tensor t = torch::zeros({static_cast<int64_t>(rows.size()),
                                  static_cast<int64_t>(width)},
                                 torch::kLong);
  auto a = t.accessor<int64_t, 2>();
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < rows[i]->size(); ++j) a[i][j] = (*rows[i])[j] + 1;
  }
  return t;
}

}  // namespace

CandidateBatch MakeCandidateBatch(
    const std::vector<const CandidateFeatures*>& features) {
  const int64_t b = features.size();
  std::vector<const std::vector<int32_t>*> watches, recent, tokens;
  CandidateBatch batch;
  batch.region = torch::zeros({b}, torch::kLong);
  batch.device = torch::zeros({b}, torch::kLong);
  batch.dense = torch::zeros({b, kNumCandidateDense});
  auto region = batch.region.accessor<int64_t, 1>();
  auto device = batch.device.accessor<int64_t, 1>();
  auto dense = batch.dense.accessor<float, 2>();
  for (int64_t i = 0; i < b; ++i) {
    const CandidateFeatures& f = *features[i];
    watches.push_back(&f.watch_ids);
    recent.push_back(&f.recent_ids);
    tokens.push_back(&f.token_ids);
    region[i] = f.region + 1;  // kOov (-1) -> row 0
    device[i] = f.device + 1;
    for (int j = 0; j < kNumCandidateDense; ++j) dense[i][j] = f.dense[j];
  }
  batch.watch_ids = PaddedIds(watches);
  batch.recent_ids = PaddedIds(recent);
  batch.token_ids = PaddedIds(tokens);
  return batch;
}

torch::nn::Embedding ShiftedEmbedding(int64_t n, int dim, bool sparse) {
  auto e = torch::nn::Embedding(
      torch::nn::EmbeddingOptions(n + 1, dim).padding_idx(0).sparse(sparse));
  torch::NoGradGuard no_grad;
  e->weight.normal_(0, 0.05);
  e->weight[0].zero_();
  return e;
}

torch::Tensor BagMean(torch::nn::Embedding& embedding, const torch::Tensor& ids) {
  torch::Tensor sum = embedding->forward(ids).sum(1);
  torch::Tensor count = (ids > 0).sum(1, /*keepdim=*/true).clamp_min(1);
  return sum / count.to(torch::kFloat);
}

CandidateNetImpl::CandidateNetImpl(const CandidateNetOptions& options)
    : options_(options) {
  const int d = options.embedding_dim;
  watch_embedding_ = register_module(
      "watch_embedding", ShiftedEmbedding(options.num_videos, d, true));
  token_embedding_ = register_module(
      "token_embedding", ShiftedEmbedding(options.num_tokens, d, true));
  region_embedding_ = register_module(
      "region_embedding",
      ShiftedEmbedding(options.num_regions, options.region_dim, true));
  device_embedding_ = register_module(
      "device_embedding",
      ShiftedEmbedding(options.num_devices, options.device_dim, true));
  int in = CandidateTowerInputDim(
      CandidateTowerWidths(d, options.region_dim, options.device_dim, options.use_recent));
  tower_ = register_module("tower", torch::nn::ModuleList());
  for (int width : options.hidden_layers) {
    tower_->push_back(torch::nn::Linear(in, width));
    in = width;
  }
  tower_->push_back(torch::nn::Linear(in, options.output_dim));
  video_embedding_ = register_module(
      "video_embedding",
      torch::nn::Embedding(
          torch::nn::EmbeddingOptions(options.num_videos, options.output_dim)
              .sparse(true)));
  video_bias_ = register_module(
      "video_bias",
      torch::nn::Embedding(
          torch::nn::EmbeddingOptions(options.num_videos, 1).sparse(true)));
  torch::NoGradGuard no_grad;
  video_embedding_->weight.normal_(0, 0.05);
  video_bias_->weight.zero_();
}

torch::Tensor CandidateTowerInput(CandidateTowerBlocks<torch::Tensor> blocks) {
  std::vector<torch::Tensor> in_order;
  ForEachCandidateTowerBlock(blocks, [&](const torch::Tensor& t) { in_order.push_back(t); });
  return torch::cat(in_order, 1);
}

torch::Tensor CandidateNetImpl::UserVectors(const CandidateBatch& batch) {
  CandidateTowerBlocks<torch::Tensor> blocks;
  blocks.watch_bag = BagMean(watch_embedding_, batch.watch_ids);
  blocks.recent_bag = options_.use_recent
                          ? BagMean(watch_embedding_, batch.recent_ids)
                          : torch::zeros({batch.watch_ids.size(0), 0});
  blocks.token_bag = BagMean(token_embedding_, batch.token_ids);
  blocks.region = region_embedding_->forward(batch.region);
  blocks.device = device_embedding_->forward(batch.device);
  blocks.dense = batch.dense;
  return Tower(CandidateTowerInput(std::move(blocks)));
}

torch::Tensor CandidateNetImpl::Tower(torch::Tensor x) {
  for (size_t i = 0; i < tower_->size(); ++i) {
    x = tower_[i]->as<torch::nn::Linear>()->forward(x);
    if (i + 1 < tower_->size()) x = torch::relu(x);
  }
  return x;
}

torch::Tensor SampledLogitsFromRows(const torch::Tensor& user_vectors,
                                   const torch::Tensor& v_pos, const torch::Tensor& b_pos,
                                   const torch::Tensor& v_neg, const torch::Tensor& b_neg,
                                   const torch::Tensor& label_ids,
                                   const torch::Tensor& sampled_ids,
                                   const torch::Tensor& log_q_labels,
                                   const torch::Tensor& log_q_sampled,
                                   bool logq_correction) {
  torch::Tensor pos = (user_vectors * v_pos).sum(1) + b_pos;           // [B]
  torch::Tensor neg = torch::addmm(b_neg.unsqueeze(0), user_vectors, v_neg.t());  // [B, S]
  if (logq_correction) {
    pos = pos - log_q_labels;
    neg = neg - log_q_sampled.unsqueeze(0);
  }
  torch::Tensor hits = label_ids.unsqueeze(1) == sampled_ids.unsqueeze(0);
  neg = neg.masked_fill(hits, kMaskedLogit);
  return torch::cat({pos.unsqueeze(1), neg}, 1);
}

torch::Tensor CandidateNetImpl::SampledLogits(
    const torch::Tensor& user_vectors, const torch::Tensor& labels,
    const torch::Tensor& sampled, const torch::Tensor& log_q_labels,
    const torch::Tensor& log_q_sampled, bool logq_correction) {
  return SampledLogitsFromRows(
      user_vectors, video_embedding_->forward(labels),
      video_bias_->forward(labels).squeeze(1), video_embedding_->forward(sampled),
      video_bias_->forward(sampled).squeeze(1), labels, sampled, log_q_labels,
      log_q_sampled, logq_correction);
}

torch::Tensor CandidateNetImpl::SampledSoftmaxLoss(
    const torch::Tensor& user_vectors, const torch::Tensor& labels,
    const torch::Tensor& sampled, const torch::Tensor& log_q_labels,
    const torch::Tensor& log_q_sampled, bool logq_correction) {
  torch::Tensor logits = SampledLogits(user_vectors, labels, sampled, log_q_labels,
                                       log_q_sampled, logq_correction);
  return torch::nn::functional::cross_entropy(
      logits, torch::zeros({logits.size(0)}, torch::kLong));
}

torch::Tensor CandidateNetImpl::AllLogits(const torch::Tensor& user_vectors) {
  return torch::matmul(user_vectors, video_embedding_->weight.t()) +
         video_bias_->weight.squeeze(1);
}

absl::Status ExportLinears(torch::nn::ModuleList& layers,
                           const std::string& prefix, BundleWriter* writer) {
  for (size_t i = 0; i < layers->size(); ++i) {
    auto linear = layers[i]->as<torch::nn::Linear>();
    torch::Tensor w = linear->weight.detach().contiguous();
    torch::Tensor b = linear->bias.detach().contiguous();
    absl::Status s = writer->AddTensor(LayerTensorName(prefix, i, "weight"),
                                       {w.size(0), w.size(1)},
                                       w.data_ptr<float>());
    if (!s.ok()) return s;
    s = writer->AddTensor(LayerTensorName(prefix, i, "bias"), {b.size(0)},
                          b.data_ptr<float>());
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ExportShiftedTable(const torch::Tensor& weight,
                                const std::string& name, BundleWriter* writer) {
  torch::Tensor t = weight.detach().slice(0, 1).contiguous();
  return writer->AddTensor(name, {t.size(0), t.size(1)}, t.data_ptr<float>());
}

absl::Status CandidateNetImpl::Export(BundleWriter* writer) {
  absl::Status s;
  if (!(s = ExportShiftedTable(watch_embedding_->weight, kWatchEmbedding, writer)).ok() ||
      !(s = ExportShiftedTable(token_embedding_->weight, kTokenEmbedding, writer)).ok() ||
      !(s = ExportShiftedTable(region_embedding_->weight, kRegionEmbedding, writer)).ok() ||
      !(s = ExportShiftedTable(device_embedding_->weight, kDeviceEmbedding, writer)).ok() ||
      !(s = ExportLinears(tower_, kCandidateTower, writer)).ok()) {
    return s;
  }
  torch::Tensor v = video_embedding_->weight.detach().contiguous();
  if (!(s = writer->AddTensor(kVideoOutputEmbedding, {v.size(0), v.size(1)},
                              v.data_ptr<float>())).ok()) {
    return s;
  }
  torch::Tensor b = video_bias_->weight.detach().reshape({-1}).contiguous();
  return writer->AddTensor(kVideoOutputBias, {b.size(0)}, b.data_ptr<float>());
}

}  // namespace recsys
