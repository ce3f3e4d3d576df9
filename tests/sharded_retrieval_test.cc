// Sharded retrieval end to end (docs/serving.md, "Sharded retrieval"): a
// synthetic bundle with an IVF index (benchmarks/make_synthetic_bundle)
// served by the real binaries on loopback ports: a ranking_server, two
// candidate_servers in shard mode (--shard_index, --num_shards), a front
// candidate_server fanning out to them (--ann_shards) and an unsharded
// candidate_server as the reference.
//  - Recall equal: for three dozen users the front's GenerateCandidates and
//    Recommend answers are the unsharded server's (same videos, order and
//    scores).
//  - A shard stopped (SIGSTOP) or killed: answers still OK, within the shard
//    deadline, degraded with the shard counted missing, the network's
//    candidates all from the other shard; SIGCONT: whole again. Both shards
//    gone: co-visitation and the most-popular fill answer.
//  - Bad shard flags exit 2 naming the flag.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/grpc/http_get.h"
#include "proto/recsys.grpc.pb.h"
#include "tests/test_util.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;
using testing::FileTail;
using testing::ReadFileOrEmpty;
using testing::RunfilePath;
using testing::RunToCompletion;
using testing::StartServer;
using testing::TestTempDir;

constexpr char kCandidate[] = "candidate_service/candidate_server";
constexpr int kVideos = 3000;
constexpr int kUsers = 36;
constexpr int kNumCandidates = 100;
// Generous for a loaded 2-core machine: a whole answer must not miss a
// shard by accident. A stopped shard costs each call this long.
constexpr int kShardDeadlineMs = 1000;

using Server = testing::StartedServer;

// The synthetic video ID's row ("v0042" -> 42): the row of the ANN index.
int64_t RowOf(const std::string& video_id) {
  int64_t row = -1;
  EXPECT_TRUE(absl::SimpleAtoi(video_id.substr(1), &row)) << video_id;
  return row;
}

