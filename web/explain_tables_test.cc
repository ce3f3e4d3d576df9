#include "web/explain_tables.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proto/recsys.pb.h"

namespace recsys::web {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ExplainTablesTest, FlattensSingularFieldsAndTabulatesRepeatedOnes) {
  Explanation e;
  e.set_candidate_model_version("20260101-000001");
  e.mutable_user_tower()->set_example_age(0.25f);
  WatchReading* kept = e.mutable_user_tower()->add_watches_kept();
  kept->set_video_id("v<1>");
  kept->set_vocabulary_row(7);
  CandidateExplanation* c = e.add_candidates();
  c->set_video_id("v02");
  c->add_sources(SOURCE_DNN);
  c->add_sources(SOURCE_COVISIT);
  c->set_retrieval_score(1.23456f);
  c->set_final_rank(1);
  ContinuousFeature* f = c->mutable_ranking()->add_continuous();
  f->set_name("time_since_last_watch_days");
  f->set_raw_value(3.5f);
  f->set_normalized_value(0.75f);

  const std::string html = ExplainTablesHtml(e, "explanation");
  // The key/value table of singular leaves, dotted paths.
  EXPECT_THAT(html, HasSubstr("<table class=\"explain\" data-field=\"explanation\">"));
  EXPECT_THAT(html, HasSubstr("<th>candidate_model_version</th><td>20260101-000001</td>"));
  EXPECT_THAT(html, HasSubstr("<th>user_tower.example_age</th><td>0.25</td>"));
  // A table per repeated message field, escaped values.
  EXPECT_THAT(html, HasSubstr("<summary>user_tower.watches_kept (1)</summary><table class=\"explain\" "
                              "data-field=\"user_tower.watches_kept\">"));
  EXPECT_THAT(html, HasSubstr("<td>v&lt;1&gt;</td><td class=\"num\">0</td><td class=\"num\">7</td>"));
  EXPECT_THAT(html, Not(HasSubstr("v<1>")));
  // Candidates: enums by name, repeated scalars joined, floats to 4
  // digits, a nested table for the features.
  EXPECT_THAT(html, HasSubstr("data-field=\"candidates\""));
  EXPECT_THAT(html, HasSubstr("<td>SOURCE_DNN, SOURCE_COVISIT</td><td class=\"num\">1.235</td>"));
  EXPECT_THAT(html, HasSubstr("<th>ranking.logit</th>"));
  EXPECT_THAT(html, HasSubstr("<table class=\"explain nested\" data-field=\"ranking.continuous\">"));
  EXPECT_THAT(html, HasSubstr("<td>time_since_last_watch_days</td><td class=\"num\">3.5</td>"
                              "<td class=\"num\">0.75</td>"));
  // An empty repeated field still has its table, saying so.
  EXPECT_THAT(html, HasSubstr("<summary>removed (0)</summary>"));
  EXPECT_THAT(html, HasSubstr(">none</td>"));
  EXPECT_THAT(html, HasSubstr("<details open><summary>candidates (1)</summary>"));
}

TEST(ExplainTablesTest, LongTablesStartFolded) {
  Explanation e;
  for (int i = 0; i < 41; ++i) e.add_removed()->set_video_id("v");
  e.add_candidates()->set_video_id("v");
  const std::string html = ExplainTablesHtml(e, "explanation");
  EXPECT_THAT(html, HasSubstr("<details><summary>removed (41)</summary><table class=\"explain\""));
  EXPECT_THAT(html, HasSubstr("<details open><summary>candidates (1)</summary>"));
}

TEST(ExplainTablesTest, AnEmptyMessageGivesEveryTableOfItsType) {
  const std::string html = ExplainTablesHtml(Explanation::default_instance(), "explanation");
  for (const char* field : {"user_tower.watches_kept", "user_tower.dense", "ranking_request.last_watched",
                            "candidates", "removed"}) {
    EXPECT_THAT(html, HasSubstr(std::string("data-field=\"") + field + "\"")) << field;
  }
}

}  // namespace
}  // namespace recsys::web
