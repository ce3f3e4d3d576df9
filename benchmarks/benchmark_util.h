#ifndef RECSYS_BENCHMARKS_BENCHMARK_UTIL_H_
#define RECSYS_BENCHMARKS_BENCHMARK_UTIL_H_

// What the benchmark binaries share: timing, percentiles, random weights,
// and the machine's sgemm rate as the reference measured in the same run.

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/features/vocabulary.h"

namespace recsys {

inline double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// Nearest-rank percentile of sorted values, `p` in (0, 1].
double Percentile(const std::vector<double>& sorted, double p);

// `n` floats uniform in [-scale, scale].
std::vector<float> RandomFloats(int64_t n, float scale, std::mt19937_64* rng);

// The vocabulary "<prefix>0" .. "<prefix><n-1>".
Vocabulary NumberedVocabulary(const std::string& prefix, int n);

// Median GFLOP/s of cblas_sgemm C[512, 1024] = A[512, 1024] * B[1024, 1024]
// over 15 runs after a warm-up, on `threads` OpenBLAS threads (left set).
double SgemmGflops(int threads = 1);

}  // namespace recsys

#endif  // RECSYS_BENCHMARKS_BENCHMARK_UTIL_H_
