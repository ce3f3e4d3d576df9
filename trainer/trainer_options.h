#ifndef RECSYS_TRAINER_TRAINER_OPTIONS_H_
#define RECSYS_TRAINER_TRAINER_OPTIONS_H_

// The trainer's options, filled from flags by trainer_main.cc only and
// checked by one `Validate()`, and the report every stage adds to.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/bundle.pb.h"
#include "trainer/distributed_options.h"

namespace recsys {

// Which events a candidate example's inputs come from.
enum class ExampleInputs {
  // Only events strictly before the label (the paper's choice).
  kRollback,
  // All of the user's other events, before and after the label (the paper's
  // counter-example; an experiment only).
  kRandomHoldout,
};
// "rollback" or "random_holdout"; InvalidArgument otherwise.
absl::StatusOr<ExampleInputs> ParseExampleInputs(absl::string_view name);

// The candidate feature groups left out by the `--features` list `text`
// (comma-separated group names, which must include watches).
absl::StatusOr<std::vector<bundle::FeatureGroup>> DisabledFeatureGroupsFromList(
    absl::string_view text);
// The inverse: the `--features` list of the groups not in `disabled`.
std::string FeatureGroupList(const std::vector<bundle::FeatureGroup>& disabled);

// A layer-width flag's value `text` ("1024,512,256"; "" is no layer) as
// widths, input side first. InvalidArgument naming `--<flag>` and the bad
// part when a width is not a positive integer.
absl::StatusOr<std::vector<int>> ParseLayers(absl::string_view flag, absl::string_view text);

struct TrainerOptions {
  // Where versions are written (`<bundles_dir>/<version>/`).
  std::string bundles_dir = "bundles";
  // A description of the training data, kept in the manifest.
  std::string training_data;
  uint64_t seed = 42;
  // libtorch intra-op threads.
  int num_threads = 2;
  bool progress = true;

  // Data-parallel candidate training (trainer/process_group.h): world_size
  // processes, each training on its share of the users (by a hash of the
  // user ID); rank 0 serves the rendezvous at master_addr:master_port and
  // alone goes on to the ranking model and the bundle. world_size 1: one
  // process.
  DistributedOptions distributed;

  // Vocabularies: the most frequent N values (<= 0: all).
  int max_videos = 1000000;
  int max_tokens = 1000000;
  // Logs read for a sample of the users (--user_fraction): the left-out
  // users' watches per video (`TrainingDataOptions::unsampled_video_counts`).
  // Not owned; null when every user was read.
  const absl::flat_hash_map<std::string, int64_t>* unsampled_video_counts = nullptr;

  // Candidate generation.
  int embedding_dim = 64;
  std::vector<int> candidate_hidden = {256};
  int output_dim = 64;
  int max_examples_per_user = 100;
  // Candidate inputs: the most recent N watches and N search queries.
  int max_watches = 50;
  int max_searches = 50;
  ExampleInputs example_inputs = ExampleInputs::kRollback;
  int candidate_epochs = 10;
  // The item co-watch kNN baseline (evaluation/baselines.h).
  int knn_window = 20;
  int knn_last_watches = 2;
  int knn_neighbours = 200;
  // Keep the epoch with the best HR@50 on the validation watches (each
  // user's second-to-last; at most `max_validation_users` users).
  bool keep_best_epoch = true;
  // With `keep_best_epoch`: stop after this many epochs without a better
  // validation HR@50 (<= 0: run every epoch).
  int patience = 3;
  int max_validation_users = 2000;
  int batch_size = 256;
  // Sampled negatives per batch, capped by the corpus.
  int num_negatives = 2000;
  // Proposal distribution: label frequency ^ alpha (0 = uniform).
  double sampling_alpha = 0.75;
  bool logq_correction = true;
  float candidate_learning_rate = 0.08f;
  // Example age fed at serving time, days.
  float serving_example_age_days = 0;
  // Feature groups left out of the candidate model: any of searches,
  // example age, demographics, recent (watches are always in).
  std::vector<bundle::FeatureGroup> disabled_feature_groups;
  // The `recent` group's last watches averaged (unless it is disabled).
  int recent_watches = 10;

