#include "common/serving/ann_index.h"

#include <cxxabi.h>
#include <faiss/IVFlib.h>
#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/invlists/InvertedLists.h>
#include <omp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <numeric>
#include <optional>
#include <random>
#include <typeinfo>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/serving/simd_scan.h"

namespace recsys {
namespace {

// Seed of the training sample, fixed so that builds are reproducible.
constexpr uint64_t kTrainSampleSeed = 0x5eed;

// Limits OpenMP to `num_threads` on the calling thread for its lifetime.
// OpenMP keeps the thread-count setting (nthreads-var) per thread, so this
// does not affect concurrent callers on other threads.
class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads(int num_threads)
      : previous_(omp_get_max_threads()) {
    omp_set_num_threads(num_threads);
  }
  ~ScopedOmpThreads() { omp_set_num_threads(previous_); }
  ScopedOmpThreads(const ScopedOmpThreads&) = delete;
  ScopedOmpThreads& operator=(const ScopedOmpThreads&) = delete;

 private:
  const int previous_;
};

absl::Status ValidateOptions(const AnnIndex::Options& options) {
  if (options.nprobe <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("nprobe must be > 0, got ", options.nprobe));
  }
  if (options.ef_search <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ef_search must be > 0, got ", options.ef_search));
  }
  if (options.num_threads <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_threads must be > 0, got ", options.num_threads));
  }
  if ((options.scan == AnnIndex::Options::Scan::kAvx2 &&
       !SimdLevelSupported(SimdLevel::kAvx2)) ||
      (options.scan == AnnIndex::Options::Scan::kAvx512 &&
       !SimdLevelSupported(SimdLevel::kAvx512))) {
    return absl::InvalidArgumentError(
        "this CPU does not run the requested SIMD scan level");
  }
  return absl::OkStatus();
}

// The kernel level `scan` asks for; none for FAISS's own search.
std::optional<SimdLevel> KernelLevel(AnnIndex::Options::Scan scan) {
  switch (scan) {
    case AnnIndex::Options::Scan::kAuto:
      return BestSimdLevel();
    case AnnIndex::Options::Scan::kFaiss:
      return std::nullopt;
    case AnnIndex::Options::Scan::kScalar:
      return SimdLevel::kScalar;
    case AnnIndex::Options::Scan::kAvx2:
      return SimdLevel::kAvx2;
    case AnnIndex::Options::Scan::kAvx512:
      return SimdLevel::kAvx512;
  }
  return std::nullopt;
}

// The storage of an inner-product "Flat" index, or null for other indexes.
const float* FlatRows(const faiss::Index& index) {
  const auto* flat = dynamic_cast<const faiss::IndexFlat*>(&index);
  if (flat == nullptr || flat->metric_type != faiss::METRIC_INNER_PRODUCT) {
    return nullptr;
  }
  return flat->get_xb();
}

// Pointers into an inner-product IndexIVFFlat whose coarse quantizer is an
// inner-product IndexFlat and whose lists are in memory: the layout our IVF
// kernel reads. None for any other structure (which FAISS searches).
std::optional<IvfView> IvfFlatView(const faiss::Index& index) {
  // Exactly IndexIVFFlat: subclasses (IndexIVFFlatDedup) search otherwise.
  if (typeid(index) != typeid(faiss::IndexIVFFlat) ||
      index.metric_type != faiss::METRIC_INNER_PRODUCT) {
    return std::nullopt;
  }
  const auto& ivf = static_cast<const faiss::IndexIVFFlat&>(index);
  const auto* quantizer = dynamic_cast<const faiss::IndexFlat*>(ivf.quantizer);
  const auto* lists =
      dynamic_cast<const faiss::ArrayInvertedLists*>(ivf.invlists);
  if (quantizer == nullptr ||
      quantizer->metric_type != faiss::METRIC_INNER_PRODUCT ||
      quantizer->d != ivf.d ||
      quantizer->ntotal != static_cast<faiss::Index::idx_t>(ivf.nlist) ||
      lists == nullptr || lists->nlist != ivf.nlist ||
      lists->code_size != ivf.d * sizeof(float)) {
    return std::nullopt;
  }
  IvfView view;
  view.dim = ivf.d;
  view.nlist = static_cast<int64_t>(ivf.nlist);
  view.centroids = quantizer->get_xb();
  view.lists.reserve(ivf.nlist);
  for (size_t l = 0; l < ivf.nlist; ++l) {
    static_assert(sizeof(faiss::Index::idx_t) == sizeof(int64_t));
    view.lists.push_back(InvertedListView{
        reinterpret_cast<const float*>(lists->codes[l].data()),
        reinterpret_cast<const int64_t*>(lists->ids[l].data()),
        static_cast<int64_t>(lists->ids[l].size())});
  }
  return view;
}

