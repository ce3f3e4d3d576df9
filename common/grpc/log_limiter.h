#ifndef RECSYS_COMMON_GRPC_LOG_LIMITER_H_
#define RECSYS_COMMON_GRPC_LOG_LIMITER_H_

// Rate-limits a log line that a request path can repeat thousands of times a
// second (a degraded answer, a parse failure): at most one line per
// `interval`, and the next line says how many were suppressed. Thread-safe.

#include <cstdint>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace recsys {

class LogLimiter {
 public:
  explicit LogLimiter(absl::Duration interval = absl::Seconds(1)) : interval_(interval) {}

  // True when this event should be logged; then `*suppressed` is the number
  // of events not logged since the last one that was.
  bool Allow(int64_t* suppressed) {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    if (now - last_ < interval_) {
      ++suppressed_;
      return false;
    }
    last_ = now;
    *suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  const absl::Duration interval_;
  absl::Mutex mu_;
  absl::Time last_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int64_t suppressed_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_GRPC_LOG_LIMITER_H_
