#include "trainer/sampler.h"

#include <cmath>
#include <numeric>

namespace recsys {

NegativeSampler::NegativeSampler(const std::vector<double>& weights, int64_t num_samples,
                                 uint64_t seed)
    : num_samples_(num_samples), rng_(seed) {
  const int64_t n = weights.size();
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  probabilities_.resize(n);
  std::vector<float> log_q(n);
  for (int64_t i = 0; i < n; ++i) {
    probabilities_[i] = weights[i] / total;
    log_q[i] = static_cast<float>(std::log(probabilities_[i] * num_samples));
  }
  log_q_ = torch::tensor(log_q);
  // Walker / Vose: split every column into its own mass and an alias's.
  accept_.assign(n, 1.0);
  alias_.resize(n);
  std::iota(alias_.begin(), alias_.end(), 0);
  std::vector<double> scaled(n);
  std::vector<int64_t> small, large;
  for (int64_t i = 0; i < n; ++i) {
    scaled[i] = probabilities_[i] * n;
    (scaled[i] < 1.0 ? small : large).push_back(i);
  }
  while (!small.empty() && !large.empty()) {
    const int64_t s = small.back(), l = large.back();
    small.pop_back();
    accept_[s] = scaled[s];
    alias_[s] = l;
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // Whatever is left holds probability 1 up to rounding.
}

void NegativeSampler::Sample(std::vector<int64_t>* out) {
  const int64_t n = probabilities_.size();
  std::uniform_int_distribution<int64_t> column(0, n - 1);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  out->resize(num_samples_);
  for (int64_t& s : *out) {
    const int64_t c = column(rng_);
    s = coin(rng_) < accept_[c] ? c : alias_[c];
  }
}

}  // namespace recsys
