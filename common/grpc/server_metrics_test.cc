#include "common/grpc/server_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/grpc/http_get.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ServerMetricsTest, ServesWhatWasRecordedAtSlashMetrics) {
  auto metrics = ServerMetrics::Create("test_server", "127.0.0.1:0");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_GT((*metrics)->port(), 0);
  const absl::Time now = absl::Now();
  (*metrics)->RecordRequest("Recommend", absl::StatusCode::kOk, now - absl::Milliseconds(3));
  (*metrics)->RecordRequest("Recommend", absl::StatusCode::kOk, now - absl::Milliseconds(4));
  (*metrics)->RecordRequest("Recommend", absl::StatusCode::kResourceExhausted, now);
  (*metrics)->RecordDegraded("DEGRADED_RANKING_UNAVAILABLE");
  (*metrics)->SetLoadedVersions({"20260101-000001"});
  (*metrics)->SetLoadedVersions({"20260102-000001", "20260101-000001"});
  (*metrics)->RecordModelLoad(true);
  (*metrics)->RecordModelLoad(false);
  (*metrics)->SetBreakerOpen(true);
  (*metrics)->RecordShardCall(0, "ok");
  (*metrics)->RecordShardCall(1, "unavailable");
  (*metrics)->RecordShardCall(1, "unavailable");
  absl::StatusOr<std::string> page = HttpGet((*metrics)->port(), "/metrics");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(*page, HasSubstr(
      "recsys_requests_total{server=\"test_server\",code=\"OK\",method=\"Recommend\"} 2"));
  EXPECT_THAT(*page, HasSubstr("code=\"RESOURCE_EXHAUSTED\",method=\"Recommend\"} 1"));
  EXPECT_THAT(*page, HasSubstr(
      "recsys_request_duration_seconds_count{server=\"test_server\",method=\"Recommend\"} 3"));
  EXPECT_THAT(*page, HasSubstr("cause=\"DEGRADED_RANKING_UNAVAILABLE\"} 1"));
  EXPECT_THAT(*page, HasSubstr("recsys_model_version_loaded{server=\"test_server\",version=\"20260102-000001\"} 1"));
  EXPECT_THAT(*page, HasSubstr("recsys_model_loads_total{server=\"test_server\",result=\"rejected\"} 1"));
  EXPECT_THAT(*page, HasSubstr("recsys_ranking_breaker_open{server=\"test_server\"} 1"));
  EXPECT_THAT(*page, HasSubstr("recsys_ann_shard_calls_total{server=\"test_server\","
                               "outcome=\"unavailable\",shard=\"1\"} 2"));
  EXPECT_THAT(*page, HasSubstr("outcome=\"ok\",shard=\"0\"} 1"));
}

TEST(ServerMetricsTest, StageHistogramsAndAnnRecallFollowTheLoadedVersions) {
  auto metrics = ServerMetrics::Create("test_server", "127.0.0.1:0");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ServerMetrics& m = **metrics;
  m.RecordStage("Recommend", "ann", absl::Microseconds(150));
  m.RecordStage("Recommend", "ann", absl::Microseconds(30));
  m.RecordStage("Rank", "tower", absl::Milliseconds(2));
  m.SetLoadedVersions({"v1"});
  m.SetAnnRecall("v1", 0.97, 200);
  m.SetLoadedVersions({"v2", "v1"});
  m.SetAnnRecall("v2", 0.91, 200);
  m.SetLoadedVersions({"v2"});  // v1 unloaded: its recall goes too
  absl::StatusOr<std::string> page = HttpGet(m.port(), "/metrics");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(*page, HasSubstr("recsys_stage_duration_seconds_count{server=\"test_server\","
                               "method=\"Recommend\",stage=\"ann\"} 2"));
  EXPECT_THAT(*page, HasSubstr("recsys_stage_duration_seconds_bucket{server=\"test_server\","
                               "method=\"Recommend\",stage=\"ann\",le=\"5e-05\"} 1"));
  EXPECT_THAT(*page, HasSubstr("recsys_stage_duration_seconds_count{server=\"test_server\","
                               "method=\"Rank\",stage=\"tower\"} 1"));
  EXPECT_THAT(*page, HasSubstr(
      "recsys_ann_recall{server=\"test_server\",at=\"200\",version=\"v2\"} 0.91"));
  EXPECT_THAT(*page, Not(HasSubstr("version=\"v1\"")));
}

TEST(ServerMetricsTest, WithoutAnAddressNothingIsServed) {
  auto metrics = ServerMetrics::Create("test_server", "");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ((*metrics)->port(), 0);
  (*metrics)->RecordRequest("Rank", absl::StatusCode::kOk, absl::Now());  // counts, harmlessly
}

TEST(ServerMetricsTest, AnAddressInUseIsAnError) {
  auto first = ServerMetrics::Create("a", "127.0.0.1:0");
  ASSERT_TRUE(first.ok());
  auto second = ServerMetrics::Create("b", "127.0.0.1:" + std::to_string((*first)->port()));
  EXPECT_FALSE(second.ok());
}

}  // namespace
}  // namespace recsys
