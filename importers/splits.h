#ifndef RECSYS_IMPORTERS_SPLITS_H_
#define RECSYS_IMPORTERS_SPLITS_H_

// Offline evaluation splits of canonical logs (common/logs/logs.h) into parts
// that are each a complete log directory: videos and users are copied whole
// into every part, so each part reads back on its own. docs/data-format.md
// ("Splits") is the reference for the two protocols:
//
//  - Leave-last-out (`SplitLeaveLastOut`), for candidate generation: per
//    user, the last watch is the test example and the one before it the
//    validation example. Searches and impressions stay in train.
//  - Global time cut (`SplitAtTime`), for ranking and for "the next day"
//    evaluation: train is everything before the cut, the holdout the day
//    after it.
//
// All functions are pure; within each part, records keep their input order.

#include <cstdint>

#include "common/base/time_units.h"
#include "absl/status/statusor.h"
#include "common/logs/logs.h"

namespace recsys {

struct LeaveLastOutSplit {
  // Every watch but the held-out ones, and all searches and impressions.
  Logs train;
  // Each user's second-to-last watch (users with at least 3 watches).
  Logs validation;
  // Each user's last watch (users with at least 3 watches).
  Logs test;
};

// Orders each user's watches by `time_s`, then by their order in
// `logs.watches` (the file's row order: the order `UserHistories` uses
// everywhere, docs/data-format.md). A user with at least 3 watches gives the last one to
// `test` and the second-to-last to `validation`; every other watch, and all
// of a user with fewer than 3, go to `train`. Searches and impressions
// always go to `train` (they are model inputs; see docs/data-format.md for
// what that leaves in train after a held-out watch).
LeaveLastOutSplit SplitLeaveLastOut(const Logs& logs);

struct TimeCutSplit {
  // Watches, searches and impressions with `time_s` < cut.
  Logs train;
  // Those with cut <= `time_s` < cut + `holdout_s`. Later events are in
  // neither part.
  Logs holdout;
};

// Splits at `cut_time_s` (Unix seconds). A page's impressions share one
// time, so no page is cut in two. `holdout_s` defaults to one day.
// InvalidArgumentError if `holdout_s` <= 0.
absl::StatusOr<TimeCutSplit> SplitAtTime(const Logs& logs, int64_t cut_time_s,
                                         int64_t holdout_s = kSecondsPerDay);

// The cut time of day `day`, in whole UTC days: day 0 starts at midnight
// UTC of the earliest watch, search or impression; a negative `day` counts
// back from the midnight after the latest one (-1: the last day). So
// `SplitAtTime(logs, *CutTimeForDay(logs, -1))` holds out the last day.
// InvalidArgumentError for logs without events, or a cut before day 0.
absl::StatusOr<int64_t> CutTimeForDay(const Logs& logs, int64_t day);

}  // namespace recsys

#endif  // RECSYS_IMPORTERS_SPLITS_H_
