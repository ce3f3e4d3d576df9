#ifndef RECSYS_COMMON_SERVING_RETRIEVER_H_
#define RECSYS_COMMON_SERVING_RETRIEVER_H_

// Candidate generation at serving time: the user tower turns the request's
// context into a user vector, the ANN index returns the videos with the
// largest logits, the bundle's co-visitation table (when it has one) adds
// the videos watched near the user's most recent watches, and videos the
// user already watched are dropped. What one bundle version loads into for
// the candidate service (a `Servable`).

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "common/features/features.h"
#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/serving/covisitation.h"
#include "common/serving/models.h"
#include "common/serving/stage_clock.h"
#include "common/serving/version_manager.h"
#include "proto/recsys.pb.h"

namespace recsys {

// A nominated video without a protobuf: its ID (held by the retriever that
// nominated it: valid while that version is loaded), retrieval score and
// source. The service writes these straight into its call's messages.
struct Nominee {
  const std::string* video_id = nullptr;
  float score = 0;
  CandidateSource source = SOURCE_UNKNOWN;
};

// What `Retriever::Nominate` read and did for one request (explain mode).
// Its nominees point into the retriever, as `Nominee`s do.
struct NominationTrace {
  // The user tower's features, and what it read and dropped of the context.
  CandidateFeatures features;
  CandidateFeatureTrace read;
  // Whether the model knew anything of the context (else: most popular).
  bool knows_anything = false;
  // Each source's nominees before the merge and the cut to `n`, best
  // first, every score a logit: the network's (not watched, at most `n`)
  // and co-visitation's (at most `n`).
  std::vector<Nominee> network, covisited;
  // Videos the ANN step or the most-popular fill found and dropped because
  // the context watched them (co-visitation never proposes one).
  std::vector<Nominee> watched;
};

// The nominees as `Candidate` messages appended to `to` (on its arena, when
// it has one).
void AddCandidates(const std::vector<Nominee>& nominees,
                   google::protobuf::RepeatedPtrField<Candidate>* to);

// Immutable after `Load`; every method is const and thread-safe.
class Retriever : public Servable {
 public:
  struct Options {
    // How the ANN index is searched (nprobe, efSearch).
    AnnIndex::Options ann;
    // The share of `Candidates`' `n` slots that co-visitation candidates
    // take (rounded down), in [0, 1]; 0 turns the source off. The network
    // takes the rest, and either takes the other's slots when it runs out.
    // Negative: the bundle's (what the trainer used: its `covisit` spec),
    // 0.3 for a bundle that does not say.
    double covisit_share = -1;
    // The most recent watches (distinct videos of the vocabulary) whose
    // co-visited videos are nominated. 0: the bundle's, 5 when it does not
    // say.
    int covisit_seeds = 0;
    // False: the ANN index is not loaded (a candidate server whose ANN
    // step is on the index's shards, `Nominate` with an `AnnSearch`); the
    // manifest's `ann` spec must still match the model. `Retrieve`,
    // `Candidates` and `Nominate` without a search then fail with
    // FailedPrecondition, and the smoke requests run with an ANN step that
    // finds nothing.
    bool load_ann_index = true;
  };

  // Loads and validates the candidate model, the ANN index (its size and
  // dimension must match the model's video embeddings and the manifest's
  // `ann` spec), the co-visitation table when the manifest names one (one
  // row per video of the model; `CovisitationTable::Load` lists the
  // checks) and the catalogue, then runs a smoke request (an empty context
  // and one with a watch) whose scores must be finite. The version is the
  // bundle directory's name. InvalidArgument for `options` out of range.
  static absl::StatusOr<std::unique_ptr<Retriever>> Load(const Bundle& bundle,
                                                         const Options& options);
  // The same with the default options but `ann_options`.
  static absl::StatusOr<std::unique_ptr<Retriever>> Load(
      const Bundle& bundle, const AnnIndex::Options& ann_options);

  // Up to `n` candidates by the network alone, best first, each with its
  // logit as the retrieval score and SOURCE_DNN; already-watched videos
  // excluded. What offline evaluation measures.
  absl::StatusOr<std::vector<Candidate>> Retrieve(const UserContext& context,
                                                  int n) const;

  // What the service nominates, at most `n` videos, each once, none
  // already watched:
  //  - the network's candidates (`Retrieve`, SOURCE_DNN), merged with the
  //    co-visitation candidates (`CovisitOnly`, SOURCE_COVISIT) when the
  //    bundle has a table: floor(n * covisit_share) slots go to
  //    co-visitation, the rest to the network, interleaved so that every
  //    prefix of the list keeps about that share (the network's best
  //    first: with the default 0.3, positions 3, 6, 9, ... are
  //    co-visitation's). A source that runs out leaves its slots to the
  //    other. A video both sources nominate appears once, with the source
  //    that reached it first in this order. The ranking model orders the
  //    list anyway; the order matters when ranking is skipped (degraded).
  //  - a context with nothing the model knows (no watch, search token,
  //    region or device in its vocabularies) gets the bundle's
  //    most-popular list instead, and a list shorter than `n` is filled
  //    from it (SOURCE_POPULAR).
  // Every candidate's retrieval score is the model's logit (the feature the
  // ranking model was trained on); a popular video without an output
  // embedding gets the lowest score of the list.
  // Marks "features", "user_tower", "ann", "covisit" (with a table and a
  // share > 0) and "popular_fill" (when it fills) on `clock` when it is
  // given.
  absl::StatusOr<std::vector<Candidate>> Candidates(const UserContext& context, int n,
                                                    StageClock* clock = nullptr) const;
  // The same list as `Nominee`s (what the services use: no message or
  // string per candidate until the answer's own).
  // `trace`, when given, receives what the request read and each source's
  // nominees (the list is the same with or without it).
  absl::StatusOr<std::vector<Nominee>> Nominate(const UserContext& context, int n,
                                                StageClock* clock = nullptr,
                                                NominationTrace* trace = nullptr) const;

