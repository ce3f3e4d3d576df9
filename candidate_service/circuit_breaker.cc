#include "candidate_service/circuit_breaker.h"

namespace recsys {

bool CircuitBreaker::Allow() {
  if (options_.failure_threshold <= 0) return true;
  absl::MutexLock lock(&mu_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (now_() < open_until_) return false;
      state_ = State::kHalfOpen;
      probe_in_flight_ = true;
      return true;
    case State::kHalfOpen:
      if (probe_in_flight_) return false;
      probe_in_flight_ = true;
      return true;
  }
  return true;
}

void CircuitBreaker::RecordSuccess() {
  absl::MutexLock lock(&mu_);
  consecutive_failures_ = 0;
  state_ = State::kClosed;
  probe_in_flight_ = false;
}

void CircuitBreaker::RecordFailure() {
  if (options_.failure_threshold <= 0) return;
  absl::MutexLock lock(&mu_);
  ++consecutive_failures_;
  if (state_ == State::kHalfOpen ||
      (state_ == State::kClosed && consecutive_failures_ >= options_.failure_threshold)) {
    state_ = State::kOpen;
    open_until_ = now_() + options_.cool_down;
    probe_in_flight_ = false;
    ++times_opened_;
  }
}

void CircuitBreaker::RecordAbandoned() {
  absl::MutexLock lock(&mu_);
  if (state_ == State::kHalfOpen) probe_in_flight_ = false;
}

CircuitBreaker::State CircuitBreaker::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

int64_t CircuitBreaker::times_opened() const {
  absl::MutexLock lock(&mu_);
  return times_opened_;
}

}  // namespace recsys
