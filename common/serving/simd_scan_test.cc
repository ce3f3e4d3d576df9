#include "common/serving/simd_scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace recsys {
namespace {

constexpr SimdLevel kAllLevels[] = {SimdLevel::kScalar, SimdLevel::kAvx2,
                                    SimdLevel::kAvx512};

std::vector<float> RandomVectors(int64_t n, int dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(n * dim);
  for (float& x : v) x = normal(rng);
  return v;
}

// <a, b> in double, and the sum of |a_j * b_j| (the scale of its rounding
// error in float).
double Dot(const float* a, const float* b, int dim, double* magnitude) {
  double dot = 0, mag = 0;
  for (int j = 0; j < dim; ++j) {
    dot += double{a[j]} * b[j];
    mag += std::abs(double{a[j]} * b[j]);
  }
  if (magnitude != nullptr) *magnitude = mag;
  return dot;
}

// The exact top k over `rows` (row ids `ids`, or their positions), in double,
// ordered as the header promises: score descending, then row ascending.
std::vector<ScoredRow> Reference(const float* query, const float* rows,
                                 int64_t n, int dim, int k,
                                 const std::vector<int64_t>* ids = nullptr) {
  std::vector<std::pair<double, int64_t>> all(n);
  for (int64_t i = 0; i < n; ++i) {
    all[i] = {Dot(query, rows + i * dim, dim, nullptr),
              ids == nullptr ? i : (*ids)[i]};
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  all.resize(std::min<int64_t>(k, n));
  std::vector<ScoredRow> out;
  for (const auto& [score, row] : all) {
    out.push_back(ScoredRow{row, static_cast<float>(score)});
  }
  return out;
}

// `got` holds `want`'s results: the same length, scores equal within 1e-4
// relative rank by rank, and the same rows except where float rounding may
// swap two near-equal scores: a row may differ from `want`'s at a rank only
// if its exact score (`exact_score(row)`) is within that tolerance of the
// rank's score. No row twice.
template <typename ExactScore>
void ExpectSameResults(const std::vector<ScoredRow>& got,
                       const std::vector<ScoredRow>& want,
                       const ExactScore& exact_score, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  std::vector<int64_t> rows;
  for (size_t i = 0; i < want.size(); ++i) {
    const float tolerance = 1e-4f * std::max(1.0f, std::abs(want[i].score));
    EXPECT_NEAR(got[i].score, want[i].score, tolerance)
        << what << " rank " << i;
    if (got[i].row != want[i].row) {
      EXPECT_NEAR(exact_score(got[i].row), want[i].score, tolerance)
          << what << " rank " << i << ": row " << got[i].row
          << " instead of row " << want[i].row;
    }
    rows.push_back(got[i].row);
  }
  std::sort(rows.begin(), rows.end());
  EXPECT_TRUE(std::adjacent_find(rows.begin(), rows.end()) == rows.end())
      << what << ": a row twice";
}

// Without ties in doubt: rows must be equal rank by rank.
void ExpectSameResults(const std::vector<ScoredRow>& got,
                       const std::vector<ScoredRow>& want,
                       const std::string& what) {
  ExpectSameResults(
      got, want, [](int64_t) { return std::nanf(""); }, what);
}

TEST(SimdScanTest, ScalarIsAlwaysSupportedAndBestIsSupported) {
  EXPECT_TRUE(SimdLevelSupported(SimdLevel::kScalar));
  EXPECT_TRUE(SimdLevelSupported(BestSimdLevel()));
  if (SimdLevelSupported(SimdLevel::kAvx512)) {
    EXPECT_TRUE(SimdLevelSupported(SimdLevel::kAvx2));
  }
  std::string tested;
  for (SimdLevel level : kAllLevels) {
    if (SimdLevelSupported(level)) {
      tested += std::string(tested.empty() ? "" : ",") + SimdLevelName(level);
    }
  }
  RecordProperty("levels_tested", tested);
  std::printf("SIMD levels this CPU runs (all tested): %s\n", tested.c_str());
}

// Every width's tail (dim % 8, dim % 16) and every row count's remainder
// (n % 4, n % 8) against a double-precision sum.
TEST(SimdScanTest, InnerProductsMatchDoubleSums) {
  for (SimdLevel level : kAllLevels) {
    if (!SimdLevelSupported(level)) continue;
    for (int dim : {1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 100, 255,
                    256, 257}) {
      for (int64_t n : {0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 203}) {
        // Exactly n * dim floats: a kernel reading past the end would read
        // another allocation (and the masked loads must not).
        const std::vector<float> rows = RandomVectors(n, dim, dim * 131 + n);
        const std::vector<float> query = RandomVectors(1, dim, dim + 7);
        std::vector<float> scores(n + 1, -12345.0f);
        InnerProducts(level, query.data(), rows.data(), n, dim, scores.data());
        for (int64_t i = 0; i < n; ++i) {
          double magnitude = 0;
          const double want =
              Dot(query.data(), rows.data() + i * dim, dim, &magnitude);
          EXPECT_NEAR(scores[i], want, 1e-6 * magnitude + 1e-6)
              << SimdLevelName(level) << " dim " << dim << " n " << n
              << " row " << i;
        }
        EXPECT_EQ(scores[n], -12345.0f) << "wrote past n";
      }
    }
  }
}

// A row's score is the same bits wherever it sits in the scan (in a group
// of rows or in the remainder): the shards of an index hold its rows at
// other positions and must score them as the index does.
TEST(SimdScanTest, ARowScoresTheSameAtEveryPosition) {
  for (SimdLevel level : kAllLevels) {
    if (!SimdLevelSupported(level)) continue;
    for (int dim : {7, 16, 33, 257}) {
      const std::vector<float> row = RandomVectors(1, dim, dim + 1);
      const std::vector<float> query = RandomVectors(1, dim, dim + 2);
      constexpr int64_t kN = 19;  // groups of 4 or 8 and a remainder
      std::vector<float> rows;
      for (int64_t i = 0; i < kN; ++i) rows.insert(rows.end(), row.begin(), row.end());
      std::vector<float> scores(kN);
      InnerProducts(level, query.data(), rows.data(), kN, dim, scores.data());
      for (int64_t i = 1; i < kN; ++i) {
        EXPECT_EQ(scores[i], scores[0]) << SimdLevelName(level) << " dim " << dim << " row " << i;
      }
    }
  }
}

// Each SIMD level returns the scalar kernel's results (rows and order
// exactly, scores to rounding) and both return the exact top k.
TEST(SimdScanTest, FlatSearchLevelsAgreeWithScalarAndReference) {
  constexpr int64_t kN = 3001;  // Not a multiple of the 8-row unroll.
  for (int dim : {32, 64, 100, 256}) {
    const std::vector<float> rows = RandomVectors(kN, dim, dim);
    const std::vector<float> queries = RandomVectors(5, dim, dim + 1);
    for (int q = 0; q < 5; ++q) {
      const float* query = queries.data() + q * dim;
      const auto exact = [&](int64_t row) {
        return static_cast<float>(
            Dot(query, rows.data() + row * dim, dim, nullptr));
      };
      for (int k : {1, 10, 500, static_cast<int>(kN) + 10}) {
        const std::vector<ScoredRow> scalar =
            FlatSearch(SimdLevel::kScalar, query, rows.data(), kN, dim, k);
        ExpectSameResults(scalar, Reference(query, rows.data(), kN, dim, k),
                          exact, "scalar vs reference dim " + std::to_string(dim) +
                              " k " + std::to_string(k));
        for (SimdLevel level : {SimdLevel::kAvx2, SimdLevel::kAvx512}) {
          if (!SimdLevelSupported(level)) continue;
          ExpectSameResults(
              FlatSearch(level, query, rows.data(), kN, dim, k), scalar,
              exact, std::string(SimdLevelName(level)) + " vs scalar dim " +
                  std::to_string(dim) + " k " + std::to_string(k));
        }
      }
    }
  }
}

// Identical vectors score identically at every level: ties go to the lower
// row, both in which rows are kept and in their order.
TEST(SimdScanTest, TiesKeepAndOrderLowerRowsFirst) {
  constexpr int kDim = 100;
  constexpr int64_t kN = 1000;
  std::vector<float> rows = RandomVectors(kN, kDim, 3);
  // Rows 10, 500, 20, 999, 0 are copies of row 7: six tied vectors.
  for (int64_t copy : {10, 500, 20, 999, 0}) {
    std::copy_n(rows.data() + 7 * kDim, kDim, rows.data() + copy * kDim);
  }
  const std::vector<float> query(rows.begin() + 7 * kDim,
                                 rows.begin() + 8 * kDim);
  for (SimdLevel level : kAllLevels) {
    if (!SimdLevelSupported(level)) continue;
    // The query is row 7 itself, so the six copies are the best.
    const std::vector<ScoredRow> top4 =
        FlatSearch(level, query.data(), rows.data(), kN, kDim, 4);
    ASSERT_EQ(top4.size(), 4u);
    EXPECT_EQ(top4[0].row, 0);
    EXPECT_EQ(top4[1].row, 7);
    EXPECT_EQ(top4[2].row, 10);
    EXPECT_EQ(top4[3].row, 20);
    const std::vector<ScoredRow> top8 =
        FlatSearch(level, query.data(), rows.data(), kN, kDim, 8);
    const int64_t tied[] = {0, 7, 10, 20, 500, 999};
    for (int i = 0; i < 6; ++i) {
      EXPECT_EQ(top8[i].row, tied[i]) << SimdLevelName(level);
      EXPECT_EQ(top8[i].score, top8[0].score);
    }
    EXPECT_LT(top8[6].score, top8[0].score);
  }
}

TEST(SimdScanTest, TopKIndependentOfPushOrder) {
  // Scores with many ties, pushed in several orders.
  std::vector<ScoredRow> items;
  for (int64_t row = 0; row < 200; ++row) {
    items.push_back(ScoredRow{row, static_cast<float>((row * 7) % 13)});
  }
  std::vector<ScoredRow> first;
  std::mt19937 rng(5);
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(items.begin(), items.end(), rng);
    TopK top(37);
    for (const ScoredRow& item : items) top.Push(item.score, item.row);
    const std::vector<ScoredRow> got = top.TakeSorted();
    ASSERT_EQ(got.size(), 37u);
    for (size_t i = 1; i < got.size(); ++i) {
      EXPECT_TRUE(got[i - 1].score > got[i].score ||
                  (got[i - 1].score == got[i].score &&
                   got[i - 1].row < got[i].row));
    }
    if (trial == 0) {
      first = got;
    } else {
      ExpectSameResults(got, first, "trial " + std::to_string(trial));
    }
  }
  TopK fewer(10);
  fewer.Push(1.0f, 3);
  fewer.Push(2.0f, 9);
  const std::vector<ScoredRow> two = fewer.TakeSorted();
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].row, 9);
  EXPECT_EQ(two[1].row, 3);
}

