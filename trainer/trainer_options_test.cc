#include "trainer/trainer_options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

TEST(TrainerOptionsTest, DefaultsAreValid) {
  EXPECT_TRUE(TrainerOptions().Validate().ok());
}

TEST(TrainerOptionsTest, EachCheckNamesItsOption) {
  struct Case {
    void (*mutate)(TrainerOptions*);
    const char* expected;
  };
  const Case cases[] = {
      {[](TrainerOptions* o) { o->batch_size = 0; }, "batch_size"},
      {[](TrainerOptions* o) { o->max_searches = -1; }, "max_searches"},
      {[](TrainerOptions* o) { o->ranking_max_watches = 0; }, "ranking_max_watches"},
      {[](TrainerOptions* o) { o->candidate_hidden = {64, 0}; }, "candidate_hidden"},
      {[](TrainerOptions* o) { o->ranking_hidden = {-3}; }, "ranking_hidden"},
      {[](TrainerOptions* o) {
         o->disabled_feature_groups = {bundle::FEATURE_GROUP_WATCHES};
       },
       "watches"},
      {[](TrainerOptions* o) { o->objective = bundle::RANKING_OBJECTIVE_UNSPECIFIED; },
       "objective"},
      {[](TrainerOptions* o) { o->ranking_epochs = 0; }, "ranking_epochs"},
      {[](TrainerOptions* o) { o->ranking_validation_days = -1; }, "ranking_validation_days"},
      {[](TrainerOptions* o) { o->ranking_dim_per_log2 = 0; }, "ranking_dim_per_log2"},
      {[](TrainerOptions* o) { o->candidate_learning_rate = -0.1f; }, "candidate_learning_rate"},
      {[](TrainerOptions* o) { o->ranking_learning_rate = 0; }, "ranking_learning_rate"},
  };
  for (const Case& c : cases) {
    TrainerOptions options;
    c.mutate(&options);
    absl::Status s = options.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.expected;
    EXPECT_THAT(s.message(), HasSubstr(c.expected));
  }
}

TEST(TrainerOptionsTest, DisablingTheOptionalGroupsIsValid) {
  TrainerOptions options;
  options.disabled_feature_groups = {bundle::FEATURE_GROUP_SEARCHES,
                                     bundle::FEATURE_GROUP_EXAMPLE_AGE,
                                     bundle::FEATURE_GROUP_DEMOGRAPHICS};
  EXPECT_TRUE(options.Validate().ok());
}

TEST(ParseExampleInputsTest, TheTwoNamesAndNothingElse) {
  EXPECT_EQ(ParseExampleInputs("rollback").value(), ExampleInputs::kRollback);
  EXPECT_EQ(ParseExampleInputs("random_holdout").value(), ExampleInputs::kRandomHoldout);
  EXPECT_EQ(ParseExampleInputs("random").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ParseLayersTest, WidthsInOrderAndBadPartsNamed) {
  EXPECT_EQ(ParseLayers("ranking_hidden", "1024,512,256").value(),
            (std::vector<int>{1024, 512, 256}));
  EXPECT_TRUE(ParseLayers("candidate_hidden", "").value().empty());
  for (const char* bad : {"1024,x", "0", "-3", "1024,,1.5"}) {
    absl::StatusOr<std::vector<int>> layers = ParseLayers("candidate_hidden", bad);
    EXPECT_EQ(layers.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(layers.status().message(), HasSubstr("--candidate_hidden")) << bad;
  }
}

}  // namespace
}  // namespace recsys
