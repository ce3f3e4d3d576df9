#ifndef RECSYS_COMMON_FEATURES_QUANTILES_H_
#define RECSYS_COMMON_FEATURES_QUANTILES_H_

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
  explicit QuantileNormalizer(std::vector<float> boundaries)
      : boundaries_(std::move(boundaries)) {}
  QuantileNormalizer() = default;

  float Normalize(float x) const;
  const std::vector<float>& boundaries() const { return boundaries_; }

 private:
  std::vector<float> boundaries_;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_FEATURES_QUANTILES_H_
