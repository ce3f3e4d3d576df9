// trainer: trains the candidate-generation and ranking models on canonical
// logs and writes a new model bundle version.
//
//   trainer --logs=data/world --bundles=bundles

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"
#include "common/base/status_macros.h"
#include "common/features/features.h"
#include "common/serving/models.h"
#include "common/logs/logs.h"
#include "trainer/trainer.h"
#include "trainer/training_data.h"

ABSL_FLAG(std::string, logs, "", "Directory of canonical CSV logs (docs/data-format.md).");
ABSL_FLAG(std::string, bundles, "bundles", "Directory that receives the new bundle version.");
ABSL_FLAG(bool, skip_malformed, false,
          "Skip and count malformed log rows instead of stopping at the first.");
ABSL_FLAG(double, user_fraction, 1.0,
          "Train on this share of the users, in (0, 1]: chosen by a fixed hash of the user "
          "ID (the same users every run), their rows kept as the logs stream in and the "
          "others' dropped, so memory and epoch time scale with the share. Every video of "
          "videos.csv stays in the catalogue; the vocabularies come from the kept users. For "
          "logs too large for memory or for an epoch of a few hours (e.g. the large world).");
ABSL_FLAG(uint64_t, seed, 42, "Random seed: the same seed and logs give the same model.");
ABSL_FLAG(int, threads, 2, "libtorch threads.");
ABSL_FLAG(int, world_size, 1,
          "Data-parallel candidate training: the number of trainer processes (1: this one "
          "alone). Each trains on its share of the users; rank 0 writes the bundle.");
ABSL_FLAG(int, rank, 0, "This process's rank in [0, --world_size).");
ABSL_FLAG(std::string, master_addr, "127.0.0.1",
          "Rank 0's address: where it serves the group's rendezvous (every rank connects).");
ABSL_FLAG(int, master_port, 29500, "Rank 0's rendezvous port.");
ABSL_FLAG(bool, progress, true, "Show progress bars on stderr.");
ABSL_FLAG(int, max_videos, 1000000, "Video vocabulary size (most watched first).");
ABSL_FLAG(int, max_tokens, 1000000, "Search-token vocabulary size.");
ABSL_FLAG(int, embedding_dim, 64, "Candidate model: watch and token embedding width.");
ABSL_FLAG(std::string, candidate_hidden, "256",
          "Candidate tower hidden ReLU layers, comma-separated ('' = depth 0).");
ABSL_FLAG(int, output_dim, 64, "Width of user vectors and video output embeddings.");
ABSL_FLAG(int, max_examples_per_user, 100, "Cap on training examples per user.");
ABSL_FLAG(std::string, example_inputs, "rollback",
          "rollback (inputs strictly before each label) or random_holdout (all other "
          "events: the paper's counter-example, for experiments).");
ABSL_FLAG(int, candidate_epochs, 10, "Candidate model epochs (at most, see --patience).");
ABSL_FLAG(int, patience, 3,
          "Stop training after this many epochs without a better validation score "
          "(candidates: HR@50; ranking: its loss) (<= 0: run every epoch).");
ABSL_FLAG(int, knn_window, 20,
          "Item kNN baseline: consecutive watches that co-occur (<= 0: a user's whole "
          "history).");
ABSL_FLAG(int, knn_last_watches, 2, "Item kNN baseline: recent watches used as seeds.");
ABSL_FLAG(int, knn_neighbours, 200, "Item kNN baseline: neighbours kept per video.");
ABSL_FLAG(int, covisit_neighbours, 50,
          "Co-visitation source: neighbours kept per video in the bundle's table (0: no "
          "table, the candidate service serves the network's candidates alone).");
ABSL_FLAG(int, covisit_window, 5,
          "Co-visitation source: two watches co-visit when among this many consecutive "
          "watches of a user (>= 2).");
