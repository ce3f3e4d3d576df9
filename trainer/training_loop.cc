#include "trainer/training_loop.h"

#include <algorithm>
#include <numeric>

namespace recsys {

std::vector<std::vector<size_t>> Batches(size_t n, int batch_size,
                                         std::mt19937_64& rng) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::vector<size_t>> batches;
  for (size_t i = 0; i < n; i += batch_size) {
    batches.emplace_back(order.begin() + i,
                         order.begin() + std::min(n, i + batch_size));
  }
  return batches;
}

void DropEmptySparseGradients(torch::nn::Module& module) {
  for (torch::Tensor& p : module.parameters()) {
    const torch::Tensor& g = p.grad();
    if (g.defined() && g.is_sparse() && g._nnz() == 0) p.mutable_grad() = torch::Tensor();
  }
}

}  // namespace recsys
