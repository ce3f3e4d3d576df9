#include "common/serving/ann_index.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/serving/simd_scan.h"

namespace recsys {
namespace {

std::vector<float> RandomVectors(int64_t n, int dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(n * dim);
  for (float& x : v) x = normal(rng);
  return v;
}

// The exact top `k` by inner product, best first.
std::vector<Neighbor> BruteForce(const std::vector<float>& base, int dim,
                                 const float* query, int k) {
  const int64_t n = base.size() / dim;
  std::vector<Neighbor> all(n);
  for (int64_t i = 0; i < n; ++i) {
    double dot = 0;
    for (int j = 0; j < dim; ++j) dot += double{base[i * dim + j]} * query[j];
    all[i] = Neighbor{i, static_cast<float>(dot)};
  }
  std::sort(all.begin(), all.end(), [](const Neighbor& a, const Neighbor& b) {
    return a.score > b.score;
  });
  all.resize(std::min<int64_t>(k, n));
  return all;
}

double Recall(const std::vector<Neighbor>& got,
              const std::vector<Neighbor>& exact) {
  std::set<int64_t> truth;
  for (const Neighbor& e : exact) truth.insert(e.row);
  int hits = 0;
  for (const Neighbor& g : got) hits += truth.count(g.row);
  return static_cast<double>(hits) / exact.size();
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

AnnIndex::Options WithFactory(const std::string& factory) {
  AnnIndex::Options options;
  options.factory = factory;
  return options;
}

TEST(AnnIndexTest, ResolveFactory) {
  EXPECT_EQ(AnnIndex::ResolveFactory("auto", 1), "Flat");
  EXPECT_EQ(AnnIndex::ResolveFactory("auto", 99999), "Flat");
  // 4 * sqrt(1e5) = 1265 -> 1024; 4 * sqrt(1e6) = 4000 -> 4096.
  EXPECT_EQ(AnnIndex::ResolveFactory("auto", 100000), "IVF1024,Flat");
  EXPECT_EQ(AnnIndex::ResolveFactory("auto", 1000000), "IVF4096,Flat");
  EXPECT_EQ(AnnIndex::ResolveFactory("auto", 10000000), "IVF16384,Flat");
  EXPECT_EQ(AnnIndex::ResolveFactory("HNSW32", 1000000), "HNSW32");
}

TEST(AnnIndexTest, FlatEqualsBruteForce) {
  constexpr int kDim = 24;
  constexpr int64_t kN = 3000;
  const std::vector<float> base = RandomVectors(kN, kDim, 1);
  const std::vector<float> queries = RandomVectors(20, kDim, 2);
  auto index = AnnIndex::Build(base.data(), kN, kDim, WithFactory("auto"));
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->factory(), "Flat");
  EXPECT_EQ((*index)->size(), kN);
  EXPECT_EQ((*index)->dimension(), kDim);
  for (int q = 0; q < 20; ++q) {
    const float* query = queries.data() + q * kDim;
    auto got = (*index)->Search(query, 50);
    ASSERT_TRUE(got.ok()) << got.status();
    const std::vector<Neighbor> exact = BruteForce(base, kDim, query, 50);
    ASSERT_EQ(got->size(), exact.size());
    for (size_t i = 0; i < exact.size(); ++i) {
      // Random Gaussian data: no ties, so rows must match exactly; FAISS sums
      // in another order, so scores agree to float rounding.
      EXPECT_EQ((*got)[i].row, exact[i].row) << "query " << q << " rank " << i;
      EXPECT_NEAR((*got)[i].score, exact[i].score,
                  1e-4f * std::max(1.0f, std::abs(exact[i].score)));
    }
  }
}

TEST(AnnIndexTest, FewerVectorsThanK) {
  const std::vector<float> base = RandomVectors(5, 8, 3);
  for (const std::string factory : {"Flat", "HNSW8"}) {
    auto index = AnnIndex::Build(base.data(), 5, 8, WithFactory(factory));
    ASSERT_TRUE(index.ok()) << index.status();
    auto got = (*index)->Search(base.data(), 100);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->size(), 5u) << factory;  // No -1 padding.
    for (size_t i = 1; i < got->size(); ++i) {
      EXPECT_GE((*got)[i - 1].score, (*got)[i].score);
    }
  }
}

TEST(AnnIndexTest, IvfRecall) {
  constexpr int kDim = 32;
  constexpr int64_t kN = 20000;
  constexpr int kK = 100;
  const std::vector<float> base = RandomVectors(kN, kDim, 4);
  const std::vector<float> queries = RandomVectors(30, kDim, 5);
  AnnIndex::Options options = WithFactory("IVF128,Flat");
  // 96 of 128 lists: random Gaussian data is hard for IVF.
  options.nprobe = 96;
  auto index = AnnIndex::Build(base.data(), kN, kDim, options);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->factory(), "IVF128,Flat");
  double recall = 0;
  for (int q = 0; q < 30; ++q) {
    const float* query = queries.data() + q * kDim;
    auto got = (*index)->Search(query, kK);
    ASSERT_TRUE(got.ok()) << got.status();
    recall += Recall(*got, BruteForce(base, kDim, query, kK));
  }
  recall /= 30;
  RecordProperty("recall_at_100", std::to_string(recall));
  EXPECT_GE(recall, 0.9);
}

