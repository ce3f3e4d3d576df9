// Retrieval as served: one query at a time on one thread, k in the hundreds,
// over N synthetic video vectors shaped like the real index (`dim`
// embedding dimensions plus a bias column; queries end in a 1, as
// `CandidateModel::AnnQuery` does). For each index structure it prints
// recall@k against exact search, per-query latency (p50 / p99 / mean, in
// milliseconds), build time (seconds) and the index's size (the bytes
// `AnnIndex::Save` writes, a close approximation of its memory).
//
// Flat and IVF-Flat rows are measured once per `--scans` entry on the same
// index file: FAISS's own search ("faiss"; Debian's build scans with a scalar
// loop) next to our SIMD kernels ("auto" = the widest level this CPU runs, or
// "avx512", "avx2", "scalar"). GB/s is bytes of vectors read per query over
// the mean latency: N * width * 4 for Flat; for IVF an estimate from average
// list sizes, (nlist + nprobe * N / nlist) * width * 4 + nprobe * N / nlist
// * 8 (centroids, probed vectors, their ids). `--batch_sizes` adds a table of
// exact search per query through SearchBatch (FAISS's sgemm path at
// AnnIndex::kSgemmMinQueries queries and up) against the kernel one query
// at a time: where batching pays.
//
//   bazel build -c opt //benchmarks:ann_benchmark
//   OMP_WAIT_POLICY=PASSIVE bazel-bin/benchmarks/ann_benchmark --k=500
//
// The machines are shared and noisy (about +-15% between runs), so the same
// run also measures two references to compare against as ratios: OpenBLAS
// single-thread sgemm 512x1024x1024 GFLOP/s (a compute ceiling) and the exact
// search's effective GFLOP/s and GB/s (2 * N * width flops and N * width * 4
// bytes per query).
//
// The data are clustered Gaussians with a fixed seed, so that IVF behaves as
// on learned embeddings rather than on uniform noise (where IVF cannot
// prune): `--num_clusters` centres with about unit norm, each vector its
// centre plus isotropic noise of norm `--cluster_spread` times the centre's,
// scaled by a log-normal factor (embedding norms vary with popularity), and
// a bias column N(0, 0.1^2). Queries are drawn from the same mixture. Recall
// on real embeddings depends on their structure; treat these numbers as the
// shape of the trade-off, not a promise.

#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/serving/ann_index.h"
#include "benchmarks/benchmark_util.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"

ABSL_FLAG(int64_t, num_vectors, 1000000, "Vectors in the index (videos).");
ABSL_FLAG(int, dim, 256,
          "Embedding dimensions; the index holds dim + 1 with --bias.");
ABSL_FLAG(bool, bias, true,
          "Append a bias column to every vector and a 1 to every query, as the "
          "serving index does.");
ABSL_FLAG(int, k, 500, "Neighbours per query (candidates retrieved).");
ABSL_FLAG(int, queries, 200, "Timed queries, searched one at a time.");
ABSL_FLAG(int, warmup_queries, 10,
          "Untimed queries run against each index setting before timing.");
ABSL_FLAG(int, num_clusters, 1000, "Gaussian clusters in the synthetic data.");
ABSL_FLAG(double, cluster_spread, 1.0,
          "Norm of a vector's noise relative to its cluster centre's.");
ABSL_FLAG(uint64_t, seed, 42, "Seed of the synthetic data and queries.");
ABSL_FLAG(int, nlist, 0,
          "Inverted lists of the IVF index; 0 = AnnIndex's \"auto\" choice "
          "(4096 at 1M vectors); -1 skips IVF.");
ABSL_FLAG(std::vector<std::string>, nprobe, std::vector<std::string>({"8", "16", "32", "64"}),
          "IVF nprobe values to measure.");
ABSL_FLAG(std::string, hnsw, "auto",
          "Measure HNSW: true, false, or auto (only when --num_vectors <= "
          "200000: building HNSW32 over 1M vectors takes 10+ minutes on 2 "
          "cores).");
