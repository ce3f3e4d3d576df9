#include "common/features/quantiles.h"

#include <algorithm>
#include <cmath>

namespace recsys {

QuantileNormalizer QuantileNormalizer::Fit(std::vector<float> values,
                                           int num_quantiles) {
  std::vector<float> b;
  if (values.empty() || num_quantiles < 1) return QuantileNormalizer(b);
  std::sort(values.begin(), values.end());
  b.reserve(num_quantiles + 1);
  for (int q = 0; q <= num_quantiles; ++q) {
    double pos = static_cast<double>(q) / num_quantiles * (values.size() - 1);
    size_t lo = static_cast<size_t>(std::floor(pos));
    size_t hi = std::min(lo + 1, values.size() - 1);
    double frac = pos - lo;
    b.push_back(static_cast<float>(values[lo] * (1 - frac) + values[hi] * frac));
  }
  return QuantileNormalizer(std::move(b));
}

QuantileNormalizer::QuantileNormalizer(std::vector<float> boundaries)
    : boundaries_(std::move(boundaries)), run_middle_(boundaries_.size()) {
  size_t first = 0;
  for (size_t lo = 0; lo < boundaries_.size(); ++lo) {
    if (lo > 0 && boundaries_[lo] != boundaries_[lo - 1]) first = lo;
    run_middle_[lo] = 0.5 * (first + lo);
  }
}

float QuantileNormalizer::Normalize(float x) const {
  constexpr float kBelowOne = 0.99999f;
  const size_t n = boundaries_.size();
  if (n < 2) return 0.0f;
  if (!(x > boundaries_.front())) return 0.0f;  // Also maps NaN to 0.
  if (x >= boundaries_.back()) return kBelowOne;
  // i = the first boundary strictly greater than x (std::upper_bound), so x
  // lies in [b[i-1], b[i]); 1 <= i <= n - 1 here. Branch-free: the
  // comparisons on feature values are unpredictable, and a mispredicted
  // branch per halving cost more than the search itself.
  const float* b = boundaries_.data();
  const float* base = b;
  for (size_t len = n; len > 1;) {
    const size_t half = len / 2;
    base = base[half] <= x ? base + half : base;
    len -= half;
  }
  const size_t i = static_cast<size_t>(base - b) + (*base <= x ? 1 : 0);
  // Among repeated boundaries (a point mass), use the middle of the run.
  const size_t lo = i - 1;
  const double left = run_middle_[lo];
  const double width = b[i] - b[lo];
  const double frac = width > 0 ? (x - b[lo]) / width : 0.0;
  const double q = (left + frac * (i - left)) / (n - 1);
  return static_cast<float>(std::min<double>(q, kBelowOne));
}

}  // namespace recsys
