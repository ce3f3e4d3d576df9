// AnnShardService and the front's fan-out (`AnnShardsClient`) in process:
// two shards of a tiny bundle's index served on loopback ports. What is
// checked is what the front gets: the unsharded top-k when both answer, the
// other shard's rows when one is gone, nothing from a shard that answers
// for another version or shard, and the validation errors.

#include "candidate_service/ann_shard_service_impl.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc/grpc_server.h"
#include "common/serving/ann_index.h"
#include "common/serving/ann_shards.h"
#include "common/serving/bundle.h"
#include "common/serving/model_server.h"
#include "common/serving/testing/tiny_bundle.h"
#include "common/serving/version_manager.h"
#include "proto/recsys.grpc.pb.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

constexpr char kVersion[] = "20260101-000001";
constexpr int kShards = 2;
constexpr int kDim = kTinyOutputDim + 1;

std::chrono::system_clock::time_point InSeconds(double s) {
  return absl::ToChronoTime(absl::Now() + absl::Seconds(s));
}

class AnnShardServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = FreshTestDir("ann_shard_service_test");
    TinyBundleOptions bundle;
    bundle.version = kVersion;
    absl::StatusOr<std::string> dir = WriteTinyBundle(root_, bundle);
    ASSERT_TRUE(dir.ok()) << dir.status();
    auto whole = AnnIndex::Load(*dir + "/" + kTinyAnnFile, AnnIndex::Options());
    ASSERT_TRUE(whole.ok()) << whole.status();
    whole_ = std::move(*whole);
    for (int i = 0; i < kShards; ++i) {
      VersionManager::Options options;
      options.root = root_;
      options.name = absl::StrCat("shard_", i);
      auto versions = VersionManager::Create(options, MakeLoader([i](const Bundle& b) {
                                               return AnnIndexShard::Load(b, AnnIndex::Options(),
                                                                          i, kShards);
                                             }));
      ASSERT_TRUE(versions.ok()) << versions.status();
      ASSERT_TRUE((*versions)->LoadInitial().ok());
      versions_.push_back(std::move(*versions));
      services_.push_back(
          std::make_unique<AnnShardServiceImpl>(versions_.back().get(), AnnShardServiceOptions()));
      GrpcServerOptions server;
      server.address = "127.0.0.1:0";
      server.name = options.name;
      auto started = StartGrpcServer(server, {services_.back().get()});
      ASSERT_TRUE(started.ok()) << started.status();
      servers_.push_back(std::move(*started));
    }
  }

  void TearDown() override {
    for (StartedGrpcServer& s : servers_) {
      if (s.server) s.server->Shutdown();
    }
  }

  std::string Address(int shard) const {
    return absl::StrCat("127.0.0.1:", servers_[shard].port);
  }

  std::unique_ptr<AnnShardsClient> Client(std::vector<std::string> addresses) const {
    AnnShardsClient::Options options;
    options.addresses = std::move(addresses);
    options.deadline = absl::Seconds(5);
    auto client = AnnShardsClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  std::string root_;
  std::unique_ptr<AnnIndex> whole_;
  std::vector<std::unique_ptr<VersionManager>> versions_;
  std::vector<std::unique_ptr<AnnShardServiceImpl>> services_;
  std::vector<StartedGrpcServer> servers_;
};

const std::vector<float> kQuery = {0.3f, -1.2f, 0.7f, 1.0f};

TEST_F(AnnShardServiceTest, MergedAnswersAreTheUnshardedTopK) {
  std::unique_ptr<AnnShardsClient> client = Client({Address(0), Address(1)});
  ASSERT_NE(client, nullptr);
  for (int k : {1, 5, 20, 50}) {
    AnnShardsClient::Result got =
        client->Search(kQuery, k, kVersion, whole_->size(), InSeconds(10));
    EXPECT_EQ(got.missing, 0);
    auto want = whole_->Search(kQuery.data(), k);
    ASSERT_TRUE(want.ok());
    ASSERT_EQ(got.neighbors.size(), want->size()) << k;
    for (size_t j = 0; j < want->size(); ++j) {
      EXPECT_EQ(got.neighbors[j].row, (*want)[j].row) << k;
      EXPECT_EQ(got.neighbors[j].score, (*want)[j].score) << k;
    }
  }
}

