#ifndef RECSYS_TRAINER_EXPORT_H_
#define RECSYS_TRAINER_EXPORT_H_

// The export stage: the trained networks and the co-visitation table into
// a bundle version (docs/bundle.md), read back through the serving code so
// that evaluation scores exactly what the servers will load.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/logs/logs.h"
#include "common/serving/bundle.h"
#include "common/serving/models.h"
#include "common/serving/retriever.h"
#include "trainer/candidate_training.h"
#include "trainer/trainer_options.h"
#include "trainer/training_data.h"

namespace recsys {

// A new version under `options.bundles_dir`, its manifest's training data,
// window end and hyperparameters set.
absl::StatusOr<std::unique_ptr<BundleWriter>> CreateBundleWriter(const TrainingData& p,
                                                                 const TrainerOptions& options);

struct ExportedCandidateModel {
  // Loaded from the bundle as the candidate server loads them.
  std::unique_ptr<CandidateModel> model;
  std::unique_ptr<Retriever> retriever;
  // The ANN index built: its factory string and its recall of the exact
  // top `options.num_candidates` (also in the manifest).
  std::string ann_factory;
  float ann_recall = 1;
};

// Writes the candidate model (spec, vocabularies, catalogue, tensors), its
// ANN index and the co-visitation table of the training watches (unless
// `options.covisit_neighbours` is 0; its build time is logged) to `writer`,
// flushed; then loads them back (the retriever with `options.covisit_share`
// and `covisit_seeds`).
absl::StatusOr<ExportedCandidateModel> ExportCandidateModel(const Logs& logs,
                                                            const TrainingData& p,
                                                            const CandidateTraining& trained,
                                                            const TrainerOptions& options,
                                                            BundleWriter& writer);

// Records `report.metrics` in the manifest and commits the version; returns
// its directory.
absl::StatusOr<std::string> CommitBundle(const TrainerReport& report, BundleWriter& writer);

}  // namespace recsys

#endif  // RECSYS_TRAINER_EXPORT_H_
