#include "evaluation/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"

namespace recsys {

int64_t RankOf(const std::vector<int64_t>& ranked, int64_t target) {
  const auto it = std::find(ranked.begin(), ranked.end(), target);
  return it == ranked.end() ? -1 : it - ranked.begin();
}

double HitAtK(int64_t rank, int k) { return rank >= 0 && rank < k ? 1 : 0; }

double NdcgAtK(int64_t rank, int k) {
  if (rank < 0 || rank >= k) return 0;
  return 1.0 / std::log2(static_cast<double>(rank) + 2.0);
}

double ReciprocalRank(int64_t rank) {
  return rank < 0 ? 0 : 1.0 / (static_cast<double>(rank) + 1.0);
}

RetrievalMetrics::RetrievalMetrics(std::vector<int> ks) {
  ks.erase(std::remove_if(ks.begin(), ks.end(), [](int k) { return k <= 0; }),
           ks.end());
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  ks_ = std::move(ks);
  hit_sums_.assign(ks_.size(), 0);
  ndcg_sums_.assign(ks_.size(), 0);
}

void RetrievalMetrics::Add(const std::vector<int64_t>& ranked, int64_t target) {
  AddRank(RankOf(ranked, target));
}

void RetrievalMetrics::AddRank(int64_t rank) {
  for (size_t i = 0; i < ks_.size(); ++i) {
    hit_sums_[i] += HitAtK(rank, ks_[i]);
    ndcg_sums_[i] += NdcgAtK(rank, ks_[i]);
  }
  reciprocal_rank_sum_ += ReciprocalRank(rank);
  ++count_;
}

absl::Status RetrievalMetrics::Merge(const RetrievalMetrics& other) {
  if (other.ks_ != ks_) {
    return absl::InvalidArgumentError(
        "cannot merge RetrievalMetrics with different cutoffs");
  }
  for (size_t i = 0; i < ks_.size(); ++i) {
    hit_sums_[i] += other.hit_sums_[i];
    ndcg_sums_[i] += other.ndcg_sums_[i];
  }
  reciprocal_rank_sum_ += other.reciprocal_rank_sum_;
  count_ += other.count_;
  return absl::OkStatus();
}

int RetrievalMetrics::IndexOf(int k) const {
  const auto it = std::lower_bound(ks_.begin(), ks_.end(), k);
  return it != ks_.end() && *it == k ? static_cast<int>(it - ks_.begin()) : -1;
}

double RetrievalMetrics::Mean(double sum) const {
  return count_ == 0 ? 0 : sum / static_cast<double>(count_);
}

double RetrievalMetrics::hit_rate(int k) const {
  const int i = IndexOf(k);
  return i < 0 ? std::numeric_limits<double>::quiet_NaN() : Mean(hit_sums_[i]);
}

double RetrievalMetrics::ndcg(int k) const {
  const int i = IndexOf(k);
  return i < 0 ? std::numeric_limits<double>::quiet_NaN() : Mean(ndcg_sums_[i]);
}

double RetrievalMetrics::mrr() const { return Mean(reciprocal_rank_sum_); }

double WeightedPerUserLossResult::loss() const {
  return total_watch_seconds > 0
             ? mispredicted_watch_seconds / total_watch_seconds
             : 0;
}

WeightedPerUserLossResult WeightedPerUserLoss(
    const std::vector<std::vector<ScoredImpression>>& pages) {
  WeightedPerUserLossResult result;
  for (const std::vector<ScoredImpression>& page : pages) {
    for (const ScoredImpression& positive : page) {
      if (!positive.clicked) continue;
      for (const ScoredImpression& negative : page) {
        if (negative.clicked) continue;
        ++result.pairs;
        result.total_watch_seconds += positive.watch_seconds;
        if (negative.score > positive.score) {
          result.mispredicted_watch_seconds += positive.watch_seconds;
        } else if (negative.score == positive.score) {
          result.mispredicted_watch_seconds += 0.5 * positive.watch_seconds;
        }
      }
    }
  }
  return result;
}

namespace {

// Row indices of `values` in increasing order of value; ties keep row order.
std::vector<size_t> SortedOrder(absl::Span<const float> values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return values[a] < values[b]; });
  return order;
}

absl::Status CheckNoNaN(absl::Span<const float> values, const char* what) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      return absl::InvalidArgumentError(absl::StrCat(what, " ", i, " is NaN"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<double> Auc(absl::Span<const float> scores,
                           const std::vector<bool>& labels) {
  if (scores.size() != labels.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("AUC needs one label per score, got ", scores.size(),
                     " scores and ", labels.size(), " labels"));
  }
  if (absl::Status status = CheckNoNaN(scores, "score"); !status.ok()) {
    return status;
  }
  const int64_t positives = std::count(labels.begin(), labels.end(), true);
  const int64_t negatives = static_cast<int64_t>(labels.size()) - positives;
  if (positives == 0 || negatives == 0) {
    return absl::FailedPreconditionError(
        "AUC is undefined without both positive and negative labels");
  }
  // Sum of the positives' 1-based ranks, tied scores sharing the average of
  // their ranks.
  const std::vector<size_t> order = SortedOrder(scores);
  double positive_rank_sum = 0;
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin + 1;
    while (end < order.size() && scores[order[end]] == scores[order[begin]]) {
      ++end;
    }
    const double average_rank = (begin + 1 + end) / 2.0;  // Ranks begin+1..end.
    for (size_t i = begin; i < end; ++i) {
      if (labels[order[i]]) positive_rank_sum += average_rank;
    }
    begin = end;
  }
  const double p = static_cast<double>(positives);
  const double n = static_cast<double>(negatives);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * n);
}

absl::StatusOr<std::vector<CalibrationBucket>> CalibrationByQuantile(
    absl::Span<const float> predictions,
    absl::Span<const float> observed_watch_seconds, int num_buckets) {
  if (predictions.size() != observed_watch_seconds.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("calibration needs one observation per prediction, got ",
                     predictions.size(), " predictions and ",
                     observed_watch_seconds.size(), " observations"));
  }
  if (num_buckets <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_buckets must be > 0, got ", num_buckets));
  }
  if (absl::Status status = CheckNoNaN(predictions, "prediction");
      !status.ok()) {
    return status;
  }
  const std::vector<size_t> order = SortedOrder(predictions);
  const size_t n = order.size();
  std::vector<CalibrationBucket> buckets;
  for (int b = 0; b < num_buckets; ++b) {
    const size_t begin = n * b / num_buckets;
    const size_t end = n * (b + 1) / num_buckets;
    if (begin == end) continue;
    CalibrationBucket bucket;
    bucket.count = static_cast<int64_t>(end - begin);
    bucket.min_prediction = predictions[order[begin]];
    bucket.max_prediction = predictions[order[end - 1]];
    double prediction_sum = 0;
    double observed_sum = 0;
    for (size_t i = begin; i < end; ++i) {
      prediction_sum += predictions[order[i]];
      observed_sum += observed_watch_seconds[order[i]];
    }
    bucket.mean_prediction = prediction_sum / bucket.count;
    bucket.mean_observed_watch_seconds = observed_sum / bucket.count;
    buckets.push_back(bucket);
  }
  return buckets;
}

}  // namespace recsys