  // The item-to-item co-visitation source (trainer/covisitation.h), a
  // table in the bundle: neighbours kept per video (0: no table, the source
  // is off) and the consecutive watches that co-visit.
  int covisit_neighbours = 50;
  int covisit_window = 5;
  // How the offline evaluation's "dnn+covisit" (the served nomination,
  // `Retriever::Candidates`) merges it: the share of the list and the most
  // recent watches used as seeds (`Retriever::Options`; the candidate
  // server uses the same: they are recorded in the bundle).
  double covisit_share = 0.3;
  int covisit_seeds = 5;

  // Retrieval.
  std::string ann_factory = "auto";
  // IVF indexes: the recall of the exact top `num_candidates` the export
  // widens nprobe (from 16, doubling) to reach (trainer/ann_export.h);
  // 0 keeps nprobe 16.
  double ann_target_recall = 0.95;
  // The candidate count the service retrieves (ANN recall is measured at it).
  int num_candidates = 200;
  // Logs without impressions: ranking pages made from retrieval at each
  // user's most recent this many training watches, this many videos a page
  // (trainer/retrieval_impressions.h).
  int retrieval_pages_per_user = 50;
  int retrieval_page_size = 20;

  // Ranking.
  // false: the bundle holds candidate generation only (experiments on
  // retrieval; logs without impressions are always so).
  bool train_ranking = true;
  std::vector<int> ranking_hidden = {256};
  // Embedding sizes: per_log2 * log2(vocabulary size + 1) (the paper's
  // "approximately proportional to the logarithm"), unless set > 0.
  double ranking_dim_per_log2 = 3;
  int ranking_video_dim = 0;
  int ranking_channel_dim = 0;
  int ranking_language_dim = 0;
  // Ranking vocabularies: the most clicked (in training impressions) videos
  // and channels; <= 0 keeps all.
  int ranking_max_videos = 1000000;
  int ranking_max_channels = 100000;
  // At most this many epochs; the one with the lowest weighted per-user
  // loss on the last `ranking_validation_days` of training impressions is
  // kept (stopping
  // after `patience` epochs without a lower one). 0 validation days: all
  // epochs, no choice.
  int ranking_epochs = 6;
  int ranking_validation_days = 1;
  float ranking_learning_rate = 0.05f;
  bool use_powers = true;
  // The last-watched bag of the ranking model: the most recent N watches.
  // Written to the bundle's ranking spec, which serving reads it from.
  int ranking_max_watches = 50;
  bundle::RankingObjective objective = bundle::RANKING_OBJECTIVE_WATCH_TIME;
  // With the watch_time objective, also train the same network as an
  // unweighted click model and report it on the held-out pages.
  bool ranking_ctr_baseline = true;
  // Impressions in the last `holdout_days` days are held out for evaluation.
  int holdout_days = 1;
  int num_quantiles = 100;

  // `trainer --tune`: > 0 searches the candidate model's settings for this
  // many seconds of wall time, choosing by validation (trainer/tuning.h).
  double tune_budget_s = 0;

  // Recorded in the manifest verbatim (the command line's flags).
  std::map<std::string, std::string> hyperparameters;

  // InvalidArgument naming the first option out of range (every check of
  // the options is here).
  absl::Status Validate() const;
};

struct TrainerReport {
  std::string bundle_dir;
  // Offline metrics in the order printed, e.g. {"candidate/dnn/hr@50", 0.31}.
  std::vector<std::pair<std::string, double>> metrics;
  // A human-readable summary of the evaluation (tables).
  std::string summary;
};

// A metric as the report's tables print it (3 decimals).
std::string FormatMetric(double x);

}  // namespace recsys

#endif  // RECSYS_TRAINER_TRAINER_OPTIONS_H_
