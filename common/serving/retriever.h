#ifndef RECSYS_COMMON_SERVING_RETRIEVER_H_
#define RECSYS_COMMON_SERVING_RETRIEVER_H_

// Candidate generation at serving time: the user tower turns the request's
// context into a user vector, the ANN index returns the videos with the
// largest logits, and videos the user already watched are dropped. What one
// bundle version loads into for the candidate service (a `Servable`).

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/features/features.h"
#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/serving/models.h"
#include "common/serving/stage_clock.h"
#include "common/serving/version_manager.h"
#include "proto/recsys.pb.h"

namespace recsys {

// Immutable after `Load`; every method is const and thread-safe.
class Retriever : public Servable {
 public:
  // Loads and validates the candidate model, the ANN index (its size and
  // dimension must match the model's video embeddings and the manifest's
  // `ann` spec) and the catalogue, then runs a smoke request (an empty
  // context and one with a watch) whose scores must be finite. The version
  // is the bundle directory's name.
  static absl::StatusOr<std::unique_ptr<Retriever>> Load(
      const Bundle& bundle, const AnnIndex::Options& ann_options);

  // Up to `n` candidates by the network alone, best first, each with its
  // logit as the retrieval score and SOURCE_DNN; already-watched videos
  // excluded. What offline evaluation measures.
  absl::StatusOr<std::vector<Candidate>> Retrieve(const UserContext& context,
                                                  int n) const;

  // What the service nominates: `Retrieve`, except that a context with
  // nothing the model knows (no watch, search token, region or device in
  // its vocabularies) gets the bundle's most-popular list instead, and a
  // list shorter than `n` is filled from it. Popular candidates carry
  // SOURCE_POPULAR and the model's logit when the video has an output
  // embedding (else the lowest DNN score); already-watched videos are never
  // nominated.
  // Marks "features", "user_tower", "ann" and "popular_fill" on `clock`
  // when it is given.
  absl::StatusOr<std::vector<Candidate>> Candidates(const UserContext& context, int n,
                                                    StageClock* clock = nullptr) const;

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
  // `Retrieve` for the user vector `user` of `context`.
  absl::StatusOr<std::vector<Candidate>> RetrieveFrom(const UserContext& context,
                                                      const std::vector<float>& user,
                                                      int n) const;
  static bool Knows(const CandidateFeatures& features);

  std::unique_ptr<CandidateModel> model_;
  std::unique_ptr<AnnIndex> ann_;
  VideoCatalog catalog_;
  std::vector<std::string> popular_;
  float ann_recall_ = 0;
  int ann_recall_at_ = 0;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_RETRIEVER_H_
