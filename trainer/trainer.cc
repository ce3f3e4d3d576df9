#include "trainer/trainer.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include <torch/torch.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/status_macros.h"
#include "common/serving/bundle.h"
#include "common/serving/dense.h"
#include "trainer/candidate_evaluation.h"
#include "trainer/candidate_training.h"
#include "trainer/export.h"
#include "trainer/ranking_training.h"
#include "trainer/retrieval_impressions.h"
#include "trainer/torch_status.h"
#include "trainer/training_data.h"
#include "trainer/tuning.h"

namespace recsys {
namespace {

absl::StatusOr<TrainerReport> TrainFromCandidateModel(const Logs& logs, const TrainingData& p,
                                                      const TrainerOptions& options,
                                                      const CandidateTraining& candidate,
                                                      const bundle::TuningReport& tuning,
                                                      std::mt19937_64& rng,
                                                      TrainerReport report);

// The pipeline, stage by stage: training data -> candidate model -> bundle
// (candidate model and ANN) -> candidate evaluation -> ranking model ->
// commit.
absl::StatusOr<TrainerReport> TrainStages(const Logs& logs, const TrainerOptions& options) {
  RECSYS_RETURN_IF_ERROR(options.Validate());
  if (logs.watches.empty()) {
    return absl::InvalidArgumentError("the logs hold no watches: nothing to train on");
  }
  torch::manual_seed(options.seed);
  torch::set_num_threads(std::max(1, options.num_threads));
  SetBlasThreads(options.num_threads);
  std::mt19937_64 rng(options.seed);
  TrainerReport report;

  TrainingDataOptions data_options;
  // With --tune, the longest history any trial reads.
  data_options.max_watches =
      options.tune_budget_s > 0 ? TuningMaxWatches(options) : options.max_watches;
  data_options.max_searches = options.max_searches;
  data_options.max_videos = options.max_videos;
  data_options.max_tokens = options.max_tokens;
  const TrainingData p = PrepareTrainingData(logs, data_options);
  if (p.videos.size() < 2) {
    return absl::InvalidArgumentError("fewer than 2 distinct watched videos");
  }

  // The candidate model: trained with the options, or chosen among the
  // trials of --tune, whose options the rest of the pipeline then uses.
  CandidateTraining candidate;
  bundle::TuningReport tuning;
  TrainerOptions tuned = options;
  if (options.tune_budget_s > 0) {
    TuningOutcome outcome = TuneCandidateModel(logs, p, options);
    candidate = std::move(outcome.training);
    rng = outcome.rng;
    tuned = std::move(outcome.options);
    tuning = std::move(outcome.report);
    absl::StrAppend(&report.summary, FormatTuningReport(tuning));
  } else {
    candidate = TrainCandidateModel(logs, p, options, rng);
  }
  return TrainFromCandidateModel(logs, p, tuned, candidate, tuning, rng, std::move(report));
}

// The pipeline after the candidate model: bundle, evaluation, ranking,
// commit, with `options` (the tuned ones with --tune).
absl::StatusOr<TrainerReport> TrainFromCandidateModel(const Logs& logs, const TrainingData& p,
                                                      const TrainerOptions& options,
                                                      const CandidateTraining& candidate,
                                                      const bundle::TuningReport& tuning,
                                                      std::mt19937_64& rng,
                                                      TrainerReport report) {
  report.metrics.emplace_back("candidate/kept_epoch", candidate.kept_epoch);
  report.metrics.emplace_back("candidate/validation/hr@50", candidate.validation_hr50);
  report.metrics.emplace_back("candidate/validation/ndcg@10", candidate.validation_ndcg10);

  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<BundleWriter> writer, CreateBundleWriter(p, options));
  if (tuning.trials_size() > 0) *writer->manifest()->mutable_tuning() = tuning;
  RECSYS_ASSIGN_OR_RETURN(ExportedCandidateModel exported,
                          ExportCandidateModel(logs, p, candidate, options, *writer));
  RECSYS_RETURN_IF_ERROR(EvaluateCandidates(p, *exported.retriever, exported.ann_factory,
                                            exported.ann_recall, options, &report));

  if (!options.train_ranking) {
    absl::StrAppend(&report.summary, "Ranking: not trained (--train_ranking=false)\n");
  } else if (logs.impressions.empty()) {
    // Watch-only logs: the pages candidate generation would have shown.
    RetrievalImpressionOptions page_options;
    page_options.nominated = options.num_candidates;
    page_options.watches_per_user = options.retrieval_pages_per_user;
    page_options.page_size = options.retrieval_page_size;
    RECSYS_ASSIGN_OR_RETURN(
        RetrievalImpressions pages,
        ImpressionsFromRetrieval(p, *exported.retriever, page_options, rng));
    absl::StrAppend(&report.summary,
                    absl::StrFormat("Ranking: the logs have no impressions; trained on %d "
                                    "impressions of pages made at training watches whose "
                                    "video the candidate generator nominated (top %d): the "
                                    "watched video clicked, up to %d other nominated ones "
                                    "not clicked\n",
                                    pages.impressions.size(), page_options.nominated,
                                    page_options.page_size - 1));
    Logs with_impressions = logs;
    with_impressions.impressions = std::move(pages.impressions);
    RECSYS_RETURN_IF_ERROR(TrainRanking(with_impressions, p, *exported.model,
                                        *exported.retriever, options, *writer, &report,
                                        RankingSplit::kByUser, &pages.sources));
  } else {
    RECSYS_RETURN_IF_ERROR(TrainRanking(logs, p, *exported.model, *exported.retriever, options,
                                        *writer, &report));
  }

  RECSYS_ASSIGN_OR_RETURN(report.bundle_dir, CommitBundle(report, *writer));
  return report;
}

}  // namespace

absl::StatusOr<TrainerReport> Train(const Logs& logs, const TrainerOptions& options) {
  return CatchTorchErrors("training", [&]() { return TrainStages(logs, options); });
}

}  // namespace recsys
