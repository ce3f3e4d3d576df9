#ifndef RECSYS_TRAINER_TUNING_H_
#define RECSYS_TRAINER_TUNING_H_

// `trainer --tune`: a time-budgeted search over the few candidate-model
// settings that matter on real logs, chosen by validation only.
//
// The search is coordinate descent from the options as given: one setting
// at a time (in `TuningDimensions()` order), each of its other values is
// tried with every other setting at the best found so far, and the best
// value is kept before the next setting; passes over all settings repeat
// until one changes nothing (a combination is never trained twice). Every trial trains the candidate
// model from the same seed and is scored by its kept epoch's HR@50 on the
// validation watches (each user's second-to-last; NDCG@10 breaks ties); the
// test watches are never looked at. The chosen trial's model is the one the
// pipeline goes on with: running the trainer without --tune and with the
// chosen flags trains the same model.
//
// The budget is the wall time of the search: a trial is not started when
// the longest trial so far would end past it (a started trial finishes).

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/logs/logs.h"
#include "proto/bundle.pb.h"
#include "trainer/candidate_training.h"
#include "trainer/trainer_options.h"
#include "trainer/training_data.h"

namespace recsys {

// One setting the search varies: the trainer flag and its values (the
// given one among them).
struct TuningDimension {
  std::string flag;
  std::vector<std::string> values;
};

// max_watches, max_examples_per_user, candidate_lr, features and
// candidate_epochs (a longer run, tried only when the best trial so far
// trained every epoch without patience stopping it).
std::vector<TuningDimension> TuningDimensions(const TrainerOptions& options);

// `options` with the trainer flag `flag` set to `value` (a value as the
// command line gives it); InvalidArgument for an unknown flag or value.
absl::StatusOr<TrainerOptions> WithSetting(const TrainerOptions& options,
                                           const std::string& flag, const std::string& value);

// The value of the tunable `flag` in `options`, as the command line writes it.
std::string SettingValue(const TrainerOptions& options, const std::string& flag);

struct TuningOutcome {
  // The options of the chosen trial (the given ones with the chosen
  // settings; `hyperparameters` updated to them).
  TrainerOptions options;
  // The chosen trial's model, and the random engine as it stood after that
  // trial (what a run without --tune would go on with).
  CandidateTraining training;
  std::mt19937_64 rng;
  // Every trial, in order; the manifest's record.
  bundle::TuningReport report;
};

// Runs the candidate stage of the search within `options.tune_budget_s`
// (> 0), or 70% of it when a ranking model follows (`train_ranking`: the
// rest is for the ranking stage). `p` must have been
// prepared with `TuningMaxWatches(options)` watches of history.
TuningOutcome TuneCandidateModel(const Logs& logs, const TrainingData& p,
                                 const TrainerOptions& options);

// The longest watch history any trial reads (for `PrepareTrainingData`).
int TuningMaxWatches(const TrainerOptions& options);

// The ranking stage (run by the trainer's pipeline, trainer.cc): after the
// candidate stage, the whole pipeline is run once per value of the ranking
// setting (`RankingTuningFlag()`: the objective, watch_time or ctr; the
// given value first), each from the same random state, and the bundle of
// the best by validation NDCG@10 of the Recommend list (nominated, then
// ranked; HR@50 breaks ties) is the one committed. A value is tried only
// when the budget has room for one more run as long as the first.
const char* RankingTuningFlag();
std::vector<std::string> RankingTuningValues(const TrainerOptions& options);
// Appends a ranking-stage trial with `options`' ranking setting (`first`:
// the value as given) and its validation scores; true when it is the best
// ranking-stage trial so far (then `chosen_ranking` points at it).
bool AddRankingTrial(const TrainerOptions& options, bool first, double validation_hr50,
                     double validation_ndcg10, double seconds, bundle::TuningReport* report);

// The trials as a table (one line per trial: its settings, validation HR@50
// and NDCG@10, kept epoch, seconds; the chosen one marked), and the chosen
// flags as a command line fragment.
std::string FormatTuningReport(const bundle::TuningReport& report);

}  // namespace recsys

#endif  // RECSYS_TRAINER_TUNING_H_
