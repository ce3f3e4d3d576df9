#include "evaluation/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace recsys {
namespace {

TEST(RetrievalTest, RankOf) {
  EXPECT_EQ(RankOf({5, 3, 7}, 5), 0);
  EXPECT_EQ(RankOf({5, 3, 7}, 7), 2);
  EXPECT_EQ(RankOf({5, 3, 7, 3}, 3), 1);  // First occurrence.
  EXPECT_EQ(RankOf({5, 3, 7}, 4), -1);
  EXPECT_EQ(RankOf({}, 4), -1);
}

TEST(RetrievalTest, PerUserValues) {
  EXPECT_EQ(HitAtK(0, 1), 1);
  EXPECT_EQ(HitAtK(1, 1), 0);
  EXPECT_EQ(HitAtK(-1, 10), 0);
  EXPECT_DOUBLE_EQ(NdcgAtK(0, 10), 1.0);
  EXPECT_DOUBLE_EQ(NdcgAtK(1, 10), 1.0 / std::log2(3.0));
  EXPECT_DOUBLE_EQ(NdcgAtK(2, 10), 0.5);
  EXPECT_DOUBLE_EQ(NdcgAtK(6, 10), 1.0 / 3);
  EXPECT_EQ(NdcgAtK(10, 10), 0);  // Rank 10 is the 11th item.
  EXPECT_EQ(NdcgAtK(-1, 10), 0);
  EXPECT_DOUBLE_EQ(ReciprocalRank(0), 1.0);
  EXPECT_DOUBLE_EQ(ReciprocalRank(3), 0.25);
  EXPECT_EQ(ReciprocalRank(-1), 0);
}

TEST(RetrievalTest, Accumulates) {
  RetrievalMetrics metrics({3, 1});
  EXPECT_EQ(metrics.ks(), (std::vector<int>{1, 3}));
  EXPECT_EQ(metrics.count(), 0);
  EXPECT_EQ(metrics.hit_rate(1), 0);
  EXPECT_EQ(metrics.mrr(), 0);

  metrics.Add({5, 3, 7, 9}, 5);  // Rank 0.
  metrics.Add({1, 2, 3}, 3);     // Rank 2.
  metrics.Add({1, 2}, 9);        // Absent.
  EXPECT_EQ(metrics.count(), 3);
  EXPECT_DOUBLE_EQ(metrics.hit_rate(1), 1.0 / 3);
  EXPECT_DOUBLE_EQ(metrics.hit_rate(3), 2.0 / 3);
  EXPECT_DOUBLE_EQ(metrics.ndcg(1), 1.0 / 3);
  EXPECT_DOUBLE_EQ(metrics.ndcg(3), (1.0 + 0.5) / 3);
  EXPECT_DOUBLE_EQ(metrics.mrr(), (1.0 + 1.0 / 3 + 0) / 3);
  EXPECT_DOUBLE_EQ(metrics.map(), metrics.mrr());
  EXPECT_TRUE(std::isnan(metrics.hit_rate(2)));
  EXPECT_TRUE(std::isnan(metrics.ndcg(10)));
}

TEST(RetrievalTest, DefaultCutoffsAndMrrBeyondThem) {
  RetrievalMetrics metrics;
  EXPECT_EQ(metrics.ks(), (std::vector<int>{10, 50, 100, 500}));
  std::vector<int64_t> ranked(1000);
  for (int i = 0; i < 1000; ++i) ranked[i] = i;
  metrics.Add(ranked, 20);   // Rank 20.
  metrics.Add(ranked, 799);  // Rank 799: counts only for MRR.
  EXPECT_EQ(metrics.hit_rate(10), 0);
  EXPECT_DOUBLE_EQ(metrics.hit_rate(50), 0.5);
  EXPECT_DOUBLE_EQ(metrics.hit_rate(500), 0.5);
  EXPECT_DOUBLE_EQ(metrics.ndcg(100), 0.5 / std::log2(22.0));
  EXPECT_DOUBLE_EQ(metrics.mrr(), (1.0 / 21 + 1.0 / 800) / 2);
}

TEST(RetrievalTest, Merge) {
  RetrievalMetrics a({1, 3});
  RetrievalMetrics b({3, 1, 1, 0});
  RetrievalMetrics all({1, 3});
  a.AddRank(0);
  all.AddRank(0);
  b.AddRank(2);
  all.AddRank(2);
  b.AddRank(-1);
  all.AddRank(-1);
  ASSERT_TRUE(a.Merge(b).ok());
  EXPECT_EQ(a.count(), 3);
  EXPECT_DOUBLE_EQ(a.hit_rate(3), all.hit_rate(3));
  EXPECT_DOUBLE_EQ(a.ndcg(3), all.ndcg(3));
  EXPECT_DOUBLE_EQ(a.mrr(), all.mrr());
  RetrievalMetrics other_cutoffs({10});
  EXPECT_FALSE(a.Merge(other_cutoffs).ok());
  EXPECT_EQ(a.count(), 3);
}

TEST(WeightedPerUserLossTest, HandComputed) {
  const std::vector<std::vector<ScoredImpression>> pages = {
      // Positives 0.9 (100 s) and 0.2 (50 s), negatives 0.5 and 0.2:
      // 0.9 beats both; 0.2 loses to 0.5 (50 s) and ties 0.2 (25 s).
      {{0.9f, true, 100}, {0.5f, false, 0}, {0.2f, true, 50}, {0.2f, false, 0}},
      // No negative: no pairs.
      {{0.3f, true, 40}},
      // No positive: no pairs.
      {{0.3f, false, 0}, {0.7f, false, 0}},
      // One misordered pair.
      {{0.1f, true, 10}, {0.3f, false, 0}},
  };
  const WeightedPerUserLossResult result = WeightedPerUserLoss(pages);
  EXPECT_EQ(result.pairs, 5);
  EXPECT_DOUBLE_EQ(result.total_watch_seconds, 100 + 100 + 50 + 50 + 10);
  EXPECT_DOUBLE_EQ(result.mispredicted_watch_seconds, 50 + 25 + 10);
  EXPECT_DOUBLE_EQ(result.loss(), 85.0 / 310);
}

TEST(WeightedPerUserLossTest, PerfectAndEmpty) {
  EXPECT_EQ(WeightedPerUserLoss({}).loss(), 0);
  const WeightedPerUserLossResult perfect =
      WeightedPerUserLoss({{{2, true, 30}, {1, false, 0}, {0, false, 0}}});
  EXPECT_EQ(perfect.pairs, 2);
  EXPECT_EQ(perfect.loss(), 0);
  const WeightedPerUserLossResult reversed =
      WeightedPerUserLoss({{{0, true, 30}, {1, false, 0}, {2, false, 0}}});
  EXPECT_EQ(reversed.loss(), 1);
}

TEST(AucTest, HandComputed) {
  // Pairs (pos, neg): (0.35, 0.1) yes, (0.35, 0.4) no, (0.8, *) yes: 3 / 4.
  EXPECT_DOUBLE_EQ(*Auc({0.1f, 0.4f, 0.35f, 0.8f}, {false, false, true, true}),
                   0.75);
  // (0.5, 0.5) tie counts half: (0.5 + 1 + 1 + 1) / 4.
  EXPECT_DOUBLE_EQ(*Auc({0.5f, 0.5f, 0.2f, 0.9f}, {true, false, false, true}),
                   0.875);
  EXPECT_DOUBLE_EQ(*Auc({1, 1, 1, 1}, {true, false, true, false}), 0.5);
  EXPECT_DOUBLE_EQ(*Auc({3, 2, 1}, {true, false, false}), 1.0);
  EXPECT_DOUBLE_EQ(*Auc({1, 2, 3}, {true, false, false}), 0.0);
}

TEST(AucTest, Errors) {
  EXPECT_EQ(Auc({0.1f, 0.2f}, {true}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Auc({0.1f, 0.2f}, {true, true}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Auc({}, {}).status().code(), absl::StatusCode::kFailedPrecondition);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(Auc({0.1f, nan}, {true, false}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CalibrationTest, EqualCountBuckets) {
  // Predictions 1..10 out of order; observed = 2 * prediction.
  const std::vector<float> predictions = {7, 1, 10, 4, 2, 9, 3, 8, 6, 5};
  std::vector<float> observed;
  for (float p : predictions) observed.push_back(2 * p);
  auto buckets = CalibrationByQuantile(predictions, observed, 5);
  ASSERT_TRUE(buckets.ok()) << buckets.status();
  ASSERT_EQ(buckets->size(), 5u);
  for (int b = 0; b < 5; ++b) {
    const CalibrationBucket& bucket = (*buckets)[b];
    EXPECT_EQ(bucket.count, 2);
    EXPECT_EQ(bucket.min_prediction, 2 * b + 1);
    EXPECT_EQ(bucket.max_prediction, 2 * b + 2);
    EXPECT_DOUBLE_EQ(bucket.mean_prediction, 2 * b + 1.5);
    EXPECT_DOUBLE_EQ(bucket.mean_observed_watch_seconds, 2 * (2 * b + 1.5));
  }
}

TEST(CalibrationTest, DecilesByDefaultAndUnevenSizes) {
  std::vector<float> predictions(25);
  for (int i = 0; i < 25; ++i) predictions[i] = i;
  const std::vector<float> observed(25, 1.0f);
  auto buckets = CalibrationByQuantile(predictions, observed);
  ASSERT_TRUE(buckets.ok());
  ASSERT_EQ(buckets->size(), 10u);
  int64_t total = 0;
  for (const CalibrationBucket& bucket : *buckets) {
    EXPECT_TRUE(bucket.count == 2 || bucket.count == 3);
    EXPECT_EQ(bucket.mean_observed_watch_seconds, 1.0);
    total += bucket.count;
  }
  EXPECT_EQ(total, 25);
  // 25 * b / 10: the first bucket holds rows 0 and 1.
  EXPECT_EQ((*buckets)[0].count, 2);
  EXPECT_DOUBLE_EQ((*buckets)[0].mean_prediction, 0.5);
  // Fewer rows than buckets: empty buckets are omitted.
  auto few = CalibrationByQuantile({3, 1, 2}, {30, 10, 20});
  ASSERT_TRUE(few.ok());
  ASSERT_EQ(few->size(), 3u);
  EXPECT_EQ((*few)[0].mean_prediction, 1);
  EXPECT_EQ((*few)[0].mean_observed_watch_seconds, 10);
  EXPECT_EQ((*few)[2].mean_observed_watch_seconds, 30);
  EXPECT_TRUE(CalibrationByQuantile({}, {})->empty());
}

TEST(CalibrationTest, Errors) {
  EXPECT_EQ(CalibrationByQuantile({1, 2}, {1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CalibrationByQuantile({1, 2}, {1, 2}, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(CalibrationByQuantile({1, nan}, {1, 2}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recsys
