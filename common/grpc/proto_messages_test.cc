#include "common/grpc/proto_messages.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proto/recsys.pb.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(ParseRequestTest, ParsesAWellFormedRequest) {
  RecommendRequest request;
  request.mutable_context()->add_watches()->set_video_id("v1");
  request.set_num_results(7);
  RecommendRequest parsed;
  ASSERT_TRUE(ParseRequest(Buffer(request.SerializeAsString()), &parsed).ok());
  EXPECT_EQ(parsed.num_results(), 7);
  EXPECT_EQ(parsed.context().watches(0).video_id(), "v1");
}

TEST(ParseRequestTest, InvalidUtf8IsInvalidArgumentNamingTheField) {
  RecommendRequest request;
  request.mutable_context()->add_watches()->set_video_id("v1");
  std::string bytes = request.SerializeAsString();
  // Replace "v1" with an invalid UTF-8 sequence of the same length.
  const size_t at = bytes.find("v1");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = '\xc3';
  bytes[at + 1] = '\x28';
  RecommendRequest parsed;
  absl::Status s = ParseRequest(Buffer(bytes), &parsed);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("could not be parsed as recsys.RecommendRequest"));
  EXPECT_THAT(s.message(), HasSubstr("video_id"));
  EXPECT_THAT(s.message(), HasSubstr("UTF-8"));
}

TEST(ParseRequestTest, TruncatedBytesAreInvalidArgument) {
  RecommendRequest request;
  request.mutable_context()->add_watches()->set_video_id("a long enough video id");
  std::string bytes = request.SerializeAsString();
  bytes.resize(bytes.size() - 5);
  RecommendRequest parsed;
  absl::Status s = ParseRequest(Buffer(bytes), &parsed);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("could not be parsed"));
}

TEST(SerializeResponseTest, RoundTrips) {
  RecommendResponse response;
  response.set_model_version("20260101-000000");
  grpc::ByteBuffer buffer;
  ASSERT_TRUE(SerializeResponse(response, &buffer).ok());
  RecommendResponse back;
  ASSERT_TRUE(ParseRequest(buffer, &back).ok());
  EXPECT_EQ(back.model_version(), "20260101-000000");
}

TEST(SerializeResponseTest, RoundTripsEmptyAndLargeMessages) {
  grpc::ByteBuffer buffer;
  ASSERT_TRUE(SerializeResponse(RecommendResponse(), &buffer).ok());
  EXPECT_EQ(buffer.Length(), 0u);
  RecommendResponse large;
  for (int i = 0; i < 500; ++i) {
    RankedVideo* v = large.add_videos();
    v->set_video_id("v" + std::to_string(i));
    v->set_title(std::string(200, 'a' + i % 26));
    v->set_predicted_watch_seconds(i * 0.5f);
  }
  ASSERT_TRUE(SerializeResponse(large, &buffer).ok());
  EXPECT_EQ(buffer.Length(), large.ByteSizeLong());
  RecommendResponse back;
  ASSERT_TRUE(ParseRequest(buffer, &back).ok());
  EXPECT_EQ(back.SerializeAsString(), large.SerializeAsString());
}

}  // namespace
}  // namespace recsys
