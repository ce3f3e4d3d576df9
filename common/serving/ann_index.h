#ifndef RECSYS_COMMON_SERVING_ANN_INDEX_H_
#define RECSYS_COMMON_SERVING_ANN_INDEX_H_

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

// The `k` best of `lists` (each best first, as `AnnIndex::Search` returns
// them; rows distinct across lists, as the shards of one index hold), best
// first: a higher score first, an equal score to the lower row. Merging the
// top-k of every shard of an index (`AnnIndex::Shard`) gives the top-k of
// the index itself (with our kernels, whose ties go to the lower row too).
std::vector<Neighbor> MergeNeighbors(const std::vector<std::vector<Neighbor>>& lists, int k);

// Thread-safety: `Search` and `SearchBatch` are const and may be called
// concurrently; building, loading and saving are not concurrent with
// anything.
//
// Threads: a search runs on at most `Options::num_threads` OpenMP threads.
// The limit is set on the calling thread only (OpenMP keeps the thread count
// per thread) and restored before returning, so concurrent callers do not
// affect each other. With `num_threads == 1` no OpenMP team is started at
// all. With more, GNU OpenMP's idle workers busy-wait by default and steal
// cores from OpenBLAS and gRPC threads: a binary that searches with several
// threads should run with `OMP_WAIT_POLICY=PASSIVE` (see PERF-NOTES.md).
// `Build` (training and adding) uses OpenMP's default thread count.
class AnnIndex {
 public:
  struct Options {
    // A FAISS index_factory string: "Flat" (exact), "IVF<nlist>,Flat",
    // "HNSW<M>", or "auto" (see `ResolveFactory`). Always inner-product
    // metric.
    std::string factory = "auto";
    // Runtime knobs, applied at build and at load: inverted lists visited per
    // query (IVF indexes) and the search beam width (HNSW indexes). Both > 0.
    int nprobe = 16;
    int ef_search = 512;
    // OpenMP threads a single Search may use, >= 1. 1 under concurrent
    // serving.
    int num_threads = 1;
    // What scans the vectors of "Flat" and "IVF<nlist>,Flat" indexes (other
    // structures always search through FAISS). Debian's libfaiss is built
    // without x86 SIMD and scans with a scalar loop, so by default these
    // indexes run our own kernels (simd_scan.h) on FAISS's storage: the same
    // rows as FAISS's search (scores to float rounding), ties to the lower
    // row. A level the CPU lacks is InvalidArgument at build and load.
    enum class Scan {
      kAuto,    // The widest SIMD level this CPU runs.
      kFaiss,   // FAISS's own search, for comparison.
      kScalar,  // Our kernels at one level (tests and benchmarks).
      kAvx2,
      kAvx512,
    };
    Scan scan = Scan::kAuto;
  };

  // Vectors below which "auto" resolves to exact search.
  static constexpr int64_t kAutoFlatBelow = 100000;
  // An IVF index is trained on at most this many rows per inverted list
  // (sampled without replacement, fixed seed). FAISS warns below 39.
  static constexpr int64_t kTrainRowsPerList = 64;
  // Batches of exact search from this many queries up use FAISS's sgemm
  // path rather than the kernels (measured with ann_benchmark --batch).
  static constexpr int64_t kSgemmMinQueries = 20;

  // Resolves "auto" for `n` vectors: "Flat" below `kAutoFlatBelow`, else
  // "IVF<nlist>,Flat" with nlist the power of two nearest to 4 * sqrt(n)
  // (1M vectors -> "IVF4096,Flat"). Any other string is returned unchanged.
  static std::string ResolveFactory(const std::string& factory, int64_t n);

  // Builds an index over `n` row-major vectors of width `dim`. Errors
  // (InvalidArgument) on n <= 0, dim <= 0, bad knobs, a factory string FAISS
  // does not know, or an IVF with more lists than vectors.
  static absl::StatusOr<std::unique_ptr<AnnIndex>> Build(
      const float* vectors, int64_t n, int dim, const Options& options);
  // Loads an index written by `Save`; `options.factory` is ignored. Errors
  // (NotFound / DataLoss / InvalidArgument) when the file is missing, not a
  // FAISS index, or not an inner-product index.
  static absl::StatusOr<std::unique_ptr<AnnIndex>> Load(
      const std::string& path, const Options& options);

  virtual ~AnnIndex() = default;

  // Writes the index with faiss::write_index. The runtime knobs are not part
  // of the file: `Load` applies its own `Options`. FailedPrecondition for a
  // "Flat" shard (its row map is not part of a FAISS file).
  virtual absl::Status Save(const std::string& path) const = 0;

  // The `k` rows with the largest inner product with `query` (width
  // `dimension()`), best first; fewer when the index holds fewer than `k`
  // (or, for approximate indexes, when the search reaches fewer). k <= 0 is
  // InvalidArgument.
  virtual absl::StatusOr<std::vector<Neighbor>> Search(const float* query,
                                                       int k) const = 0;

  // `Search` for `num_queries` row-major queries. Result i belongs to query
  // i. Exact search of `kSgemmMinQueries` or more queries goes through
  // FAISS's matrix product (faster per query for offline evaluation); other
  // batches run the kernels one query per OpenMP thread.
  virtual absl::StatusOr<std::vector<std::vector<Neighbor>>> SearchBatch(
      const float* queries, int64_t num_queries, int k) const = 0;

  // Shard `shard_index` of `num_shards` of this index: the rows r with
  // r % num_shards == shard_index, searched with the same options and
  // kernels, its `Neighbor`s carrying the rows of this index (not 0..size()
  // of the shard). "Flat": the shard's vectors with a map from its rows to
  // these. "IVF<nlist>,Flat": the same coarse quantizer (centroids) and
  // nprobe, each inverted list filtered to the shard's rows, so a query
  // probes the same lists in every shard and `MergeNeighbors` of the
  // shards' top-k is this index's top-k. Independent of this index (it may
  // be freed). InvalidArgument for num_shards < 1 or a shard_index outside
  // [0, num_shards); Unimplemented for other structures (an HNSW graph does
  // not split by rows).
  virtual absl::StatusOr<std::unique_ptr<AnnIndex>> Shard(int shard_index,
                                                          int num_shards) const = 0;

  // Vectors held (a shard: its own rows).
  virtual int64_t size() const = 0;
  virtual int dimension() const = 0;
  // What searches run on: "avx512", "avx2" or "scalar" (our kernels), or
  // "faiss".
  virtual const char* scan_kernel() const = 0;
  // The resolved factory string (never "auto"). After `Load` it is rebuilt
  // from the index structure ("Flat", "IVF<nlist>,Flat", "HNSW<M>", ...).
  virtual const std::string& factory() const = 0;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_ANN_INDEX_H_
