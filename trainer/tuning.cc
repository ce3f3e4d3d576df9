#include "trainer/tuning.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <ATen/CPUGeneratorImpl.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "common/serving/models.h"

namespace recsys {
namespace {

constexpr char kMaxWatches[] = "max_watches";
constexpr char kMaxExamples[] = "max_examples_per_user";
constexpr char kLearningRate[] = "candidate_lr";
constexpr char kFeatures[] = "features";
constexpr char kEpochs[] = "candidate_epochs";
constexpr char kObjective[] = "objective";

// The share of the budget the candidate search may use when a ranking
// model follows (the rest is for the ranking stage's trials).
constexpr double kCandidateShareOfBudget = 0.7;

// History lengths tried (besides the given one).
constexpr int kMaxWatchesTried[] = {10, 20, 50};

std::string FormatFloat(double x) { return absl::StrFormat("%g", x); }

// libtorch's global CPU generator: its state is saved after each trial so
// that the pipeline goes on from the chosen trial's, as a run without
// --tune would.
torch::Tensor TorchRngState() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void SetTorchRngState(const torch::Tensor& state) {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

// Trial `a` is better than `b`: validation HR@50, then NDCG@10.
bool Better(const bundle::TuningTrial& a, const bundle::TuningTrial& b) {
  if (a.validation_hr50() != b.validation_hr50()) {
    return a.validation_hr50() > b.validation_hr50();
  }
  return a.validation_ndcg10() > b.validation_ndcg10();
}

}  // namespace

std::vector<TuningDimension> TuningDimensions(const TrainerOptions& options) {
  std::vector<TuningDimension> dims;
  TuningDimension watches{kMaxWatches, {}};
  for (int n : kMaxWatchesTried) watches.values.push_back(absl::StrCat(n));
  dims.push_back(watches);
  dims.push_back({kMaxExamples, {"0", "100"}});
  dims.push_back({kLearningRate,
                  {FormatFloat(options.candidate_learning_rate / 2),
                   FormatFloat(options.candidate_learning_rate * 2)}});
  std::vector<bundle::FeatureGroup> toggled = options.disabled_feature_groups;
  auto recent = std::find(toggled.begin(), toggled.end(), bundle::FEATURE_GROUP_RECENT);
  if (recent == toggled.end()) {
    toggled.push_back(bundle::FEATURE_GROUP_RECENT);
  } else {
    toggled.erase(recent);
  }
  dims.push_back({kFeatures, {FeatureGroupList(toggled)}});
  dims.push_back({kEpochs, {absl::StrCat(options.candidate_epochs),
                            absl::StrCat(options.candidate_epochs * 2)}});
  // The given value is one of each setting's values (a later pass may come
  // back to it).
  for (TuningDimension& d : dims) {
    const std::string given = SettingValue(options, d.flag);
    if (std::find(d.values.begin(), d.values.end(), given) == d.values.end()) {
      d.values.insert(d.values.begin(), given);
    }
  }
  return dims;
}

std::string SettingValue(const TrainerOptions& options, const std::string& flag) {
  if (flag == kMaxWatches) return absl::StrCat(options.max_watches);
  if (flag == kMaxExamples) return absl::StrCat(options.max_examples_per_user);
  if (flag == kLearningRate) return FormatFloat(options.candidate_learning_rate);
  if (flag == kFeatures) return FeatureGroupList(options.disabled_feature_groups);
  if (flag == kEpochs) return absl::StrCat(options.candidate_epochs);
  if (flag == kObjective) return RankingObjectiveName(options.objective);
  return "";
}

absl::StatusOr<TrainerOptions> WithSetting(const TrainerOptions& options,
                                           const std::string& flag, const std::string& value) {
  TrainerOptions o = options;
  bool parsed = true;
  if (flag == kMaxWatches) {
    parsed = absl::SimpleAtoi(value, &o.max_watches);
  } else if (flag == kMaxExamples) {
    parsed = absl::SimpleAtoi(value, &o.max_examples_per_user);
  } else if (flag == kLearningRate) {
    parsed = absl::SimpleAtof(value, &o.candidate_learning_rate);
  } else if (flag == kFeatures) {
    RECSYS_ASSIGN_OR_RETURN(o.disabled_feature_groups, DisabledFeatureGroupsFromList(value));
  } else if (flag == kEpochs) {
    parsed = absl::SimpleAtoi(value, &o.candidate_epochs);
  } else if (flag == kObjective) {
    RECSYS_ASSIGN_OR_RETURN(o.objective, ParseRankingObjective(value));
  } else {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " is not a tuned setting"));
  }
  if (!parsed) {
    return absl::InvalidArgumentError(absl::StrCat("bad value '", value, "' for --", flag));
  }
  RECSYS_RETURN_IF_ERROR(o.Validate());
  o.hyperparameters[flag] = SettingValue(o, flag);
  return o;
}

