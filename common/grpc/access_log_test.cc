#include "common/grpc/access_log.h"

#include <set>

#include "gtest/gtest.h"

namespace recsys {
namespace {

TEST(AccessLogTest, FormatsLogfmtWithBothVersions) {
  AccessLogEntry e;
  e.method = "Recommend";
  e.request_id = "abc123";
  e.peer = "ipv4:127.0.0.1:5000";
  e.code = absl::StatusCode::kOk;
  e.latency = absl::Microseconds(2914);
  e.degraded = true;
  e.degraded_cause = "DEGRADED_RANKING_DEADLINE";
  e.version = "v2";
  e.ranking_version = "v1";
  e.results = 20;
  EXPECT_EQ(AccessLog::Format(e),
            "access method=Recommend request_id=abc123 peer=ipv4:127.0.0.1:5000 code=OK "
            "latency_ms=2.914 degraded=true cause=DEGRADED_RANKING_DEADLINE version=v2 "
            "ranking_version=v1 results=20");
}

TEST(AccessLogTest, QuotesValuesThatWouldBreakTheLine) {
  AccessLogEntry e;
  e.method = "Rank";
  e.request_id = "a b\"c\n";
  e.code = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(AccessLog::Format(e),
            "access method=Rank request_id=\"a b\\\"c\\x0a\" peer=\"\" code=INVALID_ARGUMENT "
            "latency_ms=0.000 version=\"\" results=0");
}

TEST(AccessLogTest, SamplesTheRequestedFraction) {
  EXPECT_FALSE(AccessLog(0).enabled());
  EXPECT_FALSE(AccessLog(0).Sample());
  EXPECT_TRUE(AccessLog(1).Sample());
  const AccessLog tenth(0.1);
  int sampled = 0;
  for (int i = 0; i < 100000; ++i) sampled += tenth.Sample() ? 1 : 0;
  EXPECT_NEAR(sampled, 10000, 600);
}

TEST(AccessLogTest, NewRequestIdsAreDistinctHex) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewRequestId();
    EXPECT_EQ(id.size(), 16u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

}  // namespace
}  // namespace recsys