TEST_F(AnnShardServiceTest, AShardThatIsGoneIsLeftOutNotAnError) {
  std::unique_ptr<AnnShardsClient> client = Client({Address(0), Address(1)});
  ASSERT_NE(client, nullptr);
  servers_[1].server->Shutdown();
  AnnShardsClient::Result got = client->Search(kQuery, 6, kVersion, whole_->size(), InSeconds(10));
  EXPECT_EQ(got.missing, 1);
  ASSERT_EQ(got.neighbors.size(), 6u);  // 10 rows in shard 0
  for (const Neighbor& n : got.neighbors) EXPECT_EQ(n.row % kShards, 0) << n.row;
}

TEST_F(AnnShardServiceTest, OtherVersionsAndShardsAreLeftOut) {
  std::unique_ptr<AnnShardsClient> client = Client({Address(0), Address(1)});
  ASSERT_NE(client, nullptr);
  // Both shards answer with the version they have, not the one asked for.
  AnnShardsClient::Result got =
      client->Search(kQuery, 5, "19990101-000000", whole_->size(), InSeconds(10));
  EXPECT_EQ(got.missing, kShards);
  EXPECT_TRUE(got.neighbors.empty());
  // The shards listed in the wrong order: each answers as the other.
  std::unique_ptr<AnnShardsClient> swapped = Client({Address(1), Address(0)});
  ASSERT_NE(swapped, nullptr);
  got = swapped->Search(kQuery, 5, kVersion, whole_->size(), InSeconds(10));
  EXPECT_EQ(got.missing, kShards);
  // Rows outside the index the front has (another index size).
  got = client->Search(kQuery, 5, kVersion, /*total_rows=*/3, InSeconds(10));
  EXPECT_EQ(got.missing, kShards);
}

TEST_F(AnnShardServiceTest, BadRequestsAreInvalidArgumentNamingTheField) {
  auto stub = AnnShardService::NewStub(
      grpc::CreateChannel(Address(0), grpc::InsecureChannelCredentials()));
  struct Case {
    std::vector<float> query;
    int k;
    std::string field;
  };
  const std::vector<Case> cases = {
      {{1, 2, 3}, 5, "query: expected 4 values"},
      {{1, 2, 3, std::nanf("")}, 5, "query[3] is not finite"},
      {kQuery, 0, "k: must be in [1, 100000], got 0"},
      {kQuery, kMaxShardSearchK + 1, "k: must be in"},
  };
  for (const Case& c : cases) {
    ShardSearchRequest request;
    request.mutable_query()->Add(c.query.begin(), c.query.end());
    request.set_k(c.k);
    ShardSearchResponse response;
    grpc::ClientContext context;
    context.set_deadline(InSeconds(10));
    const grpc::Status status = stub->Search(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(status.error_message(), HasSubstr(c.field));
  }
  // A good one answers its own rows, for the version asked (or its newest).
  ShardSearchRequest request;
  request.mutable_query()->Add(kQuery.begin(), kQuery.end());
  request.set_k(3);
  ShardSearchResponse response;
  grpc::ClientContext context;
  context.set_deadline(InSeconds(10));
  ASSERT_TRUE(stub->Search(&context, request, &response).ok());
  EXPECT_EQ(response.model_version(), kVersion);
  EXPECT_EQ(response.shard_index(), 0);
  EXPECT_EQ(response.num_shards(), kShards);
  ASSERT_EQ(response.rows_size(), 3);
  ASSERT_EQ(response.scores_size(), 3);
  for (int64_t row : response.rows()) EXPECT_EQ(row % kShards, 0);
}

TEST(AnnShardsClientTest, BadOptionsAreRefused) {
  AnnShardsClient::Options options;
  EXPECT_EQ(AnnShardsClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.addresses = {"127.0.0.1:1", ""};
  EXPECT_THAT(AnnShardsClient::Create(options).status().message(),
              HasSubstr("shard 1's address is empty"));
  options.addresses = {"127.0.0.1:1"};
  options.deadline = absl::ZeroDuration();
  EXPECT_EQ(AnnShardsClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AnnIndexShardTest, ShardOutOfRangeIsRefusedAtLoad) {
  const std::string root = FreshTestDir("ann_index_shard_range");
  absl::StatusOr<std::string> dir = WriteTinyBundle(root);
  ASSERT_TRUE(dir.ok()) << dir.status();
  auto bundle = Bundle::Open(*dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_EQ(AnnIndexShard::Load(**bundle, AnnIndex::Options(), 2, 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto shard = AnnIndexShard::Load(**bundle, AnnIndex::Options(), 2, 3);
  ASSERT_TRUE(shard.ok()) << shard.status();
  EXPECT_EQ((*shard)->total_rows(), 20);
  EXPECT_EQ((*shard)->index().size(), 6);  // rows 2, 5, ..., 17
}

}  // namespace
}  // namespace recsys
