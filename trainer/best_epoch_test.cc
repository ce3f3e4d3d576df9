#include "trainer/best_epoch.h"

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace recsys {
namespace {

struct OneWeightImpl : torch::nn::Module {
  OneWeightImpl() { w = register_parameter("w", torch::zeros({1})); }
  void Set(float x) {
    torch::NoGradGuard no_grad;
    w.fill_(x);
  }
  float Get() const { return w.item<float>(); }
  torch::Tensor w;
};

TEST(BestEpochKeeperTest, KeepsTheBestEpochsWeights) {
  OneWeightImpl net;
  BestEpochKeeper keeper(/*max_epochs=*/5, /*patience=*/0);
  const double scores[] = {0.1, 0.4, 0.3, 0.4, 0.2};
  for (int epoch = 1; epoch <= 5; ++epoch) {
    net.Set(static_cast<float>(epoch));
    keeper.Offer(epoch, scores[epoch - 1], net);
    EXPECT_FALSE(keeper.ShouldStop(epoch));
  }
  EXPECT_EQ(keeper.Restore(net), 2);  // a tie does not replace the best
  EXPECT_EQ(net.Get(), 2.0f);
}

TEST(BestEpochKeeperTest, StopsAfterPatienceEpochsWithoutABetterScore) {
  OneWeightImpl net;
  BestEpochKeeper keeper(/*max_epochs=*/10, /*patience=*/2);
  EXPECT_TRUE(keeper.Offer(1, 0.5, net));
  EXPECT_FALSE(keeper.ShouldStop(1));
  EXPECT_FALSE(keeper.Offer(2, 0.4, net));
  EXPECT_FALSE(keeper.ShouldStop(2));
  EXPECT_FALSE(keeper.Offer(3, 0.5, net));
  EXPECT_TRUE(keeper.ShouldStop(3));
}

TEST(BestEpochKeeperTest, NeverStopsAtTheLastEpochOrWithoutAScore) {
  OneWeightImpl net;
  BestEpochKeeper keeper(/*max_epochs=*/3, /*patience=*/1);
  EXPECT_FALSE(keeper.ShouldStop(1));  // nothing recorded
  keeper.Offer(1, 1.0, net);
  keeper.Offer(2, 0.0, net);
  EXPECT_TRUE(keeper.ShouldStop(2));
  keeper.Offer(3, 0.0, net);
  EXPECT_FALSE(keeper.ShouldStop(3));  // the last epoch: nothing to stop
}

TEST(BestEpochKeeperTest, WithoutScoresKeepsTheLastEpochAndTheWeights) {
  OneWeightImpl net;
  BestEpochKeeper keeper(/*max_epochs=*/4, /*patience=*/1);
  EXPECT_FALSE(keeper.Offer(1, std::nan(""), net));  // NaN is never better
  net.Set(7.0f);
  EXPECT_EQ(keeper.Restore(net), 4);
  EXPECT_EQ(net.Get(), 7.0f);
}

TEST(BestEpochKeeperTest, LowerIsBetterByNegating) {
  OneWeightImpl net;
  BestEpochKeeper keeper(/*max_epochs=*/3, /*patience=*/0);
  const double losses[] = {0.7, 0.5, 0.6};
  for (int epoch = 1; epoch <= 3; ++epoch) keeper.Offer(epoch, -losses[epoch - 1], net);
  EXPECT_EQ(keeper.best_epoch(), 2);
}

}  // namespace
}  // namespace recsys
