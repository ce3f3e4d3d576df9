// benchmarks/make_synthetic_bundle end to end: the binary writes a small
// synthetic bundle (2,000 videos, an IVF index), the real ranking_server
// and candidate_server load it, and a Recommend over gRPC comes back
// ranked by predicted watch time, not degraded. Bad flags are refused with
// a message naming the flag.

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "proto/recsys.grpc.pb.h"
#include "tests/test_util.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;
using testing::ChildProcess;
using testing::FileTail;
using testing::ReadFileOrEmpty;
using testing::RunfilePath;
using testing::RunToCompletion;
using testing::TestTempDir;
using testing::WaitForPortFile;

constexpr char kMaker[] = "benchmarks/make_synthetic_bundle";

// Runs make_synthetic_bundle with `flags`; its output in `*log`.
int MakeBundle(const std::string& name, const std::vector<std::string>& flags,
               std::string* log) {
  const std::string log_path = TestTempDir() + "/" + name + ".log";
  std::vector<std::string> argv = {RunfilePath(kMaker), "--progress=false"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  const int code = RunToCompletion(argv, log_path);
  *log = ReadFileOrEmpty(log_path);
  return code;
}

// A server binary on 127.0.0.1:0 with `flags`; `port` is 0 when it did not
// come up.
struct Server {
  std::unique_ptr<ChildProcess> process;
  int port = 0;
  std::string log;
};

Server Start(const std::string& binary, const std::string& name,
             std::vector<std::string> flags) {
  Server server;
  server.log = TestTempDir() + "/" + name + ".log";
  const std::string port_file = TestTempDir() + "/" + name + ".port";
  std::vector<std::string> argv = {RunfilePath(binary), "--address=127.0.0.1:0",
                                   "--port_file=" + port_file};
  argv.insert(argv.end(), flags.begin(), flags.end());
  server.process = std::make_unique<ChildProcess>(argv, server.log);
  server.port = WaitForPortFile(port_file, 60);
  return server;
}

TEST(SyntheticBundleE2eTest, BothServersLoadItAndRecommendIsRanked) {
  const std::string root = TestTempDir() + "/bundles";
  std::string log;
  ASSERT_EQ(MakeBundle("make",
                       {"--out=" + root, "--videos=2000", "--embedding_dim=32",
                        "--candidate_tower=128,64", "--ranking_tower=128,64",
                        "--index=IVF16,Flat", "--nprobe=8", "--search_tokens=2000"},
                       &log),
            0)
      << log;
  EXPECT_THAT(log, HasSubstr("ANN IVF16,Flat, recall of the exact top 200 = "));

  Server ranking = Start("ranking_service/ranking_server", "ranking", {"--bundles=" + root});
  ASSERT_GT(ranking.port, 0) << FileTail(ranking.log);
  Server candidate = Start("candidate_service/candidate_server", "candidate",
                           {"--bundles=" + root, "--nprobe=8",
                            absl::StrCat("--ranking_address=127.0.0.1:", ranking.port),
                            "--ranking_deadline_ms=5000"});
  ASSERT_GT(candidate.port, 0) << FileTail(candidate.log);

  RecommendRequest request;
  for (const char* video : {"v0003", "v0700", "v1500"}) {
    request.mutable_context()->add_watches()->set_video_id(video);
  }
  request.mutable_context()->add_searches()->set_query("bebe bibo");
  request.mutable_context()->mutable_demographics()->set_region("US");
  request.mutable_context()->mutable_demographics()->set_language("en");
  request.set_num_results(20);
  RecommendResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", candidate.port),
                                     grpc::InsecureChannelCredentials());
  const grpc::Status status =
      CandidateService::NewStub(channel)->Recommend(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message() << FileTail(candidate.log);
  EXPECT_FALSE(response.degraded()) << DegradedCause_Name(response.degraded_cause())
                                    << FileTail(candidate.log) << FileTail(ranking.log);
  EXPECT_FALSE(response.model_version().empty());
  EXPECT_EQ(response.ranking_model_version(), response.model_version());
  ASSERT_EQ(response.videos_size(), 20);
  for (int i = 0; i < response.videos_size(); ++i) {
    const RankedVideo& v = response.videos(i);
    EXPECT_GT(v.predicted_watch_seconds(), 0) << v.video_id();
    EXPECT_FALSE(v.title().empty()) << v.video_id();
    if (i > 0) {
      EXPECT_LE(v.predicted_watch_seconds(), response.videos(i - 1).predicted_watch_seconds());
    }
  }
  EXPECT_EQ(candidate.process->Stop(), 0);
  EXPECT_EQ(ranking.process->Stop(), 0);
}

TEST(SyntheticBundleE2eTest, BadFlagsAreRefusedWithAClearError) {
  const std::string out = "--out=" + TestTempDir() + "/refused";
  struct Case {
    std::vector<std::string> flags;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{out, "--videos=0"}, "videos must be in [2, 10000000], got 0"},
      {{out, "--candidate_tower=1024,x"}, "bad layer width 'x' in --candidate_tower"},
      {{out, "--ranking_tower=512,-1"}, "bad layer width '-1' in --ranking_tower"},
      {{out, "--embedding_dim=0"}, "embedding_dim must be > 0"},
      {{"--videos=100"}, "out (the bundle root) must be set"},
  };
  for (const Case& c : cases) {
    std::string log;
    EXPECT_EQ(MakeBundle("refused", c.flags, &log), 2) << log;
    EXPECT_THAT(log, HasSubstr(c.expected));
  }
  // A factory string FAISS does not know fails the run, and nothing is
  // committed.
  std::string log;
  EXPECT_EQ(MakeBundle("bad_index", {out, "--videos=100", "--index=IVFx"}, &log), 1) << log;
  EXPECT_THAT(log, HasSubstr("IVFx"));
}

}  // namespace
}  // namespace recsys
