#include "common/serving/dense.h"

#include <cblas.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace recsys {
namespace {

// v[r][j] += bias[j] for each of `rows` rows of width `n`, then max(v, 0)
// when `kRelu`: one pass over the layer's output, after a product written
// without reading its destination (no zeroing, no bias copied into every
// row first). Written as fixed-size blocks because GCC at -O2 only
// vectorizes loops whose trip count is known; the plain loop compiles to a
// compare-and-branch per element, which mispredicts on about half of the
// activations and cost more than the matrix products in the ranking tower.
// (`__restrict`: without it GCC cannot rule out `bias` overlapping a row
// and keeps the loop scalar.)
template <bool kRelu>
void AddBiasToRow(float* __restrict v, const float* __restrict bias, size_t n) {
  constexpr size_t kBlock = 16;
  size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    for (size_t j = 0; j < kBlock; ++j) {
      const float t = v[i + j] + bias[i + j];
      v[i + j] = kRelu ? (t > 0.0f ? t : 0.0f) : t;
    }
  }
  for (; i < n; ++i) {
    const float t = v[i] + bias[i];
    v[i] = kRelu ? (t > 0.0f ? t : 0.0f) : t;
  }
}

template <bool kRelu>
void AddBias(float* v, const float* bias, size_t rows, size_t n) {
  for (size_t r = 0; r < rows; ++r) AddBiasToRow<kRelu>(v + r * n, bias, n);
}

}  // namespace

void SetBlasThreads(int threads) { openblas_set_num_threads(threads < 1 ? 1 : threads); }

void GemmNT(const float* a, const float* b, float* c, int m, int n, int k,
            bool accumulate) {
  if (m == 1) {
    // One row: c = B a (+ c). sgemm would pack B, the whole weight matrix,
    // on every call to use it once; gemv streams it once instead.
    cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, /*alpha=*/1.0f, b, /*lda=*/k, a,
                /*incx=*/1, /*beta=*/accumulate ? 1.0f : 0.0f, c, /*incy=*/1);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, /*alpha=*/1.0f,
              a, /*lda=*/k, b, /*ldb=*/k, /*beta=*/accumulate ? 1.0f : 0.0f, c,
              /*ldc=*/n);
}

absl::StatusOr<Mlp> Mlp::Create(std::vector<DenseLayer> layers) {
  if (layers.empty()) {
    return absl::InvalidArgumentError("an Mlp needs at least one layer");
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    const DenseLayer& layer = layers[i];
    if (layer.in <= 0 || layer.out <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "layer ", i, ": in and out must be > 0, got in = ", layer.in,
          ", out = ", layer.out));
    }
    const size_t weights = static_cast<size_t>(layer.out) * layer.in;
    if (layer.weight.size() != weights) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer ", i, ": weight has ", layer.weight.size(),
                       " floats, expected out * in = ", layer.out, " * ",
                       layer.in, " = ", weights, " (torch layout [out, in])"));
    }
    if (layer.bias.size() != static_cast<size_t>(layer.out)) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer ", i, ": bias has ", layer.bias.size(),
                       " floats, expected out = ", layer.out));
    }
    if (i > 0 && layer.in != layers[i - 1].out) {
      return absl::InvalidArgumentError(absl::StrCat(
          "layer ", i, " takes in = ", layer.in, " inputs but layer ", i - 1,
          " produces out = ", layers[i - 1].out));
    }
  }
  return Mlp(std::move(layers));
}

std::vector<float> Mlp::Forward(const float* x, int batch, const float* first_bias) const {
  if (layers_.empty() || batch <= 0) return {};
  // Hidden activations in two scratch buffers that are never zeroed (the
  // product overwrites them); the last layer writes the result.
  size_t scratch = 0;
  for (size_t i = 0; i + 1 < layers_.size(); ++i) {
    scratch = std::max(scratch, static_cast<size_t>(batch) * layers_[i].out);
  }
  std::unique_ptr<float[]> buffers[2];
  if (scratch > 0) {
    buffers[0].reset(new float[scratch]);
    if (layers_.size() > 2) buffers[1].reset(new float[scratch]);
  }
  std::vector<float> result(static_cast<size_t>(batch) * layers_.back().out);
  const float* current = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const DenseLayer& layer = layers_[i];
    const bool last = i + 1 == layers_.size();
    float* output = last ? result.data() : buffers[i % 2].get();
    GemmNT(current, layer.weight.data(), output, batch, layer.out, layer.in,
           /*accumulate=*/false);
    const float* bias = i == 0 && first_bias != nullptr ? first_bias : layer.bias.data();
    if (last) {
      AddBias</*kRelu=*/false>(output, bias, batch, layer.out);
    } else {
      AddBias</*kRelu=*/true>(output, bias, batch, layer.out);
    }
    current = output;
  }
  return result;
}

int Mlp::input_dim() const { return layers_.empty() ? 0 : layers_.front().in; }

int Mlp::output_dim() const { return layers_.empty() ? 0 : layers_.back().out; }

}  // namespace recsys
