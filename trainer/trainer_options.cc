#include "trainer/trainer_options.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/base/status_macros.h"
#include "common/features/features.h"
#include "common/serving/models.h"

namespace recsys {

absl::StatusOr<ExampleInputs> ParseExampleInputs(absl::string_view name) {
  if (name == "rollback") return ExampleInputs::kRollback;
  if (name == "random_holdout") return ExampleInputs::kRandomHoldout;
  return absl::InvalidArgumentError(absl::StrCat(
      "example_inputs must be 'rollback' or 'random_holdout', got '", name, "'"));
}

namespace {

// Every optional group, in the order `--features` lists them.
constexpr bundle::FeatureGroup kOptionalGroups[] = {
    bundle::FEATURE_GROUP_SEARCHES, bundle::FEATURE_GROUP_EXAMPLE_AGE,
    bundle::FEATURE_GROUP_DEMOGRAPHICS, bundle::FEATURE_GROUP_RECENT};

}  // namespace

absl::StatusOr<std::vector<int>> ParseLayers(absl::string_view flag, absl::string_view text) {
  std::vector<int> layers;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    int width = 0;
    if (!absl::SimpleAtoi(part, &width) || width <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad layer width '", part, "' in --", flag, ": use e.g. --", flag, "=1024,512,256"));
    }
    layers.push_back(width);
  }
  return layers;
}

absl::StatusOr<std::vector<bundle::FeatureGroup>> DisabledFeatureGroupsFromList(
    absl::string_view text) {
  std::vector<bundle::FeatureGroup> enabled;
  for (absl::string_view name : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    absl::StatusOr<bundle::FeatureGroup> group = ParseFeatureGroup(name);
    if (!group.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(group.status().message(), " (in --features)"));
    }
    enabled.push_back(*group);
  }
  if (std::find(enabled.begin(), enabled.end(), bundle::FEATURE_GROUP_WATCHES) ==
      enabled.end()) {
    return absl::InvalidArgumentError("--features must include watches");
  }
  std::vector<bundle::FeatureGroup> disabled;
  for (bundle::FeatureGroup group : kOptionalGroups) {
    if (std::find(enabled.begin(), enabled.end(), group) == enabled.end()) {
      disabled.push_back(group);
    }
  }
  return disabled;
}

std::string FeatureGroupList(const std::vector<bundle::FeatureGroup>& disabled) {
  std::string list = FeatureGroupName(bundle::FEATURE_GROUP_WATCHES);
  for (bundle::FeatureGroup group : kOptionalGroups) {
    if (std::find(disabled.begin(), disabled.end(), group) == disabled.end()) {
      absl::StrAppend(&list, ",", FeatureGroupName(group));
    }
  }
  return list;
}

absl::Status TrainerOptions::Validate() const {
  if (absl::Status s = ValidateDistributedOptions(distributed); !s.ok()) return s;
  if (distributed.world_size > 1 && tune_budget_s > 0) {
    return absl::InvalidArgumentError("--tune runs in one process: drop --world_size");
  }
  if (!(tune_budget_s >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the tuning budget must be >= 0 seconds, got ", tune_budget_s));
  }
  if (retrieval_pages_per_user < 0 || retrieval_page_size < 2) {
    return absl::InvalidArgumentError(
        "retrieval_pages_per_user must be >= 0 and retrieval_page_size >= 2");
  }
  if (batch_size <= 0 || embedding_dim <= 0 || output_dim <= 0 || num_negatives <= 0 ||
      max_watches <= 0 || max_searches <= 0 || ranking_max_watches <= 0) {
    return absl::InvalidArgumentError(
        "batch_size, embedding_dim, output_dim, num_negatives, max_watches, max_searches "
        "and ranking_max_watches must be positive");
  }
  for (int width : candidate_hidden) {
    if (width <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("candidate_hidden layer widths must be positive, got ", width));
    }
  }
  for (int width : ranking_hidden) {
    if (width <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("ranking_hidden layer widths must be positive, got ", width));
    }
  }
  for (bundle::FeatureGroup group : disabled_feature_groups) {
    CandidateFeatureOptions probe;
    RECSYS_RETURN_IF_ERROR(DisableFeatureGroup(group, &probe));
  }
  if (recent_watches < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("recent_watches must be >= 1, got ", recent_watches));
  }
  if (objective != bundle::RANKING_OBJECTIVE_WATCH_TIME &&
      objective != bundle::RANKING_OBJECTIVE_CTR) {
    return absl::InvalidArgumentError(
        absl::StrCat("objective must be watch_time or ctr, got ", RankingObjectiveName(objective)));
  }
  if (ranking_epochs < 1 || ranking_validation_days < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ranking_epochs must be >= 1 and ranking_validation_days >= 0, got ",
        ranking_epochs, " and ", ranking_validation_days));
  }
  if (!(candidate_learning_rate > 0) || !(ranking_learning_rate > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "candidate_learning_rate and ranking_learning_rate must be > 0, got ",
        candidate_learning_rate, " and ", ranking_learning_rate));
  }
  if (!(ranking_dim_per_log2 > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ranking_dim_per_log2 must be > 0, got ", ranking_dim_per_log2));
  }
  if (covisit_neighbours < 0 || (covisit_neighbours > 0 && covisit_window < 2)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "covisit_neighbours must be >= 0 (0: no co-visitation table) and covisit_window >= 2, "
        "got ", covisit_neighbours, " and ", covisit_window));
  }
  if (!(ann_target_recall >= 0 && ann_target_recall <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ann_target_recall must be in [0, 1], got ", ann_target_recall));
  }
  if (!(covisit_share >= 0 && covisit_share <= 1) || covisit_seeds < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "covisit_share must be in [0, 1] and covisit_seeds >= 1, got ", covisit_share, " and ",
        covisit_seeds));
  }
  return absl::OkStatus();
}

std::string FormatMetric(double x) { return absl::StrFormat("%.3f", x); }

}  // namespace recsys
