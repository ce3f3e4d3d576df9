// Data-parallel candidate training (issue 15): the trainer binary as two
// processes (--world_size=2) that rendezvous over TCP and all-reduce through
// libtorch's Gloo process group, against the same trainer as one process on
// the same simulated world.

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "common/base/free_port.h"
#include "tests/test_util.h"

namespace recsys {
namespace {

using testing::ChildProcess;
using testing::FileTail;
using testing::ReadFileOrEmpty;
using testing::RunfilePath;
using testing::RunToCompletion;
using testing::TestTempDir;

// --metrics_out's "name value" lines.
std::map<std::string, double> ReadMetrics(const std::string& path) {
  std::map<std::string, double> out;
  std::istringstream in(ReadFileOrEmpty(path));
  std::string name;
  double value;
  while (in >> name >> value) out[name] = value;
  return out;
}

int CountVersions(const std::string& dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) n += e.is_directory();
  return n;
}

TEST(DataParallelTrainingTest, TwoProcessesLearnWhatOneDoes) {
  const std::string tmp = TestTempDir();
  const std::string world = tmp + "/world", log = tmp + "/log.txt";
  ASSERT_EQ(RunToCompletion({RunfilePath("simulator/world_gen"), "--out=" + world,
                             "--preset=small", "--seed=7"},
                            log),
            0)
      << FileTail(log);
  const std::string trainer = RunfilePath("trainer/trainer");
  const std::string common_flags = "--logs=" + world;

  ASSERT_EQ(RunToCompletion({trainer, common_flags, "--bundles=" + tmp + "/one",
                             "--metrics_out=" + tmp + "/one.txt", "--progress=false"},
                            tmp + "/one.log"),
            0)
      << FileTail(tmp + "/one.log");

  const std::string port = std::to_string(FreeLoopbackPort());
  auto rank_args = [&](int rank) {
    return std::vector<std::string>{trainer, common_flags, "--bundles=" + tmp + "/two",
                                    "--metrics_out=" + tmp + "/two" + std::to_string(rank) + ".txt",
                                    "--progress=false", "--threads=1", "--world_size=2",
                                    "--rank=" + std::to_string(rank), "--master_port=" + port};
  };
  ChildProcess rank1(rank_args(1), tmp + "/two1.log");
  ASSERT_EQ(RunToCompletion(rank_args(0), tmp + "/two0.log"), 0) << FileTail(tmp + "/two0.log");
  int rank1_exit = -1;
  ASSERT_TRUE(rank1.WaitForExit(120, &rank1_exit)) << FileTail(tmp + "/two1.log");
  ASSERT_EQ(rank1_exit, 0) << FileTail(tmp + "/two1.log");

  const auto one = ReadMetrics(tmp + "/one.txt"), two0 = ReadMetrics(tmp + "/two0.txt"),
             two1 = ReadMetrics(tmp + "/two1.txt");
  const std::string hr = "candidate/validation/hr@50";
  ASSERT_TRUE(one.count(hr) && two0.count(hr) && two1.count(hr));
  // Both ranks hold the same model: every step applied the same averaged
  // update (dense gradients all-reduced, embedding rows exchanged).
  EXPECT_EQ(two0.at(hr), two1.at(hr));
  // The same quality as one process, within noise (2,000 validation users:
  // one standard error of HR@50 is about .011), and far above chance.
  EXPECT_NEAR(two0.at(hr), one.at(hr), 0.035) << "one process " << one.at(hr);
  EXPECT_GT(two0.at(hr), 0.25);
  // Each rank trained on its share of the users; rank 0 alone wrote a bundle.
  EXPECT_NE(ReadFileOrEmpty(tmp + "/two0.log").find("rank 0 of 2:"), std::string::npos);
  EXPECT_NE(ReadFileOrEmpty(tmp + "/two1.log").find("rank 1 of 2: candidate training done"),
            std::string::npos);
  EXPECT_EQ(CountVersions(tmp + "/two"), 1);
  EXPECT_EQ(CountVersions(tmp + "/one"), 1);
}

TEST(DataParallelTrainingTest, BadRankIsRefusedNamingTheFlag) {
  const std::string tmp = TestTempDir();
  const std::string log = tmp + "/bad.log";
  EXPECT_NE(RunToCompletion({RunfilePath("trainer/trainer"), "--logs=" + tmp + "/none",
                             "--world_size=2", "--rank=2"},
                            log),
            0);
  EXPECT_NE(ReadFileOrEmpty(log).find("--rank"), std::string::npos) << FileTail(log);
}

}  // namespace
}  // namespace recsys
