#include "common/serving/simd_scan.h"

// GCC 12 warns "'__Y' may be used uninitialized" inside the AVX-512
// intrinsics that start from `_mm*_undefined_*` (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <functional>
#include <cstdint>
#include <cstring>
#include <vector>

namespace recsys {
namespace {

// Rows scored per kernel call before their scores go to the heap: 4 KiB of
// scores, which stay in L1 between the two loops.
constexpr int64_t kBlockRows = 1024;
// FlatSearch selects over all scores instead of keeping a heap when
// n <= kSelectRowsPerK * k.
constexpr int64_t kSelectRowsPerK = 32;

// "a is a better result than b": a higher score, or an equal one and a lower
// row.
inline bool Better(const ScoredRow& a, const ScoredRow& b) {
  return a.score > b.score || (a.score == b.score && a.row < b.row);
}

// ---------------------------------------------------------------- scalar --

void InnerProductsScalar(const float* query, const float* rows, int64_t n,
                         int dim, float* scores) {
  for (int64_t i = 0; i < n; ++i) {
    const float* row = rows + i * dim;
    float sum = 0;
    for (int j = 0; j < dim; ++j) sum += query[j] * row[j];
    scores[i] = sum;
  }
}

// ------------------------------------------------------------ AVX2 + FMA --

// The sums of the 8 lanes of each of a, b, c, d, as 4 floats.
// (AVX only, so that both the AVX2 and the AVX-512 kernels inline it.)
__attribute__((target("avx2"))) inline __m128 HorizontalSums4(__m256 a,
                                                              __m256 b,
                                                              __m256 c,
                                                              __m256 d) {
  const __m256 ab = _mm256_hadd_ps(a, b);  // a01 a23 b01 b23 | a45 a67 ...
  const __m256 cd = _mm256_hadd_ps(c, d);
  const __m256 abcd = _mm256_hadd_ps(ab, cd);  // a b c d (low) | a b c d (hi)
  return _mm_add_ps(_mm256_castps256_ps128(abcd),
                    _mm256_extractf128_ps(abcd, 1));
}

// The sum of the 8 lanes of `a` added in `HorizontalSums4`'s order, so a
// row scores the same bits whether it is scanned in a group of rows or
// alone: its score does not depend on its position in the scan (shards of
// an index, AnnIndex::Shard, hold its rows at other positions).
__attribute__((target("avx2"))) inline float HorizontalSum(__m256 a) {
  const __m256 zero = _mm256_setzero_ps();
  return _mm_cvtss_f32(HorizontalSums4(a, zero, zero, zero));
}

// A mask that loads the first `tail` (0..7) of 8 floats.
__attribute__((target("avx2,fma"))) inline __m256i TailMask8(int tail) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), lanes);
}

// Four rows at a time share each load of the query; the last dim % 8
// columns are read with a masked load (no read past a row's end).
__attribute__((target("avx2,fma"))) void InnerProductsAvx2(
    const float* query, const float* rows, int64_t n, int dim, float* scores) {
  const int full = dim & ~7;
  const int tail = dim - full;
  const __m256i mask = TailMask8(tail);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float* r0 = rows + i * dim;
    const float* r1 = r0 + dim;
    const float* r2 = r1 + dim;
    const float* r3 = r2 + dim;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (int j = 0; j < full; j += 8) {
      const __m256 q = _mm256_loadu_ps(query + j);
      a0 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r0 + j), a0);
      a1 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r1 + j), a1);
      a2 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r2 + j), a2);
      a3 = _mm256_fmadd_ps(q, _mm256_loadu_ps(r3 + j), a3);
    }
    if (tail != 0) {
      const __m256 q = _mm256_maskload_ps(query + full, mask);
      a0 = _mm256_fmadd_ps(q, _mm256_maskload_ps(r0 + full, mask), a0);
      a1 = _mm256_fmadd_ps(q, _mm256_maskload_ps(r1 + full, mask), a1);
      a2 = _mm256_fmadd_ps(q, _mm256_maskload_ps(r2 + full, mask), a2);
      a3 = _mm256_fmadd_ps(q, _mm256_maskload_ps(r3 + full, mask), a3);
    }
    _mm_storeu_ps(scores + i, HorizontalSums4(a0, a1, a2, a3));
  }
  for (; i < n; ++i) {
    const float* r = rows + i * dim;
    __m256 a = _mm256_setzero_ps();
    for (int j = 0; j < full; j += 8) {
      a = _mm256_fmadd_ps(_mm256_loadu_ps(query + j), _mm256_loadu_ps(r + j),
                          a);
    }
    if (tail != 0) {
      a = _mm256_fmadd_ps(_mm256_maskload_ps(query + full, mask),
                          _mm256_maskload_ps(r + full, mask), a);
    }
    scores[i] = HorizontalSum(a);
  }
}

