#include "candidate_service/circuit_breaker.h"

#include <gtest/gtest.h>

namespace recsys {
namespace {

class CircuitBreakerTest : public ::testing::Test {
 protected:
  CircuitBreakerTest()
      : breaker_({/*failure_threshold=*/3, /*cool_down=*/absl::Seconds(1)},
                 [this] { return now_; }) {}

  absl::Time now_ = absl::FromUnixSeconds(1000);
  CircuitBreaker breaker_;
};

TEST_F(CircuitBreakerTest, OpensAfterConsecutiveFailuresOnly) {
  breaker_.RecordFailure();
  breaker_.RecordFailure();
  breaker_.RecordSuccess();  // resets the streak
  breaker_.RecordFailure();
  breaker_.RecordFailure();
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(breaker_.Allow());
  breaker_.RecordFailure();
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kOpen);
  EXPECT_FALSE(breaker_.Allow());
  EXPECT_EQ(breaker_.times_opened(), 1);
}

TEST_F(CircuitBreakerTest, ProbesOnceAfterTheCoolDownAndClosesOnSuccess) {
  for (int i = 0; i < 3; ++i) breaker_.RecordFailure();
  now_ += absl::Milliseconds(999);
  EXPECT_FALSE(breaker_.Allow());
  now_ += absl::Milliseconds(1);
  EXPECT_TRUE(breaker_.Allow());  // the probe
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kHalfOpen);
  EXPECT_FALSE(breaker_.Allow());  // one probe at a time
  breaker_.RecordSuccess();
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kClosed);
  EXPECT_TRUE(breaker_.Allow());
  EXPECT_TRUE(breaker_.Allow());
}

TEST_F(CircuitBreakerTest, AFailedProbeOpensItForAnotherCoolDown) {
  for (int i = 0; i < 3; ++i) breaker_.RecordFailure();
  now_ += absl::Seconds(1);
  ASSERT_TRUE(breaker_.Allow());
  breaker_.RecordFailure();
  EXPECT_EQ(breaker_.state(), CircuitBreaker::State::kOpen);
  EXPECT_EQ(breaker_.times_opened(), 2);
  now_ += absl::Milliseconds(500);
  EXPECT_FALSE(breaker_.Allow());
  now_ += absl::Milliseconds(500);
  EXPECT_TRUE(breaker_.Allow());
}

TEST_F(CircuitBreakerTest, AnAbandonedProbeFreesTheProbeSlot) {
  for (int i = 0; i < 3; ++i) breaker_.RecordFailure();
  now_ += absl::Seconds(1);
  ASSERT_TRUE(breaker_.Allow());
  EXPECT_FALSE(breaker_.Allow());
  breaker_.RecordAbandoned();
  EXPECT_TRUE(breaker_.Allow());
}

TEST(CircuitBreakerDisabledTest, ThresholdZeroNeverOpens) {
  CircuitBreaker breaker({/*failure_threshold=*/0, absl::Seconds(1)});
  for (int i = 0; i < 100; ++i) breaker.RecordFailure();
  EXPECT_TRUE(breaker.Allow());
  EXPECT_EQ(breaker.state(), CircuitBreaker::State::kClosed);
}

}  // namespace
}  // namespace recsys
