#ifndef RECSYS_EVALUATION_METRICS_H_
#define RECSYS_EVALUATION_METRICS_H_

// Offline evaluation metrics, shared by the trainer's evaluation and the
// end-to-end tests. Pure functions plus one accumulator; no I/O.
//
// Retrieval (candidate generation, paper section 3): every test user has one
// held-out target video and a ranked list of video indices from the model,
// already-watched videos removed by the caller. Ranks are 0-based: rank 0 is
// the top of the list.
//
// Ranking (paper section 4): impressions grouped by the page they were shown
// on, scored by the ranking model.

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace recsys {

// ---------------------------------------------------------------------------
// Retrieval: one relevant item per user.

// The 0-based position of the first occurrence of `target` in `ranked`, or
// -1 when it is absent.
int64_t RankOf(const std::vector<int64_t>& ranked, int64_t target);

// 1 when the target is in the top `k` (0 <= rank < k), else 0.
double HitAtK(int64_t rank, int k);

// NDCG@k with a single relevant item: the ideal DCG is 1, so this is the DCG
// 1 / log2(rank + 2) when 0 <= rank < k, else 0. Rank 0 scores 1.
double NdcgAtK(int64_t rank, int k);

// 1 / (rank + 1) over the full list; 0 when the target is absent (rank < 0).
// With one relevant item, average precision equals this value, so MAP equals
// MRR.
double ReciprocalRank(int64_t rank);

// Averages the retrieval metrics over test users, for a fixed list of cutoffs
// K. Every average is over all added users (a user whose target is missing
// from the list counts as 0), and is 0 while `count()` is 0.
//
// Thread-safety: not synchronized; give each thread its own accumulator and
// `Merge` them.
class RetrievalMetrics {
 public:
  // Cutoffs K, sorted and deduplicated; non-positive values are dropped.
  explicit RetrievalMetrics(std::vector<int> ks = {10, 50, 100, 500});

  // One test user: the model's `ranked` list of video indices, best first,
  // and the held-out `target` index.
  void Add(const std::vector<int64_t>& ranked, int64_t target);
  // The same with the target's rank already known (-1 = absent).
  void AddRank(int64_t rank);
  // Adds `other`'s users. InvalidArgument, and no change, when the two were
  // configured with different cutoffs.
  absl::Status Merge(const RetrievalMetrics& other);

  // Test users added.
  int64_t count() const { return count_; }
  // Fraction of users whose target is in their top `k` (HR@k, also recall@k
  // with one relevant item). NaN when `k` is not a configured cutoff.
  double hit_rate(int k) const;
  // Mean `NdcgAtK`. NaN when `k` is not a configured cutoff.
  double ndcg(int k) const;
  // Mean reciprocal rank over the full lists.
  double mrr() const;
  // Mean average precision; equals `mrr()` with one relevant item per user.
  double map() const { return mrr(); }
  const std::vector<int>& ks() const { return ks_; }

 private:
  // Index of `k` in `ks_`, or -1.
  int IndexOf(int k) const;
  double Mean(double sum) const;

  std::vector<int> ks_;
  // Per cutoff, aligned with `ks_`.
  std::vector<double> hit_sums_;
  std::vector<double> ndcg_sums_;
  double reciprocal_rank_sum_ = 0;
  int64_t count_ = 0;
};

// ---------------------------------------------------------------------------
// Ranking.

// One video shown on a page, with the ranking model's score for it.
struct ScoredImpression {
  // Any monotone score: higher = ranked higher. Must not be NaN.
  float score = 0;
  bool clicked = false;
  // Seconds watched after the click; 0 for unclicked impressions. >= 0.
  float watch_seconds = 0;
};

// The paper's weighted, per-user loss (section 4), summed over pages.
struct WeightedPerUserLossResult {
  // Watch time of positives scored below a negative of their page; a tie
  // counts half.
  double mispredicted_watch_seconds = 0;
  // Watch time of the positive, summed over all (positive, negative) pairs.
  double total_watch_seconds = 0;
  // (clicked, unclicked) pairs on the same page.
  int64_t pairs = 0;

  // `mispredicted_watch_seconds / total_watch_seconds`, in [0, 1]; 0 when
  // there is no pair with watch time. Lower is better; a random scorer gets
  // 0.5.
  double loss() const;
};

// For every page (one element of `pages`) and every pair of a clicked
// impression (positive) and an unclicked one (negative) on it, the
// positive's watch time is mispredicted when the negative scores higher
// (half of it when they tie). Each pair weighs the positive's watch seconds,
// so a positive counts once per negative on its page. O(sum of page size^2).
WeightedPerUserLossResult WeightedPerUserLoss(
    const std::vector<std::vector<ScoredImpression>>& pages);

// Area under the ROC curve: the probability that a random positive scores
// above a random negative, ties counted half (the Mann-Whitney statistic
// with average ranks for tied scores). InvalidArgument when the sizes differ
// or a score is NaN; FailedPrecondition when all labels are equal (AUC is
// undefined).
absl::StatusOr<double> Auc(absl::Span<const float> scores,
                           const std::vector<bool>& labels);

// Rows whose prediction falls in one quantile bucket.
struct CalibrationBucket {
  int64_t count = 0;
  float min_prediction = 0;
  float max_prediction = 0;
  double mean_prediction = 0;
  double mean_observed_watch_seconds = 0;
};

// Calibration of predicted watch time: sorts the rows by prediction and
// splits them into `num_buckets` buckets of equal count (sizes differ by at
// most one; rows with equal predictions may straddle a boundary), lowest
// predictions first, and reports each bucket's mean prediction and mean
// observed watch seconds. A calibrated model has the two close in every
// bucket. The default, 10, gives deciles. Buckets that would be empty (fewer
// rows than buckets) are omitted. For the paper's weighted logistic
// regression the prediction is the odds e^(Wx+b), not the sigmoid.
// InvalidArgument when the sizes differ, `num_buckets` <= 0 or a prediction
// is NaN.
absl::StatusOr<std::vector<CalibrationBucket>> CalibrationByQuantile(
    absl::Span<const float> predictions,
    absl::Span<const float> observed_watch_seconds, int num_buckets = 10);

}  // namespace recsys

#endif  // RECSYS_EVALUATION_METRICS_H_