// A hand-built IVF: lists hold the rows nearest (by inner product) to each
// centroid, in increasing row order, as FAISS adds them.
struct HandIvf {
  std::vector<float> centroids;
  std::vector<std::vector<float>> vectors;
  std::vector<std::vector<int64_t>> rows;
  IvfView view;
};

HandIvf MakeIvf(const std::vector<float>& base, int64_t n, int dim,
                int nlist) {
  HandIvf ivf;
  ivf.centroids = RandomVectors(nlist, dim, nlist + dim);
  ivf.vectors.resize(nlist);
  ivf.rows.resize(nlist);
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<ScoredRow> best = Reference(
        base.data() + i * dim, ivf.centroids.data(), nlist, dim, 1);
    const int64_t list = best[0].row;
    ivf.vectors[list].insert(ivf.vectors[list].end(), base.begin() + i * dim,
                             base.begin() + (i + 1) * dim);
    ivf.rows[list].push_back(i);
  }
  ivf.view.dim = dim;
  ivf.view.nlist = nlist;
  ivf.view.centroids = ivf.centroids.data();
  for (int l = 0; l < nlist; ++l) {
    ivf.view.lists.push_back(InvertedListView{
        ivf.vectors[l].data(), ivf.rows[l].data(),
        static_cast<int64_t>(ivf.rows[l].size())});
  }
  return ivf;
}

