#ifndef RECSYS_COMMON_FEATURES_QUANTILES_H_
#define RECSYS_COMMON_FEATURES_QUANTILES_H_

#include <utility>
#include <vector>

namespace recsys {

// Normalises a continuous feature to [0, 1) by its empirical cumulative
// distribution (paper section 4.3): linear interpolation between quantiles
// computed once over the training data. Values below the first boundary map
// to 0; values at or above the last map just below 1.
class QuantileNormalizer {
 public:
  // `num_quantiles` + 1 boundaries from `values` (any order, copied).
  static QuantileNormalizer Fit(std::vector<float> values, int num_quantiles);
  // `boundaries` must be sorted (non-decreasing).
  explicit QuantileNormalizer(std::vector<float> boundaries);
  QuantileNormalizer() = default;

  // Called once per candidate and feature on the ranking path: a
  // branch-free search over the boundaries and no second search for the run
  // of equal boundaries (`run_middle_` holds it).
  float Normalize(float x) const;
  const std::vector<float>& boundaries() const { return boundaries_; }

 private:
  std::vector<float> boundaries_;
  // For each boundary index `lo`, the middle of the run of boundaries equal
  // to `boundaries_[lo]` up to `lo`: (index of the run's first + lo) / 2.
  std::vector<double> run_middle_;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_FEATURES_QUANTILES_H_