ABSL_FLAG(int, hnsw_m, 32, "HNSW graph degree M (efConstruction is FAISS's 40).");
ABSL_FLAG(std::vector<std::string>, ef_search,
          std::vector<std::string>({"500", "1000", "2000"}),
          "HNSW efSearch values to measure.");
ABSL_FLAG(std::vector<std::string>, scans,
          std::vector<std::string>({"faiss", "auto"}),
          "What scans Flat and IVF-Flat indexes, one row each on the same "
          "index: faiss (FAISS's own search), auto (our SIMD kernels at the "
          "widest level), avx512, avx2, scalar.");
ABSL_FLAG(std::vector<std::string>, batch_sizes,
          std::vector<std::string>({"20", "64", "200"}),
          "Exact-search batch sizes to time through SearchBatch (FAISS's "
          "sgemm path) against the kernel one query at a time; sizes above "
          "--queries are skipped. Empty: no batch table.");
ABSL_FLAG(std::string, tmp_dir, "/tmp",
          "Where indexes are written to measure their size and reloaded with "
          "other knobs; the files are removed afterwards.");

namespace recsys {
namespace {

constexpr int64_t kHnswAutoMaxVectors = 200000;

struct BenchmarkOptions {
  int64_t num_vectors = 0;
  int dim = 0;
  bool bias = true;
  int k = 0;
  int queries = 0;
  int warmup_queries = 0;
  int num_clusters = 0;
  double cluster_spread = 0;
  uint64_t seed = 0;
  int nlist = 0;  // 0: auto, < 0: no IVF.
  std::vector<int> nprobe;
  bool hnsw = false;
  int hnsw_m = 0;
  std::vector<int> ef_search;
  std::vector<std::string> scans;  // Validated by ParseScan.
  std::vector<int> batch_sizes;
  std::string tmp_dir;

