#include "common/request_validation.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace recsys {
namespace {

using ::testing::HasSubstr;

TEST(RequestValidationTest, EmptyRecommendRequestNamesContext) {
  absl::Status s = ValidateRecommendRequest(RecommendRequest());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("context"));
}

TEST(RequestValidationTest, EmptyContextIsAColdStartUser) {
  RecommendRequest r;
  r.mutable_context();
  EXPECT_TRUE(ValidateRecommendRequest(r).ok());
}

TEST(RequestValidationTest, NamesTheBadWatch) {
  RecommendRequest r;
  r.mutable_context()->add_watches()->set_video_id("v1");
  r.mutable_context()->add_watches()->set_time_s(5);
  absl::Status s = ValidateRecommendRequest(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("context.watches[1].video_id"));
}

TEST(RequestValidationTest, RejectsOutOfRangeNumbers) {
  RecommendRequest r;
  r.mutable_context()->mutable_demographics()->set_age(200);
  EXPECT_THAT(ValidateRecommendRequest(r).message(), HasSubstr("demographics.age"));
  r.mutable_context()->mutable_demographics()->set_age(30);
  r.set_num_results(-1);
  EXPECT_THAT(ValidateRecommendRequest(r).message(), HasSubstr("num_results"));
  r.set_num_results(10);
  r.set_num_candidates(kMaxCandidates + 1);
  EXPECT_THAT(ValidateRecommendRequest(r).message(), HasSubstr("num_candidates"));
  r.set_num_candidates(0);
  r.mutable_context()->add_searches()->set_query("");
  EXPECT_THAT(ValidateRecommendRequest(r).message(),
              HasSubstr("context.searches[0].query"));
}

TEST(RequestValidationTest, RankNeedsCandidatesWithIdsAndFiniteScores) {
  RankRequest r;
  r.mutable_context();
  EXPECT_THAT(ValidateRankRequest(r).message(), HasSubstr("candidates"));
  r.add_candidates()->set_video_id("v1");
  EXPECT_TRUE(ValidateRankRequest(r).ok());
  r.add_candidates()->set_retrieval_score(1);
  EXPECT_THAT(ValidateRankRequest(r).message(), HasSubstr("candidates[1].video_id"));
  r.mutable_candidates(1)->set_video_id("v2");
  r.mutable_candidates(1)->set_retrieval_score(NAN);
  EXPECT_THAT(ValidateRankRequest(r).message(),
              HasSubstr("candidates[1].retrieval_score"));
}

}  // namespace
}  // namespace recsys
