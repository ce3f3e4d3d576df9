#ifndef RECSYS_COMMON_ANN_INDEX_H_
#define RECSYS_COMMON_ANN_INDEX_H_

// Maximum-inner-product search over the videos' output embeddings. This is
// the one adapter around FAISS: no other file includes FAISS headers, and no
// FAISS exception escapes it.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace recsys {

struct Neighbor {
  // Row of the vector in insertion order, 0-based.
  int64_t row = 0;
  // Inner product with the query.
  float score = 0;
};

// Thread-safety: `Search` is const and may be called concurrently; building,
// loading and saving are not concurrent with anything.
class AnnIndex {
 public:
  struct Options {
    // A FAISS index_factory string: "Flat" (exact), "IVF<nlist>,Flat",
    // "HNSW<M>", or "auto" (Flat below 100k vectors, else
    // IVF<4*sqrt(n)>,Flat). Always inner-product metric.
    std::string factory = "auto";
    // Runtime knobs, applied at build and at load.
    int nprobe = 16;
    int ef_search = 512;
    // OpenMP threads a single Search may use. 1 under concurrent serving.
    int num_threads = 1;
  };

  // Builds an index over `n` row-major vectors of width `dim`.
  static absl::StatusOr<std::unique_ptr<AnnIndex>> Build(
      const float* vectors, int64_t n, int dim, const Options& options);
  // Loads an index written by `Save`.
  static absl::StatusOr<std::unique_ptr<AnnIndex>> Load(
      const std::string& path, const Options& options);

  virtual ~AnnIndex() = default;

  virtual absl::Status Save(const std::string& path) const = 0;

  // The `k` rows with the largest inner product with `query` (width
  // `dimension()`), best first; fewer when the index holds fewer than `k`.
  virtual absl::StatusOr<std::vector<Neighbor>> Search(const float* query,
                                                       int k) const = 0;

  virtual int64_t size() const = 0;
  virtual int dimension() const = 0;
  // The resolved factory string (never "auto").
  virtual const std::string& factory() const = 0;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_ANN_INDEX_H_
