#ifndef RECSYS_COMMON_SERVING_DENSE_H_
#define RECSYS_COMMON_SERVING_DENSE_H_

// The serving-side dense forward pass over OpenBLAS. Layouts match
// libtorch's `torch::nn::Linear` so trained weights load unchanged.

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace recsys {

// y = x W^T + b with W of shape [out, in] (row-major, torch's layout).
struct DenseLayer {
  int in = 0;
  int out = 0;
  std::vector<float> weight;  // out * in
  std::vector<float> bias;    // out
};

// A stack of dense layers with ReLU after every layer but the last.
// Immutable after construction; `Forward` is thread-safe.
class Mlp {
 public:
  // Checks that there is at least one layer, that every weight and bias has
  // the size its `in` and `out` say, and that each layer's `in` equals the
  // previous layer's `out`; InvalidArgument naming the layer otherwise.
  static absl::StatusOr<Mlp> Create(std::vector<DenseLayer> layers);

  Mlp() = default;

  // `x`: [batch, input_dim()] row-major. Returns [batch, output_dim()]
  // (empty when `batch` <= 0 or the Mlp has no layers). Scores the whole
  // batch as matrix products (cblas_sgemm; a batch of one as matrix-vector
  // products, `GemmNT`), never row by row; OpenBLAS decides how many of its
  // threads one call uses.
  std::vector<float> Forward(const float* x, int batch) const {
    return Forward(x, batch, nullptr);
  }
  // The same with the first layer's bias replaced by `first_bias` (its
  // `out` floats; nullptr = the layer's own): how a caller adds a part of
  // the first layer's product that is the same for every row.
  std::vector<float> Forward(const float* x, int batch, const float* first_bias) const;

  int input_dim() const;
  int output_dim() const;
  const std::vector<DenseLayer>& layers() const { return layers_; }

 private:
  explicit Mlp(std::vector<DenseLayer> layers) : layers_(std::move(layers)) {}
  std::vector<DenseLayer> layers_;
};

// How many threads one OpenBLAS call may use (OpenBLAS's own pool; libtorch's
// set_num_threads does not reach it). Training sets it to its thread count.
void SetBlasThreads(int threads);

// C[m, n] = A[m, k] * B[n, k]^T (+ C when `accumulate`), row-major, via
// cblas_sgemm; a single row (`m` == 1) via cblas_sgemv, which reads B once
// where sgemm would first repack all of it (a batch-1 tower spent most of
// its time packing).
void GemmNT(const float* a, const float* b, float* c, int m, int n, int k,
            bool accumulate = false);

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_DENSE_H_
