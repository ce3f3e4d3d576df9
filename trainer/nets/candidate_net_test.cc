// Mechanisms of the candidate-generation network that must not silently
// break: the logQ correction, accidental-hit masking, zero embeddings for
// padding / out-of-vocabulary IDs, and sparse embedding gradients.

#include "trainer/nets/candidate_net.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace recsys {
namespace {

CandidateNet SmallNet() {
  CandidateNetOptions o;
  o.num_videos = 50;
  o.num_tokens = 20;
  o.num_regions = 3;
  o.num_devices = 2;
  o.embedding_dim = 8;
  o.hidden_layers = {16};
  o.output_dim = 8;
  return CandidateNet(o);
}

TEST(CandidateNetTest, LogQCorrectionSubtractsExactlyLogQ) {
  torch::manual_seed(3);
  CandidateNet net = SmallNet();
  torch::NoGradGuard no_grad;
  torch::Tensor u = torch::randn({4, 8});
  torch::Tensor labels = torch::tensor({1, 2, 3, 4}, torch::kLong);
  torch::Tensor sampled = torch::tensor({10, 11, 12, 13, 14}, torch::kLong);
  torch::Tensor log_q_labels = torch::tensor({-1.0f, -2.0f, -3.0f, -4.5f});
  torch::Tensor log_q_sampled = torch::tensor({-0.5f, -1.5f, -2.5f, -3.5f, -7.0f});
  torch::Tensor on = net->SampledLogits(u, labels, sampled, log_q_labels, log_q_sampled, true);
  torch::Tensor off = net->SampledLogits(u, labels, sampled, log_q_labels, log_q_sampled, false);
  ASSERT_EQ(on.size(1), 6);
  for (int b = 0; b < 4; ++b) {
    EXPECT_NEAR((on[b][0] - off[b][0]).item<float>(), -log_q_labels[b].item<float>(),
                1e-5);
    for (int s = 0; s < 5; ++s) {
      EXPECT_NEAR((on[b][s + 1] - off[b][s + 1]).item<float>(),
                  -log_q_sampled[s].item<float>(), 1e-5);
    }
  }
}

TEST(CandidateNetTest, AccidentalHitsAreMasked) {
  torch::manual_seed(3);
  CandidateNet net = SmallNet();
  torch::NoGradGuard no_grad;
  torch::Tensor u = torch::randn({2, 8});
  torch::Tensor labels = torch::tensor({7, 9}, torch::kLong);
  torch::Tensor sampled = torch::tensor({9, 7, 7, 20}, torch::kLong);
  torch::Tensor zeros_l = torch::zeros({2});
  torch::Tensor zeros_s = torch::zeros({4});
  torch::Tensor logits = net->SampledLogits(u, labels, sampled, zeros_l, zeros_s, true);
  EXPECT_EQ(logits[0][2].item<float>(), kMaskedLogit);  // 7 == label 7
  EXPECT_EQ(logits[0][3].item<float>(), kMaskedLogit);
  EXPECT_GT(logits[0][1].item<float>(), kMaskedLogit);  // 9 != 7
  EXPECT_EQ(logits[1][1].item<float>(), kMaskedLogit);  // 9 == label 9
  EXPECT_GT(logits[1][4].item<float>(), kMaskedLogit);
}

TEST(CandidateNetTest, OutOfVocabularyAndPaddingEmbedToZero) {
  CandidateNet net = SmallNet();
  CandidateFeatures empty;  // no watches, no tokens, OOV region and device
  CandidateFeatures oov_only = empty;
  CandidateBatch batch = MakeCandidateBatch({&empty, &oov_only});
  // Row 0 of every shifted table is the OOV/padding row.
  EXPECT_EQ(batch.region[0].item<int64_t>(), 0);
  EXPECT_EQ(batch.watch_ids.sum().item<int64_t>(), 0);
  for (const auto& p : net->named_parameters()) {
    if (p.key().find("embedding") != std::string::npos &&
        p.key().find("video_") == std::string::npos) {
      EXPECT_EQ(p.value()[0].abs().sum().item<float>(), 0.0f) << p.key();
    }
  }
}

TEST(CandidateNetTest, TheRecentGroupAddsOneWatchTableBlock) {
  torch::manual_seed(3);
  CandidateNetOptions o;
  o.num_videos = 50;
  o.num_tokens = 20;
  o.num_regions = 3;
  o.num_devices = 2;
  o.embedding_dim = 8;
  o.hidden_layers = {16};
  o.output_dim = 8;
  CandidateNet plain(o);
  o.use_recent = true;
  CandidateNet recent(o);
  // No new tables: only the first layer is `embedding_dim` wider.
  EXPECT_EQ(plain->named_parameters().size(), recent->named_parameters().size());
  const int64_t plain_in = plain->TowerParameters()[0].size(1);
  EXPECT_EQ(recent->TowerParameters()[0].size(1), plain_in + 8);

  CandidateFeatures f;
  f.watch_ids = {4, 1, 2};
  f.recent_ids = {1, 2};
  CandidateFeatures none;  // no watches: a zero block
  CandidateBatch batch = MakeCandidateBatch({&f, &none});
  EXPECT_EQ(batch.recent_ids.size(1), 2);
  EXPECT_EQ(batch.recent_ids[0][0].item<int64_t>(), 2);  // shifted by one
  EXPECT_EQ(batch.recent_ids[1].sum().item<int64_t>(), 0);
  // The tower reads [watch bag, recent bag, token bag, region, device,
  // dense]; the recent bag is the mean of its rows of the watch table.
  torch::NoGradGuard no_grad;
  const torch::Tensor& table = recent->watch_embedding()->weight;  // shifted by one
  torch::Tensor x = torch::cat({(table[5] + table[2] + table[3]) / 3,
                                (table[2] + table[3]) / 2, torch::zeros({8}),
                                torch::zeros({o.region_dim + o.device_dim + kNumCandidateDense})})
                        .unsqueeze(0);
  EXPECT_TRUE(torch::allclose(recent->UserVectors(MakeCandidateBatch({&f})), recent->Tower(x),
                              1e-5, 1e-6));
}

TEST(CandidateNetTest, EmbeddingGradientsAreSparse) {
  CandidateNet net = SmallNet();
  CandidateFeatures f;
  f.watch_ids = {1, 2};
  f.token_ids = {3};
  CandidateBatch batch = MakeCandidateBatch({&f});
  torch::Tensor u = net->UserVectors(batch);
  torch::Tensor loss = net->SampledSoftmaxLoss(
      u, torch::tensor({5}, torch::kLong), torch::tensor({6, 7}, torch::kLong),
      torch::zeros({1}), torch::zeros({2}), true);
  loss.backward();
  int sparse = 0;
  for (const auto& p : net->named_parameters()) {
    if (p.key().find("embedding") != std::string::npos || p.key().find("bias.weight") != std::string::npos) {
      if (p.value().grad().defined()) {
        EXPECT_TRUE(p.value().grad().is_sparse()) << p.key();
        ++sparse;
      }
    }
  }
  EXPECT_GE(sparse, 4);
}

}  // namespace
}  // namespace recsys
