// The ranking service over real gRPC with two bundle versions loaded: it
// ranks with the version the candidates came from, and says which.

#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/grpc/grpc_server.h"
#include "common/serving/testing/tiny_bundle.h"
#include "common/serving/version_manager.h"
#include "proto/recsys.grpc.pb.h"
#include "ranking_service/ranking_service_impl.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

constexpr char kOld[] = "20260101-000001";
constexpr char kNew[] = "20260102-000001";

class RankingVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = FreshTestDir("ranking_versions_test");
    for (const auto& [version, seed] : {std::pair<const char*, uint32_t>{kOld, 1}, {kNew, 2}}) {
      TinyBundleOptions options;
      options.version = version;
      options.seed = seed;
      ASSERT_TRUE(WriteTinyBundle(root_, options).ok());
    }
    VersionManager::Options options;
    options.root = root_;
    options.max_loaded_versions = 2;
    auto versions = VersionManager::Create(
        options, [](const Bundle& b) -> absl::StatusOr<std::shared_ptr<const Servable>> {
          auto s = RankingServable::Load(b);
          if (!s.ok()) return s.status();
          return std::shared_ptr<const Servable>(std::move(*s));
        });
    ASSERT_TRUE(versions.ok()) << versions.status();
    versions_ = std::move(*versions);
    ASSERT_TRUE(versions_->LoadInitial().ok());
    service_ = std::make_unique<RankingServiceImpl>(versions_.get(), RankingServiceOptions());
    GrpcServerOptions server;
    server.address = "127.0.0.1:0";
    server.name = "ranking_test";
    auto started = StartGrpcServer(server, {service_.get()});
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(*started);
    stub_ = RankingService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", server_.port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    if (server_.server) server_.server->Shutdown();
  }

  grpc::Status Rank(const std::string& version, RankResponse* response) {
    RankRequest request;
    request.mutable_context()->add_watches()->set_video_id(TinyVideoId(1));
    for (int i = 2; i < 8; ++i) request.add_candidates()->set_video_id(TinyVideoId(i));
    request.set_model_version(version);
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    return stub_->Rank(&context, request, response);
  }

  std::string root_;
  std::unique_ptr<VersionManager> versions_;
  std::unique_ptr<RankingServiceImpl> service_;
  StartedGrpcServer server_;
  std::unique_ptr<RankingService::Stub> stub_;
};

TEST_F(RankingVersionsTest, RanksWithTheRequestedVersionWhenItIsLoaded) {
  RankResponse old_response, new_response;
  ASSERT_TRUE(Rank(kOld, &old_response).ok());
  ASSERT_TRUE(Rank(kNew, &new_response).ok());
  EXPECT_EQ(old_response.model_version(), kOld);
  EXPECT_EQ(new_response.model_version(), kNew);
  // Two different models (different seeds) predict different watch times.
  ASSERT_EQ(old_response.videos_size(), 6);
  ASSERT_EQ(new_response.videos_size(), 6);
  bool differ = false;
  for (int i = 0; i < 6; ++i) {
    differ |= old_response.videos(i).predicted_watch_seconds() !=
              new_response.videos(i).predicted_watch_seconds();
  }
  EXPECT_TRUE(differ);
}

TEST_F(RankingVersionsTest, AnUnknownOrMissingVersionRanksWithTheNewestAndSaysSo) {
  RankResponse response;
  ASSERT_TRUE(Rank("19990101-000000", &response).ok());
  EXPECT_EQ(response.model_version(), kNew);
  response.Clear();
  ASSERT_TRUE(Rank("", &response).ok());
  EXPECT_EQ(response.model_version(), kNew);
}

TEST_F(RankingVersionsTest, BytesThatDoNotParseAreInvalidArgument) {
  RankRequest request;
  request.add_candidates()->set_video_id("vQ");
  std::string bytes = request.SerializeAsString();
  bytes[bytes.find("vQ")] = '\xfe';
  absl::StatusOr<std::string> answer =
      RawUnaryCall(grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_.port),
                                       grpc::InsecureChannelCredentials()),
                   "/recsys.RankingService/Rank", bytes, absl::Seconds(10));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(answer.status().message(), HasSubstr("could not be parsed as recsys.RankRequest"));
}

}  // namespace
}  // namespace recsys
