#ifndef RECSYS_COMMON_SERVING_TESTING_RANKING_REFERENCE_H_
#define RECSYS_COMMON_SERVING_TESTING_RANKING_REFERENCE_H_

// Test helper: the ranking tower recomputed from the inputs an explain-mode
// answer reports (`RankingExplanation`), with the bundle's own tensors and
// written out here as the model's definition reads, independently of
// `RankingModel`: the input row is the candidate's video embedding, the
// seed video's, the mean of the last-watched bag's, the user language's,
// the channel's and the video language's, then per continuous feature x~
// (and x~^2, sqrt(x~) with powers) and the source's one-hot; the tower is
// y = W x + b with ReLU between layers, in double precision. What the
// explain tests hold the reported logits to.

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/serving/bundle.h"
#include "proto/recsys.pb.h"

namespace recsys {

class RankingReference {
 public:
  // Reads the ranking embeddings and tower of `bundle`.
  static absl::StatusOr<std::unique_ptr<RankingReference>> Load(const Bundle& bundle);

  // The logit of `candidate` from its reported inputs and the request's.
  // InvalidArgument when an input is missing or out of the tables' range.
  absl::StatusOr<double> Logit(const RankingRequestFeatures& request,
                               const RankingCandidateExplanation& candidate,
                               bool use_powers) const;

 private:
  struct Table {
    std::vector<float> data;
    int64_t rows = 0, cols = 0;
  };
  struct Layer {
    Table weight;  // [out, in]
    std::vector<float> bias;
  };
  // Appends row `row` of `table` to `out` (zeros for -1).
  static absl::Status AppendRow(const Table& table, int32_t row, std::vector<double>* out);

  Table videos_, channels_, languages_;
  std::vector<Layer> tower_;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_TESTING_RANKING_REFERENCE_H_