// --------------------------------------------------------------- AVX-512 --

// The 16 lanes of `a` folded to 8.
__attribute__((target("avx512f"))) inline __m256 Fold512(__m512 a) {
  const __m512 swapped = _mm512_shuffle_f32x4(a, a, _MM_SHUFFLE(1, 0, 3, 2));
  return _mm512_castps512_ps256(_mm512_add_ps(a, swapped));
}

// As the AVX2 kernel, 16 columns a step and 8 rows at a time (AVX-512 has 32
// registers); the last dim % 16 columns with a masked load.
__attribute__((target("avx512f"))) void InnerProductsAvx512(
    const float* query, const float* rows, int64_t n, int dim, float* scores) {
  const int full = dim & ~15;
  const int tail = dim - full;
  const __mmask16 mask = static_cast<__mmask16>((1u << tail) - 1);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float* r = rows + i * dim;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    __m512 a4 = _mm512_setzero_ps(), a5 = _mm512_setzero_ps();
    __m512 a6 = _mm512_setzero_ps(), a7 = _mm512_setzero_ps();
    for (int j = 0; j < full; j += 16) {
      const __m512 q = _mm512_loadu_ps(query + j);
      a0 = _mm512_fmadd_ps(q, _mm512_loadu_ps(r + j), a0);
      a1 = _mm512_fmadd_ps(q, _mm512_loadu_ps(r + dim + j), a1);
      a2 = _mm512_fmadd_ps(q, _mm512_loadu_ps(r + 2 * dim + j), a2);
      a3 = _mm512_fmadd_ps(q, _mm512_loadu_ps(r + 3 * dim + j), a3);
      a4 = _mm512_fmadd_ps(q, _mm512_loadu_ps(r + 4 * dim + j), a4);
      a5 = _mm512_fmadd_ps(q, _mm512_loadu_ps(r + 5 * dim + j), a5);
      a6 = _mm512_fmadd_ps(q, _mm512_loadu_ps(r + 6 * dim + j), a6);
      a7 = _mm512_fmadd_ps(q, _mm512_loadu_ps(r + 7 * dim + j), a7);
    }
    if (tail != 0) {
      const float* t = r + full;
      const __m512 q = _mm512_maskz_loadu_ps(mask, query + full);
      a0 = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(mask, t), a0);
      a1 = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(mask, t + dim), a1);
      a2 = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(mask, t + 2 * dim), a2);
      a3 = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(mask, t + 3 * dim), a3);
      a4 = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(mask, t + 4 * dim), a4);
      a5 = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(mask, t + 5 * dim), a5);
      a6 = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(mask, t + 6 * dim), a6);
      a7 = _mm512_fmadd_ps(q, _mm512_maskz_loadu_ps(mask, t + 7 * dim), a7);
    }
    _mm_storeu_ps(scores + i, HorizontalSums4(Fold512(a0), Fold512(a1),
                                              Fold512(a2), Fold512(a3)));
    _mm_storeu_ps(scores + i + 4, HorizontalSums4(Fold512(a4), Fold512(a5),
                                                  Fold512(a6), Fold512(a7)));
  }
  for (; i < n; ++i) {
    const float* r = rows + i * dim;
    __m512 a = _mm512_setzero_ps();
    for (int j = 0; j < full; j += 16) {
      a = _mm512_fmadd_ps(_mm512_loadu_ps(query + j), _mm512_loadu_ps(r + j),
                          a);
    }
    if (tail != 0) {
      a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, query + full),
                          _mm512_maskz_loadu_ps(mask, r + full), a);
    }
    scores[i] = HorizontalSum(Fold512(a));
  }
}