TEST(AnnIndexTest, HnswRecall) {
  constexpr int kDim = 16;
  constexpr int64_t kN = 2000;
  constexpr int kK = 10;
  const std::vector<float> base = RandomVectors(kN, kDim, 6);
  const std::vector<float> queries = RandomVectors(30, kDim, 7);
  AnnIndex::Options options = WithFactory("HNSW16");
  options.ef_search = 256;
  auto index = AnnIndex::Build(base.data(), kN, kDim, options);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->factory(), "HNSW16");
  double recall = 0;
  for (int q = 0; q < 30; ++q) {
    const float* query = queries.data() + q * kDim;
    auto got = (*index)->Search(query, kK);
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), static_cast<size_t>(kK));
    for (const Neighbor& nb : *got) {  // Scores are inner products.
      float dot = 0;
      for (int j = 0; j < kDim; ++j) dot += base[nb.row * kDim + j] * query[j];
      EXPECT_NEAR(nb.score, dot, 1e-3f);
    }
    recall += Recall(*got, BruteForce(base, kDim, query, kK));
  }
  RecordProperty("recall_at_10", std::to_string(recall / 30));
  EXPECT_GE(recall / 30, 0.9);
}

TEST(AnnIndexTest, SaveLoadRoundTrip) {
  constexpr int kDim = 16;
  constexpr int64_t kN = 5000;
  const std::vector<float> base = RandomVectors(kN, kDim, 8);
  const std::vector<float> queries = RandomVectors(10, kDim, 9);
  for (const std::string factory : {"Flat", "IVF64,Flat", "HNSW16"}) {
    AnnIndex::Options options = WithFactory(factory);
    auto built = AnnIndex::Build(base.data(), kN, kDim, options);
    ASSERT_TRUE(built.ok()) << built.status();
    const std::string path =
        TempPath("index_" + std::to_string(factory.size()));
    ASSERT_TRUE((*built)->Save(path).ok());
    auto loaded = AnnIndex::Load(path, options);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ((*loaded)->factory(), factory);
    EXPECT_EQ((*loaded)->size(), kN);
    EXPECT_EQ((*loaded)->dimension(), kDim);
    for (int q = 0; q < 10; ++q) {
      auto a = (*built)->Search(queries.data() + q * kDim, 30);
      auto b = (*loaded)->Search(queries.data() + q * kDim, 30);
      ASSERT_TRUE(a.ok() && b.ok());
      ASSERT_EQ(a->size(), b->size()) << factory;
      for (size_t i = 0; i < a->size(); ++i) {
        EXPECT_EQ((*a)[i].row, (*b)[i].row) << factory;
        EXPECT_EQ((*a)[i].score, (*b)[i].score) << factory;
      }
    }
  }
}