int TuningMaxWatches(const TrainerOptions& options) {
  int n = options.max_watches;
  for (int m : kMaxWatchesTried) n = std::max(n, m);
  return n;
}

TuningOutcome TuneCandidateModel(const Logs& logs, const TrainingData& p,
                                 const TrainerOptions& given) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  auto elapsed_s = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  const std::vector<TuningDimension> dims = TuningDimensions(given);

  TuningOutcome best;
  torch::Tensor best_torch_state;
  bundle::TuningReport report;
  report.set_budget_s(given.tune_budget_s);
  report.set_chosen_ranking(-1);
  report.set_chosen_by(
      "candidate stage: validation HR@50, then NDCG@10; ranking stage: validation NDCG@10 "
      "of the Recommend list, then HR@50");
  const double budget_s =
      given.tune_budget_s * (given.train_ranking ? kCandidateShareOfBudget : 1.0);
  double longest_s = 0;

  // Trains the candidate model with `o` from the seed, as a run without
  // --tune would, and keeps it when it is the best so far.
  auto run_trial = [&](const TrainerOptions& o, const std::string& changed) {
    torch::manual_seed(o.seed);
    std::mt19937_64 rng(o.seed);
    const Clock::time_point t0 = Clock::now();
    spdlog::info("tuning: trial {}{}", report.trials_size() + 1,
                 changed.empty() ? std::string(" (the flags as given)")
                                 : absl::StrCat(": --", changed, "=", SettingValue(o, changed)));
    CandidateTraining training = TrainCandidateModel(logs, p, o, rng);
    bundle::TuningTrial trial;
    trial.set_stage("candidate");
    for (const TuningDimension& d : dims) (*trial.mutable_settings())[d.flag] = SettingValue(o, d.flag);
    trial.set_changed(changed);
    trial.set_validation_hr50(training.validation_hr50);
    trial.set_validation_ndcg10(training.validation_ndcg10);
    trial.set_kept_epoch(training.kept_epoch);
    trial.set_epochs_run(training.epochs_run);
    trial.set_seconds(std::chrono::duration<double>(Clock::now() - t0).count());
    longest_s = std::max(longest_s, trial.seconds());
    spdlog::info("tuning: trial {}: validation HR@50 {:.4f}, NDCG@10 {:.4f} ({:.0f} s)",
                 report.trials_size() + 1, trial.validation_hr50(), trial.validation_ndcg10(),
                 trial.seconds());
    const bool first = report.trials_size() == 0;
    if (first || Better(trial, report.trials(report.chosen()))) {
      report.set_chosen(report.trials_size());
      best.options = o;
      best.training = std::move(training);
      best.rng = rng;
      best_torch_state = TorchRngState();
    }
    *report.add_trials() = std::move(trial);
  };

  // The settings of a trial, as one string (the trials already run).
  auto key = [&](const TrainerOptions& o) {
    std::string k;
    for (const TuningDimension& d : dims) absl::StrAppend(&k, d.flag, "=", SettingValue(o, d.flag), " ");
    return k;
  };
  absl::flat_hash_set<std::string> tried = {key(given)};
  run_trial(given, "");
  bool out_of_budget = false;
  // Passes over every setting until one changes nothing (or the budget ends).
  for (int pass = 1;; ++pass) {
    const int chosen_before = report.chosen();
    for (const TuningDimension& d : dims) {
      for (const std::string& value : d.values) {
        if (value == SettingValue(best.options, d.flag)) continue;
        // A longer run can only matter when the best one used every epoch.
        if (d.flag == kEpochs && best.training.epochs_run < best.options.candidate_epochs) {
          continue;
        }
        absl::StatusOr<TrainerOptions> o = WithSetting(best.options, d.flag, value);
        if (!o.ok()) {  // the values above are all valid; never skipped silently
          spdlog::warn("tuning: --{}={} skipped: {}", d.flag, value,
                       std::string(o.status().message()));
          continue;
        }
        if (!tried.insert(key(*o)).second) continue;
        if (out_of_budget || elapsed_s() + longest_s > budget_s) {
          out_of_budget = true;
          report.add_not_tried(absl::StrCat(d.flag, "=", value));
          continue;
        }
        run_trial(*o, d.flag);
      }
    }
    report.set_passes(pass);
    if (out_of_budget || report.chosen() == chosen_before) break;
  }
  report.set_spent_s(elapsed_s());
  SetTorchRngState(best_torch_state);
  best.report = std::move(report);
  return best;
}

