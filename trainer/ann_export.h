#ifndef RECSYS_TRAINER_ANN_EXPORT_H_
#define RECSYS_TRAINER_ANN_EXPORT_H_

// The ANN index of a bundle version: built over the candidate model's video
// vectors as the servers load them, saved into the version, its recall of
// the exact top-k measured and recorded in the manifest's `ann` spec. Free
// of libtorch: the trainer's export and benchmarks/make_synthetic_bundle
// share it.

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/serving/models.h"
#include "proto/recsys.pb.h"

namespace recsys {

// The index's file in the bundle directory.
inline constexpr char kAnnFile[] = "ann.faiss";

struct ExportedAnnIndex {
  std::unique_ptr<AnnIndex> index;
  // The index's recall of the exact top `recall_at` (1 for an exact index
  // or without recall contexts), at `nprobe` for an IVF index.
  float recall = 1;
  // IVF: the lists a search visits (what `index` searches with); else 0.
  int nprobe = 0;
};

// Builds an index with `options` over `model.AnnVectors()`, saves it as
// `kAnnFile` in `writer.dir()`, measures its recall of the exact top
// `recall_at` on the users `recall_contexts` (their `AnnQuery`: the share
// of the exact search's rows the index also returns, over all users), and
// sets the manifest's `ann` spec (factory, file, size, dimension, recall,
// recall_at). The build and the measurement are logged with their seconds.
// For an IVF index with `target_recall` > 0, the recall is measured at
// `options.nprobe`, then at twice as many lists, and so on (at most every
// list), until it reaches `target_recall`; each step is logged and the
// manifest records the nprobe reached (`AnnSpec.nprobe`) with its recall.
absl::StatusOr<ExportedAnnIndex> ExportAnnIndex(const CandidateModel& model,
                                                const std::vector<UserContext>& recall_contexts,
                                                int recall_at, const AnnIndex::Options& options,
                                                float target_recall, BundleWriter& writer);

}  // namespace recsys

#endif  // RECSYS_TRAINER_ANN_EXPORT_H_