// User u watched three videos of a few clusters, in the US; users 0 and 1
// are cold (nothing the model knows: the most-popular list).
UserContext User(int u) {
  UserContext context;
  if (u >= 2) {
    for (int j = 0; j < 3; ++j) {
      Watch* w = context.add_watches();
      w->set_video_id(absl::StrFormat("v%04d", (u * 131 + j * 977) % kVideos));
      w->set_time_s(1'700'000'000 + j);
    }
    context.mutable_demographics()->set_region("US");
  }
  return context;
}

// Whether every thread of `pid` is in the stopped state ('T' in
// /proc/<pid>/task/*/stat) within 5 s: SIGSTOP is only sent by kill(), and
// on a loaded machine the test must not ask before the shard has stopped.
bool WaitUntilStopped(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  const std::string tasks = absl::StrCat("/proc/", pid, "/task");
  while (std::chrono::steady_clock::now() < deadline) {
    int threads = 0, stopped = 0;
    std::error_code error;
    for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
      std::ifstream in(task.path() / "stat");
      std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const size_t name_end = stat.rfind(") ");
      if (name_end == std::string::npos || name_end + 2 >= stat.size()) continue;
      ++threads;
      const char state = stat[name_end + 2];
      stopped += state == 'T' || state == 't';
    }
    if (threads > 0 && stopped == threads) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::chrono::system_clock::time_point InSeconds(int s) {
  return std::chrono::system_clock::now() + std::chrono::seconds(s);
}

class ShardedRetrievalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(TestTempDir() + "/bundles");
    const std::string log = TestTempDir() + "/make.log";
    const int made = RunToCompletion(
        {RunfilePath("benchmarks/make_synthetic_bundle"), "--progress=false", "--out=" + *root_,
         absl::StrCat("--videos=", kVideos), "--embedding_dim=32", "--candidate_tower=64",
         "--ranking_tower=64", "--index=IVF32,Flat", "--nprobe=4", "--search_tokens=1000",
         "--recall_users=20"},
        log);
    ASSERT_EQ(made, 0) << ReadFileOrEmpty(log);
  }
  static void TearDownTestSuite() { delete root_; }

  void SetUp() override {
    ranking_ = StartServer("ranking_service/ranking_server", "ranking", {"--bundles=" + *root_});
    ASSERT_GT(ranking_.port, 0) << FileTail(ranking_.log);
    for (int i = 0; i < 2; ++i) {
      shards_[i] = StartServer(kCandidate, absl::StrCat("shard", i),
                         {"--bundles=" + *root_, "--nprobe=4", absl::StrCat("--shard_index=", i),
                          "--num_shards=2"});
    }
    const std::vector<std::string> common = {
        "--bundles=" + *root_, "--nprobe=4",
        absl::StrCat("--ranking_address=127.0.0.1:", ranking_.port),
        "--ranking_deadline_ms=10000", "--breaker_failures=0"};
    std::vector<std::string> front_flags = common;
    front_flags.push_back(absl::StrCat("--ann_shards=127.0.0.1:", shards_[0].port,
                                       ",127.0.0.1:", shards_[1].port));
    front_flags.push_back(absl::StrCat("--shard_deadline_ms=", kShardDeadlineMs));
    front_ = StartServer(kCandidate, "front", front_flags);
    unsharded_ = StartServer(kCandidate, "unsharded", common);
    for (const Server* s : {&shards_[0], &shards_[1], &front_, &unsharded_}) {
      ASSERT_GT(s->port, 0) << FileTail(s->log);
    }
    front_stub_ = Stub(front_.port);
    unsharded_stub_ = Stub(unsharded_.port);
  }

  void TearDown() override {
    // A stopped shard would not see SIGTERM.
    for (Server& s : shards_) {
      if (s.process) s.process->Signal(SIGCONT);
    }
  }

  static std::unique_ptr<CandidateService::Stub> Stub(int port) {
    return CandidateService::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                                         grpc::InsecureChannelCredentials()));
  }

  static grpc::Status Generate(CandidateService::Stub* stub, int user,
                               GenerateCandidatesResponse* response) {
    GenerateCandidatesRequest request;
    *request.mutable_context() = User(user);
    request.set_num_candidates(kNumCandidates);
    grpc::ClientContext context;
    context.set_deadline(InSeconds(20));
    return stub->GenerateCandidates(&context, request, response);
  }

  static grpc::Status Recommend(CandidateService::Stub* stub, int user,
                                RecommendResponse* response) {
    RecommendRequest request;
    *request.mutable_context() = User(user);
    request.set_num_candidates(kNumCandidates);
    request.set_num_results(20);
    grpc::ClientContext context;
    context.set_deadline(InSeconds(20));
    return stub->Recommend(&context, request, response);
  }

  // The front's answers for `user` are the unsharded server's.
  void ExpectWholeAnswers(int user) {
    GenerateCandidatesResponse want, got;
    ASSERT_TRUE(Generate(unsharded_stub_.get(), user, &want).ok());
    const grpc::Status status = Generate(front_stub_.get(), user, &got);
    ASSERT_TRUE(status.ok()) << status.error_message() << FileTail(front_.log);
    EXPECT_EQ(got.shards_missing(), 0) << "user " << user << FileTail(front_.log);
    EXPECT_EQ(got.model_version(), want.model_version());
    ASSERT_EQ(got.candidates_size(), want.candidates_size()) << "user " << user;
    ASSERT_EQ(got.candidates_size(), kNumCandidates) << "user " << user;
    for (int i = 0; i < got.candidates_size(); ++i) {
      const Candidate& g = got.candidates(i);
      const Candidate& w = want.candidates(i);
      ASSERT_EQ(g.video_id(), w.video_id()) << "user " << user << " candidate " << i;
      EXPECT_NEAR(g.retrieval_score(), w.retrieval_score(), 1e-5) << "user " << user;
      EXPECT_EQ(g.source(), w.source()) << "user " << user << " candidate " << i;
    }
    RecommendResponse ranked_want, ranked_got;
    ASSERT_TRUE(Recommend(unsharded_stub_.get(), user, &ranked_want).ok());
    ASSERT_TRUE(Recommend(front_stub_.get(), user, &ranked_got).ok());
    EXPECT_FALSE(ranked_want.degraded());
    EXPECT_FALSE(ranked_got.degraded())
        << DegradedCause_Name(ranked_got.degraded_cause()) << FileTail(front_.log);
    EXPECT_EQ(ranked_got.shards_missing(), 0);
    ASSERT_EQ(ranked_got.videos_size(), ranked_want.videos_size()) << "user " << user;
    for (int i = 0; i < ranked_got.videos_size(); ++i) {
      const RankedVideo& g = ranked_got.videos(i);
      const RankedVideo& w = ranked_want.videos(i);
      ASSERT_EQ(g.video_id(), w.video_id()) << "user " << user << " video " << i;
      EXPECT_NEAR(g.predicted_watch_seconds(), w.predicted_watch_seconds(),
                  1e-5 * std::max(1.0f, w.predicted_watch_seconds()));
      EXPECT_NEAR(g.retrieval_score(), w.retrieval_score(), 1e-5);
    }
  }

  // With shard `missing` out (of two, or both when `missing` is -1): OK
  // answers within the shard deadline, counted missing, the network's
  // candidates only from the other shard.
  void ExpectDegradedAnswers(int user, int missing) {
    const int expected_missing = missing < 0 ? 2 : 1;
    GenerateCandidatesResponse got;
    const absl::Time start = absl::Now();
    const grpc::Status status = Generate(front_stub_.get(), user, &got);
    const absl::Duration took = absl::Now() - start;
    ASSERT_TRUE(status.ok()) << status.error_message() << FileTail(front_.log);
    EXPECT_LT(took, absl::Milliseconds(kShardDeadlineMs) + absl::Seconds(2));
    EXPECT_EQ(got.shards_missing(), expected_missing) << "user " << user;
    EXPECT_EQ(got.candidates_size(), kNumCandidates) << "user " << user;
    int dnn = 0;
    for (const Candidate& c : got.candidates()) {
      if (c.source() != SOURCE_DNN) continue;
      ++dnn;
      EXPECT_NE(missing, -1) << c.video_id();
      EXPECT_NE(RowOf(c.video_id()) % 2, missing) << c.video_id() << " of the missing shard";
    }
    if (missing >= 0) {
      EXPECT_GT(dnn, 0) << "user " << user;
    }
    RecommendResponse ranked;
    ASSERT_TRUE(Recommend(front_stub_.get(), user, &ranked).ok());
    EXPECT_TRUE(ranked.degraded());
    EXPECT_EQ(ranked.degraded_cause(), DEGRADED_SHARD_UNAVAILABLE);
    EXPECT_EQ(ranked.shards_missing(), expected_missing);
    EXPECT_EQ(ranked.videos_size(), 20);
    EXPECT_FALSE(ranked.ranking_model_version().empty());  // still ranked
  }

  static std::string* root_;
  Server ranking_;
  Server shards_[2];
  Server front_;
  Server unsharded_;
  std::unique_ptr<CandidateService::Stub> front_stub_;
  std::unique_ptr<CandidateService::Stub> unsharded_stub_;
};

