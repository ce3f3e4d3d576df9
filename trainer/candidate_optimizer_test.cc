// The fast training step must do exactly what libtorch's sparse-gradient
// route does (sparse Embedding gradients + optim::Adagrad), and must touch
// only the rows a batch uses.

#include "trainer/candidate_optimizer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "trainer/nets/candidate_net.h"

namespace recsys {
namespace {

CandidateNet SmallNet(bool use_recent = false) {
  torch::manual_seed(11);
  CandidateNetOptions o;
  o.num_videos = 40;
  o.num_tokens = 30;
  o.num_regions = 4;
  o.num_devices = 3;
  o.embedding_dim = 8;
  o.region_dim = 3;
  o.device_dim = 2;
  o.hidden_layers = {16, 12};
  o.output_dim = 6;
  o.use_recent = use_recent;
  return CandidateNet(o);
}

std::vector<CandidateFeatures> Examples() {
  std::vector<CandidateFeatures> e(4);
  e[0].watch_ids = {1, 2, 3, 2};
  e[0].recent_ids = {3, 2};  // rows also in the watch bag: their gradients add up
  e[0].token_ids = {5};
  e[0].region = 1;
  e[0].device = 0;
  e[0].dense[0] = 0.5f;
  e[1].watch_ids = {7};
  e[1].region = Vocabulary::kOov;  // empty bags and OOV everywhere
  e[1].device = Vocabulary::kOov;
  e[2].token_ids = {0, 29, 4};
  e[2].region = 3;
  e[2].device = 2;
  e[2].dense[1] = 1.0f;
  e[3].watch_ids = {39, 1};
  e[3].recent_ids = {1};
  e[3].region = 1;
  e[3].device = 2;
  return e;
}

// `use_recent`: with the recent group's block, which reads the watch table
// a second time.
void CheckMatchesLibtorchSparseAdagradStepForStep(bool use_recent) {
  CandidateNet fast = SmallNet(use_recent);
  CandidateNet reference = SmallNet(use_recent);
  const float lr = 0.1f;
  CandidateOptimizer optimizer(fast, lr);
  torch::optim::Adagrad reference_optimizer(reference->parameters(),
                                            torch::optim::AdagradOptions(lr));
  std::vector<CandidateFeatures> examples = Examples();
  std::vector<const CandidateFeatures*> rows;
  for (const auto& e : examples) rows.push_back(&e);
  torch::Tensor log_q = torch::log(torch::rand({40}) * 3 + 0.1);
  // Label 9 is also sampled (an accidental hit); 12 is sampled twice.
  const std::vector<std::vector<int64_t>> labels = {{9, 3, 20, 9}, {0, 39, 5, 6}};
  const std::vector<std::vector<int64_t>> sampled = {{12, 9, 30, 12, 1}, {2, 3, 4, 39, 0}};
  for (int step = 0; step < 4; ++step) {
    const auto& l = labels[step % 2];
    const auto& s = sampled[step % 2];
    const float loss = optimizer.Step(rows, l, s, log_q, /*logq_correction=*/true);

    torch::Tensor l_t = torch::tensor(l, torch::kLong), s_t = torch::tensor(s, torch::kLong);
    reference_optimizer.zero_grad();
    torch::Tensor reference_loss = reference->SampledSoftmaxLoss(
        reference->UserVectors(MakeCandidateBatch(rows)), l_t, s_t,
        log_q.index_select(0, l_t), log_q.index_select(0, s_t), true);
    reference_loss.backward();
    for (torch::Tensor& p : reference->parameters()) {
      const torch::Tensor& g = p.grad();
      if (g.defined() && g.is_sparse() && g._nnz() == 0) p.mutable_grad() = torch::Tensor();
    }
    reference_optimizer.step();

    EXPECT_NEAR(loss, reference_loss.item<float>(), 1e-5) << "step " << step;
    auto a = fast->named_parameters();
    auto b = reference->named_parameters();
    for (const auto& p : a) {
      EXPECT_TRUE(torch::allclose(p.value(), b[p.key()], 1e-5, 1e-6))
          << p.key() << " differs after step " << step;
    }
  }
}

TEST(CandidateOptimizerTest, MatchesLibtorchSparseAdagradStepForStep) {
  CheckMatchesLibtorchSparseAdagradStepForStep(/*use_recent=*/false);
}

TEST(CandidateOptimizerTest, MatchesLibtorchStepForStepWithTheRecentGroup) {
  CheckMatchesLibtorchSparseAdagradStepForStep(/*use_recent=*/true);
}

TEST(CandidateOptimizerTest, TouchesOnlyTheBatchRows) {
  CandidateNet net = SmallNet();
  torch::Tensor watches_before = net->watch_embedding()->weight.clone();
  torch::Tensor videos_before = net->video_embedding()->weight.clone();
  CandidateOptimizer optimizer(net, 0.1f);
  CandidateFeatures f;
  f.watch_ids = {4, 6};
  f.region = 0;
  optimizer.Step({&f}, {10}, {11, 12}, torch::zeros({40}), true);
  torch::Tensor watches = net->watch_embedding()->weight;
  for (int64_t row = 0; row < watches.size(0); ++row) {
    const bool used = row == 5 || row == 7;  // ids 4 and 6, shifted by one
    EXPECT_EQ(!torch::equal(watches[row], watches_before[row]), used) << "watch row " << row;
  }
  EXPECT_EQ(watches[0].abs().sum().item<float>(), 0.0f) << "padding row must stay zero";
  torch::Tensor videos = net->video_embedding()->weight;
  for (int64_t row = 0; row < videos.size(0); ++row) {
    const bool used = row == 10 || row == 11 || row == 12;
    EXPECT_EQ(!torch::equal(videos[row], videos_before[row]), used) << "video row " << row;
  }
}

}  // namespace
}  // namespace recsys
