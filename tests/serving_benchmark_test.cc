// benchmarks/serving_benchmark.sh end to end, briefly: on a small synthetic
// bundle (benchmarks/make_synthetic_bundle) with the binaries of this
// build, every row (echo at both sizes, Rank, GenerateCandidates,
// Recommend) is measured with no error and no degraded answer, and the
// raw-parts bound and Recommend's share of it are printed. Speed itself is
// not asserted (benchmarks, not timed tests).

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_split.h"
#include "absl/strings/match.h"
#include "tests/test_util.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;
using testing::ReadFileOrEmpty;
using testing::RunfilePath;
using testing::RunToCompletion;
using testing::TestTempDir;

TEST(ServingBenchmarkTest, MeasuresEveryRowWithoutErrorsAndPrintsTheBound) {
  const std::string root = TestTempDir() + "/bundles";
  const std::string make_log = TestTempDir() + "/make.log";
  ASSERT_EQ(RunToCompletion({RunfilePath("benchmarks/make_synthetic_bundle"), "--progress=false",
                             "--out=" + root, "--videos=2000", "--embedding_dim=32",
                             "--candidate_tower=128,64", "--ranking_tower=128,64",
                             "--index=Flat", "--search_tokens=2000"},
                            make_log),
            0)
      << ReadFileOrEmpty(make_log);

  // The binaries sit in the runfiles as in bazel-bin: the script's --bin_dir.
  const std::string script = RunfilePath("benchmarks/serving_benchmark.sh");
  const std::string bin_dir = script.substr(0, script.size() - std::string("benchmarks/serving_benchmark.sh").size());
  const std::string out = TestTempDir() + "/out";
  const std::string log = TestTempDir() + "/benchmark.log";
  ASSERT_EQ(RunToCompletion({"/bin/bash", script, "--bin_dir=" + bin_dir, "--bundles=" + root,
                             "--synthetic", "--duration_s=1", "--warmup_s=0", "--levels=2",
                             "--num_candidates=100", "--out=" + out, "--shards=2",
                             // A loaded test machine must not make a whole answer
                             // miss a shard.
                             "--shard_deadline_ms=2000"},
                            log),
            0)
      << ReadFileOrEmpty(log);
  const std::string printed = ReadFileOrEmpty(log);

  int rows = 0;
  for (absl::string_view line : absl::StrSplit(printed, '\n')) {
    if (!absl::StartsWith(line, "| ") || absl::StartsWith(line, "| call") ||
        absl::StartsWith(line, "| part") || !absl::StrContains(line, "| 2 |")) {
      continue;
    }
    ++rows;
    // ... | errors | degraded | server CPU | client CPU |
    std::vector<std::string> cells = absl::StrSplit(line, '|');
    ASSERT_GE(cells.size(), 11u) << line;
    EXPECT_EQ(cells[7], " 0 ") << "errors in: " << line;
    EXPECT_EQ(cells[8], " 0 ") << "degraded answers in: " << line;
  }
  // echo x 2, Rank, GenerateCandidates and Recommend, each also on 2 shards.
  EXPECT_EQ(rows, 7) << printed;
  EXPECT_THAT(printed, HasSubstr("| GenerateCandidates, 2 shards | 2 |"));
  EXPECT_THAT(printed, HasSubstr("| **Recommend, 2 shards** | 2 |"));
  EXPECT_THAT(printed, HasSubstr("Raw-parts bound of Recommend (Flat, 2000 videos"));
  EXPECT_THAT(printed, HasSubstr("| **bound** |"));
  EXPECT_THAT(printed, HasSubstr("% of the bound's"));
  // The requests it sent, as ghz data files.
  EXPECT_THAT(ReadFileOrEmpty(out + "/rank.json"), HasSubstr("\"candidates\""));
  EXPECT_THAT(ReadFileOrEmpty(out + "/generate.json"), HasSubstr("\"numCandidates\":100"));
}

TEST(ServingBenchmarkTest, RefusesABadFlagWithAMessage) {
  const std::string log = TestTempDir() + "/bad.log";
  EXPECT_EQ(RunToCompletion({"/bin/bash", RunfilePath("benchmarks/serving_benchmark.sh"),
                             "--levels=0"},
                            log),
            1);
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr("--levels takes positive numbers"));
  EXPECT_EQ(RunToCompletion({"/bin/bash", RunfilePath("benchmarks/serving_benchmark.sh"),
                             "--shards=0"},
                            log),
            1);
  EXPECT_THAT(ReadFileOrEmpty(log), HasSubstr("--shards takes positive numbers"));
}

}  // namespace
}  // namespace recsys
