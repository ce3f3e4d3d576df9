#include "common/serving/retriever.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace recsys {
namespace {

// Every watched video ID of the context (the whole history, not only what
// the model reads: nothing watched is recommended again).
absl::flat_hash_set<absl::string_view> WatchedIds(const UserContext& context) {
  absl::flat_hash_set<absl::string_view> watched;
  watched.reserve(context.watches_size());
  for (const Watch& w : context.watches()) watched.insert(w.video_id());
  return watched;
}

std::vector<Candidate> ToCandidates(const std::vector<Nominee>& nominees) {
  google::protobuf::RepeatedPtrField<Candidate> messages;
  AddCandidates(nominees, &messages);
  return std::vector<Candidate>(std::make_move_iterator(messages.begin()),
                                std::make_move_iterator(messages.end()));
}

}  // namespace

void AddCandidates(const std::vector<Nominee>& nominees,
                   google::protobuf::RepeatedPtrField<Candidate>* to) {
  to->Reserve(to->size() + static_cast<int>(nominees.size()));
  for (const Nominee& n : nominees) {
    Candidate* c = to->Add();
    c->set_video_id(*n.video_id);
    c->set_retrieval_score(n.score);
    c->set_source(n.source);
  }
}

absl::StatusOr<std::unique_ptr<Retriever>> Retriever::Load(
    const Bundle& bundle, const AnnIndex::Options& ann_options) {
  Options options;
  options.ann = ann_options;
  return Load(bundle, options);
}