// The `nprobe` and `efSearch` knobs, on the index or on the HNSW quantizer
// of an IVF index.
void ApplyRuntimeKnobs(faiss::Index* index, const AnnIndex::Options& options) {
  if (faiss::IndexIVF* ivf = faiss::ivflib::try_extract_index_ivf(index)) {
    ivf->nprobe = std::min<size_t>(options.nprobe, ivf->nlist);
    if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(ivf->quantizer)) {
      hnsw->hnsw.efSearch = options.ef_search;
    }
  }
  if (auto* hnsw = dynamic_cast<faiss::IndexHNSW*>(index)) {
    hnsw->hnsw.efSearch = options.ef_search;
  }
}

std::string ClassName(const faiss::Index& index) {
  const char* mangled = typeid(index).name();
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  return name;
}

// Rebuilds the factory string of a loaded index for the structures this
// project uses; other structures are named by their FAISS class.
std::string DescribeIndex(const faiss::Index& index) {
  if (dynamic_cast<const faiss::IndexFlat*>(&index) != nullptr) return "Flat";
  if (const auto* hnsw = dynamic_cast<const faiss::IndexHNSWFlat*>(&index)) {
    return absl::StrCat("HNSW", hnsw->hnsw.nb_neighbors(1));
  }
  if (const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(&index)) {
    std::string coarse = absl::StrCat("IVF", ivf->nlist);
    if (const auto* hnsw =
            dynamic_cast<const faiss::IndexHNSWFlat*>(ivf->quantizer)) {
      absl::StrAppend(&coarse, "_HNSW", hnsw->hnsw.nb_neighbors(1));
    } else if (dynamic_cast<const faiss::IndexFlat*>(ivf->quantizer) ==
               nullptr) {
      return ClassName(index);
    }
    if (dynamic_cast<const faiss::IndexIVFFlat*>(&index) != nullptr) {
      return absl::StrCat(coarse, ",Flat");
    }
    if (const auto* pq = dynamic_cast<const faiss::IndexIVFPQ*>(&index)) {
      std::string code = absl::StrCat(coarse, ",PQ", pq->pq.M);
      if (pq->pq.nbits != 8) absl::StrAppend(&code, "x", pq->pq.nbits);
      return code;
    }
    if (const auto* sq =
            dynamic_cast<const faiss::IndexIVFScalarQuantizer*>(&index)) {
      switch (sq->sq.qtype) {
        case faiss::ScalarQuantizer::QT_8bit:
          return absl::StrCat(coarse, ",SQ8");
        case faiss::ScalarQuantizer::QT_4bit:
          return absl::StrCat(coarse, ",SQ4");
        case faiss::ScalarQuantizer::QT_fp16:
          return absl::StrCat(coarse, ",SQfp16");
        default:
          break;
      }
    }
  }
  return ClassName(index);
}

// Rows of `vectors` to train on: all of them, or for an IVF index with
// `nlist` lists at most `kTrainRowsPerList * nlist` sampled without
// replacement. Returns an empty vector when all rows are used (train on
// `vectors` directly).
std::vector<float> TrainingSample(const float* vectors, int64_t n, int dim,
                                  const faiss::IndexIVF* ivf) {
  if (ivf == nullptr) return {};
  const int64_t rows = std::min<int64_t>(
      n, AnnIndex::kTrainRowsPerList * static_cast<int64_t>(ivf->nlist));
  if (rows == n) return {};
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(kTrainSampleSeed);
  for (int64_t i = 0; i < rows; ++i) {  // Partial Fisher-Yates.
    std::uniform_int_distribution<int64_t> pick(i, n - 1);
    std::swap(order[i], order[pick(rng)]);
  }
  order.resize(rows);
  std::sort(order.begin(), order.end());  // Read memory in order.
  std::vector<float> sample(static_cast<size_t>(rows) * dim);
  for (int64_t i = 0; i < rows; ++i) {
    std::copy_n(vectors + order[i] * dim, dim, sample.data() + i * dim);
  }
  return sample;
}