ABSL_FLAG(double, covisit_share, 0.3,
          "Co-visitation source: the share of the candidate list it takes in the served "
          "nomination (the ranking pages made from retrieval, the evaluation); recorded in the "
          "bundle, and candidate_server uses it unless its --covisit_share says otherwise.");
ABSL_FLAG(int, covisit_seeds, 5,
          "Co-visitation source: the most recent watches whose neighbours are nominated; "
          "recorded in the bundle like --covisit_share.");
ABSL_FLAG(int, max_watches, 50, "Candidate model input: the most recent N watches.");
ABSL_FLAG(int, max_searches, 50, "Candidate model input: the most recent N searches.");
ABSL_FLAG(bool, keep_best_epoch, true,
          "Keep the candidate model of the epoch with the best HR@50 on the "
          "validation watches (each user's second-to-last).");
ABSL_FLAG(int, max_validation_users, 2000, "Users in the candidate validation set.");
ABSL_FLAG(int, batch_size, 256, "Mini-batch size (both models).");
ABSL_FLAG(int, num_negatives, 2000, "Sampled negatives per batch (capped by the corpus).");
ABSL_FLAG(double, sampling_alpha, 0.75,
          "Negatives drawn by label frequency^alpha (0 = uniform).");
ABSL_FLAG(bool, logq, true, "Subtract log Q(j) from sampled logits (logQ correction).");
ABSL_FLAG(double, candidate_lr, 0.08, "Candidate model Adagrad learning rate.");
ABSL_FLAG(double, serving_example_age_days, 0, "Example age fed at serving time, days.");
ABSL_FLAG(std::string, features, "watches,searches,example_age,demographics",
          "Candidate model feature groups, comma-separated, of watches, searches, "
          "example_age, demographics (the paper's) and recent (beyond the paper: the mean "
          "embedding of the last --recent_watches watches as a block of its own; off by "
          "default, as it costs validation HR@50 on the simulated world, docs/results.md); "
          "watches are required.");
ABSL_FLAG(int, recent_watches, 10,
          "Candidate model, with the recent feature group: the last N watches averaged (10: "
          "the best validation HR@50 of 1, 3, 5, 10, 20 on ml-latest-small).");
ABSL_FLAG(std::string, ann_factory, "auto",
          "FAISS index: auto, Flat, IVF<n>,Flat or HNSW<M>.");
ABSL_FLAG(double, ann_target_recall, 0.95,
          "IVF indexes: export widens nprobe from 16, doubling, until the index's recall of the "
          "exact top --num_candidates reaches this (0: keep 16); the bundle records the nprobe "
          "and the servers search with it.");
ABSL_FLAG(int, num_candidates, 200, "Candidates the service retrieves (ANN recall is measured at it).");
ABSL_FLAG(int, retrieval_pages_per_user, 50,
          "Logs without impressions: ranking pages are made from what candidate generation "
          "nominates at each user's most recent this many training watches.");
ABSL_FLAG(int, retrieval_page_size, 20,
          "Logs without impressions: videos per ranking page (the watched one and others the "
          "candidate generator nominated).");
ABSL_FLAG(bool, train_ranking, true,
          "Train the ranking model (false: candidate generation only).");
ABSL_FLAG(std::string, metrics_out, "",
          "If set, the offline metrics are also written here, one 'name value' per line.");
ABSL_FLAG(std::string, ranking_hidden, "256", "Ranking tower hidden ReLU layers, comma-separated.");
ABSL_FLAG(int, ranking_epochs, 6,
          "Ranking model epochs (at most: the epoch with the lowest weighted per-user "
          "loss on the validation days is kept, see --patience).");
ABSL_FLAG(int, ranking_validation_days, 1,
          "Days of training impressions (just before the held-out days) that choose "
          "the ranking epoch; 0: train every epoch on all days.");