std::string* ShardedRetrievalTest::root_ = nullptr;

TEST_F(ShardedRetrievalTest, TheFrontAnswersAsTheUnshardedServerAndDegradesWithoutAShard) {
  for (int user = 0; user < kUsers; ++user) {
    ExpectWholeAnswers(user);
    if (HasFatalFailure()) return;
  }

  // Shard 1 stopped: its calls run into the deadline.
  ASSERT_TRUE(shards_[1].process->Signal(SIGSTOP));
  ASSERT_TRUE(WaitUntilStopped(shards_[1].process->pid())) << "shard 1 did not stop";
  for (int user : {2, 17}) {
    ExpectDegradedAnswers(user, /*missing=*/1);
    if (HasFatalFailure()) return;
  }
  absl::StatusOr<std::string> metrics = HttpGet(front_.metrics_port, "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(*metrics, HasSubstr("outcome=\"deadline_exceeded\",shard=\"1\"} "));
  EXPECT_THAT(*metrics, HasSubstr("cause=\"DEGRADED_SHARD_UNAVAILABLE\"} "));

  // Resumed: whole answers again.
  ASSERT_TRUE(shards_[1].process->Signal(SIGCONT));
  for (int user : {3, 20, 35}) {
    ExpectWholeAnswers(user);
    if (HasFatalFailure()) return;
  }

  // Shard 0 killed: no error either.
  ASSERT_TRUE(shards_[0].process->Signal(SIGKILL));
  int exit_code = 0;
  ASSERT_TRUE(shards_[0].process->WaitForExit(10, &exit_code));
  for (int user : {4, 30}) {
    ExpectDegradedAnswers(user, /*missing=*/0);
    if (HasFatalFailure()) return;
  }
  // Both gone: co-visitation and the most-popular fill answer.
  ASSERT_TRUE(shards_[1].process->Signal(SIGKILL));
  ASSERT_TRUE(shards_[1].process->WaitForExit(10, &exit_code));
  ExpectDegradedAnswers(5, /*missing=*/-1);
  metrics = HttpGet(front_.metrics_port, "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_THAT(*metrics, HasSubstr("outcome=\"unavailable\",shard=\"0\"} "));
  EXPECT_EQ(front_.process->Stop(), 0) << FileTail(front_.log);
}

TEST(ShardFlagsTest, BadShardFlagsExitNamingTheFlag) {
  struct Case {
    std::vector<std::string> flags;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--shard_index=2", "--num_shards=2"}, "--shard_index=2: must be in [0, --num_shards=2)"},
      {{"--shard_index=-1", "--num_shards=2"}, "--shard_index=-1"},
      {{"--shard_index=0", "--num_shards=0"}, "--num_shards=0"},
      {{"--num_shards=0"}, "--num_shards=0"},
      {{"--num_shards=2"}, "--shard_index=(unset)"},
      {{"--shard_index=$(POD_INDEX)", "--num_shards=2"}, "shard_index"},
      {{"--shard_index=0", "--num_shards=2", "--ann_shards=127.0.0.1:1"}, "--ann_shards"},
      {{"--ann_shards=127.0.0.1:1,"}, "--ann_shards"},
      {{"--ann_shards=127.0.0.1:1", "--shard_deadline_ms=0"}, "--shard_deadline_ms=0"},
  };
  for (const Case& c : cases) {
    const std::string log = TestTempDir() + "/bad_flags.log";
    std::vector<std::string> argv = {RunfilePath(kCandidate), "--bundles=/nonexistent",
                                     "--address=127.0.0.1:0"};
    argv.insert(argv.end(), c.flags.begin(), c.flags.end());
    const int code = RunToCompletion(argv, log);
    const std::string output = ReadFileOrEmpty(log);
    EXPECT_NE(code, 0) << c.flags.front() << ": " << output;
    EXPECT_THAT(output, HasSubstr(c.expected)) << c.flags.front();
    std::remove(log.c_str());
  }
}

}  // namespace
}  // namespace recsys
