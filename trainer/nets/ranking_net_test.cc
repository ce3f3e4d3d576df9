// Mechanisms of the ranking network that must not silently break: one video
// table shared by the impressed, seed and last-watched inputs, one language
// table shared by the user's and the video's language; positives
// weighted by watch seconds; exp(logit) of the weighted logistic regression
// estimating expected watch time per impression.

#include "trainer/nets/ranking_net.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace recsys {
namespace {

RankingNet SmallNet(std::vector<int> hidden) {
  torch::manual_seed(5);
  RankingNetOptions o;
  o.num_videos = 20;
  o.num_channels = 4;
  o.num_languages = 5;
  o.video_dim = 6;
  o.channel_dim = 3;
  o.language_dim = 2;
  o.hidden_layers = std::move(hidden);
  return RankingNet(o);
}

float Logit(RankingNet& net, const RankingExampleInputs& in) {
  torch::NoGradGuard no_grad;
  return net->Logits(MakeRankingBatch({&in}))[0].item<float>();
}

// Whether editing row `row` of the parameter whose name contains `name`
// moves the logit of `in` (the row is restored after).
bool RowMoves(RankingNet& net, const std::string& name, int64_t row,
              const RankingExampleInputs& in) {
  torch::Tensor table;
  for (const auto& p : net->named_parameters()) {
    if (p.key().find(name) != std::string::npos) table = p.value();
  }
  const float before = Logit(net, in);
  torch::NoGradGuard no_grad;
  torch::Tensor saved = table[row].clone();
  table[row].add_(1.0f);
  const float after = Logit(net, in);
  table[row].copy_(saved);
  return before != after;
}

TEST(RankingNetTest, ImpressedSeedAndLastWatchedShareOneVideoTable) {
  RankingNet net = SmallNet({16});
  int video_tables = 0;
  for (const auto& p : net->named_parameters()) {
    video_tables += p.key().find("video") != std::string::npos;
  }
  ASSERT_EQ(video_tables, 1) << "one video-ID table for all three inputs";
  RankingQuery query;
  RankingExampleInputs in;
  in.query = &query;
  in.video = Vocabulary::kOov;
  in.channel = 1;
  in.normalized.assign(NormalizedWidth(true), 0.5f);
  // Video 7 (row 8) enters as the impressed video, then as the seed, then in
  // the last-watched bag: editing its one row must move the logit each time.
  auto moves = [&](auto place) {
    RankingExampleInputs x = in;
    RankingQuery q;
    x.query = &q;
    place(x, q);
    return RowMoves(net, "video", 8, x);
  };
  EXPECT_TRUE(moves([](RankingExampleInputs& x, RankingQuery&) { x.video = 7; }));
  EXPECT_TRUE(moves([](RankingExampleInputs&, RankingQuery& q) { q.seed_video = 7; }));
  EXPECT_TRUE(moves([](RankingExampleInputs&, RankingQuery& q) { q.last_watched = {3, 7}; }));
  EXPECT_FALSE(moves([](RankingExampleInputs& x, RankingQuery&) { x.video = 2; }))
      << "a row the example does not use must not matter";
}

TEST(RankingNetTest, UserAndVideoLanguageShareOneTable) {
  RankingNet net = SmallNet({16});
  int language_tables = 0;
  for (const auto& p : net->named_parameters()) {
    language_tables += p.key().find("language") != std::string::npos;
  }
  ASSERT_EQ(language_tables, 1) << "one language table for user and video";
  RankingQuery query;
  RankingExampleInputs in;
  in.query = &query;
  in.video = 2;
  in.channel = 1;
  in.normalized.assign(NormalizedWidth(true), 0.5f);
  // Language 3 is row 4: as the user's, then as the video's.
  query.user_language = 3;
  in.language = Vocabulary::kOov;
  EXPECT_TRUE(RowMoves(net, "language", 4, in));
  query.user_language = Vocabulary::kOov;
  in.language = 3;
  EXPECT_TRUE(RowMoves(net, "language", 4, in));
  EXPECT_FALSE(RowMoves(net, "language", 2, in)) << "an unused row must not matter";
}

TEST(RankingNetTest, PositivesWeighTheirWatchSecondsNegativesOne) {
  EXPECT_FLOAT_EQ(RankingExampleWeight(true, 137.5f, bundle::RANKING_OBJECTIVE_WATCH_TIME), 137.5f);
  EXPECT_FLOAT_EQ(RankingExampleWeight(false, 0.0f, bundle::RANKING_OBJECTIVE_WATCH_TIME), 1.0f);
  EXPECT_FLOAT_EQ(RankingExampleWeight(true, 0.0f, bundle::RANKING_OBJECTIVE_WATCH_TIME), 1.0f);
  EXPECT_FLOAT_EQ(RankingExampleWeight(true, 137.5f, bundle::RANKING_OBJECTIVE_CTR), 1.0f);
}

// A population of identical impressions, 5% clicked, each click watched
// 50-150 s (expected watch time per impression 5 s): the weighted logistic
// regression's odds, exp(logit), converge to sum(T) / (N - k) = E[T] / (1 -
// CTR), within 10% of E[T] at this CTR (the paper's approximation).
TEST(RankingNetTest, ExpOfTheLogitEstimatesExpectedWatchTimePerImpression) {
  RankingNet net = SmallNet({8});
  RankingQuery query;
  RankingExampleInputs in;
  in.query = &query;
  in.video = 3;
  in.channel = 1;
  in.normalized.assign(NormalizedWidth(true), 0.5f);
  std::mt19937_64 rng(3);
  const int n = 4000;
  std::vector<float> clicked(n, 0.0f), weights(n, 1.0f);
  double total_watch = 0;
  for (int i = 0; i < n / 20; ++i) {
    clicked[i] = 1.0f;
    weights[i] = RankingExampleWeight(true, 50.0f + (rng() % 1001) / 10.0f,
                                      bundle::RANKING_OBJECTIVE_WATCH_TIME);
    total_watch += weights[i];
  }
  const double expected_watch = total_watch / n;
  std::vector<const RankingExampleInputs*> rows(n, &in);
  RankingBatch batch = MakeRankingBatch(rows);
  torch::Tensor c = torch::tensor(clicked), w = torch::tensor(weights);
  torch::optim::Adagrad optimizer(net->parameters(), torch::optim::AdagradOptions(0.1));
  for (int step = 0; step < 400; ++step) {
    optimizer.zero_grad();
    torch::Tensor loss = WeightedLogisticLoss(net->Logits(batch), c, w);
    loss.backward();
    for (torch::Tensor& p : net->parameters()) {
      const torch::Tensor& g = p.grad();
      if (g.defined() && g.is_sparse() && g._nnz() == 0) p.mutable_grad() = torch::Tensor();
    }
    optimizer.step();
  }
  const double predicted = std::exp(Logit(net, in));
  EXPECT_NEAR(predicted, expected_watch, 0.1 * expected_watch)
      << "exp(logit) " << predicted << " vs mean watch time per impression " << expected_watch;
}

}  // namespace
}  // namespace recsys