absl::StatusOr<std::unique_ptr<Retriever>> Retriever::Load(const Bundle& bundle,
                                                           const Options& options) {
  Options resolved = options;
  const bundle::CovisitSpec& covisit_spec = bundle.manifest().covisit();
  if (resolved.covisit_share < 0) {
    resolved.covisit_share = covisit_spec.share() > 0 ? covisit_spec.share() : 0.3;
  }
  if (resolved.covisit_seeds == 0) {
    resolved.covisit_seeds = covisit_spec.seeds() > 0 ? covisit_spec.seeds() : 5;
  }
  if (!(resolved.covisit_share >= 0 && resolved.covisit_share <= 1) ||
      resolved.covisit_seeds < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "covisit_share must be in [0, 1] (or negative: the bundle's) and covisit_seeds >= 1 "
        "(or 0: the bundle's), got ", options.covisit_share, " and ", options.covisit_seeds));
  }
  AnnIndex::Options ann_options = options.ann;
  ann_options.nprobe = ServingNprobe(bundle.manifest(), options.ann.nprobe);
  auto r = std::unique_ptr<Retriever>(new Retriever(bundle.version()));
  r->options_ = resolved;
  RECSYS_ASSIGN_OR_RETURN(r->model_, CandidateModel::Load(bundle));
  const bundle::AnnSpec& spec = bundle.manifest().ann();
  const std::string ann_path = bundle.Path(spec.file());
  if (spec.file().empty()) {
    return absl::DataLossError(absl::StrCat(bundle.dir(), "/manifest.pb names no ANN index file"));
  }
  const int64_t model_rows = r->model_->videos().size();
  const int model_dim = r->model_->output_dim() + 1;
  if (options.load_ann_index) {
    RECSYS_ASSIGN_OR_RETURN(r->ann_, AnnIndex::Load(ann_path, ann_options));
    if (r->ann_->size() != model_rows || r->ann_->dimension() != model_dim) {
      return absl::DataLossError(absl::StrCat(
          ann_path, " holds ", r->ann_->size(), " x ", r->ann_->dimension(),
          " vectors, the model's video embeddings and biases are ", model_rows, " x ",
          model_dim));
    }
  }
  if (spec.dimension() != model_dim || spec.num_vectors() != model_rows) {
    return absl::DataLossError(absl::StrCat(
        bundle.dir(), "/manifest.pb says the ANN index is ", spec.num_vectors(), " x ",
        spec.dimension(), ", but ", options.load_ann_index ? ann_path : "the model's videos",
        " holds ", model_rows, " x ", model_dim));
  }
  r->ann_size_ = model_rows;
  r->ann_dimension_ = model_dim;
  RECSYS_ASSIGN_OR_RETURN(r->covisit_, LoadCovisitation(bundle));
  if (r->covisit_ != nullptr && r->covisit_->num_videos() != model_rows) {
    return absl::DataLossError(absl::StrCat(
        bundle.Path(bundle.manifest().covisit().file()), " has ", r->covisit_->num_videos(),
        " rows, but the model has ", model_rows, " videos"));
  }
  // Only the metadata is read here: no embedding indices needed.
  RECSYS_ASSIGN_OR_RETURN(r->catalog_, LoadCatalog(bundle, Vocabulary(), Vocabulary()));
  r->popular_ = r->catalog_.MostPopular(kMaxPopular);
  r->ann_recall_ = spec.recall();
  r->ann_recall_at_ = spec.recall_at();

  // Smoke requests through the whole forward pass and the index (without
  // one, an ANN step that finds nothing).
  const auto no_index = [](absl::Span<const float>,
                           int) -> absl::StatusOr<std::vector<Neighbor>> {
    return std::vector<Neighbor>{};
  };
  UserContext smoke;
  for (int i = 0; i < 2; ++i) {
    for (const bool served : {false, true}) {
      absl::StatusOr<std::vector<Candidate>> got;
      if (r->ann_ == nullptr) {
        absl::StatusOr<std::vector<Nominee>> nominees = r->Nominate(smoke, 10, nullptr, no_index);
        got = nominees.ok() ? absl::StatusOr<std::vector<Candidate>>(ToCandidates(*nominees))
                            : nominees.status();
      } else {
        got = served ? r->Candidates(smoke, 10) : r->Retrieve(smoke, 10);
      }
      if (!got.ok()) {
        return absl::DataLossError(absl::StrCat("smoke request on ", bundle.dir(),
                                                " failed: ", got.status().message()));
      }
      for (const Candidate& c : *got) {
        if (!std::isfinite(c.retrieval_score())) {
          return absl::DataLossError(absl::StrCat("smoke request on ", bundle.dir(),
                                                  " gave a non-finite score for ",
                                                  c.video_id()));
        }
      }
    }
    if (r->model_->videos().size() == 0) break;
    Watch* w = smoke.add_watches();
    w->set_video_id(r->model_->videos().value(0));
  }
  return r;
}

absl::StatusOr<std::vector<Neighbor>> Retriever::SearchOwnIndex(absl::Span<const float> query,
                                                                int k) const {
  if (ann_ == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "version ", version(), " was loaded without its ANN index (its ANN step is elsewhere)"));
  }
  return ann_->Search(query.data(), k);
}

absl::StatusOr<std::vector<Candidate>> Retriever::Retrieve(
    const UserContext& context, int n) const {
  absl::StatusOr<std::vector<Nominee>> got = RetrieveFrom(
      context, model_->UserVector(model_->Features(context)), n,
      [this](absl::Span<const float> query, int k) { return SearchOwnIndex(query, k); });
  if (!got.ok()) return got.status();
  return ToCandidates(*got);
}