  int width() const { return dim + (bias ? 1 : 0); }
};

// Row-major [rows, width()] vectors and [queries, width()] queries.
struct Dataset {
  std::vector<float> vectors;
  std::vector<float> queries;
};

Dataset MakeDataset(const BenchmarkOptions& options) {
  const int dim = options.dim, width = options.width();
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  const float unit = 1.0f / std::sqrt(static_cast<float>(dim));
  std::vector<float> centres(static_cast<size_t>(options.num_clusters) * dim);
  for (float& x : centres) x = gauss(rng) * unit;
  std::uniform_int_distribution<int> pick(0, options.num_clusters - 1);
  std::lognormal_distribution<float> norm_scale(0.0f, 0.25f);
  const float noise = static_cast<float>(options.cluster_spread) * unit;

  // One mixture sample into `out` (width `width`); `query` ends in 1.
  auto sample = [&](float* out, bool query) {
    const float* centre = centres.data() + static_cast<size_t>(pick(rng)) * dim;
    const float scale = query ? 1.0f : norm_scale(rng);
    for (int j = 0; j < dim; ++j) {
      out[j] = scale * (centre[j] + noise * gauss(rng));
    }
    if (options.bias) out[dim] = query ? 1.0f : 0.1f * gauss(rng);
  };
  Dataset data;
  data.vectors.resize(static_cast<size_t>(options.num_vectors) * width);
  for (int64_t i = 0; i < options.num_vectors; ++i) {
    sample(data.vectors.data() + i * width, /*query=*/false);
  }
  data.queries.resize(static_cast<size_t>(options.queries) * width);
  for (int i = 0; i < options.queries; ++i) {
    sample(data.queries.data() + static_cast<size_t>(i) * width,
           /*query=*/true);
  }
  return data;
}

bool ParseScan(const std::string& name, AnnIndex::Options::Scan* scan) {
  using Scan = AnnIndex::Options::Scan;
  if (name == "faiss") *scan = Scan::kFaiss;
  else if (name == "auto") *scan = Scan::kAuto;
  else if (name == "avx512") *scan = Scan::kAvx512;
  else if (name == "avx2") *scan = Scan::kAvx2;
  else if (name == "scalar") *scan = Scan::kScalar;
  else return false;
  return true;
}

struct Row {
  std::string index, setting, scan;
  double recall = 0;
  double p50_ms = 0, p99_ms = 0, mean_ms = 0;
  double bytes_per_query = 0;  // Vectors (and ids) read; see the top comment.
  double build_s = -1;     // < 0: not built in this row (same index reloaded).
  int64_t bytes = -1;      // < 0: as the row above.
};

// Runs the warm-up and the timed queries one at a time; `results` receives
// each query's rows.
absl::Status TimeQueries(const AnnIndex& index, const Dataset& data,
                         const BenchmarkOptions& options, Row* row,
                         std::vector<std::vector<int64_t>>* results) {
  const int width = options.width();
  for (int i = 0; i < options.warmup_queries; ++i) {
    const float* q =
        data.queries.data() + static_cast<size_t>(i % options.queries) * width;
    absl::StatusOr<std::vector<Neighbor>> r = index.Search(q, options.k);
    if (!r.ok()) return r.status();
  }
  std::vector<double> ms;
  results->assign(options.queries, {});
  for (int i = 0; i < options.queries; ++i) {
    const float* q = data.queries.data() + static_cast<size_t>(i) * width;
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::vector<Neighbor>> r = index.Search(q, options.k);
    const auto stop = std::chrono::steady_clock::now();
    if (!r.ok()) return r.status();
    ms.push_back(1e3 * Seconds(stop - start));
    for (const Neighbor& n : *r) (*results)[i].push_back(n.row);
  }
  double sum = 0;
  for (double x : ms) sum += x;
  row->mean_ms = sum / ms.size();
  std::sort(ms.begin(), ms.end());
  row->p50_ms = Percentile(ms, 0.50);
  row->p99_ms = Percentile(ms, 0.99);
  return absl::OkStatus();
}

// Mean over queries of |approx ∩ exact| / |exact|.
double Recall(const std::vector<std::vector<int64_t>>& exact,
              const std::vector<std::vector<int64_t>>& approx) {
  double total = 0;
  for (size_t i = 0; i < exact.size(); ++i) {
    const std::unordered_set<int64_t> truth(exact[i].begin(), exact[i].end());
    int64_t hits = 0;
    for (int64_t row : approx[i]) hits += truth.count(row);
    total += truth.empty() ? 1.0 : static_cast<double>(hits) / truth.size();
  }
  return total / exact.size();
}

// Bytes of `index` as `Save` writes it.
absl::StatusOr<int64_t> SavedBytes(const AnnIndex& index,
                                   const std::string& path) {
  if (absl::Status s = index.Save(path); !s.ok()) return s;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::InternalError(absl::StrCat("cannot open ", path));
  std::fseek(f, 0, SEEK_END);
  const int64_t bytes = std::ftell(f);
  std::fclose(f);
  return bytes;
}

// Bytes a query reads from an index `factory` at `nprobe` (see the file
// comment; an estimate for IVF).
double BytesPerQuery(const std::string& factory, int nprobe,
                     const BenchmarkOptions& options) {
  const double n = options.num_vectors, row = 4.0 * options.width();
  int64_t nlist = 0;
  if (factory.rfind("IVF", 0) != 0 ||
      !absl::SimpleAtoi(factory.substr(3, factory.find(',') - 3), &nlist) ||
      nlist <= 0) {
    return n * row;  // Flat (HNSW rows print no GB/s).
  }
  const double probed = std::min<double>(nprobe, nlist) * n / nlist;
  return nlist * row + probed * (row + 8.0);
}

// Builds `factory` once and saves it, then measures it at each runtime knob
// value (`knobs` are nprobe or efSearch values) and, for Flat and IVF-Flat,
// each of `options.scans`, each on the index file loaded with that knob and
// scan. Appends one row per knob and scan.
absl::Status MeasureIndex(const std::string& factory, const char* knob_name,
                          const std::vector<int>& knobs, const Dataset& data,
                          const BenchmarkOptions& options,
                          const std::vector<std::vector<int64_t>>& exact,
                          std::vector<Row>* rows) {
  const std::string path = absl::StrCat(options.tmp_dir, "/ann_benchmark.",
                                        getpid(), ".index");
  AnnIndex::Options index_options;
  index_options.factory = factory;
  index_options.num_threads = 1;
  Row build_row;
  {
    spdlog::info("building {} ...", factory);
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::unique_ptr<AnnIndex>> index = AnnIndex::Build(
        data.vectors.data(), options.num_vectors, options.width(),
        index_options);
    build_row.build_s = Seconds(std::chrono::steady_clock::now() - start);
    if (!index.ok()) return index.status();
    absl::StatusOr<int64_t> bytes = SavedBytes(**index, path);
    if (!bytes.ok()) return bytes.status();
    build_row.bytes = *bytes;
  }
  const bool hnsw = std::string(knob_name) == "efSearch";
  const std::vector<std::string> scans =
      hnsw ? std::vector<std::string>{"faiss"} : options.scans;
  bool first_row = true;
  for (size_t i = 0; i < knobs.size(); ++i) {
    if (hnsw) {
      index_options.ef_search = knobs[i];
    } else {
      index_options.nprobe = knobs[i];
    }
    for (const std::string& scan : scans) {
      ParseScan(scan, &index_options.scan);
      Row row;
      if (first_row) {
        row.build_s = build_row.build_s;
        row.bytes = build_row.bytes;
        first_row = false;
      }
      row.setting = absl::StrCat(knob_name, " ", knobs[i]);
      absl::StatusOr<std::unique_ptr<AnnIndex>> index =
          AnnIndex::Load(path, index_options);
      if (!index.ok()) return index.status();
      row.index = (*index)->factory();
      row.scan = (*index)->scan_kernel();
      if (!hnsw) row.bytes_per_query = BytesPerQuery(factory, knobs[i], options);
      std::vector<std::vector<int64_t>> results;
      if (absl::Status s = TimeQueries(**index, data, options, &row, &results);
          !s.ok()) {
        return s;
      }
      row.recall = Recall(exact, results);
      spdlog::info("  {} {} {}: recall {:.4f}, p50 {:.3f} ms, p99 {:.3f} ms",
                   row.index, row.setting, row.scan, row.recall, row.p50_ms,
                   row.p99_ms);
      rows->push_back(row);
    }
  }
  std::remove(path.c_str());
  return absl::OkStatus();
}

std::string FormatBytes(int64_t bytes) {
  if (bytes < 0) return "";
  if (bytes >= (int64_t{1} << 30)) {
    return absl::StrFormat("%.2f GiB", bytes / double(int64_t{1} << 30));
  }
  return absl::StrFormat("%.0f MiB", bytes / double(int64_t{1} << 20));
}

void PrintTable(const std::vector<Row>& rows, int k) {
  std::printf(
      "| index | setting | scan | recall@%d vs exact | p50 ms | p99 ms | "
      "mean ms | GB/s scanned | build s | index bytes |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n",
      k);
  for (const Row& r : rows) {
    std::printf(
        "| %s | %s | %s | %.4f | %.3f | %.3f | %.3f | %s | %s | %s |\n",
        r.index.c_str(), r.setting.c_str(), r.scan.c_str(), r.recall,
        r.p50_ms, r.p99_ms, r.mean_ms,
        r.bytes_per_query <= 0
            ? ""
            : absl::StrFormat("%.1f", r.bytes_per_query * 1e-6 / r.mean_ms)
                  .c_str(),
        r.build_s < 0 ? "" : absl::StrFormat("%.1f", r.build_s).c_str(),
        FormatBytes(r.bytes).c_str());
  }
}

// Exact search per query: SearchBatch of `batch` queries (FAISS's sgemm path
// from AnnIndex::kSgemmMinQueries up) on `faiss`, against `kernel`'s
// Search one query at a time over the same queries. Milliseconds per query,
// best of 3 passes over all whole batches in --queries.
absl::Status PrintBatchTable(const AnnIndex& faiss, const AnnIndex& kernel,
                             const Dataset& data,
                             const BenchmarkOptions& options) {
  std::printf(
      "\n| exact search, 1 thread | batch | FAISS SearchBatch ms/query | "
      "%s kernel ms/query | kernel / FAISS |\n|---|---|---|---|---|\n",
      kernel.scan_kernel());
  const int width = options.width();
  for (int batch : options.batch_sizes) {
    if (batch > options.queries) continue;
    const int64_t batches = options.queries / batch;
    double faiss_ms = 1e30, kernel_ms = 1e30;
    for (int pass = 0; pass < 3; ++pass) {
      auto start = std::chrono::steady_clock::now();
      for (int64_t b = 0; b < batches; ++b) {
        auto r = faiss.SearchBatch(
            data.queries.data() + b * batch * width, batch, options.k);
        if (!r.ok()) return r.status();
      }
      faiss_ms = std::min(faiss_ms,
                          1e3 * Seconds(std::chrono::steady_clock::now() - start) /
                              (batches * batch));
      start = std::chrono::steady_clock::now();
      for (int64_t q = 0; q < batches * batch; ++q) {
        auto r = kernel.Search(data.queries.data() + q * width, options.k);
        if (!r.ok()) return r.status();
      }
      kernel_ms = std::min(kernel_ms,
                           1e3 * Seconds(std::chrono::steady_clock::now() - start) /
                               (batches * batch));
    }
    std::printf("| %s | %d | %.3f | %.3f | %.2f |\n", faiss.factory().c_str(),
                batch, faiss_ms, kernel_ms, kernel_ms / faiss_ms);
  }
  return absl::OkStatus();
}

absl::Status Run(const BenchmarkOptions& options) {
  const int width = options.width();
  std::printf(
      "# %lld vectors x %d (%d dims%s), %d clusters, spread %.2f, seed %llu; "
      "k = %d, %d queries one at a time on one thread; OMP_WAIT_POLICY=%s\n",
      static_cast<long long>(options.num_vectors), width, options.dim,
      options.bias ? " + bias" : "", options.num_clusters,
      options.cluster_spread, static_cast<unsigned long long>(options.seed),
      options.k, options.queries,
      std::getenv("OMP_WAIT_POLICY") ? std::getenv("OMP_WAIT_POLICY")
                                     : "(unset)");
  const double sgemm = SgemmGflops();
  std::printf("# sgemm 512x1024x1024, 1 thread: %.1f GFLOP/s (OpenBLAS %s)\n",
              sgemm, openblas_get_corename());
  std::fflush(stdout);

  spdlog::info("generating data ...");
  auto start = std::chrono::steady_clock::now();
  const Dataset data = MakeDataset(options);
  spdlog::info("generated data in {:.1f} s",
               Seconds(std::chrono::steady_clock::now() - start));

  // Exact search: FAISS's own is the ground truth and the first row; the
  // other scans follow on the same index file.
  std::vector<Row> rows;
  std::vector<std::vector<int64_t>> exact;
  {
    AnnIndex::Options flat;
    flat.factory = "Flat";
    flat.num_threads = 1;
    flat.scan = AnnIndex::Options::Scan::kFaiss;
    Row row;
    row.setting = "exact";
    spdlog::info("building Flat ...");
    start = std::chrono::steady_clock::now();
    absl::StatusOr<std::unique_ptr<AnnIndex>> faiss = AnnIndex::Build(
        data.vectors.data(), options.num_vectors, width, flat);
    row.build_s = Seconds(std::chrono::steady_clock::now() - start);
    if (!faiss.ok()) return faiss.status();
    row.index = (*faiss)->factory();
    row.scan = (*faiss)->scan_kernel();
    if (absl::Status s = TimeQueries(**faiss, data, options, &row, &exact);
        !s.ok()) {
      return s;
    }
    row.recall = 1.0;
    // Flat stores exactly the vectors (plus a small header).
    row.bytes = options.num_vectors * width * int64_t{sizeof(float)};
    row.bytes_per_query = BytesPerQuery("Flat", 0, options);
    rows.push_back(row);
    const double flops = 2.0 * options.num_vectors * width;
    const double bytes = 4.0 * options.num_vectors * width;
    std::printf(
        "# exact search (FAISS), 1 thread: %.2f GFLOP/s effective (%.1f%% of "
        "sgemm), %.1f GB/s of vectors scanned\n",
        flops * 1e-6 / row.mean_ms, 100.0 * flops * 1e-6 / row.mean_ms / sgemm,
        bytes * 1e-6 / row.mean_ms);
    std::fflush(stdout);

    const std::string path = absl::StrCat(options.tmp_dir, "/ann_benchmark.",
                                          getpid(), ".flat");
    if (absl::Status s = (*faiss)->Save(path); !s.ok()) return s;
    std::unique_ptr<AnnIndex> kernel;
    for (const std::string& scan : options.scans) {
      if (scan == "faiss") continue;
      ParseScan(scan, &flat.scan);
      absl::StatusOr<std::unique_ptr<AnnIndex>> index =
          AnnIndex::Load(path, flat);
      if (!index.ok()) return index.status();
      Row kernel_row;
      kernel_row.index = (*index)->factory();
      kernel_row.setting = "exact";
      kernel_row.scan = (*index)->scan_kernel();
      kernel_row.bytes_per_query = row.bytes_per_query;
      std::vector<std::vector<int64_t>> results;
      if (absl::Status s =
              TimeQueries(**index, data, options, &kernel_row, &results);
          !s.ok()) {
        return s;
      }
      kernel_row.recall = Recall(exact, results);
      std::printf(
          "# exact search (%s kernel), 1 thread: %.2f GFLOP/s effective "
          "(%.1f%% of sgemm), %.1f GB/s of vectors scanned\n",
          kernel_row.scan.c_str(), flops * 1e-6 / kernel_row.mean_ms,
          100.0 * flops * 1e-6 / kernel_row.mean_ms / sgemm,
          bytes * 1e-6 / kernel_row.mean_ms);
      std::fflush(stdout);
      rows.push_back(kernel_row);
      if (kernel == nullptr) kernel = std::move(*index);
    }
    std::remove(path.c_str());
    if (kernel != nullptr && !options.batch_sizes.empty()) {
      if (absl::Status s = PrintBatchTable(**faiss, *kernel, data, options);
          !s.ok()) {
        return s;
      }
    }
  }

  if (options.nlist >= 0) {
    const std::string factory =
        options.nlist == 0
            ? AnnIndex::ResolveFactory("auto", options.num_vectors)
            : absl::StrCat("IVF", options.nlist, ",Flat");
    if (factory != "Flat") {
      if (absl::Status s = MeasureIndex(factory, "nprobe", options.nprobe,
                                        data, options, exact, &rows);
          !s.ok()) {
        return s;
      }
    }
  }
  if (options.hnsw) {
    if (absl::Status s =
            MeasureIndex(absl::StrCat("HNSW", options.hnsw_m), "efSearch",
                         options.ef_search, data, options, exact, &rows);
        !s.ok()) {
      return s;
    }
  }
  std::printf("\n");
  PrintTable(rows, options.k);
  return absl::OkStatus();
}

bool ParseInts(const std::vector<std::string>& texts, std::vector<int>* out) {
  out->clear();
  for (const std::string& t : texts) {
    int v = 0;
    if (!absl::SimpleAtoi(t, &v) || v <= 0) return false;
    out->push_back(v);
  }
  return !out->empty();
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  // libgomp and OpenBLAS read their settings once, when they load: set them
  // before a re-exec, not after.
  recsys::ReexecWithTunedCpuEnvironment(argv);
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Measures maximum-inner-product retrieval as served (one query at a "
      "time, one thread) over synthetic clustered vectors: recall@k vs exact, "
      "p50/p99/mean latency, build time and index size for Flat, "
      "IVF<nlist>,Flat at several nprobe and HNSW at several efSearch, plus "
      "a single-thread sgemm reference. Flat and IVF-Flat are measured with "
      "FAISS's own search and with our SIMD kernels (--scans) on the same "
      "index, with GB/s of vectors scanned; --batch_sizes times exact "
      "SearchBatch (FAISS's sgemm) against the kernel.\n\n"
      "  OMP_WAIT_POLICY=PASSIVE ann_benchmark --num_vectors=1000000 "
      "--dim=256 --k=500\n\n"
      "Run with OMP_WAIT_POLICY=PASSIVE: FAISS builds with OpenMP, whose idle "
      "threads otherwise busy-wait and steal the core the timed single-thread "
      "queries run on. If it is unset, the tool re-executes itself once with "
      "PASSIVE, and with OPENBLAS_CORETYPE set to the kernels this CPU runs "
      "(Debian's OpenBLAS 0.3.21 does not recognise recent Xeons).");

  recsys::BenchmarkOptions options;
  options.num_vectors = absl::GetFlag(FLAGS_num_vectors);
  options.dim = absl::GetFlag(FLAGS_dim);
  options.bias = absl::GetFlag(FLAGS_bias);
  options.k = absl::GetFlag(FLAGS_k);
  options.queries = absl::GetFlag(FLAGS_queries);
  options.warmup_queries = absl::GetFlag(FLAGS_warmup_queries);
  options.num_clusters = absl::GetFlag(FLAGS_num_clusters);
  options.cluster_spread = absl::GetFlag(FLAGS_cluster_spread);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.nlist = absl::GetFlag(FLAGS_nlist);
  options.hnsw_m = absl::GetFlag(FLAGS_hnsw_m);
  options.tmp_dir = absl::GetFlag(FLAGS_tmp_dir);
  options.scans = absl::GetFlag(FLAGS_scans);
  for (const std::string& scan : options.scans) {
    recsys::AnnIndex::Options::Scan parsed;
    if (!recsys::ParseScan(scan, &parsed)) {
      spdlog::error(
          "ann_benchmark: --scans takes faiss, auto, avx512, avx2, scalar; "
          "got {}", scan);
      return 2;
    }
  }
  if (!absl::GetFlag(FLAGS_batch_sizes).empty() &&
      !recsys::ParseInts(absl::GetFlag(FLAGS_batch_sizes),
                         &options.batch_sizes)) {
    spdlog::error("ann_benchmark: --batch_sizes is a list of positive integers");
    return 2;
  }
  const std::string hnsw = absl::GetFlag(FLAGS_hnsw);
  if (hnsw == "auto") {
    options.hnsw = options.num_vectors <= recsys::kHnswAutoMaxVectors;
  } else if (hnsw == "true" || hnsw == "false") {
    options.hnsw = hnsw == "true";
  } else {
    spdlog::error("ann_benchmark: --hnsw must be true, false or auto");
    return 2;
  }
  if (options.num_vectors <= 0 || options.dim <= 0 || options.k <= 0 ||
      options.queries <= 0 || options.warmup_queries < 0 ||
      options.num_clusters <= 0 || options.cluster_spread < 0 ||
      options.hnsw_m <= 0) {
    spdlog::error(
        "ann_benchmark: --num_vectors, --dim, --k, --queries, "
        "--num_clusters and --hnsw_m must be > 0; --warmup_queries "
        "and --cluster_spread >= 0");
    return 2;
  }
  if (!recsys::ParseInts(absl::GetFlag(FLAGS_nprobe), &options.nprobe) ||
      !recsys::ParseInts(absl::GetFlag(FLAGS_ef_search), &options.ef_search)) {
    spdlog::error(
        "ann_benchmark: --nprobe and --ef_search are lists of "
        "positive integers, e.g. --nprobe=8,16,32");
    return 2;
  }
  if (absl::Status s = recsys::Run(options); !s.ok()) {
    spdlog::error("ann_benchmark: {}", s.ToString());
    return 1;
  }
  return 0;
}
