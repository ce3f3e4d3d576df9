#ifndef RECSYS_CANDIDATE_SERVICE_CIRCUIT_BREAKER_H_
#define RECSYS_CANDIDATE_SERVICE_CIRCUIT_BREAKER_H_

// A circuit breaker in front of the ranking stage. Closed, every call goes
// through; after `failure_threshold` consecutive failures it opens and calls
// are skipped (the answer is degraded at once instead of after a deadline)
// for `cool_down`; then one probe call is let through (half open): its
// success closes the breaker, its failure opens it for another cool-down.
//
// Thread-safe.

#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace recsys {

class CircuitBreaker {
 public:
  struct Options {
    // Consecutive failures that open the breaker; 0 disables it.
    int failure_threshold = 5;
    absl::Duration cool_down = absl::Milliseconds(500);
  };
  enum class State { kClosed, kOpen, kHalfOpen };

  // `now` is the clock (tests pass a fake one).
  explicit CircuitBreaker(const Options& options,
                          std::function<absl::Time()> now = absl::Now)
      : options_(options), now_(std::move(now)) {}

  // Whether a call may go out now. In the open state, true once per
  // cool-down (the probe), and the caller must report its outcome.
  bool Allow();
  void RecordSuccess();
  void RecordFailure();
  // A call that was let through but ended without telling anything about
  // the callee (the caller cancelled): frees a pending probe.
  void RecordAbandoned();

  State state() const;
  // Times the breaker opened.
  int64_t times_opened() const;

 private:
  const Options options_;
  const std::function<absl::Time()> now_;
  mutable absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kClosed;
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time open_until_ ABSL_GUARDED_BY(mu_);
  bool probe_in_flight_ ABSL_GUARDED_BY(mu_) = false;
  int64_t times_opened_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace recsys

#endif  // RECSYS_CANDIDATE_SERVICE_CIRCUIT_BREAKER_H_