// FlatSearch selects over all scores when k is a sizeable share of n: the
// selection keeps exactly what the heap keeps, ties included.
TEST(SimdScanTest, SelectTopKKeepsWhatTheHeapKeeps) {
  std::mt19937_64 rng(7);
  // Spread 0: few distinct values, so the k-th place is usually a tie.
  // 1: logits, mostly distinct, with a long upper tail. 2: the same with
  // one far outlier, which squeezes the rest into a few histogram bins, and
  // a -0 tied with a +0.
  for (int spread : {0, 1, 2}) {
    for (int64_t n : {1, 2, 17, 2906, 5000}) {
      for (int k : {1, 10, 250, 5000, 6000}) {
        std::vector<float> scores(n);
        std::uniform_int_distribution<int> value(0, 20);
        std::normal_distribution<float> logit(3.0f, 2.0f);
        for (float& v : scores) {
          v = spread == 0 ? static_cast<float>(value(rng)) * 0.25f : logit(rng);
        }
        if (spread == 2) {
          scores[n / 2] = 1e30f;
          scores[0] = -0.0f;  // the same score as +0: ties go to the lower row
          scores[n - 1] = 0.0f;
        }
        TopK heap(k);
        heap.PushAll(scores.data(), n, /*rows=*/nullptr, /*first_row=*/0);
        const std::vector<ScoredRow> expected = heap.TakeSorted();
        const std::vector<ScoredRow> selected = SelectTopK(scores.data(), n, k);
        ASSERT_EQ(selected.size(), expected.size()) << "n " << n << " k " << k;
        for (size_t i = 0; i < selected.size(); ++i) {
          EXPECT_EQ(selected[i].row, expected[i].row)
              << "spread " << spread << " n " << n << " k " << k << " rank " << i;
          EXPECT_EQ(selected[i].score, expected[i].score);
        }
      }
    }
  }
  EXPECT_TRUE(SelectTopK(nullptr, 0, 5).empty());
}