std::vector<std::string> RankingTuningValues(const TrainerOptions& options) {
  std::vector<std::string> values = {RankingObjectiveName(options.objective)};
  for (bundle::RankingObjective objective :
       {bundle::RANKING_OBJECTIVE_WATCH_TIME, bundle::RANKING_OBJECTIVE_CTR}) {
    if (objective != options.objective) values.push_back(RankingObjectiveName(objective));
  }
  return values;
}

const char* RankingTuningFlag() { return kObjective; }

bool AddRankingTrial(const TrainerOptions& options, bool first, double validation_hr50,
                     double validation_ndcg10, double seconds, bundle::TuningReport* report) {
  bundle::TuningTrial trial;
  trial.set_stage("ranking");
  if (!first) trial.set_changed(kObjective);
  (*trial.mutable_settings())[kObjective] = SettingValue(options, kObjective);
  trial.set_validation_hr50(validation_hr50);
  trial.set_validation_ndcg10(validation_ndcg10);
  trial.set_seconds(seconds);
  bool best = report->chosen_ranking() < 0;
  if (!best) {
    const bundle::TuningTrial& b = report->trials(report->chosen_ranking());
    best = trial.validation_ndcg10() != b.validation_ndcg10()
               ? trial.validation_ndcg10() > b.validation_ndcg10()
               : trial.validation_hr50() > b.validation_hr50();
  }
  if (best) report->set_chosen_ranking(report->trials_size());
  *report->add_trials() = std::move(trial);
  return best;
}

std::string FormatTuningReport(const bundle::TuningReport& report) {
  std::string s = absl::StrFormat(
      "Tuning (--tune): %d trials (%d passes) in %.0f s of a %.0f s budget, chosen by %s "
      "(validation watches only):\n",
      report.trials_size(), report.passes(), report.spent_s(), report.budget_s(),
      report.chosen_by());
  std::vector<std::string> changed;
  size_t width = 10;
  for (const bundle::TuningTrial& t : report.trials()) {
    changed.push_back(t.changed().empty()
                          ? std::string("(as given)")
                          : absl::StrCat("--", t.changed(), "=", t.settings().at(t.changed())));
    width = std::max(width, changed.back().size());
  }
  std::string stage;
  for (int i = 0; i < report.trials_size(); ++i) {
    const bundle::TuningTrial& t = report.trials(i);
    if (t.stage() != stage) {
      stage = t.stage();
      absl::StrAppend(
          &s, stage == "ranking"
                  ? "  ranking stage (the whole pipeline on the chosen candidate model; "
                    "validation Recommend list):\n"
                  : "  candidate stage (the candidate model alone):\n");
      absl::StrAppend(&s, absl::StrFormat("  %-3s %-*s %9s %9s %5s %6s\n", "#", width,
                                          "changed", "val HR@50", "NDCG@10", "epoch", "s"));
    }
    const bool chosen = i == (stage == "ranking" ? report.chosen_ranking() : report.chosen());
    const std::string epoch =
        stage == "ranking" ? std::string("") : absl::StrCat(t.kept_epoch(), "/", t.epochs_run());
    absl::StrAppend(&s, absl::StrFormat("  %-3d %-*s %9.4f %9.4f %5s %6.0f%s\n", i + 1, width,
                                        changed[i], t.validation_hr50(), t.validation_ndcg10(),
                                        epoch, t.seconds(), chosen ? "  <- chosen" : ""));
  }
  if (report.not_tried_size() > 0) {
    absl::StrAppend(&s, "  not tried (the budget ran out): ",
                    absl::StrJoin(report.not_tried(), ", "), "\n");
  }
  if (report.trials_size() > 0) {
    std::map<std::string, std::string> settings(report.trials(report.chosen()).settings().begin(),
                                                 report.trials(report.chosen()).settings().end());
    if (report.chosen_ranking() >= 0) {
      for (const auto& [flag, value] : report.trials(report.chosen_ranking()).settings()) {
        settings[flag] = value;
      }
    }
    std::vector<std::string> flags;
    for (const auto& [flag, value] : settings) flags.push_back(absl::StrCat("--", flag, "=", value));
    absl::StrAppend(&s, "  chosen: ", absl::StrJoin(flags, " "), "\n");
  }
  return s;
}

}  // namespace recsys
