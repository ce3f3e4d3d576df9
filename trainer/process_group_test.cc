#include "trainer/process_group.h"

#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base/free_port.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

DistributedOptions Options(int world_size, int rank, int port) {
  DistributedOptions o;
  o.world_size = world_size;
  o.rank = rank;
  o.master_port = port;
  o.timeout = absl::Seconds(30);
  return o;
}

TEST(ProcessGroupTest, OptionsOutOfRangeNameTheFlag) {
  EXPECT_THAT(ValidateDistributedOptions(Options(0, 0, 29500)).message(),
              HasSubstr("--world_size"));
  EXPECT_THAT(ValidateDistributedOptions(Options(2, 2, 29500)).message(), HasSubstr("--rank"));
  EXPECT_THAT(ValidateDistributedOptions(Options(2, -1, 29500)).message(), HasSubstr("--rank"));
  EXPECT_THAT(ValidateDistributedOptions(Options(2, 1, 70000)).message(),
              HasSubstr("--master_port"));
  DistributedOptions no_addr = Options(1, 0, 29500);
  no_addr.master_addr.clear();
  EXPECT_THAT(ValidateDistributedOptions(no_addr).message(), HasSubstr("--master_addr"));
  EXPECT_EQ(ProcessGroup::Join(Options(2, 5, 29500)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateDistributedOptions(Options(4, 3, 29500)).ok());
}

TEST(ProcessGroupTest, AGroupOfOneLeavesTensorsAsTheyAre) {
  absl::StatusOr<std::unique_ptr<ProcessGroup>> group =
      ProcessGroup::Join(Options(1, 0, FreeLoopbackPort()));
  ASSERT_TRUE(group.ok()) << group.status();
  std::vector<torch::Tensor> t{torch::arange(5, torch::kFloat)};
  ASSERT_TRUE((*group)->AllReduceMean(t).ok());
  EXPECT_TRUE(torch::equal(t[0], torch::arange(5, torch::kFloat)));
  EXPECT_TRUE((*group)->Barrier().ok());
}

// Two ranks (threads of this process, each with its own store client and
// Gloo context over loopback TCP: the real collective, no mock).
TEST(ProcessGroupTest, TwoRanksAverageTheirTensors) {
  const int port = FreeLoopbackPort();
  std::vector<torch::Tensor> results[2];
  absl::Status statuses[2];
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.emplace_back([&, r] {
      absl::StatusOr<std::unique_ptr<ProcessGroup>> group =
          ProcessGroup::Join(Options(2, r, port));
      if (!group.ok()) {
        statuses[r] = group.status();
        return;
      }
      // Rank r's "gradients": r + 1 everywhere, in two shapes.
      std::vector<torch::Tensor> grads{torch::full({3, 4}, r + 1.0f),
                                       torch::full({7}, 10.0f * (r + 1))};
      statuses[r] = (*group)->AllReduceMean(grads);
      std::vector<torch::Tensor> counts{torch::full({1}, r + 1.0f)};
      if (statuses[r].ok()) statuses[r] = (*group)->AllReduceSum(counts);
      if (statuses[r].ok()) statuses[r] = (*group)->Barrier();
      grads.push_back(counts[0]);
      results[r] = grads;
    });
  }
  for (std::thread& t : ranks) t.join();
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(statuses[r].ok()) << "rank " << r << ": " << statuses[r];
    ASSERT_EQ(results[r].size(), 3u);
    EXPECT_TRUE(torch::allclose(results[r][0], torch::full({3, 4}, 1.5f))) << r;
    EXPECT_TRUE(torch::allclose(results[r][1], torch::full({7}, 15.0f))) << r;
    EXPECT_EQ(results[r][2].item<float>(), 3.0f) << r;
  }
}

TEST(ProcessGroupTest, AMissingRankIsAClearErrorAfterTheTimeout) {
  DistributedOptions o = Options(2, 0, FreeLoopbackPort());
  o.timeout = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<ProcessGroup>> group = ProcessGroup::Join(o);
  ASSERT_FALSE(group.ok());
  EXPECT_EQ(group.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(group.status().message(), HasSubstr("could not join the group at 127.0.0.1:"));
  EXPECT_THAT(group.status().message(), HasSubstr("--world_size"));
}

}  // namespace
}  // namespace recsys
