#include "trainer/trainer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include <spdlog/spdlog.h>
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

// One run of the pipeline after the candidate model, not yet committed.
struct PipelineRun {
  std::unique_ptr<BundleWriter> writer;
  TrainerReport report;
};

absl::StatusOr<PipelineRun> ExportAndRank(const Logs& logs, const TrainingData& p,
                                          const TrainerOptions& options,
                                          const CandidateTraining& candidate,
                                          std::mt19937_64 rng, TrainerReport report);

// The value of metric `name` in `report` (0 when absent).
double MetricOf(const TrainerReport& report, const std::string& name) {
  for (const auto& [n, v] : report.metrics) {
    if (n == name) return v;
  }
  return 0;
}

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
  data_options.unsampled_video_counts = options.unsampled_video_counts;
  const TrainingData p = PrepareTrainingData(logs, data_options);
  if (p.videos.size() < 2) {
    return absl::InvalidArgumentError("fewer than 2 distinct watched videos");
  }

  // The candidate model: trained with the options, or chosen among the
  // trials of --tune, whose options the rest of the pipeline then uses.
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  CandidateTraining candidate;
  bundle::TuningReport tuning;
  TrainerOptions tuned = options;
  if (options.tune_budget_s > 0) {
    TuningOutcome outcome = TuneCandidateModel(logs, p, options);
    candidate = std::move(outcome.training);
    rng = outcome.rng;
    tuned = std::move(outcome.options);
    tuning = std::move(outcome.report);
  } else {
    candidate = TrainCandidateModel(logs, p, options, rng);
  }
  if (options.distributed.rank != 0) {
    // Data-parallel: rank 0 holds the same model and goes on alone.
    report.summary = absl::StrCat("rank ", options.distributed.rank, " of ",
                                  options.distributed.world_size,
                                  ": candidate training done (kept epoch ", candidate.kept_epoch,
                                  ", validation HR@50 ", candidate.validation_hr50,
                                  "); rank 0 writes the bundle");
    report.metrics.emplace_back("candidate/validation/hr@50", candidate.validation_hr50);
    return report;
  }
  report.metrics.emplace_back("candidate/kept_epoch", candidate.kept_epoch);
  report.metrics.emplace_back("candidate/validation/hr@50", candidate.validation_hr50);
  report.metrics.emplace_back("candidate/validation/ndcg@10", candidate.validation_ndcg10);
  if (options.tune_budget_s <= 0) {
    RECSYS_ASSIGN_OR_RETURN(PipelineRun run,
                            ExportAndRank(logs, p, options, candidate, rng, std::move(report)));
    RECSYS_ASSIGN_OR_RETURN(run.report.bundle_dir, CommitBundle(run.report, *run.writer));
    return std::move(run.report);
  }

  // --tune's ranking stage: the rest of the pipeline once per value of the
  // ranking setting, each from the same random state; the best by the
  // validation Recommend list is committed (trainer/tuning.h).
  auto elapsed_s = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  PipelineRun best;
  double first_run_s = 0;
  const std::vector<std::string> values =
      tuned.train_ranking ? RankingTuningValues(tuned)
                          : std::vector<std::string>{RankingTuningValues(tuned).front()};
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0 && elapsed_s() + first_run_s > options.tune_budget_s) {
      tuning.add_not_tried(absl::StrCat(RankingTuningFlag(), "=", values[i]));
      continue;
    }
    RECSYS_ASSIGN_OR_RETURN(TrainerOptions o, WithSetting(tuned, RankingTuningFlag(), values[i]));
    const Clock::time_point t0 = Clock::now();
    if (i > 0) spdlog::info("tuning: ranking stage, --{}={}", RankingTuningFlag(), values[i]);
    RECSYS_ASSIGN_OR_RETURN(PipelineRun run, ExportAndRank(logs, p, o, candidate, rng, report));
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (i == 0) first_run_s = seconds;
    if (!tuned.train_ranking) {
      best = std::move(run);
      break;
    }
    const bool better = AddRankingTrial(
        o, i == 0, MetricOf(run.report, "validation_two_stage/hr@50"),
        MetricOf(run.report, "validation_two_stage/ndcg@10"), seconds, &tuning);
    if (better) best = std::move(run);
  }
  tuning.set_spent_s(elapsed_s());
  *best.writer->manifest()->mutable_tuning() = tuning;
  best.report.summary = FormatTuningReport(tuning) + best.report.summary;
  RECSYS_ASSIGN_OR_RETURN(best.report.bundle_dir, CommitBundle(best.report, *best.writer));
  return std::move(best.report);
}

// The pipeline after the candidate model: bundle (candidate model and ANN),
// candidate evaluation, ranking model and its evaluation, with `options`
// (the tuned ones with --tune); the caller commits.
absl::StatusOr<PipelineRun> ExportAndRank(const Logs& logs, const TrainingData& p,
                                          const TrainerOptions& options,
                                          const CandidateTraining& candidate,
                                          std::mt19937_64 rng, TrainerReport report) {
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<BundleWriter> writer, CreateBundleWriter(p, options));
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

  return PipelineRun{std::move(writer), std::move(report)};
}

}  // namespace

absl::StatusOr<TrainerReport> Train(const Logs& logs, const TrainerOptions& options) {
  return CatchTorchErrors("training", [&]() { return TrainStages(logs, options); });
}

}  // namespace recsys
