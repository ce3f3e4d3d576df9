#ifndef RECSYS_COMMON_SERVING_STAGE_CLOCK_H_
#define RECSYS_COMMON_SERVING_STAGE_CLOCK_H_

// How long each stage of one request took (features, user tower, ANN, ...),
// for the servers' stage histograms (recsys_stage_duration_seconds). The
// service starts a `StageClock` when a call arrives and passes it down; the
// model code marks the end of each stage on it (`MarkStage`). Without a
// clock (offline evaluation, tests) marking costs a branch.

#include <array>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace recsys {

// The stages of one request, in order. Names are string literals.
class StageTimes {
 public:
  static constexpr int kMaxStages = 12;
  void Add(const char* stage, absl::Duration took) {
    if (size_ < kMaxStages) stages_[size_++] = {stage, took};
  }
  int size() const { return size_; }
  const std::pair<const char*, absl::Duration>& operator[](int i) const { return stages_[i]; }

 private:
  std::array<std::pair<const char*, absl::Duration>, kMaxStages> stages_;
  int size_ = 0;
};

// Marks stage ends: each `Mark` records the time since the previous mark,
// or since `start`.
class StageClock {
 public:
  explicit StageClock(absl::Time start = absl::Now()) : last_(start) {}
  void Mark(const char* stage) {
    const absl::Time now = absl::Now();
    times_.Add(stage, now - last_);
    last_ = now;
  }
  const StageTimes& times() const { return times_; }

 private:
  StageTimes times_;
  absl::Time last_;
};

// `clock->Mark(stage)`, nothing when `clock` is null.
inline void MarkStage(StageClock* clock, const char* stage) {
  if (clock != nullptr) clock->Mark(stage);
}

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_STAGE_CLOCK_H_
