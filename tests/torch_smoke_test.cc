#include <gtest/gtest.h>
#include <torch/torch.h>
TEST(Smoke, Torch) {
  auto emb = torch::nn::Embedding(torch::nn::EmbeddingOptions(100, 8).sparse(true));
  torch::optim::Adagrad opt(emb->parameters(), torch::optim::AdagradOptions(0.1));
  auto idx = torch::tensor({1, 2, 3}, torch::kLong);
  auto loss = emb->forward(idx).pow(2).sum();
  loss.backward();
  EXPECT_TRUE(emb->weight.grad().is_sparse());
  opt.step();
  auto a = torch::randn({512, 1024}); auto b = torch::randn({1024, 1024});
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) auto c = torch::mm(a, b);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "GFLOP/s " << 10 * 2.0 * 512 * 1024 * 1024 / s / 1e9 << " threads " << torch::get_num_threads() << std::endl;
}
