#include "clients/explanation_table.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "proto/recsys.pb.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

TEST(TextTableTest, ColumnsAreAlignedNumbersRightText) {
  TextTable table({"video", "score"});
  table.AddRow({"v1", "1.5"});
  table.AddRow({"a-long-id", "12.25"});
  const std::vector<std::string> lines = Lines(table.ToString());
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "  video      score");
  EXPECT_EQ(lines[1], "  ----------------");
  EXPECT_EQ(lines[2], "  v1           1.5");
  EXPECT_EQ(lines[3], "  a-long-id  12.25");
}

RecommendResponse Answer() {
  RecommendResponse response;
  response.set_model_version("v-cand");
  response.add_videos()->set_video_id("v7");
  Explanation* e = response.mutable_explanation();
  e->set_candidate_model_version("v-cand");
  e->set_ranking_model_version("v-rank");
  e->set_ranking_use_powers(true);
  UserTowerReading* tower = e->mutable_user_tower();
  tower->set_knows_anything(true);
  WatchReading* kept = tower->add_watches_kept();
  kept->set_video_id("v1");
  kept->set_time_s(100);
  kept->set_vocabulary_row(4);
  WatchReading* dropped = tower->add_watches_dropped();
  dropped->set_video_id("gone");
  dropped->set_vocabulary_row(-1);
  dropped->set_dropped(INPUT_DROP_OUT_OF_VOCABULARY);
  TokenReading* token = tower->add_tokens_dropped();
  token->set_token("zebra");
  token->set_vocabulary_row(-1);
  token->set_dropped(INPUT_DROP_BEYOND_TOKEN_LIMIT);
  CategoricalFeature* region = tower->add_demographics_categorical();
  region->set_name("region");
  region->set_value("US");
  region->set_vocabulary_row(2);
  e->mutable_ranking_request()->mutable_seed_video()->set_value("v1");
  e->mutable_ranking_request()->mutable_seed_video()->set_vocabulary_row(4);

  CandidateExplanation* c = e->add_candidates();
  c->set_video_id("v7");
  c->set_title("A title");
  c->add_sources(SOURCE_DNN);
  c->add_sources(SOURCE_COVISIT);
  c->set_retrieval_score(3.25f);
  c->set_retrieval_rank(2);
  c->set_final_rank(1);
  RankingCandidateExplanation* r = c->mutable_ranking();
  r->set_logit(4.5f);
  r->set_predicted_watch_seconds(90.0f);
  r->set_rank(1);
  CategoricalFeature* channel = r->add_categorical();
  channel->set_name("channel");
  channel->set_value("c3");
  channel->set_vocabulary_row(-1);
  ContinuousFeature* upload = r->add_continuous();
  upload->set_name("days_since_upload");
  upload->set_raw_value(12.0f);
  upload->set_normalized_value(0.25f);

  CandidateExplanation* removed = e->add_removed();
  removed->set_video_id("v1");
  removed->add_sources(SOURCE_DNN);
  removed->set_removed(REMOVAL_ALREADY_WATCHED);
  CandidateExplanation* cut = e->add_removed();
  cut->set_video_id("v9");
  cut->add_sources(SOURCE_POPULAR);
  cut->set_retrieval_rank(3);
  cut->set_removed(REMOVAL_BELOW_CUT);
  cut->mutable_ranking()->set_rank(2);
  return response;
}

TEST(FormatExplanationTest, PrintsEverySection) {
  const std::string text = FormatExplanation(Answer());
  EXPECT_THAT(text, HasSubstr("candidate model v-cand, ranking model v-rank"));
  EXPECT_THAT(text, HasSubstr("watches kept (oldest first): 1"));
  EXPECT_THAT(text, HasSubstr("gone"));
  EXPECT_THAT(text, HasSubstr("out of vocabulary"));
  EXPECT_THAT(text, HasSubstr("beyond the token limit"));
  EXPECT_THAT(text, HasSubstr("seed video v1 (4)"));
  EXPECT_THAT(text, HasSubstr("dnn+covisit"));
  EXPECT_THAT(text, HasSubstr("days_since_upload"));
  EXPECT_THAT(text, HasSubstr("12>0.250"));
  EXPECT_THAT(text, HasSubstr("c3 (oov)"));
  EXPECT_THAT(text, HasSubstr("already watched"));
  EXPECT_THAT(text, HasSubstr("below the cut"));
  EXPECT_THAT(text, Not(HasSubstr("DEGRADED")));
}

TEST(FormatExplanationTest, TheAnswerRowCarriesTheRankSourcesAndScores) {
  const std::vector<std::string> lines = Lines(FormatExplanation(Answer()));
  bool found = false;
  for (const std::string& line : lines) {
    if (line.find("A title") == std::string::npos) continue;
    found = true;
    EXPECT_THAT(line, HasSubstr("v7"));
    EXPECT_THAT(line, HasSubstr("3.25"));
    EXPECT_THAT(line, HasSubstr("4.5"));
    EXPECT_THAT(line, HasSubstr("90.0"));
  }
  EXPECT_TRUE(found);
}

TEST(FormatExplanationTest, ADegradedAnswerSaysSoAndHasNoRankingSections) {
  RecommendResponse response = Answer();
  response.set_degraded(true);
  response.set_degraded_cause(DEGRADED_RANKING_UNAVAILABLE);
  response.mutable_explanation()->clear_ranking_model_version();
  const std::string text = FormatExplanation(response);
  EXPECT_THAT(text, HasSubstr("DEGRADED (DEGRADED_RANKING_UNAVAILABLE)"));
  EXPECT_THAT(text, HasSubstr("not ranked"));
  EXPECT_THAT(text, Not(HasSubstr("Ranking, request-level inputs")));
}

TEST(FormatExplanationTest, AnAnswerWithoutExplanationSaysSo) {
  EXPECT_EQ(FormatExplanation(RecommendResponse()), "(no explanation in the answer)\n");
}

}  // namespace
}  // namespace recsys