class FaissAnnIndex final : public AnnIndex {
 public:
  // `row_map` (a "Flat" shard's): entry i is the row that the index's
  // vector i stands for.
  FaissAnnIndex(std::unique_ptr<faiss::Index> index, std::string factory,
                const Options& options,
                std::optional<std::vector<int64_t>> row_map = std::nullopt)
      : index_(std::move(index)),
        factory_(std::move(factory)),
        options_(options),
        num_threads_(options.num_threads),
        row_map_(std::move(row_map)) {
    ApplyRuntimeKnobs(index_.get(), options);
    // The index is not modified after this point, so the kernels' pointers
    // into its storage stay valid for its lifetime.
    if (std::optional<SimdLevel> level = KernelLevel(options.scan)) {
      if ((flat_rows_ = FlatRows(*index_)) != nullptr) {
        level_ = level;
      } else if ((ivf_ = IvfFlatView(*index_))) {
        level_ = level;
        nprobe_ = static_cast<int>(
            faiss::ivflib::extract_index_ivf(index_.get())->nprobe);
      }
    }
  }

  absl::Status Save(const std::string& path) const override {
    if (row_map_.has_value()) {
      return absl::FailedPreconditionError(
          "a Flat shard cannot be saved: its row map is not part of a FAISS file");
    }
    try {
      faiss::write_index(index_.get(), path.c_str());
    } catch (const std::exception& e) {
      return absl::InternalError(
          absl::StrCat("cannot write ANN index to ", path, ": ", e.what()));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<Neighbor>> Search(const float* query,
                                               int k) const override {
    absl::StatusOr<std::vector<std::vector<Neighbor>>> batch =
        SearchBatch(query, 1, k);
    if (!batch.ok()) return batch.status();
    return std::move(batch->front());
  }

  absl::StatusOr<std::vector<std::vector<Neighbor>>> SearchBatch(
      const float* queries, int64_t num_queries, int k) const override {
    if (k <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("k must be > 0, got ", k));
    }
    if (num_queries < 0 || (num_queries > 0 && queries == nullptr)) {
      return absl::InvalidArgumentError("queries must be non-null");
    }
    const int64_t width = std::min<int64_t>(k, index_->ntotal);
    std::vector<std::vector<Neighbor>> results(num_queries);
    if (width == 0 || num_queries == 0) return results;
    // Exact search of many queries: FAISS's sgemm beats one scan a query.
    const bool use_kernel =
        level_.has_value() &&
        (ivf_.has_value() || num_queries < kSgemmMinQueries);
    if (!use_kernel) {
      if (absl::Status s = SearchWithFaiss(queries, num_queries, width,
                                           &results);
          !s.ok()) {
        return s;
      }
      return MapRows(std::move(results));
    }
    const int dim = index_->d;
    bool failed = false;
    // One query per OpenMP thread; with one thread no team is started.
    const auto search_one = [&](int64_t q) {
      try {
        results[q] = KernelSearch(queries + q * dim, static_cast<int>(width));
      } catch (const std::exception&) {  // std::bad_alloc.
#pragma omp atomic write
        failed = true;
      }
    };
    if (num_threads_ == 1 || num_queries == 1) {
      for (int64_t q = 0; q < num_queries; ++q) search_one(q);
    } else {
#pragma omp parallel for num_threads(num_threads_) schedule(dynamic, 1)
      for (int64_t q = 0; q < num_queries; ++q) search_one(q);
    }
    if (failed) return absl::ResourceExhaustedError("ANN search failed");
    return MapRows(std::move(results));
  }

  absl::StatusOr<std::unique_ptr<AnnIndex>> Shard(int shard_index,
                                                  int num_shards) const override {
    if (num_shards < 1 || shard_index < 0 || shard_index >= num_shards) {
      return absl::InvalidArgumentError(
          absl::StrCat("shard_index must be in [0, num_shards) and num_shards >= 1, got ",
                       shard_index, " of ", num_shards));
    }
    try {
      if (FlatRows(*index_) != nullptr) return FlatShard(shard_index, num_shards);
      if (IvfFlatView(*index_)) return IvfShard(shard_index, num_shards);
    } catch (const std::exception& e) {
      return absl::InternalError(
          absl::StrCat("making shard ", shard_index, " of ", num_shards, " failed: ", e.what()));
    }
    return absl::UnimplementedError(absl::StrCat(
        "only Flat and IVF<n>,Flat indexes split into shards, not ", factory_));
  }

  int64_t size() const override { return index_->ntotal; }
  int dimension() const override { return index_->d; }
  const char* scan_kernel() const override {
    return level_.has_value() ? SimdLevelName(*level_) : "faiss";
  }
  const std::string& factory() const override { return factory_; }

 private:
  // One query through our kernels; requires `level_`. `k` <= size().
  std::vector<Neighbor> KernelSearch(const float* query, int k) const {
    const std::vector<ScoredRow> top =
        flat_rows_ != nullptr
            ? FlatSearch(*level_, query, flat_rows_, index_->ntotal,
                         index_->d, k)
            : IvfSearch(*level_, *ivf_, query, nprobe_, k);
    std::vector<Neighbor> out(top.size());
    for (size_t i = 0; i < top.size(); ++i) {
      out[i] = Neighbor{top[i].row, top[i].score};
    }
    return out;
  }

  // `results` with a "Flat" shard's rows replaced by the rows they stand
  // for (an increasing map: ties stay ordered to the lower row).
  std::vector<std::vector<Neighbor>> MapRows(
      std::vector<std::vector<Neighbor>> results) const {
    if (!row_map_.has_value()) return results;
    for (std::vector<Neighbor>& neighbors : results) {
      for (Neighbor& n : neighbors) n.row = (*row_map_)[n.row];
    }
    return results;
  }

  // The shard of a "Flat" index: its rows copied, with their row map.
  std::unique_ptr<AnnIndex> FlatShard(int shard_index, int num_shards) const {
    const float* rows = FlatRows(*index_);
    const int dim = index_->d;
    std::vector<int64_t> row_map;
    for (int64_t r = shard_index; r < index_->ntotal; r += num_shards) {
      row_map.push_back(row_map_.has_value() ? (*row_map_)[r] : r);
    }
    std::vector<float> vectors(row_map.size() * dim);
    for (size_t i = 0; i < row_map.size(); ++i) {
      std::copy_n(rows + (shard_index + static_cast<int64_t>(i) * num_shards) * dim, dim,
                  vectors.data() + i * dim);
    }
    auto shard = std::make_unique<faiss::IndexFlat>(dim, faiss::METRIC_INNER_PRODUCT);
    shard->add(static_cast<faiss::Index::idx_t>(row_map.size()), vectors.data());
    return std::make_unique<FaissAnnIndex>(std::move(shard), factory_, options_,
                                           std::move(row_map));
  }

  // The shard of an "IVF<nlist>,Flat" index: a copy of its centroids and
  // of the entries of each inverted list whose row is the shard's.
  std::unique_ptr<AnnIndex> IvfShard(int shard_index, int num_shards) const {
    const IvfView view = *IvfFlatView(*index_);
    auto quantizer = std::make_unique<faiss::IndexFlat>(view.dim, faiss::METRIC_INNER_PRODUCT);
    quantizer->add(view.nlist, view.centroids);
    auto shard = std::make_unique<faiss::IndexIVFFlat>(
        quantizer.get(), view.dim, view.nlist, faiss::METRIC_INNER_PRODUCT);
    shard->own_fields = true;
    quantizer.release();
    shard->is_trained = true;
    int64_t total = 0;
    for (int64_t l = 0; l < view.nlist; ++l) {
      const InvertedListView& list = view.lists[l];
      for (int64_t j = 0; j < list.size; ++j) {
        if (list.rows[j] % num_shards != shard_index) continue;
        shard->invlists->add_entry(
            l, list.rows[j], reinterpret_cast<const uint8_t*>(list.vectors + j * view.dim));
        ++total;
      }
    }
    shard->ntotal = total;
    return std::make_unique<FaissAnnIndex>(std::move(shard), factory_, options_);
  }

  // `width` (<= size()) neighbours of each query through FAISS's search.
  absl::Status SearchWithFaiss(
      const float* queries, int64_t num_queries, int64_t width,
      std::vector<std::vector<Neighbor>>* results) const {
    try {
      std::vector<float> scores(num_queries * width);
      std::vector<faiss::Index::idx_t> rows(num_queries * width);
      {
        ScopedOmpThreads threads(num_threads_);
        index_->search(num_queries, queries, width, scores.data(), rows.data());
      }
      for (int64_t q = 0; q < num_queries; ++q) {
        std::vector<Neighbor>& out = (*results)[q];
        out.reserve(width);
        for (int64_t j = q * width; j < (q + 1) * width; ++j) {
          if (rows[j] < 0) continue;  // FAISS pads short results with -1.
          out.push_back(Neighbor{rows[j], scores[j]});
        }
        // FAISS returns inner-product results best first already; keep the
        // contract independent of that.
        std::stable_sort(out.begin(), out.end(),
                         [](const Neighbor& a, const Neighbor& b) {
                           return a.score > b.score;
                         });
      }
    } catch (const std::exception& e) {
      return absl::InternalError(absl::StrCat("ANN search failed: ", e.what()));
    }
    return absl::OkStatus();
  }

  const std::unique_ptr<faiss::Index> index_;
  const std::string factory_;
  const Options options_;
  const int num_threads_;
  // A "Flat" shard's map from its vectors to the rows they stand for.
  const std::optional<std::vector<int64_t>> row_map_;
  // Set when our kernels search this index: the level, and either the Flat
  // rows or the IVF view with its nprobe.
  std::optional<SimdLevel> level_;
  const float* flat_rows_ = nullptr;
  std::optional<IvfView> ivf_;
  int nprobe_ = 0;
};

}  // namespace

