#include "trainer/torch_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

namespace recsys {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(CatchTorchErrorsTest, AShapeMismatchBecomesAnInternalStatus) {
  absl::StatusOr<float> result = CatchTorchErrors("training", []() -> absl::StatusOr<float> {
    torch::Tensor a = torch::ones({2, 3}), b = torch::ones({4, 5});
    return torch::matmul(a, b).sum().item<float>();
  });
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(result.status().message(), HasSubstr("training failed in libtorch: "));
  EXPECT_THAT(result.status().message(), HasSubstr("2x3 and 4x5"));
  // One clear line, not a C++ stack trace.
  EXPECT_THAT(result.status().message(), Not(HasSubstr("Exception raised from")));
}

TEST(CatchTorchErrorsTest, ResultsAndStatusesPassThrough) {
  absl::StatusOr<int> ok = CatchTorchErrors("x", []() -> absl::StatusOr<int> { return 3; });
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 3);
  absl::Status failed = CatchTorchErrors(
      "x", []() { return absl::InvalidArgumentError("bad"); });
  EXPECT_EQ(failed, absl::InvalidArgumentError("bad"));
}

TEST(CatchTorchErrorsTest, OtherExceptionsAreCaughtToo) {
  absl::Status s = CatchTorchErrors("export", []() -> absl::Status {
    throw std::runtime_error("disk on fire");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("export failed: disk on fire"));
}

}  // namespace
}  // namespace recsys
