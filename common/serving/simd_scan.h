#ifndef RECSYS_COMMON_SERVING_SIMD_SCAN_H_
#define RECSYS_COMMON_SERVING_SIMD_SCAN_H_

// Maximum-inner-product scans with SIMD kernels chosen at run time, over
// storage laid out as FAISS keeps it (row-major float vectors; inverted lists
// of vectors with their row ids). Debian's libfaiss is built without x86 SIMD
// and scans with a scalar loop; `AnnIndex` runs its exact ("Flat") and
// IVF-Flat searches through these kernels instead. This file knows nothing of
// FAISS: `AnnIndex` hands it pointers into the index's storage.
//
// Results: the `k` best (row, score) pairs, best first, where "better" is a
// total order: a higher score, or an equal score and a lower row. So ties are
// resolved deterministically, independently of the scan order and of the
// SIMD level. Scores are float sums in another order than FAISS's scalar
// loop, so they agree with FAISS's to float rounding (about 1e-6 relative).
//
// Thread-safety: every function is pure (reads its inputs, writes only its
// outputs); any number of threads may call them concurrently.

#include <cstdint>
#include <vector>

namespace recsys {

// The instruction sets the kernels are written for. Each kernel is compiled
// with `__attribute__((target(...)))`, so the build flags stay generic and a
// binary picks the widest level the CPU runs.
enum class SimdLevel {
  kScalar,  // Portable C++; always available.
  kAvx2,    // AVX2 + FMA, 8 floats a register.
  kAvx512,  // AVX-512F, 16 floats a register.
};

// Whether this CPU (and OS, which must save the wider registers) runs
// `level`. `kScalar` is always supported.
bool SimdLevelSupported(SimdLevel level);
// The widest supported level, detected once.
SimdLevel BestSimdLevel();
// "scalar", "avx2" or "avx512".
const char* SimdLevelName(SimdLevel level);

struct ScoredRow {
  int64_t row = 0;
  float score = 0;
};

// scores[i] = <query, rows + i * dim> for 0 <= i < n; `rows` is row-major
// [n, dim], unaligned is fine. `level` must be supported.
void InnerProducts(SimdLevel level, const float* query, const float* rows,
                   int64_t n, int dim, float* scores);

// The `k` best (score, row) pairs pushed so far in the order of the file
// comment (a bounded min-heap: O(log k) per accepted push, one compare per
// rejected one).
class TopK {
 public:
  // k >= 1.
  explicit TopK(int k);

  void Push(float score, int64_t row) {
    if (static_cast<int>(heap_.size()) < k_) {
      PushUnfull(score, row);
    } else if (score > heap_[0].score ||
               (score == heap_[0].score && row < heap_[0].row)) {
      ReplaceWorst(score, row);
    }
  }
  // Pushes `n` scores whose rows are `rows[i]`, or `first_row + i` when
  // `rows` is null.
  void PushAll(const float* scores, int64_t n, const int64_t* rows,
               int64_t first_row);

  // The kept pairs, best first; leaves the heap empty.
  std::vector<ScoredRow> TakeSorted();

 private:
  void PushUnfull(float score, int64_t row);
  void ReplaceWorst(float score, int64_t row);

  const int k_;
  // Min-heap: heap_[0] is the worst kept pair.
  std::vector<ScoredRow> heap_;
};

// The `k` best of `n` scores (row i is index i), best first, ties to the
// lower row: what a TopK fed the same scores keeps; min(k, n) results.
// Rows (n) below 2^32.
std::vector<ScoredRow> SelectTopK(const float* scores, int64_t n, int k);

// Exact search: the `k` best of the `n` row-major vectors `rows` (width
// `dim`) for `query`; min(k, n) results. Row i is index i.
std::vector<ScoredRow> FlatSearch(SimdLevel level, const float* query,
                                  const float* rows, int64_t n, int dim,
                                  int k);

// One inverted list: `size` vectors (row-major, width `dim`) and their rows.
struct InvertedListView {
  const float* vectors = nullptr;
  const int64_t* rows = nullptr;
  int64_t size = 0;
};

// An IVF-Flat index with an inner-product coarse quantizer, as pointers into
// its storage: `nlist` centroids (row-major [nlist, dim]) and one list per
// centroid.
struct IvfView {
  int dim = 0;
  int64_t nlist = 0;
  const float* centroids = nullptr;
  std::vector<InvertedListView> lists;  // Size nlist.
};

// IVF search as FAISS's IndexIVFFlat does it: the `nprobe` centroids with the
// largest inner product with `query` (best-first order of the file comment),
// then the `k` best vectors of their lists. Fewer than `k` results when those
// lists hold fewer vectors. nprobe >= 1 (clamped to nlist), k >= 1.
std::vector<ScoredRow> IvfSearch(SimdLevel level, const IvfView& ivf,
                                 const float* query, int nprobe, int k);

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_SIMD_SCAN_H_