absl::StatusOr<std::vector<Nominee>> Retriever::RetrieveFrom(
    const UserContext& context, const std::vector<float>& user, int n, AnnSearch search,
    std::vector<int32_t>* rows, std::vector<Nominee>* watched_found) const {
  absl::flat_hash_set<int64_t> watched;
  for (const Watch& w : context.watches()) {
    int32_t id = model_->videos().Lookup(w.video_id());
    if (id != Vocabulary::kOov) watched.insert(id);
  }
  const int k = static_cast<int>(
      std::min<int64_t>(ann_size_, static_cast<int64_t>(n) + watched.size()));
  std::vector<Nominee> out;
  if (k <= 0) return out;
  std::vector<float> query = user;
  query.push_back(1.0f);  // the query [u, 1] meets [v, b]: the logit
  RECSYS_ASSIGN_OR_RETURN(std::vector<Neighbor> neighbors, search(query, k));
  out.reserve(n);
  if (rows != nullptr) rows->reserve(n);
  for (const Neighbor& nb : neighbors) {
    const Nominee nominee{&model_->videos().value(static_cast<int32_t>(nb.row)), nb.score,
                          SOURCE_DNN};
    if (watched.contains(nb.row)) {
      if (watched_found != nullptr) watched_found->push_back(nominee);
      continue;
    }
    if (rows != nullptr) rows->push_back(static_cast<int32_t>(nb.row));
    out.push_back(nominee);
    if (static_cast<int>(out.size()) >= n) break;
  }
  return out;
}

bool Retriever::Knows(const CandidateFeatures& f) {
  return !f.watch_ids.empty() || !f.token_ids.empty() || f.region != Vocabulary::kOov ||
         f.device != Vocabulary::kOov;
}

bool Retriever::KnowsAnything(const UserContext& context) const {
  return Knows(model_->Features(context));
}

absl::StatusOr<std::vector<Candidate>> Retriever::Candidates(const UserContext& context,
                                                             int n,
                                                             StageClock* clock) const {
  absl::StatusOr<std::vector<Nominee>> got = Nominate(context, n, clock);
  if (!got.ok()) return got.status();
  return ToCandidates(*got);
}

absl::StatusOr<std::vector<Nominee>> Retriever::Nominate(const UserContext& context, int n,
                                                         StageClock* clock,
                                                         NominationTrace* trace) const {
  return Nominate(
      context, n, clock,
      [this](absl::Span<const float> query, int k) { return SearchOwnIndex(query, k); }, trace);
}

absl::StatusOr<std::vector<Nominee>> Retriever::Nominate(const UserContext& context, int n,
                                                         StageClock* clock, AnnSearch search,
                                                         NominationTrace* trace) const {
  // Features and the user vector once: the watch history can be 10,000 long.
  const CandidateFeatures features =
      model_->Features(context, trace != nullptr ? &trace->read : nullptr);
  MarkStage(clock, "features");
  const std::vector<float> user = model_->UserVector(features);
  MarkStage(clock, "user_tower");
  std::vector<Nominee> out;
  std::vector<int32_t> rows;
  const bool knows = Knows(features);
  if (knows) {
    RECSYS_ASSIGN_OR_RETURN(out, RetrieveFrom(context, user, n, search, &rows,
                                              trace != nullptr ? &trace->watched : nullptr));
  }
  if (trace != nullptr) {
    trace->features = features;
    trace->knows_anything = knows;
    trace->network = out;
  }
  MarkStage(clock, "ann");
  if (covisit_ != nullptr && options_.covisit_share > 0) {
    if (knows) {
      const std::vector<CovisitationTable::Neighbour> covisited = Covisited(context, n);
      if (trace != nullptr) {
        for (const CovisitationTable::Neighbour& nb : covisited) {
          trace->covisited.push_back(Nominee{&model_->videos().value(nb.row),
                                             model_->Logit(user, nb.row), SOURCE_COVISIT});
        }
      }
      out = Merge(out, rows, covisited, user, n);
    }
    MarkStage(clock, "covisit");
  }
  if (static_cast<int>(out.size()) >= n || popular_.empty()) return out;
  float lowest = std::numeric_limits<float>::max();
  absl::flat_hash_set<absl::string_view> taken = WatchedIds(context);
  for (const Nominee& c : out) {
    taken.insert(*c.video_id);
    lowest = std::min(lowest, c.score);
  }
  if (out.empty()) lowest = 0;
  // Only explain mode tells the watched from the already nominated.
  const absl::flat_hash_set<absl::string_view> watched =
      trace != nullptr ? WatchedIds(context) : absl::flat_hash_set<absl::string_view>();
  for (const std::string& id : popular_) {
    if (static_cast<int>(out.size()) >= n) break;
    const bool is_taken = taken.contains(id);
    if (is_taken && trace == nullptr) continue;
    const int32_t row = model_->videos().Lookup(id);
    const Nominee nominee{&id, row != Vocabulary::kOov ? model_->Logit(user, row) : lowest,
                          SOURCE_POPULAR};
    if (is_taken) {
      if (watched.contains(id)) trace->watched.push_back(nominee);
      continue;
    }
    out.push_back(nominee);
  }
  MarkStage(clock, "popular_fill");
  return out;
}

