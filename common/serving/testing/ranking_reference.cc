#include "common/serving/testing/ranking_reference.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/serving/models.h"

namespace recsys {
namespace {

// The categorical input called `name` of `candidate`; nullptr when absent.
const CategoricalFeature* Find(const RankingCandidateExplanation& candidate,
                               const std::string& name) {
  for (const CategoricalFeature& f : candidate.categorical()) {
    if (f.name() == name) return &f;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RankingReference>> RankingReference::Load(const Bundle& bundle) {
  auto r = std::unique_ptr<RankingReference>(new RankingReference());
  const auto read = [&bundle](const std::string& name, Table* table) -> absl::Status {
    absl::StatusOr<Tensor> t = bundle.ReadTensor(name);
    if (!t.ok()) return t.status();
    table->rows = t->rows();
    table->cols = t->shape.size() > 1 ? t->cols() : 1;
    table->data = std::move(t->data);
    return absl::OkStatus();
  };
  if (absl::Status s = read(kRankingVideoEmbedding, &r->videos_); !s.ok()) return s;
  if (absl::Status s = read(kRankingChannelEmbedding, &r->channels_); !s.ok()) return s;
  if (absl::Status s = read(kRankingLanguageEmbedding, &r->languages_); !s.ok()) return s;
  for (int i = 0; bundle.FindTensor(LayerTensorName(kRankingTower, i, "weight")) != nullptr;
       ++i) {
    Layer layer;
    if (absl::Status s = read(LayerTensorName(kRankingTower, i, "weight"), &layer.weight);
        !s.ok()) {
      return s;
    }
    Table bias;
    if (absl::Status s = read(LayerTensorName(kRankingTower, i, "bias"), &bias); !s.ok()) {
      return s;
    }
    layer.bias = std::move(bias.data);
    r->tower_.push_back(std::move(layer));
  }
  if (r->tower_.empty()) return absl::NotFoundError("the bundle has no ranking tower");
  return r;
}

absl::Status RankingReference::AppendRow(const Table& table, int32_t row,
                                         std::vector<double>* out) {
  if (row < -1 || row >= table.rows) {
    return absl::InvalidArgumentError(
        absl::StrCat("vocabulary row ", row, " outside a table of ", table.rows));
  }
  for (int64_t j = 0; j < table.cols; ++j) {
    out->push_back(row < 0 ? 0.0 : table.data[row * table.cols + j]);
  }
  return absl::OkStatus();
}

absl::StatusOr<double> RankingReference::Logit(const RankingRequestFeatures& request,
                                               const RankingCandidateExplanation& candidate,
                                               bool use_powers) const {
  const CategoricalFeature* video = Find(candidate, "video");
  const CategoricalFeature* channel = Find(candidate, "channel");
  const CategoricalFeature* language = Find(candidate, "language");
  const CategoricalFeature* source = Find(candidate, "source");
  if (video == nullptr || channel == nullptr || language == nullptr || source == nullptr) {
    return absl::InvalidArgumentError("a categorical input is missing");
  }
  std::vector<double> x;
  if (absl::Status s = AppendRow(videos_, video->vocabulary_row(), &x); !s.ok()) return s;
  if (absl::Status s = AppendRow(videos_, request.seed_video().vocabulary_row(), &x); !s.ok()) {
    return s;
  }
  // The last-watched bag's mean (zeros when empty).
  std::vector<double> bag(videos_.cols, 0.0);
  for (const CategoricalFeature& w : request.last_watched()) {
    std::vector<double> row;
    if (absl::Status s = AppendRow(videos_, w.vocabulary_row(), &row); !s.ok()) return s;
    for (int64_t j = 0; j < videos_.cols; ++j) bag[j] += row[j];
  }
  for (double& v : bag) v /= std::max(request.last_watched_size(), 1);
  x.insert(x.end(), bag.begin(), bag.end());
  if (absl::Status s = AppendRow(languages_, request.user_language().vocabulary_row(), &x);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = AppendRow(channels_, channel->vocabulary_row(), &x); !s.ok()) return s;
  if (absl::Status s = AppendRow(languages_, language->vocabulary_row(), &x); !s.ok()) return s;
  for (const ContinuousFeature& f : candidate.continuous()) {
    const double v = f.normalized_value();
    x.push_back(v);
    if (use_powers) {
      x.push_back(v * v);
      x.push_back(std::sqrt(v));
    }
  }
  for (int i = 0; i < 3; ++i) x.push_back(source->vocabulary_row() == i ? 1.0 : 0.0);
  if (static_cast<int64_t>(x.size()) != tower_.front().weight.cols) {
    return absl::InvalidArgumentError(absl::StrCat("the inputs make a row of ", x.size(),
                                                   ", the tower reads ",
                                                   tower_.front().weight.cols));
  }
  for (size_t l = 0; l < tower_.size(); ++l) {
    const Table& w = tower_[l].weight;
    std::vector<double> y(w.rows);
    for (int64_t o = 0; o < w.rows; ++o) {
      double sum = tower_[l].bias[o];
      for (int64_t i = 0; i < w.cols; ++i) sum += w.data[o * w.cols + i] * x[i];
      y[o] = l + 1 < tower_.size() ? std::max(sum, 0.0) : sum;
    }
    x = std::move(y);
  }
  return x[0];
}

}  // namespace recsys