TEST(SimdScanTest, IvfSearchScansTheNprobeBestLists) {
  constexpr int64_t kN = 4000;
  for (int dim : {32, 100}) {
    const std::vector<float> base = RandomVectors(kN, dim, 11 + dim);
    const std::vector<float> queries = RandomVectors(4, dim, 12 + dim);
    for (int nlist : {1, 16, 64}) {
      HandIvf ivf = MakeIvf(base, kN, dim, nlist);
      for (int nprobe : {1, 4, 64, 1000}) {
        for (int k : {1, 10, 500, 5000}) {
          for (int q = 0; q < 4; ++q) {
            const float* query = queries.data() + q * dim;
            // The reference: the nprobe best centroids in double, then the
            // exact top k over their lists' vectors.
            const std::vector<ScoredRow> probes = Reference(
                query, ivf.centroids.data(), nlist, dim, nprobe);
            std::vector<float> scanned;
            std::vector<int64_t> ids;
            for (const ScoredRow& p : probes) {
              scanned.insert(scanned.end(), ivf.vectors[p.row].begin(),
                             ivf.vectors[p.row].end());
              ids.insert(ids.end(), ivf.rows[p.row].begin(),
                         ivf.rows[p.row].end());
            }
            const std::vector<ScoredRow> want =
                Reference(query, scanned.data(), ids.size(), dim, k, &ids);
            const auto exact = [&](int64_t row) {
              return static_cast<float>(
                  Dot(query, base.data() + row * dim, dim, nullptr));
            };
            const std::string what =
                "dim " + std::to_string(dim) + " nlist " +
                std::to_string(nlist) + " nprobe " + std::to_string(nprobe) +
                " k " + std::to_string(k) + " query " + std::to_string(q);
            for (SimdLevel level : kAllLevels) {
              if (!SimdLevelSupported(level)) continue;
              ExpectSameResults(IvfSearch(level, ivf.view, query, nprobe, k),
                                want, exact,
                                std::string(SimdLevelName(level)) + " " + what);
            }
          }
        }
      }
    }
  }
}

TEST(SimdScanTest, IvfWithAllListsProbedIsExact) {
  constexpr int kDim = 64;
  constexpr int64_t kN = 2000;
  const std::vector<float> base = RandomVectors(kN, kDim, 21);
  const std::vector<float> query = RandomVectors(1, kDim, 22);
  HandIvf ivf = MakeIvf(base, kN, kDim, 32);
  for (SimdLevel level : kAllLevels) {
    if (!SimdLevelSupported(level)) continue;
    ExpectSameResults(
        IvfSearch(level, ivf.view, query.data(), 32, 100),
        FlatSearch(level, query.data(), base.data(), kN, kDim, 100),
        SimdLevelName(level));  // Same kernel, same sums: equal rows.
  }
}

TEST(SimdScanTest, EmptyInputs) {
  const std::vector<float> query(8, 1.0f);
  EXPECT_TRUE(FlatSearch(BestSimdLevel(), query.data(), nullptr, 0, 8, 5)
                  .empty());
  IvfView empty_lists;
  empty_lists.dim = 8;
  empty_lists.nlist = 2;
  const std::vector<float> centroids(16, 0.5f);
  empty_lists.centroids = centroids.data();
  empty_lists.lists.resize(2);
  EXPECT_TRUE(IvfSearch(BestSimdLevel(), empty_lists, query.data(), 2, 5)
                  .empty());
}

}  // namespace
}  // namespace recsys
