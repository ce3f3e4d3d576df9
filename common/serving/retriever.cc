#include "common/serving/retriever.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace recsys {

absl::StatusOr<std::unique_ptr<Retriever>> Retriever::Load(
    const Bundle& bundle, const AnnIndex::Options& ann_options) {
  auto r = std::unique_ptr<Retriever>(new Retriever());
  r->version_ = bundle.manifest().version();
  RECSYS_ASSIGN_OR_RETURN(r->model_, CandidateModel::Load(bundle));
  RECSYS_ASSIGN_OR_RETURN(
      r->ann_, AnnIndex::Load(bundle.Path(bundle.manifest().ann().file()), ann_options));
  if (r->ann_->size() != r->model_->videos().size() ||
      r->ann_->dimension() != r->model_->output_dim() + 1) {
    return absl::DataLossError(absl::StrCat(
        "ANN index holds ", r->ann_->size(), " x ", r->ann_->dimension(),
        " vectors, the model ", r->model_->videos().size(), " x ",
        r->model_->output_dim() + 1));
  }
  // Only the metadata is read here: no embedding indices needed.
  RECSYS_ASSIGN_OR_RETURN(r->catalog_, LoadCatalog(bundle, Vocabulary(), Vocabulary()));
  return r;
}

absl::StatusOr<std::vector<Candidate>> Retriever::Retrieve(
    const UserContext& context, int n) const {
  absl::flat_hash_set<int64_t> watched;
  for (const Watch& w : context.watches()) {
    int32_t id = model_->videos().Lookup(w.video_id());
    if (id != Vocabulary::kOov) watched.insert(id);
  }
  const int k = static_cast<int>(
      std::min<int64_t>(ann_->size(), static_cast<int64_t>(n) + watched.size()));
  std::vector<float> query = model_->AnnQuery(context);
  RECSYS_ASSIGN_OR_RETURN(std::vector<Neighbor> neighbors, ann_->Search(query.data(), k));
  std::vector<Candidate> out;
  out.reserve(n);
  for (const Neighbor& nb : neighbors) {
    if (watched.contains(nb.row)) continue;
    Candidate c;
    c.set_video_id(model_->videos().value(static_cast<int32_t>(nb.row)));
    c.set_retrieval_score(nb.score);
    c.set_source(SOURCE_DNN);
    out.push_back(std::move(c));
    if (static_cast<int>(out.size()) >= n) break;
  }
  return out;
}

const VideoRecord* Retriever::FindVideo(absl::string_view video_id) const {
  return catalog_.FindRecord(video_id);
}

}  // namespace recsys