SimdLevel DetectSimdLevel() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return SimdLevel::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    return SimdLevel::kAvx2;
  }
  return SimdLevel::kScalar;
}

// Scores `n` row-major vectors in blocks and pushes them into `top`; row i
// is `ids[i]`, or `first_row + i` when `ids` is null.
void ScanIntoTopK(SimdLevel level, const float* query, const float* vectors,
                  int64_t n, int dim, const int64_t* ids, int64_t first_row,
                  TopK* top) {
  float scores[kBlockRows];
  for (int64_t start = 0; start < n; start += kBlockRows) {
    const int64_t m = std::min(kBlockRows, n - start);
    InnerProducts(level, query, vectors + start * dim, m, dim, scores);
    top->PushAll(scores, m, ids == nullptr ? nullptr : ids + start,
                 first_row + start);
  }
}

}  // namespace

bool SimdLevelSupported(SimdLevel level) {
  switch (level) {
    case SimdLevel::kScalar:
      return true;
    case SimdLevel::kAvx2:
      return BestSimdLevel() != SimdLevel::kScalar;
    case SimdLevel::kAvx512:
      return BestSimdLevel() == SimdLevel::kAvx512;
  }
  return false;
}

SimdLevel BestSimdLevel() {
  static const SimdLevel level = DetectSimdLevel();
  return level;
}

const char* SimdLevelName(SimdLevel level) {
  switch (level) {
    case SimdLevel::kScalar:
      return "scalar";
    case SimdLevel::kAvx2:
      return "avx2";
    case SimdLevel::kAvx512:
      return "avx512";
  }
  return "unknown";
}

void InnerProducts(SimdLevel level, const float* query, const float* rows,
                   int64_t n, int dim, float* scores) {
  switch (level) {
    case SimdLevel::kAvx512:
      InnerProductsAvx512(query, rows, n, dim, scores);
      return;
    case SimdLevel::kAvx2:
      InnerProductsAvx2(query, rows, n, dim, scores);
      return;
    case SimdLevel::kScalar:
      break;
  }
  InnerProductsScalar(query, rows, n, dim, scores);
}

TopK::TopK(int k) : k_(std::max(k, 1)) {
  heap_.reserve(std::min(k_, 4096));
}

void TopK::PushUnfull(float score, int64_t row) {
  // Sift up: parents are worse than (or as good as) their children.
  size_t i = heap_.size();
  heap_.push_back(ScoredRow{row, score});
  const ScoredRow added = heap_[i];
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!Better(heap_[parent], added)) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = added;
}

void TopK::ReplaceWorst(float score, int64_t row) {
  // Sift down from the root.
  const ScoredRow added{row, score};
  const size_t size = heap_.size();
  size_t i = 0;
  while (true) {
    size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && Better(heap_[child], heap_[child + 1])) ++child;
    if (!Better(added, heap_[child])) break;
    heap_[i] = heap_[child];
    i = child;
  }
  heap_[i] = added;
}

void TopK::PushAll(const float* scores, int64_t n, const int64_t* rows,
                   int64_t first_row) {
  int64_t i = 0;
  for (; i < n && static_cast<int>(heap_.size()) < k_; ++i) {
    PushUnfull(scores[i], rows == nullptr ? first_row + i : rows[i]);
  }
  if (i == n) return;
  // Full: most scores lose to the worst kept one, with one compare.
  float worst = heap_[0].score;
  for (; i < n; ++i) {
    const float score = scores[i];
    if (score < worst) continue;
    const int64_t row = rows == nullptr ? first_row + i : rows[i];
    if (score > worst || row < heap_[0].row) {
      ReplaceWorst(score, row);
      worst = heap_[0].score;
    }
  }
}

std::vector<ScoredRow> TopK::TakeSorted() {
  std::vector<ScoredRow> out = std::move(heap_);
  heap_.clear();
  std::sort(out.begin(), out.end(), Better);
  return out;
}

// An integer that orders (score, row) as `Better` does: ascending keys are
// descending scores, then ascending rows (rows below 2^32).
inline uint64_t BetterFirstKey(float score, int64_t row) {
  score += 0.0f;  // -0 and +0 are the same score
  uint32_t u;
  std::memcpy(&u, &score, sizeof(u));
  u = (u & 0x80000000u) != 0 ? ~u : (u | 0x80000000u);  // ascending with the score
  return (static_cast<uint64_t>(~u) << 32) | static_cast<uint32_t>(row);
}

