#include "trainer/ann_export.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "common/base/status_macros.h"

namespace recsys {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The recall of `ann`'s top `k` against exact search over `vectors` (the
// rows `ann` holds), for the users `contexts` (1 for an exact index).
absl::StatusOr<float> MeasureAnnRecall(const CandidateModel& model,
                                       const std::vector<float>& vectors, const AnnIndex& ann,
                                       const std::vector<UserContext>& contexts, int k) {
  if (ann.factory() == "Flat" || contexts.empty()) return 1.0f;
  AnnIndex::Options exact_options;
  exact_options.factory = "Flat";
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<AnnIndex> exact,
                          AnnIndex::Build(vectors.data(), ann.size(), ann.dimension(),
                                          exact_options));
  std::vector<float> queries;
  queries.reserve(contexts.size() * static_cast<size_t>(ann.dimension()));
  for (const UserContext& context : contexts) {
    const std::vector<float> query = model.AnnQuery(context);
    queries.insert(queries.end(), query.begin(), query.end());
  }
  const int64_t n = static_cast<int64_t>(contexts.size());
  RECSYS_ASSIGN_OR_RETURN(std::vector<std::vector<Neighbor>> truth,
                          exact->SearchBatch(queries.data(), n, k));
  RECSYS_ASSIGN_OR_RETURN(std::vector<std::vector<Neighbor>> approx,
                          ann.SearchBatch(queries.data(), n, k));
  int64_t hits = 0, total = 0;
  for (int64_t i = 0; i < n; ++i) {
    absl::flat_hash_set<int64_t> got;
    for (const Neighbor& nb : approx[i]) got.insert(nb.row);
    for (const Neighbor& nb : truth[i]) hits += got.contains(nb.row);
    total += truth[i].size();
  }
  return total > 0 ? static_cast<float>(hits) / total : 1.0f;
}

// The number of inverted lists of an "IVF<nlist>,..." factory; 0 for others.
int64_t InvertedLists(const std::string& factory) {
  int64_t nlist = 0;
  if (!absl::StartsWith(factory, "IVF")) return 0;
  const absl::string_view rest = absl::string_view(factory).substr(3);
  return absl::SimpleAtoi(rest.substr(0, rest.find(',')), &nlist) ? nlist : 0;
}

}  // namespace

absl::StatusOr<ExportedAnnIndex> ExportAnnIndex(const CandidateModel& model,
                                                const std::vector<UserContext>& recall_contexts,
                                                int recall_at, const AnnIndex::Options& options,
                                                float target_recall, BundleWriter& writer) {
  const std::vector<float> vectors = model.AnnVectors();
  const int64_t rows = model.videos().size();
  auto start = std::chrono::steady_clock::now();
  ExportedAnnIndex out;
  RECSYS_ASSIGN_OR_RETURN(out.index,
                          AnnIndex::Build(vectors.data(), rows, model.output_dim() + 1, options));
  RECSYS_RETURN_IF_ERROR(out.index->Save(writer.dir() + "/" + kAnnFile));
  spdlog::info("ANN index {}: {} x {} vectors built and saved in {:.2f} s",
               out.index->factory(), out.index->size(), out.index->dimension(),
               SecondsSince(start));
  start = std::chrono::steady_clock::now();
  RECSYS_ASSIGN_OR_RETURN(out.recall, MeasureAnnRecall(model, vectors, *out.index,
                                                       recall_contexts, recall_at));
  spdlog::info("ANN index {}: recall of the exact top {} = {:.4f} over {} users ({:.2f} s)",
               out.index->factory(), recall_at, out.recall, recall_contexts.size(),
               SecondsSince(start));
  const int64_t nlist = InvertedLists(out.index->factory());
  if (nlist > 0) {
    out.nprobe = options.nprobe;
    // More lists until the target: the saved index loaded with each nprobe.
    while (target_recall > 0 && out.recall < target_recall && out.nprobe < nlist) {
      AnnIndex::Options wider = options;
      wider.nprobe = static_cast<int>(std::min<int64_t>(nlist, 2 * int64_t{out.nprobe}));
      start = std::chrono::steady_clock::now();
      RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<AnnIndex> index,
                              AnnIndex::Load(writer.dir() + "/" + kAnnFile, wider));
      RECSYS_ASSIGN_OR_RETURN(const float recall, MeasureAnnRecall(model, vectors, *index,
                                                                   recall_contexts, recall_at));
      spdlog::info("ANN index {}: recall at nprobe {} = {:.4f} (target {:.2f}; {:.2f} s)",
                   index->factory(), wider.nprobe, recall, target_recall, SecondsSince(start));
      out.index = std::move(index);
      out.recall = recall;
      out.nprobe = wider.nprobe;
    }
  }
  bundle::AnnSpec* spec = writer.manifest()->mutable_ann();
  spec->set_factory(out.index->factory());
  spec->set_file(kAnnFile);
  spec->set_num_vectors(out.index->size());
  spec->set_dimension(out.index->dimension());
  spec->set_recall(out.recall);
  spec->set_recall_at(recall_at);
  spec->set_nprobe(out.nprobe);
  return out;
}

}  // namespace recsys