std::vector<Neighbor> MergeNeighbors(const std::vector<std::vector<Neighbor>>& lists, int k) {
  std::vector<Neighbor> all;
  size_t total = 0;
  for (const std::vector<Neighbor>& list : lists) total += list.size();
  all.reserve(total);
  for (const std::vector<Neighbor>& list : lists) all.insert(all.end(), list.begin(), list.end());
  const auto better = [](const Neighbor& a, const Neighbor& b) {
    return a.score > b.score || (a.score == b.score && a.row < b.row);
  };
  const size_t kept = std::min(all.size(), static_cast<size_t>(std::max(k, 0)));
  std::partial_sort(all.begin(), all.begin() + kept, all.end(), better);
  all.resize(kept);
  return all;
}

std::string AnnIndex::ResolveFactory(const std::string& factory, int64_t n) {
  if (factory != "auto") return factory;
  if (n < kAutoFlatBelow) return "Flat";
  // The power of two nearest to 4 * sqrt(n) on a log scale.
  const double target = 4.0 * std::sqrt(static_cast<double>(n));
  const int64_t nlist = int64_t{1} << std::lround(std::log2(target));
  return absl::StrCat("IVF", nlist, ",Flat");
}

absl::StatusOr<std::unique_ptr<AnnIndex>> AnnIndex::Build(
    const float* vectors, int64_t n, int dim, const Options& options) {
  if (n <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("need at least one vector, got n = ", n));
  }
  if (dim <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("dimension must be > 0, got ", dim));
  }
  if (vectors == nullptr) {
    return absl::InvalidArgumentError("vectors must be non-null");
  }
  if (absl::Status status = ValidateOptions(options); !status.ok()) {
    return status;
  }
  const std::string factory = ResolveFactory(options.factory, n);
  std::unique_ptr<faiss::Index> index;
  try {
    index.reset(faiss::index_factory(dim, factory.c_str(),
                                     faiss::METRIC_INNER_PRODUCT));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad ANN factory string \"", factory, "\": ", e.what()));
  }
  const faiss::IndexIVF* ivf =
      faiss::ivflib::try_extract_index_ivf(index.get());
  if (ivf != nullptr && static_cast<int64_t>(ivf->nlist) > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", factory, "\" has ", ivf->nlist,
                     " inverted lists but only ", n, " vectors"));
  }
  try {
    if (!index->is_trained) {
      const std::vector<float> sample = TrainingSample(vectors, n, dim, ivf);
      if (sample.empty()) {
        index->train(n, vectors);
      } else {
        index->train(static_cast<int64_t>(sample.size() / dim), sample.data());
      }
    }
    index->add(n, vectors);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("building ANN index \"", factory,
                                            "\" failed: ", e.what()));
  }
  return std::make_unique<FaissAnnIndex>(std::move(index), factory, options);
}

absl::StatusOr<std::unique_ptr<AnnIndex>> AnnIndex::Load(
    const std::string& path, const Options& options) {
  if (absl::Status status = ValidateOptions(options); !status.ok()) {
    return status;
  }
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat("no ANN index file at ", path));
  }
  std::unique_ptr<faiss::Index> index;
  try {
    index.reset(faiss::read_index(path.c_str()));
  } catch (const std::exception& e) {
    return absl::DataLossError(
        absl::StrCat("cannot read ANN index ", path, ": ", e.what()));
  }
  if (index->metric_type != faiss::METRIC_INNER_PRODUCT) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ANN index ", path, " does not use the inner-product metric"));
  }
  std::string factory = DescribeIndex(*index);
  return std::make_unique<FaissAnnIndex>(std::move(index), std::move(factory),
                                         options);
}

}  // namespace recsys
