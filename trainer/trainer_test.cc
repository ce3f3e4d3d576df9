// The pipeline's boundary: bad options and unusable logs come back as
// statuses before any training (libtorch's own errors are turned into
// statuses by `CatchTorchErrors`, tested in torch_status_test.cc).

#include "trainer/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

TEST(TrainTest, InvalidOptionsAreInvalidArgument) {
  TrainerOptions options;
  options.batch_size = 0;
  absl::StatusOr<TrainerReport> report = Train(Logs(), options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("batch_size"));
}

TEST(TrainTest, LogsWithoutWatchesAreInvalidArgument) {
  absl::StatusOr<TrainerReport> report = Train(Logs(), TrainerOptions());
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("no watches"));
}

}  // namespace
}  // namespace recsys
