// Dense math throughput on this machine, to compare the serving forward pass
// with the BLAS peak in one run (the machines are noisy between runs):
//   bazel run -c opt //benchmarks:dense_benchmark
// Each benchmark reports a `GFLOP/s` rate counter and, as its label, the
// OpenBLAS kernel set in use. The argument is the OpenBLAS thread count.
//
// OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons (e.g. family 6
// model 207) and falls back to its "Prescott" SSE3 kernels, about 6x slower
// than its AVX-512 ones. If the label says Prescott on an AVX-512 machine,
// run with OPENBLAS_CORETYPE=SkylakeX (Haswell on AVX2-only machines).

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/serving/dense.h"

namespace recsys {
namespace {

std::vector<float> RandomFloats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-0.1f, 0.1f);
  std::vector<float> v(n);
  for (float& x : v) x = uniform(rng);
  return v;
}

void SetFlopRate(benchmark::State& state, double flops_per_iteration) {
  state.SetLabel(openblas_get_corename());
  state.counters["GFLOP/s"] = benchmark::Counter(
      flops_per_iteration * 1e-9 * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

// C[500, 1024] = A[500, 1024] * B[1024, 1024]^T: the BLAS ceiling.
void BM_Sgemm500x1024x1024(benchmark::State& state) {
  openblas_set_num_threads(static_cast<int>(state.range(0)));
  constexpr int kM = 500, kK = 1024, kN = 1024;
  const std::vector<float> a = RandomFloats(size_t{kM} * kK, 1);
  const std::vector<float> b = RandomFloats(size_t{kN} * kK, 2);
  std::vector<float> c(size_t{kM} * kN);
  for (auto _ : state) {
    GemmNT(a.data(), b.data(), c.data(), kM, kN, kK);
    benchmark::DoNotOptimize(c.data());
  }
  SetFlopRate(state, 2.0 * kM * kN * kK);
}
BENCHMARK(BM_Sgemm500x1024x1024)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The ranking tower: 600 inputs -> 1024 -> 512 -> 256 -> 1 on a batch of 500
// candidates (bias and ReLU included, as in serving).
void BM_MlpForwardRankingTower(benchmark::State& state) {
  openblas_set_num_threads(static_cast<int>(state.range(0)));
  constexpr int kBatch = 500;
  const std::vector<int> widths = {600, 1024, 512, 256, 1};
  std::vector<DenseLayer> layers;
  double flops = 0;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    DenseLayer layer;
    layer.in = widths[i];
    layer.out = widths[i + 1];
    layer.weight = RandomFloats(size_t(layer.in) * layer.out, 3 + i);
    layer.bias = RandomFloats(layer.out, 13 + i);
    flops += 2.0 * kBatch * layer.in * layer.out;
    layers.push_back(std::move(layer));
  }
  absl::StatusOr<Mlp> mlp = Mlp::Create(std::move(layers));
  if (!mlp.ok()) {
    state.SkipWithError(std::string(mlp.status().message()).c_str());
    return;
  }
  const std::vector<float> x = RandomFloats(size_t{kBatch} * widths[0], 20);
  for (auto _ : state) {
    std::vector<float> y = mlp->Forward(x.data(), kBatch);
    benchmark::DoNotOptimize(y.data());
  }
  SetFlopRate(state, flops);
}
BENCHMARK(BM_MlpForwardRankingTower)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace recsys

BENCHMARK_MAIN();
