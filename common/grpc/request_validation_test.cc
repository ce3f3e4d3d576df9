#include "common/grpc/request_validation.h"

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
  r.set_model_version(std::string(kMaxModelVersionBytes + 1, 'v'));
  EXPECT_THAT(ValidateRecommendRequest(r).message(), HasSubstr("model_version"));
  r.set_model_version(std::string(kMaxModelVersionBytes, 'v'));
  EXPECT_TRUE(ValidateRecommendRequest(r).ok());
  r.clear_model_version();
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

namespace recsys {
namespace {

TEST(RequestValidationLimitsTest, EachListAndStringHasALimitNamedInTheError) {
  RecommendRequest r;
  UserContext* c = r.mutable_context();
  c->set_user_id(std::string(kMaxUserIdBytes, 'u'));
  EXPECT_TRUE(ValidateRecommendRequest(r).ok());
  c->set_user_id(std::string(kMaxUserIdBytes + 1, 'u'));
  EXPECT_THAT(ValidateRecommendRequest(r).message(), ::testing::HasSubstr("context.user_id"));
  c->clear_user_id();

  for (int i = 0; i <= kMaxSearches; ++i) c->add_searches()->set_query("q");
  EXPECT_THAT(ValidateRecommendRequest(r).message(), ::testing::HasSubstr("context.searches"));
  c->clear_searches();
  for (int i = 0; i <= kMaxImpressions; ++i) c->add_impressions()->set_video_id("v");
  EXPECT_THAT(ValidateRecommendRequest(r).message(),
              ::testing::HasSubstr("context.impressions"));
  c->clear_impressions();
  for (int i = 0; i < kMaxWatches; ++i) c->add_watches()->set_video_id("v");
  EXPECT_TRUE(ValidateRecommendRequest(r).ok());
  c->add_watches()->set_video_id("v");
  EXPECT_THAT(ValidateRecommendRequest(r).message(), ::testing::HasSubstr("context.watches"));
  c->clear_watches();

  c->add_searches()->set_query(std::string(kMaxQueryBytes + 1, 'q'));
  EXPECT_THAT(ValidateRecommendRequest(r).message(),
              ::testing::HasSubstr("context.searches[0].query"));
  c->clear_searches();
  c->mutable_demographics()->set_language(std::string(kMaxDemographicBytes + 1, 'x'));
  EXPECT_THAT(ValidateRecommendRequest(r).message(),
              ::testing::HasSubstr("context.demographics.language"));
}

}  // namespace
}  // namespace recsys
