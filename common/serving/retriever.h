#ifndef RECSYS_COMMON_SERVING_RETRIEVER_H_
#define RECSYS_COMMON_SERVING_RETRIEVER_H_

// Candidate generation at serving time: the user tower turns the request's
// context into a user vector, the ANN index returns the videos with the
// largest logits, and videos the user already watched are dropped.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/features.h"
#include "common/serving/models.h"
#include "proto/recsys.pb.h"

namespace recsys {

// Immutable after `Load`; `Retrieve` is thread-safe.
class Retriever {
 public:
  static absl::StatusOr<std::unique_ptr<Retriever>> Load(
      const Bundle& bundle, const AnnIndex::Options& ann_options);

  // Up to `n` candidates, best first, each with its logit as the retrieval
  // score and SOURCE_DNN; already-watched videos excluded.
  absl::StatusOr<std::vector<Candidate>> Retrieve(const UserContext& context,
                                                  int n) const;

  // Display metadata; nullptr for an unknown video.
  const VideoRecord* FindVideo(absl::string_view video_id) const;
  const std::string& version() const { return version_; }

 private:
  Retriever() = default;

  std::string version_;
  std::unique_ptr<CandidateModel> model_;
  std::unique_ptr<AnnIndex> ann_;
  VideoCatalog catalog_;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_RETRIEVER_H_