ABSL_FLAG(double, ranking_lr, 0.05, "Ranking model Adagrad learning rate.");
ABSL_FLAG(double, ranking_dim_per_log2, 3,
          "Ranking embedding sizes: this times log2(vocabulary size + 1) (the paper: "
          "about proportional to the log of the cardinality).");
ABSL_FLAG(int, ranking_video_dim, 0, "Ranking video embedding size (0: by cardinality).");
ABSL_FLAG(int, ranking_channel_dim, 0, "Ranking channel embedding size (0: by cardinality).");
ABSL_FLAG(int, ranking_language_dim, 0,
          "Ranking language embedding size, user and video (0: by cardinality).");
ABSL_FLAG(int, ranking_max_videos, 1000000,
          "Ranking video vocabulary: the most clicked in training impressions (0: all).");
ABSL_FLAG(int, ranking_max_channels, 100000,
          "Ranking channel vocabulary: the most clicked in training impressions (0: all).");
ABSL_FLAG(bool, use_powers, true, "Feed x~^2 and sqrt(x~) of each normalised feature.");
ABSL_FLAG(bool, ranking_ctr_baseline, true,
          "With --objective=watch_time, also train the same ranking network as an "
          "unweighted click (CTR) model and report it on the held-out day.");
ABSL_FLAG(std::string, objective, "watch_time",
          "Ranking objective: watch_time (weighted logistic) or ctr.");
ABSL_FLAG(absl::Duration, tune, absl::ZeroDuration(),
          "Time budget (e.g. 20m, 1h) for a search over the candidate model's settings that "
          "matter on real logs: --max_watches, --max_examples_per_user, --candidate_lr, "
          "--features (recent) and --candidate_epochs, one at a time from the values given, "
          "chosen by validation HR@50 (each user's second-to-last watch; never the test "
          "watch). The chosen model is the one written; the trials and the choice are printed "
          "and kept in the manifest (0: no search).");
ABSL_FLAG(int, holdout_days, 1, "Days of impressions held out to evaluate ranking.");

