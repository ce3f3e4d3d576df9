#include "benchmarks/benchmark_util.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace recsys {

double Percentile(const std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(std::ceil(p * sorted.size()));
  return sorted[std::max<size_t>(rank, 1) - 1];
}

std::vector<float> RandomFloats(int64_t n, float scale, std::mt19937_64* rng) {
  std::uniform_real_distribution<float> uniform(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = uniform(*rng);
  return v;
}

Vocabulary NumberedVocabulary(const std::string& prefix, int n) {
  std::vector<std::string> values;
  values.reserve(n);
  for (int i = 0; i < n; ++i) values.push_back(absl::StrCat(prefix, i));
  return *Vocabulary::FromValues(std::move(values));
}

double SgemmGflops(int threads) {
  constexpr int kM = 512, kK = 1024, kN = 1024, kRepeats = 15;
  openblas_set_num_threads(std::max(1, threads));
  std::mt19937_64 rng(1);
  const std::vector<float> a = RandomFloats(int64_t{kM} * kK, 1.0f, &rng);
  const std::vector<float> b = RandomFloats(int64_t{kK} * kN, 1.0f, &rng);
  std::vector<float> c(size_t{kM} * kN);
  std::vector<double> gflops;
  for (int r = 0; r <= kRepeats; ++r) {  // r == 0 warms up.
    const auto start = std::chrono::steady_clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kM, kN, kK, 1.0f, a.data(), kK,
                b.data(), kN, 0.0f, c.data(), kN);
    const double s = Seconds(std::chrono::steady_clock::now() - start);
    if (r > 0) gflops.push_back(2.0 * kM * kN * kK * 1e-9 / s);
  }
  std::sort(gflops.begin(), gflops.end());
  return gflops[gflops.size() / 2];
}

}  // namespace recsys
