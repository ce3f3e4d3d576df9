// `trainer --tune`: the search runs real trials on a tiny world, chooses by
// validation only, writes its record into the manifest, and the chosen
// flags train the same model without --tune.

#include "trainer/tuning.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/serving/bundle.h"
#include "common/serving/models.h"
#include "simulator/world.h"
#include "simulator/world_options.h"
#include "trainer/trainer.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

Logs TinyWorld() {
  absl::StatusOr<WorldOptions> options = WorldOptionsForPreset("tiny");
  EXPECT_TRUE(options.ok()) << options.status();
  absl::StatusOr<Logs> logs = GenerateWorld(*options);
  EXPECT_TRUE(logs.ok()) << logs.status();
  return *logs;
}

// Small and fast: one thread (deterministic), few epochs, no ranking.
TrainerOptions FastOptions(const std::string& bundles) {
  TrainerOptions o;
  o.bundles_dir = bundles;
  o.num_threads = 1;
  o.progress = false;
  o.embedding_dim = 16;
  o.candidate_hidden = {32};
  o.output_dim = 16;
  o.num_negatives = 100;
  o.candidate_epochs = 3;
  o.patience = 0;
  o.max_examples_per_user = 20;
  o.train_ranking = false;
  o.max_validation_users = 300;
  return o;
}

std::string TempDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(tmp ? tmp : "/tmp") + "/" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

double Metric(const TrainerReport& report, const std::string& name) {
  for (const auto& [n, v] : report.metrics) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no metric " << name;
  return -1;
}

TEST(TuningDimensionsTest, EachSettingHasTheGivenValueAndOthers) {
  TrainerOptions o;
  o.max_watches = 20;
  o.max_examples_per_user = 0;
  for (const TuningDimension& d : TuningDimensions(o)) {
    const std::string given = SettingValue(o, d.flag);
    EXPECT_THAT(d.values, ::testing::Contains(given)) << d.flag;
    EXPECT_GE(d.values.size(), 2u) << d.flag;
    for (const std::string& v : d.values) {
      absl::StatusOr<TrainerOptions> changed = WithSetting(o, d.flag, v);
      ASSERT_TRUE(changed.ok()) << d.flag << "=" << v << ": " << changed.status();
      EXPECT_EQ(SettingValue(*changed, d.flag), v);
      EXPECT_EQ(changed->hyperparameters.at(d.flag), v);
    }
  }
}

TEST(TuningDimensionsTest, FeaturesToggleTheRecentGroup) {
  TrainerOptions o;
  EXPECT_EQ(SettingValue(o, "features"), "watches,searches,example_age,demographics,recent");
  o.disabled_feature_groups = {bundle::FEATURE_GROUP_RECENT};
  std::vector<TuningDimension> dims = TuningDimensions(o);
  auto features = std::find_if(dims.begin(), dims.end(),
                               [](const TuningDimension& d) { return d.flag == "features"; });
  ASSERT_NE(features, dims.end());
  EXPECT_THAT(features->values,
              ::testing::UnorderedElementsAre("watches,searches,example_age,demographics",
                                              "watches,searches,example_age,demographics,recent"));
}

TEST(TuningDimensionsTest, BadSettingsAreRefused) {
  TrainerOptions o;
  EXPECT_THAT(WithSetting(o, "batch_size", "7").status().message(),
              HasSubstr("not a tuned setting"));
  EXPECT_THAT(WithSetting(o, "max_watches", "ten").status().message(),
              HasSubstr("--max_watches"));
  EXPECT_FALSE(WithSetting(o, "max_watches", "0").ok());
  EXPECT_FALSE(WithSetting(o, "features", "searches").ok());
}

