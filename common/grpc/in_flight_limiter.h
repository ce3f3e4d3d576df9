#ifndef RECSYS_COMMON_GRPC_IN_FLIGHT_LIMITER_H_
#define RECSYS_COMMON_GRPC_IN_FLIGHT_LIMITER_H_

// Load shedding: a server admits at most `max_in_flight` requests at a time
// and answers the rest RESOURCE_EXHAUSTED at once, so that overload costs
// the refused callers a retry instead of costing every caller unbounded
// queueing, memory and deadline misses. Lock-free; thread-safe.

#include <atomic>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace recsys {

class InFlightLimiter {
 public:
  // `max_in_flight` <= 0 admits everything.
  explicit InFlightLimiter(int max_in_flight) : max_(max_in_flight) {}

  // Admits one request (the caller must `Release` it when done) or refuses
  // it (counted in `refused()`).
  bool TryAcquire() {
    const int now = in_flight_.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (max_ > 0 && now > max_) {
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
      refused_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  void Release() { in_flight_.fetch_sub(1, std::memory_order_acq_rel); }

  // What a refused request is answered.
  absl::Status Refusal() const {
    return absl::ResourceExhaustedError(
        absl::StrCat("more than ", max_, " requests in flight; retry with backoff"));
  }

  int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  int64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  int max_in_flight() const { return max_; }

 private:
  const int max_;
  std::atomic<int> in_flight_{0};
  std::atomic<int64_t> refused_{0};
};

}  // namespace recsys

#endif  // RECSYS_COMMON_GRPC_IN_FLIGHT_LIMITER_H_