void Retriever::DescribeUserTower(const UserContext& context, const NominationTrace& trace,
                                  UserTowerReading* out) const {
  model_->DescribeUserTower(context, trace.features, trace.read, out);
  out->set_knows_anything(trace.knows_anything);
}

std::vector<CovisitationTable::Neighbour> Retriever::Covisited(const UserContext& context,
                                                               int n) const {
  if (covisit_ == nullptr || n <= 0) return {};
  // Watches from the most recent back: by time, ties in the context's order
  // (the logs' row order when the context comes from `UserHistories`).
  std::vector<int> order(context.watches_size());
  for (int i = 0; i < context.watches_size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&context](int a, int b) {
    return context.watches(a).time_s() < context.watches(b).time_s();
  });
  std::vector<int32_t> seeds;
  absl::flat_hash_set<int32_t> watched;
  watched.reserve(context.watches_size());
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const int32_t row = model_->videos().Lookup(context.watches(*it).video_id());
    if (row == Vocabulary::kOov || !watched.insert(row).second) continue;
    if (static_cast<int>(seeds.size()) < options_.covisit_seeds) seeds.push_back(row);
  }
  return covisit_->Score(seeds, watched, n);
}

std::vector<Candidate> Retriever::CovisitOnly(const UserContext& context, int n) const {
  std::vector<Candidate> out;
  for (const CovisitationTable::Neighbour& nb : Covisited(context, n)) {
    Candidate c;
    c.set_video_id(model_->videos().value(nb.row));
    c.set_retrieval_score(nb.score);
    c.set_source(SOURCE_COVISIT);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Nominee> Retriever::Merge(
    const std::vector<Nominee>& dnn, const std::vector<int32_t>& dnn_rows,
    const std::vector<CovisitationTable::Neighbour>& covisited, const std::vector<float>& user,
    int n) const {
  std::vector<Nominee> out;
  out.reserve(std::min<size_t>(n, dnn.size() + covisited.size()));
  absl::flat_hash_set<int32_t> taken;
  taken.reserve(std::min<size_t>(n, dnn.size() + covisited.size()));
  size_t d = 0, v = 0;
  int from_covisit = 0;
  while (static_cast<int>(out.size()) < n) {
    while (d < dnn.size() && taken.contains(dnn_rows[d])) ++d;
    while (v < covisited.size() && taken.contains(covisited[v].row)) ++v;
    const bool has_dnn = d < dnn.size(), has_covisit = v < covisited.size();
    if (!has_dnn && !has_covisit) break;
    // Co-visitation's turn when it is behind its share of the list so far
    // (the epsilon keeps e.g. 10 * 0.3 at 3).
    const bool covisit_turn =
        from_covisit < static_cast<int>(std::floor(
                           (static_cast<double>(out.size()) + 1) * options_.covisit_share +
                           1e-9));
    if (has_covisit && (covisit_turn || !has_dnn)) {
      const int32_t row = covisited[v++].row;
      taken.insert(row);
      out.push_back(Nominee{&model_->videos().value(row), model_->Logit(user, row),
                            SOURCE_COVISIT});
      ++from_covisit;
    } else {
      taken.insert(dnn_rows[d]);
      out.push_back(dnn[d++]);
    }
  }
  return out;
}

const VideoRecord* Retriever::FindVideo(absl::string_view video_id) const {
  return catalog_.FindRecord(video_id);
}

}  // namespace recsys