std::vector<ScoredRow> SelectTopK(const float* scores, int64_t n, int k) {
  if (n <= 0 || k <= 0) return {};
  const int64_t kept = std::min<int64_t>(k, n);
  // A histogram of the scores over [min, max] in kSelectBins equal bins
  // (monotone: a better score never lands in a lower bin) finds the bin
  // that holds the kept-th best score; only the rows from that bin up are
  // sorted, as integer keys. Half the time of nth_element over all scores
  // and a sort of ScoredRows (which took a third of the demo's ANN
  // search). Ties go to the lower row, as in TopK.
  constexpr int kSelectBins = 1024;
  float lo = scores[0], hi = scores[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = scores[i] < lo ? scores[i] : lo;
    hi = scores[i] > hi ? scores[i] : hi;
  }
  const float scale = hi > lo ? (kSelectBins - 1) / (hi - lo) : 0.0f;
  const auto bin_of = [lo, scale](float score) {
    const float x = (score - lo) * scale;  // NaN lands in bin 0
    return x >= 0 ? std::min(static_cast<int>(x), kSelectBins - 1) : 0;
  };
  int counts[kSelectBins] = {};
  for (int64_t i = 0; i < n; ++i) ++counts[bin_of(scores[i])];
  int edge = kSelectBins - 1;
  int64_t from_edge = counts[edge];  // rows in the bins from `edge` up
  while (from_edge < kept) from_edge += counts[--edge];
  std::vector<uint64_t> keys;
  keys.reserve(from_edge);
  for (int64_t i = 0; i < n; ++i) {
    if (bin_of(scores[i]) >= edge) keys.push_back(BetterFirstKey(scores[i], i));
  }
  std::sort(keys.begin(), keys.end());
  std::vector<ScoredRow> out(kept);
  for (int64_t j = 0; j < kept; ++j) {
    const int64_t row = static_cast<uint32_t>(keys[j]);
    out[j] = ScoredRow{row, scores[row]};
  }
  return out;
}

std::vector<ScoredRow> FlatSearch(SimdLevel level, const float* query,
                                  const float* rows, int64_t n, int dim,
                                  int k) {
  if (n <= 0 || k <= 0) return {};
  if (n <= kSelectRowsPerK * static_cast<int64_t>(k) && n <= (int64_t{1} << 32)) {
    // k is a sizeable share of n (the demo's 200+ of 2,906 videos): every
    // score, then one selection, costs less than keeping a heap (about
    // k ln(n/k) replacements of log2(k) steps each).
    std::vector<float> scores(n);
    InnerProducts(level, query, rows, n, dim, scores.data());
    return SelectTopK(scores.data(), n, k);
  }
  TopK top(static_cast<int>(std::min<int64_t>(k, n)));
  ScanIntoTopK(level, query, rows, n, dim, /*ids=*/nullptr, /*first_row=*/0,
               &top);
  return top.TakeSorted();
}

std::vector<ScoredRow> IvfSearch(SimdLevel level, const IvfView& ivf,
                                 const float* query, int nprobe, int k) {
  if (ivf.nlist <= 0 || nprobe <= 0 || k <= 0) return {};
  // Coarse assignment: the nprobe best centroids, with the same kernel.
  std::vector<float> centroid_scores(ivf.nlist);
  InnerProducts(level, query, ivf.centroids, ivf.nlist, ivf.dim,
                centroid_scores.data());
  TopK probes(static_cast<int>(std::min<int64_t>(nprobe, ivf.nlist)));
  probes.PushAll(centroid_scores.data(), ivf.nlist, /*rows=*/nullptr,
                 /*first_row=*/0);
  TopK top(k);
  for (const ScoredRow& probe : probes.TakeSorted()) {
    const InvertedListView& list = ivf.lists[probe.row];
    ScanIntoTopK(level, query, list.vectors, list.size, ivf.dim, list.rows,
                 /*first_row=*/0, &top);
  }
  return top.TakeSorted();
}

}  // namespace recsys