  // The ANN step: the `k` best rows of this version's index for `query`
  // (the user vector and a 1: `ann_dimension()` values), best first as
  // `AnnIndex::Search` returns them. An error fails the request.
  using AnnSearch = absl::FunctionRef<absl::StatusOr<std::vector<Neighbor>>(
      absl::Span<const float> query, int k)>;
  // `Nominate` with the ANN step done by `search` instead of this version's
  // own index (the candidate service's front asks the index's shards);
  // everything else is the same code path.
  absl::StatusOr<std::vector<Nominee>> Nominate(const UserContext& context, int n,
                                                StageClock* clock, AnnSearch search,
                                                NominationTrace* trace = nullptr) const;
  // What the user tower read of `context`, from the `trace` of a
  // `Nominate` call on it (explain mode).
  void DescribeUserTower(const UserContext& context, const NominationTrace& trace,
                         UserTowerReading* out) const;
  // The width of the ANN index's vectors (and queries), and their number.
  int ann_dimension() const { return ann_dimension_; }
  int64_t ann_size() const { return ann_size_; }

  // Up to `n` candidates from the co-visitation table alone: the videos
  // co-visited with the context's `covisit_seeds` most recent watches
  // (`CovisitationTable::Score`; watches in time order, ties in the
  // context's order), already-watched excluded, best first, each with
  // SOURCE_COVISIT and its co-visitation score (not a logit). Empty without
  // a table. What offline evaluation compares with the item-kNN baseline.
  std::vector<Candidate> CovisitOnly(const UserContext& context, int n) const;

  // Whether this version has a co-visitation table.
  bool has_covisitation() const { return covisit_ != nullptr; }
  const Options& options() const { return options_; }

  // The ANN index's recall of the exact top-`ann_recall_at()` measured at
  // export (the manifest's `ann` spec); 0 when not measured.
  float ann_recall() const { return ann_recall_; }
  int ann_recall_at() const { return ann_recall_at_; }

  // Whether the model reads anything of `context` (see `Candidates`).
  bool KnowsAnything(const UserContext& context) const;

  // Display metadata; nullptr for an unknown video.
  const VideoRecord* FindVideo(absl::string_view video_id) const;
  // The most popular videos of the training window, most first (at most
  // `kMaxPopular`).
  const std::vector<std::string>& popular() const { return popular_; }
  static constexpr int kMaxPopular = 2000;

 private:
  explicit Retriever(std::string version) : Servable(std::move(version)) {}
  // `Retrieve` for the user vector `user` of `context`; each candidate's
  // vocabulary row goes into `rows` too when it is given, and the watched
  // videos the search found into `watched`.
  absl::StatusOr<std::vector<Nominee>> RetrieveFrom(const UserContext& context,
                                                    const std::vector<float>& user, int n,
                                                    AnnSearch search,
                                                    std::vector<int32_t>* rows = nullptr,
                                                    std::vector<Nominee>* watched = nullptr) const;
  // The ANN step on this version's own index.
  absl::StatusOr<std::vector<Neighbor>> SearchOwnIndex(absl::Span<const float> query,
                                                       int k) const;
  static bool Knows(const CandidateFeatures& features);
  // The co-visitation table's rows for `CovisitOnly`, best first.
  std::vector<CovisitationTable::Neighbour> Covisited(const UserContext& context,
                                                      int n) const;
  // `dnn` (whose vocabulary rows are `dnn_rows`) and the co-visitation
  // candidates `covisited` merged into at most `n` (see `Candidates`).
  std::vector<Nominee> Merge(const std::vector<Nominee>& dnn,
                             const std::vector<int32_t>& dnn_rows,
                             const std::vector<CovisitationTable::Neighbour>& covisited,
                             const std::vector<float>& user, int n) const;

  Options options_;
  std::unique_ptr<CandidateModel> model_;
  // Null when loaded without it (`Options::load_ann_index`).
  std::unique_ptr<AnnIndex> ann_;
  int64_t ann_size_ = 0;
  int ann_dimension_ = 0;
  // Null when the bundle has no table.
  std::unique_ptr<const CovisitationTable> covisit_;
  VideoCatalog catalog_;
  std::vector<std::string> popular_;
  float ann_recall_ = 0;
  int ann_recall_at_ = 0;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_RETRIEVER_H_