TEST(TuningTest, ChoosesTheBestValidationTrialAndRecordsIt) {
  const Logs logs = TinyWorld();
  TrainerOptions options = FastOptions(TempDir("tuned"));
  options.tune_budget_s = 600;
  options.hyperparameters["max_watches"] = "50";
  absl::StatusOr<TrainerReport> report = Train(logs, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->summary, HasSubstr("Tuning (--tune)"));
  EXPECT_THAT(report->summary, HasSubstr("<- chosen"));

  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(report->bundle_dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  const bundle::BundleManifest& manifest = (*bundle)->manifest();
  ASSERT_TRUE(manifest.has_tuning());
  const bundle::TuningReport& tuning = manifest.tuning();
  // The given options, then every other value of every setting (the budget
  // is ample; the longer run only when the best trial ran every epoch), in
  // passes until one changes nothing; no combination twice.
  ASSERT_GE(tuning.trials_size(), 7);
  EXPECT_GE(tuning.passes(), 1);
  EXPECT_EQ(tuning.not_tried_size(), 0);
  EXPECT_EQ(tuning.trials(0).changed(), "");
  std::set<std::map<std::string, std::string>> combinations;
  for (const bundle::TuningTrial& t : tuning.trials()) {
    EXPECT_TRUE(combinations.emplace(t.settings().begin(), t.settings().end()).second);
  }
  // The chosen trial is the best by validation HR@50, and its scores are
  // the bundle's.
  const bundle::TuningTrial& chosen = tuning.trials(tuning.chosen());
  for (const bundle::TuningTrial& t : tuning.trials()) {
    EXPECT_LE(t.validation_hr50(), chosen.validation_hr50());
    EXPECT_GT(t.seconds(), 0);
  }
  EXPECT_DOUBLE_EQ(Metric(*report, "candidate/validation/hr@50"), chosen.validation_hr50());
  // The manifest's hyperparameters hold the chosen values.
  EXPECT_EQ(manifest.hyperparameters().at("max_watches"),
            chosen.settings().at("max_watches"));

  // The chosen flags without --tune train the same model.
  TrainerOptions again = FastOptions(TempDir("again"));
  for (const auto& [flag, value] : chosen.settings()) {
    absl::StatusOr<TrainerOptions> set = WithSetting(again, flag, value);
    ASSERT_TRUE(set.ok()) << set.status();
    again = *set;
  }
  absl::StatusOr<TrainerReport> plain = Train(logs, again);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_DOUBLE_EQ(Metric(*plain, "candidate/validation/hr@50"), chosen.validation_hr50());
  EXPECT_DOUBLE_EQ(Metric(*plain, "candidate/dnn/hr@50"), Metric(*report, "candidate/dnn/hr@50"));
  EXPECT_DOUBLE_EQ(Metric(*plain, "candidate/dnn/ndcg@10"),
                   Metric(*report, "candidate/dnn/ndcg@10"));
}

TEST(TuningTest, TheRankingStageCommitsTheBestObjective) {
  const Logs logs = TinyWorld();
  TrainerOptions options = FastOptions(TempDir("ranked"));
  options.train_ranking = true;
  options.ranking_hidden = {32};
  options.ranking_epochs = 2;
  options.tune_budget_s = 600;
  absl::StatusOr<TrainerReport> report = Train(logs, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->summary, HasSubstr("ranking stage"));
  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(report->bundle_dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  const bundle::BundleManifest& manifest = (*bundle)->manifest();
  const bundle::TuningReport& tuning = manifest.tuning();
  // Two ranking-stage trials, watch_time (as given) then ctr, after the
  // candidate stage's.
  std::vector<const bundle::TuningTrial*> ranking;
  for (const bundle::TuningTrial& t : tuning.trials()) {
    if (t.stage() == "ranking") ranking.push_back(&t);
  }
  ASSERT_EQ(ranking.size(), 2u);
  EXPECT_EQ(ranking[0]->settings().at("objective"), "watch_time");
  EXPECT_EQ(ranking[1]->settings().at("objective"), "ctr");
  EXPECT_EQ(tuning.trials(tuning.chosen()).stage(), "candidate");
  ASSERT_GE(tuning.chosen_ranking(), 0);
  const bundle::TuningTrial& chosen = tuning.trials(tuning.chosen_ranking());
  for (const bundle::TuningTrial* t : ranking) {
    EXPECT_LE(t->validation_ndcg10(), chosen.validation_ndcg10());
  }
  // The committed bundle is the chosen trial's: its objective, its scores.
  EXPECT_EQ(manifest.hyperparameters().at("objective"), chosen.settings().at("objective"));
  EXPECT_EQ(RankingObjectiveName(manifest.ranking().training_objective()),
            chosen.settings().at("objective"));
  EXPECT_DOUBLE_EQ(Metric(*report, "validation_two_stage/ndcg@10"), chosen.validation_ndcg10());
}

TEST(TuningTest, AnExhaustedBudgetSaysWhatWasNotTried) {
  const Logs logs = TinyWorld();
  TrainerOptions options = FastOptions(TempDir("short"));
  options.tune_budget_s = 1e-3;  // only the first trial (always run)
  absl::StatusOr<TrainerReport> report = Train(logs, options);
  ASSERT_TRUE(report.ok()) << report.status();
  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(report->bundle_dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  const bundle::TuningReport& tuning = (*bundle)->manifest().tuning();
  EXPECT_EQ(tuning.trials_size(), 1);
  EXPECT_EQ(tuning.chosen(), 0);
  EXPECT_GE(tuning.not_tried_size(), 5);
  EXPECT_THAT(report->summary, HasSubstr("not tried (the budget ran out)"));
}

}  // namespace
}  // namespace recsys
