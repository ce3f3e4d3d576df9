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

float QuantileNormalizer::Normalize(float x) const {
  constexpr float kBelowOne = 0.99999f;
  const size_t n = boundaries_.size();
  if (n < 2) return 0.0f;
  if (!(x > boundaries_.front())) return 0.0f;  // Also maps NaN to 0.
  if (x >= boundaries_.back()) return kBelowOne;
  // First boundary strictly greater than x; x lies in [b[i-1], b[i]).
  size_t i = std::upper_bound(boundaries_.begin(), boundaries_.end(), x) -
             boundaries_.begin();
  // Among repeated boundaries (a point mass), use the middle of the run.
  size_t lo = i - 1;
  size_t first = std::lower_bound(boundaries_.begin(), boundaries_.end(),
                                  boundaries_[lo]) -
                 boundaries_.begin();
  double left = 0.5 * (first + lo);
  double width = boundaries_[i] - boundaries_[lo];
  double frac = width > 0 ? (x - boundaries_[lo]) / width : 0.0;
  double q = (left + frac * (i - left)) / (n - 1);
  return static_cast<float>(std::min<double>(q, kBelowOne));
}

}  // namespace recsys