namespace {

// Every flag into the options, the strings parsed into enums here, then
// `Validate()`: the only place flags reach the trainer.
absl::StatusOr<recsys::TrainerOptions> OptionsFromFlags() {
  recsys::TrainerOptions options;
  RECSYS_ASSIGN_OR_RETURN(
      options.candidate_hidden,
      recsys::ParseLayers("candidate_hidden", absl::GetFlag(FLAGS_candidate_hidden)));
  RECSYS_ASSIGN_OR_RETURN(
      options.ranking_hidden,
      recsys::ParseLayers("ranking_hidden", absl::GetFlag(FLAGS_ranking_hidden)));
  RECSYS_ASSIGN_OR_RETURN(options.example_inputs,
                          recsys::ParseExampleInputs(absl::GetFlag(FLAGS_example_inputs)));
  RECSYS_ASSIGN_OR_RETURN(options.objective,
                          recsys::ParseRankingObjective(absl::GetFlag(FLAGS_objective)));
  RECSYS_ASSIGN_OR_RETURN(options.disabled_feature_groups,
                          recsys::DisabledFeatureGroupsFromList(absl::GetFlag(FLAGS_features)));
  options.bundles_dir = absl::GetFlag(FLAGS_bundles);
  options.training_data = absl::GetFlag(FLAGS_logs);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.num_threads = absl::GetFlag(FLAGS_threads);
  options.distributed.world_size = absl::GetFlag(FLAGS_world_size);
  options.distributed.rank = absl::GetFlag(FLAGS_rank);
  options.distributed.master_addr = absl::GetFlag(FLAGS_master_addr);
  options.distributed.master_port = absl::GetFlag(FLAGS_master_port);
  options.progress = absl::GetFlag(FLAGS_progress);
  options.max_videos = absl::GetFlag(FLAGS_max_videos);
  options.max_tokens = absl::GetFlag(FLAGS_max_tokens);
  options.embedding_dim = absl::GetFlag(FLAGS_embedding_dim);
  options.output_dim = absl::GetFlag(FLAGS_output_dim);
  options.max_examples_per_user = absl::GetFlag(FLAGS_max_examples_per_user);
  options.candidate_epochs = absl::GetFlag(FLAGS_candidate_epochs);
  options.keep_best_epoch = absl::GetFlag(FLAGS_keep_best_epoch);
  options.ranking_ctr_baseline = absl::GetFlag(FLAGS_ranking_ctr_baseline);
  options.patience = absl::GetFlag(FLAGS_patience);
  options.max_watches = absl::GetFlag(FLAGS_max_watches);
  options.knn_window = absl::GetFlag(FLAGS_knn_window);
  options.knn_last_watches = absl::GetFlag(FLAGS_knn_last_watches);
  options.knn_neighbours = absl::GetFlag(FLAGS_knn_neighbours);
  options.max_searches = absl::GetFlag(FLAGS_max_searches);
  options.recent_watches = absl::GetFlag(FLAGS_recent_watches);
  options.covisit_neighbours = absl::GetFlag(FLAGS_covisit_neighbours);
  options.covisit_window = absl::GetFlag(FLAGS_covisit_window);
  options.covisit_share = absl::GetFlag(FLAGS_covisit_share);
  options.covisit_seeds = absl::GetFlag(FLAGS_covisit_seeds);
  options.max_validation_users = absl::GetFlag(FLAGS_max_validation_users);
  options.batch_size = absl::GetFlag(FLAGS_batch_size);
  options.num_negatives = absl::GetFlag(FLAGS_num_negatives);
  options.sampling_alpha = absl::GetFlag(FLAGS_sampling_alpha);
  options.logq_correction = absl::GetFlag(FLAGS_logq);
  options.candidate_learning_rate = absl::GetFlag(FLAGS_candidate_lr);
  options.serving_example_age_days = absl::GetFlag(FLAGS_serving_example_age_days);
  options.ann_factory = absl::GetFlag(FLAGS_ann_factory);
  options.num_candidates = absl::GetFlag(FLAGS_num_candidates);
  options.ann_target_recall = absl::GetFlag(FLAGS_ann_target_recall);
  options.retrieval_pages_per_user = absl::GetFlag(FLAGS_retrieval_pages_per_user);
  options.retrieval_page_size = absl::GetFlag(FLAGS_retrieval_page_size);
  options.ranking_epochs = absl::GetFlag(FLAGS_ranking_epochs);
  options.ranking_validation_days = absl::GetFlag(FLAGS_ranking_validation_days);
  options.train_ranking = absl::GetFlag(FLAGS_train_ranking);
  options.ranking_learning_rate = absl::GetFlag(FLAGS_ranking_lr);
  options.ranking_dim_per_log2 = absl::GetFlag(FLAGS_ranking_dim_per_log2);
  options.ranking_video_dim = absl::GetFlag(FLAGS_ranking_video_dim);
  options.ranking_channel_dim = absl::GetFlag(FLAGS_ranking_channel_dim);
  options.ranking_language_dim = absl::GetFlag(FLAGS_ranking_language_dim);
  options.ranking_max_videos = absl::GetFlag(FLAGS_ranking_max_videos);
  options.ranking_max_channels = absl::GetFlag(FLAGS_ranking_max_channels);
  options.use_powers = absl::GetFlag(FLAGS_use_powers);
  options.holdout_days = absl::GetFlag(FLAGS_holdout_days);
  options.tune_budget_s = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_tune));
  // Every flag of this file, as given, for the manifest.
  options.hyperparameters = recsys::FlagValuesOfFile("trainer_main");
  RECSYS_RETURN_IF_ERROR(options.Validate());
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  // OMP_WAIT_POLICY=PASSIVE (libgomp's spinning threads fought OpenBLAS's:
  // 1.2k vs 9.7k training examples/s on 2 cores) and the OpenBLAS kernels
  // this CPU can run (common/base/cpu_env.h).
  recsys::ReexecWithTunedCpuEnvironment(argv);
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Trains the candidate-generation and ranking models on canonical logs and "
      "writes a new model bundle version.\n\n"
      "  trainer --logs=data/world --bundles=bundles\n\n"
      "Prints the offline evaluation (held-out last watch per user; held-out "
      "last day of impressions) and the bundle's path.");
  const std::string logs_dir = absl::GetFlag(FLAGS_logs);
  if (logs_dir.empty()) {
    spdlog::error("trainer: --logs is required (a directory of CSV logs; "
                  "generate one with simulator/world_gen). See --help.");
    return 2;
  }
  absl::StatusOr<recsys::TrainerOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    spdlog::error("trainer: {}", std::string(options.status().message()));
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  recsys::ReadLogsOptions read_options;
  read_options.skip_malformed = absl::GetFlag(FLAGS_skip_malformed);
  const double user_fraction = absl::GetFlag(FLAGS_user_fraction);
  if (!(user_fraction > 0 && user_fraction <= 1)) {
    spdlog::error("trainer: --user_fraction must be in (0, 1], got {}", user_fraction);
    return 2;
  }
  // The left-out users' watches per video: the vocabulary, the negative
  // sampler and popularity still cover every watched video.
  absl::flat_hash_map<std::string, int64_t> unsampled_video_counts;
  if (user_fraction < 1) {
    read_options.keep_user = [user_fraction](absl::string_view user) {
      return recsys::InUserSample(user, user_fraction);
    };
    read_options.on_dropped_watch = [&](const recsys::WatchRecord& w) {
      ++unsampled_video_counts[w.video_id];
    };
    options->unsampled_video_counts = &unsampled_video_counts;
    options->training_data = absl::StrCat(logs_dir, " (--user_fraction=", user_fraction, ")");
  }
  recsys::ReadLogsStats stats;
  absl::StatusOr<recsys::Logs> logs = recsys::ReadLogs(logs_dir, read_options, &stats);
  if (!logs.ok()) {
    spdlog::error("trainer: {}", std::string(logs.status().message()));
    return 1;
  }
  if (stats.skipped_rows > 0) {
    spdlog::warn("trainer: skipped {} malformed rows, e.g. {}", stats.skipped_rows,
                 stats.skip_messages.empty() ? "" : stats.skip_messages[0]);
  }
  spdlog::info("read {}: {} videos, {} users, {} watches, {} searches, {} impressions", logs_dir,
               logs->videos.size(), logs->users.size(), logs->watches.size(),
               logs->searches.size(), logs->impressions.size());
  if (user_fraction < 1) {
    spdlog::info("--user_fraction={}: kept those {} users' rows, dropped {} rows of the others",
                 user_fraction, logs->users.size(), stats.dropped_rows);
  }

  absl::StatusOr<recsys::TrainerReport> report = recsys::Train(*logs, *options);
  if (!report.ok()) {
    spdlog::error("trainer: {}", std::string(report.status().message()));
    return 1;
  }
  if (const std::string path = absl::GetFlag(FLAGS_metrics_out); !path.empty()) {
    std::FILE* out = std::fopen(path.c_str(), "w");
    if (out == nullptr) {
      spdlog::error("trainer: cannot write --metrics_out={}", path);
      return 1;
    }
    for (const auto& [name, value] : report->metrics) {
      std::fprintf(out, "%s %.6f\n", name.c_str(), value);
    }
    std::fclose(out);
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (report->bundle_dir.empty()) {
    std::printf("\n%s\nDone in %.1f s\n", report->summary.c_str(), seconds);
    return 0;
  }
  std::printf("\n%s\nWrote bundle %s in %.1f s\n", report->summary.c_str(),
              report->bundle_dir.c_str(), seconds);
  return 0;
}