TEST(AnnIndexTest, SearchBatchMatchesSearch) {
  constexpr int kDim = 16;
  const std::vector<float> base = RandomVectors(4000, kDim, 10);
  const std::vector<float> queries = RandomVectors(25, kDim, 11);
  AnnIndex::Options options = WithFactory("IVF32,Flat");
  options.num_threads = 2;
  auto index = AnnIndex::Build(base.data(), 4000, kDim, options);
  ASSERT_TRUE(index.ok()) << index.status();
  auto batch = (*index)->SearchBatch(queries.data(), 25, 20);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 25u);
  for (int q = 0; q < 25; ++q) {
    auto one = (*index)->Search(queries.data() + q * kDim, 20);
    ASSERT_TRUE(one.ok());
    ASSERT_EQ(one->size(), (*batch)[q].size());
    for (size_t i = 0; i < one->size(); ++i) {
      EXPECT_EQ((*one)[i].row, (*batch)[q][i].row);
    }
  }
}

TEST(AnnIndexTest, ConcurrentSearchesAgree) {
  constexpr int kDim = 16;
  constexpr int kQueries = 40;
  const std::vector<float> base = RandomVectors(4000, kDim, 12);
  const std::vector<float> queries = RandomVectors(kQueries, kDim, 13);
  for (const std::string factory : {"Flat", "IVF32,Flat", "HNSW16"}) {
    auto index = AnnIndex::Build(base.data(), 4000, kDim, WithFactory(factory));
    ASSERT_TRUE(index.ok()) << index.status();
    std::vector<std::vector<Neighbor>> expected(kQueries);
    for (int q = 0; q < kQueries; ++q) {
      expected[q] = *(*index)->Search(queries.data() + q * kDim, 25);
    }
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int round = 0; round < 5; ++round) {
          for (int q = 0; q < kQueries; ++q) {
            auto got = (*index)->Search(queries.data() + q * kDim, 25);
            if (!got.ok() || got->size() != expected[q].size()) {
              ++mismatches[t];
              continue;
            }
            for (size_t i = 0; i < got->size(); ++i) {
              if ((*got)[i].row != expected[q][i].row) ++mismatches[t];
            }
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();
    for (int m : mismatches) EXPECT_EQ(m, 0) << factory;
  }
}

TEST(AnnIndexTest, SearchRestoresCallersOpenMpThreads) {
  const std::vector<float> base = RandomVectors(1000, 8, 15);
  AnnIndex::Options options = WithFactory("IVF16,Flat");
  options.num_threads = 1;
  auto index = AnnIndex::Build(base.data(), 1000, 8, options);
  ASSERT_TRUE(index.ok()) << index.status();
  const int before = omp_get_max_threads();
  omp_set_num_threads(3);
  ASSERT_TRUE((*index)->Search(base.data(), 10).ok());
  EXPECT_EQ(omp_get_max_threads(), 3);
  omp_set_num_threads(before);
}

TEST(AnnIndexTest, BadInputsAreErrors) {
  const std::vector<float> base = RandomVectors(100, 8, 14);
  const AnnIndex::Options flat = WithFactory("Flat");
  EXPECT_EQ(AnnIndex::Build(base.data(), 0, 8, flat).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AnnIndex::Build(base.data(), -3, 8, flat).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AnnIndex::Build(base.data(), 100, 0, flat).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AnnIndex::Build(base.data(), 100, -1, flat).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AnnIndex::Build(nullptr, 100, 8, flat).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AnnIndex::Build(base.data(), 100, 8, WithFactory("NoSuchIndex42"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      AnnIndex::Build(base.data(), 100, 8, WithFactory("")).status().code(),
      absl::StatusCode::kInvalidArgument);
  // More inverted lists than vectors.
  EXPECT_EQ(AnnIndex::Build(base.data(), 100, 8, WithFactory("IVF256,Flat"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  AnnIndex::Options bad_threads = flat;
  bad_threads.num_threads = 0;
  EXPECT_FALSE(AnnIndex::Build(base.data(), 100, 8, bad_threads).ok());
  AnnIndex::Options bad_nprobe = flat;
  bad_nprobe.nprobe = 0;
  EXPECT_FALSE(AnnIndex::Build(base.data(), 100, 8, bad_nprobe).ok());

  auto index = AnnIndex::Build(base.data(), 100, 8, flat);
  ASSERT_TRUE(index.ok());
  EXPECT_EQ((*index)->Search(base.data(), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*index)->Search(base.data(), -5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE((*index)->Search(nullptr, 5).ok());
  EXPECT_FALSE((*index)->Save("/nonexistent-dir/sub/index.faiss").ok());

  EXPECT_EQ(AnnIndex::Load(TempPath("missing.faiss"), flat).status().code(),
            absl::StatusCode::kNotFound);
  const std::string garbage = TempPath("garbage.faiss");
  FILE* f = std::fopen(garbage.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("not a faiss index", f);
  std::fclose(f);
  EXPECT_EQ(AnnIndex::Load(garbage, flat).status().code(),
            absl::StatusCode::kDataLoss);
}

// --- Our SIMD kernels against FAISS's own search, on the same index file. ---

using Scan = AnnIndex::Options::Scan;

// The kernel levels this CPU runs, each with its `Scan` option.
std::vector<std::pair<Scan, std::string>> SupportedKernelScans() {
  std::vector<std::pair<Scan, std::string>> scans = {{Scan::kScalar, "scalar"}};
  if (SimdLevelSupported(SimdLevel::kAvx2)) scans.push_back({Scan::kAvx2, "avx2"});
  if (SimdLevelSupported(SimdLevel::kAvx512)) {
    scans.push_back({Scan::kAvx512, "avx512"});
  }
  return scans;
}

// `got` is FAISS's result `want` up to float rounding: the same length,
// scores within 1e-4 relative rank by rank, and the same rows except where
// two scores are equal to rounding (ties, identical vectors): a row may
// differ from FAISS's at a rank only if its exact score is within that
// tolerance of the rank's score. No row twice.
void ExpectMatchesFaiss(const std::vector<Neighbor>& got,
                        const std::vector<Neighbor>& want,
                        const std::vector<float>& base, int dim,
                        const float* query, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  std::set<int64_t> rows;
  for (size_t i = 0; i < want.size(); ++i) {
    const float tolerance = 1e-4f * std::max(1.0f, std::abs(want[i].score));
    EXPECT_NEAR(got[i].score, want[i].score, tolerance)
        << what << " rank " << i;
    if (got[i].row != want[i].row) {
      double exact = 0;
      for (int j = 0; j < dim; ++j) {
        exact += double{base[got[i].row * dim + j]} * query[j];
      }
      EXPECT_NEAR(exact, want[i].score, tolerance)
          << what << " rank " << i << ": row " << got[i].row
          << " where FAISS has row " << want[i].row;
    }
    EXPECT_TRUE(rows.insert(got[i].row).second) << what << ": row twice";
  }
}

// Builds `factory` once, saves it, and loads the file with FAISS's search
// and with each kernel level; every query's results must agree with FAISS's.
void ExpectKernelsMatchFaiss(const std::vector<float>& base, int dim,
                             const std::vector<float>& queries,
                             const std::string& factory,
                             const std::vector<int>& nprobes,
                             const std::vector<int>& ks) {
  const int64_t n = base.size() / dim;
  const int64_t num_queries = queries.size() / dim;
  AnnIndex::Options options = WithFactory(factory);
  auto built = AnnIndex::Build(base.data(), n, dim, options);
  ASSERT_TRUE(built.ok()) << built.status();
  const std::string path = TempPath("parity.faiss");
  ASSERT_TRUE((*built)->Save(path).ok());
  for (int nprobe : nprobes) {
    options.nprobe = nprobe;
    options.scan = Scan::kFaiss;
    auto faiss = AnnIndex::Load(path, options);
    ASSERT_TRUE(faiss.ok()) << faiss.status();
    EXPECT_STREQ((*faiss)->scan_kernel(), "faiss");
    for (const auto& [scan, name] : SupportedKernelScans()) {
      options.scan = scan;
      auto kernel = AnnIndex::Load(path, options);
      ASSERT_TRUE(kernel.ok()) << kernel.status();
      EXPECT_EQ((*kernel)->scan_kernel(), name);
      for (int k : ks) {
        for (int64_t q = 0; q < num_queries; ++q) {
          const float* query = queries.data() + q * dim;
          auto want = (*faiss)->Search(query, k);
          auto got = (*kernel)->Search(query, k);
          ASSERT_TRUE(want.ok() && got.ok());
          ExpectMatchesFaiss(*got, *want, base, dim, query,
                             factory + " dim " + std::to_string(dim) +
                                 " nprobe " + std::to_string(nprobe) + " " +
                                 name + " k " + std::to_string(k) +
                                 " query " + std::to_string(q));
        }
      }
    }
  }
  std::remove(path.c_str());
}

TEST(AnnIndexKernelTest, FlatMatchesFaiss) {
  constexpr int64_t kN = 2003;
  for (int dim : {32, 64, 100, 256}) {
    const std::vector<float> base = RandomVectors(kN, dim, 40 + dim);
    const std::vector<float> queries = RandomVectors(4, dim, 41 + dim);
    ExpectKernelsMatchFaiss(base, dim, queries, "Flat", {1},
                            {1, 10, 500, static_cast<int>(kN) + 50});
  }
}

TEST(AnnIndexKernelTest, IvfMatchesFaiss) {
  constexpr int64_t kN = 6000;
  for (int dim : {32, 64, 100, 256}) {
    const std::vector<float> base = RandomVectors(kN, dim, 50 + dim);
    const std::vector<float> queries = RandomVectors(3, dim, 51 + dim);
    for (const std::string factory : {"IVF16,Flat", "IVF64,Flat"}) {
      // nprobe 1000 is clamped to nlist: every list, so k > n returns all n.
      ExpectKernelsMatchFaiss(base, dim, queries, factory, {1, 4, 16, 1000},
                              {1, 10, 500, static_cast<int>(kN) + 50});
    }
  }
}

// Identical vectors: tied scores. Ours keep and list lower rows first, at
// every level and for Flat and IVF alike; FAISS may order or keep other
// members of a tie, which ExpectMatchesFaiss allows.
TEST(AnnIndexKernelTest, IdenticalVectorsTieToLowerRows) {
  constexpr int kDim = 100;
  constexpr int64_t kDistinct = 400;
  constexpr int kCopies = 5;
  const std::vector<float> distinct = RandomVectors(kDistinct, kDim, 60);
  // Row r is a copy of distinct vector r % kDistinct.
  std::vector<float> base;
  for (int c = 0; c < kCopies; ++c) base.insert(base.end(), distinct.begin(), distinct.end());
  const std::vector<float> queries = RandomVectors(3, kDim, 61);
  for (const std::string factory : {"Flat", "IVF8,Flat"}) {
    ExpectKernelsMatchFaiss(base, kDim, queries, factory, {8},
                            {1, 7, 10, 500, 2500});
    AnnIndex::Options options = WithFactory(factory);
    options.nprobe = 8;  // All lists: exact.
    auto index = AnnIndex::Build(base.data(), kDistinct * kCopies, kDim, options);
    ASSERT_TRUE(index.ok()) << index.status();
    for (int q = 0; q < 3; ++q) {
      // k = 7: the best vector's 5 copies, then 2 of the second best's.
      auto got = (*index)->Search(queries.data() + q * kDim, 7);
      ASSERT_TRUE(got.ok());
      ASSERT_EQ(got->size(), 7u);
      const int64_t best = (*got)[0].row, second = (*got)[5].row;
      for (int c = 0; c < kCopies; ++c) {
        EXPECT_EQ((*got)[c].row, best + c * kDistinct) << factory;
        EXPECT_EQ((*got)[c].score, (*got)[0].score) << factory;
      }
      EXPECT_LT(best, kDistinct);
      EXPECT_LT(second, kDistinct);
      EXPECT_EQ((*got)[6].row, second + kDistinct) << factory;
    }
  }
}

TEST(AnnIndexKernelTest, BatchesAgreeWithSingleSearches) {
  // Exact search switches to FAISS's sgemm at kSgemmMinQueries queries.
  constexpr int kDim = 64;
  constexpr int64_t kN = 3000;
  const std::vector<float> base = RandomVectors(kN, kDim, 70);
  const int64_t num_queries = AnnIndex::kSgemmMinQueries + 5;
  const std::vector<float> queries = RandomVectors(num_queries, kDim, 71);
  for (const std::string factory : {"Flat", "IVF32,Flat"}) {
    for (int threads : {1, 2}) {
      AnnIndex::Options options = WithFactory(factory);
      options.num_threads = threads;
      auto index = AnnIndex::Build(base.data(), kN, kDim, options);
      ASSERT_TRUE(index.ok()) << index.status();
      for (int64_t batch : {int64_t{3}, num_queries}) {
        auto got = (*index)->SearchBatch(queries.data(), batch, 100);
        ASSERT_TRUE(got.ok()) << got.status();
        ASSERT_EQ(got->size(), static_cast<size_t>(batch));
        for (int64_t q = 0; q < batch; ++q) {
          auto one = (*index)->Search(queries.data() + q * kDim, 100);
          ASSERT_TRUE(one.ok());
          ExpectMatchesFaiss((*got)[q], *one, base, kDim,
                             queries.data() + q * kDim,
                             factory + " batch " + std::to_string(batch));
        }
      }
    }
  }
}

TEST(AnnIndexKernelTest, ScanKernelNamesWhatRuns) {
  const std::vector<float> base = RandomVectors(500, 8, 80);
  auto flat = AnnIndex::Build(base.data(), 500, 8, WithFactory("Flat"));
  ASSERT_TRUE(flat.ok());
  EXPECT_STREQ((*flat)->scan_kernel(), SimdLevelName(BestSimdLevel()));
  auto hnsw = AnnIndex::Build(base.data(), 500, 8, WithFactory("HNSW8"));
  ASSERT_TRUE(hnsw.ok());
  EXPECT_STREQ((*hnsw)->scan_kernel(), "faiss");
  if (!SimdLevelSupported(SimdLevel::kAvx512)) {
    AnnIndex::Options options = WithFactory("Flat");
    options.scan = Scan::kAvx512;
    EXPECT_EQ(AnnIndex::Build(base.data(), 500, 8, options).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

// Shard i of K of an index, searched for the same query by each shard and
// merged: the unsharded index's answer, rows and scores, ties included.
// Rows repeat 200 distinct vectors, so many scores tie across shards.
TEST(AnnIndexShardTest, MergedShardsEqualTheUnshardedIndex) {
  constexpr int kDim = 40;
  constexpr int64_t kDistinct = 200;
  constexpr int kCopies = 7;  // 1,400 rows: row r repeats vector r % 200.
  const std::vector<float> distinct = RandomVectors(kDistinct, kDim, 90);
  std::vector<float> base;
  for (int c = 0; c < kCopies; ++c) base.insert(base.end(), distinct.begin(), distinct.end());
  const int64_t n = kDistinct * kCopies;
  const std::vector<float> queries = RandomVectors(5, kDim, 91);
  for (const std::string factory : {"Flat", "IVF16,Flat"}) {
    AnnIndex::Options options = WithFactory(factory);
    options.nprobe = 3;  // IVF: 3 of 16 lists, so the search is approximate.
    auto index = AnnIndex::Build(base.data(), n, kDim, options);
    ASSERT_TRUE(index.ok()) << index.status();
    for (int num_shards : {1, 2, 3}) {
      std::vector<std::unique_ptr<AnnIndex>> shards;
      int64_t rows = 0;
      for (int i = 0; i < num_shards; ++i) {
        auto shard = (*index)->Shard(i, num_shards);
        ASSERT_TRUE(shard.ok()) << shard.status();
        EXPECT_EQ((*shard)->dimension(), kDim);
        EXPECT_EQ((*shard)->factory(), (*index)->factory());
        rows += (*shard)->size();
        shards.push_back(std::move(*shard));
      }
      EXPECT_EQ(rows, n) << factory;
      for (int q = 0; q < 5; ++q) {
        const float* query = queries.data() + q * kDim;
        for (int k : {1, 7, 50, 400}) {
          const std::string where =
              factory + " K=" + std::to_string(num_shards) + " k=" + std::to_string(k);
          auto whole = (*index)->Search(query, k);
          ASSERT_TRUE(whole.ok()) << whole.status();
          std::vector<std::vector<Neighbor>> parts;
          for (int i = 0; i < num_shards; ++i) {
            auto part = shards[i]->Search(query, k);
            ASSERT_TRUE(part.ok()) << part.status();
            for (const Neighbor& nb : *part) {
              ASSERT_EQ(nb.row % num_shards, i) << where;  // global rows
            }
            parts.push_back(std::move(*part));
          }
          const std::vector<Neighbor> merged = MergeNeighbors(parts, k);
          ASSERT_EQ(merged.size(), whole->size()) << where;
          for (size_t j = 0; j < merged.size(); ++j) {
            EXPECT_EQ(merged[j].row, (*whole)[j].row) << where << " rank " << j;
            EXPECT_EQ(merged[j].score, (*whole)[j].score) << where << " rank " << j;
          }
          // Ties do occur in these answers: a vector's copies follow it.
          if (k >= 7) {
            EXPECT_EQ((*whole)[0].score, (*whole)[1].score) << where;
          }
        }
      }
    }
  }
}

TEST(AnnIndexShardTest, ShardSearchesBatchesAndCopiesOfTheIndexAlike) {
  constexpr int kDim = 16;
  constexpr int64_t kN = 900;
  const std::vector<float> base = RandomVectors(kN, kDim, 92);
  const int64_t num_queries = AnnIndex::kSgemmMinQueries + 1;  // Flat: FAISS's sgemm
  const std::vector<float> queries = RandomVectors(num_queries, kDim, 93);
  for (const std::string factory : {"Flat", "IVF8,Flat"}) {
    auto index = AnnIndex::Build(base.data(), kN, kDim, WithFactory(factory));
    ASSERT_TRUE(index.ok()) << index.status();
    auto shard = (*index)->Shard(1, 2);
    ASSERT_TRUE(shard.ok()) << shard.status();
    index->reset();  // The shard does not need the index it came from.
    auto batch = (*shard)->SearchBatch(queries.data(), num_queries, 10);
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (int64_t q = 0; q < num_queries; ++q) {
      auto one = (*shard)->Search(queries.data() + q * kDim, 10);
      ASSERT_TRUE(one.ok());
      ASSERT_EQ((*batch)[q].size(), one->size()) << factory;
      for (size_t j = 0; j < one->size(); ++j) {
        EXPECT_EQ((*batch)[q][j].row, (*one)[j].row) << factory;
        EXPECT_EQ((*one)[j].row % 2, 1) << factory;
        EXPECT_NEAR((*batch)[q][j].score, (*one)[j].score, 1e-4) << factory;
      }
    }
  }
}

TEST(AnnIndexShardTest, BadShardsAndStructuresAreErrors) {
  const std::vector<float> base = RandomVectors(300, 8, 94);
  auto flat = AnnIndex::Build(base.data(), 300, 8, WithFactory("Flat"));
  ASSERT_TRUE(flat.ok());
  for (const auto& [index, count] : std::vector<std::pair<int, int>>{
           {0, 0}, {-1, 2}, {2, 2}, {5, 3}}) {
    EXPECT_EQ((*flat)->Shard(index, count).status().code(),
              absl::StatusCode::kInvalidArgument)
        << index << " of " << count;
  }
  auto hnsw = AnnIndex::Build(base.data(), 300, 8, WithFactory("HNSW8"));
  ASSERT_TRUE(hnsw.ok());
  EXPECT_EQ((*hnsw)->Shard(0, 2).status().code(), absl::StatusCode::kUnimplemented);
  // More shards than rows: an empty shard answers nothing.
  auto empty = (*flat)->Shard(350, 400);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->size(), 0);
  auto none = (*empty)->Search(base.data(), 5);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto last = (*flat)->Shard(300 - 1, 300);
  ASSERT_TRUE(last.ok());
  auto got = (*last)->Search(base.data(), 5);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].row, 299);
  // A Flat shard's rows are not in a FAISS file: it is not saved.
  auto shard = (*flat)->Shard(0, 2);
  ASSERT_TRUE(shard.ok());
  EXPECT_EQ((*shard)->Save(TempPath("flat_shard.faiss")).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(AnnIndexShardTest, MergeNeighborsOrdersByScoreThenRow) {
  const std::vector<std::vector<Neighbor>> lists = {
      {{4, 0.9f}, {2, 0.5f}, {8, 0.1f}},
      {{7, 0.9f}, {1, 0.5f}},
      {},
      {{3, 0.95f}}};
  const std::vector<Neighbor> top = MergeNeighbors(lists, 4);
  ASSERT_EQ(top.size(), 4u);
  const std::vector<int64_t> rows = {top[0].row, top[1].row, top[2].row, top[3].row};
  EXPECT_EQ(rows, (std::vector<int64_t>{3, 4, 7, 1}));
  EXPECT_EQ(MergeNeighbors(lists, 100).size(), 6u);
  EXPECT_TRUE(MergeNeighbors(lists, 0).empty());
}

}  // namespace
}  // namespace recsys
