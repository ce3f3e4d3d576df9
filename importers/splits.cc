#include "common/base/time_units.h"
#include "importers/splits.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/logs/logs.h"

namespace recsys {
namespace {


// Where a watch goes in leave-last-out.
enum class Part { kTrain, kValidation, kTest };

// `logs` without its events: the catalogue and users every part carries.
Logs CatalogueOf(const Logs& logs) {
  Logs part;
  part.videos = logs.videos;
  part.users = logs.users;
  return part;
}

// Midnight UTC at or before `time_s` (>= 0).
int64_t DayStart(int64_t time_s) {
  return time_s / kSecondsPerDay * kSecondsPerDay;
}

template <typename Record>
void AppendInWindow(const std::vector<Record>& records, int64_t from_s,
                    int64_t to_s, std::vector<Record>* out) {
  for (const Record& r : records) {
    if (r.time_s >= from_s && r.time_s < to_s) out->push_back(r);
  }
}

}  // namespace

LeaveLastOutSplit SplitLeaveLastOut(const Logs& logs) {
  const std::vector<WatchRecord>& watches = logs.watches;
  absl::flat_hash_map<std::string, std::vector<size_t>> by_user;
  for (size_t i = 0; i < watches.size(); ++i) {
    by_user[watches[i].user_id].push_back(i);
  }
  std::vector<Part> parts(watches.size(), Part::kTrain);
  for (auto& [user, indices] : by_user) {
    if (indices.size() < 3) continue;
    // Only the last two matter. Time, then the input's row order (the
    // order `UserHistories` uses everywhere).
    std::stable_sort(indices.begin(), indices.end(), [&](size_t a, size_t b) {
      return watches[a].time_s < watches[b].time_s;
    });
    parts[indices[indices.size() - 1]] = Part::kTest;
    parts[indices[indices.size() - 2]] = Part::kValidation;
  }

  LeaveLastOutSplit split;
  split.train = CatalogueOf(logs);
  split.validation = CatalogueOf(logs);
  split.test = CatalogueOf(logs);
  for (size_t i = 0; i < watches.size(); ++i) {
    switch (parts[i]) {
      case Part::kTrain:
        split.train.watches.push_back(watches[i]);
        break;
      case Part::kValidation:
        split.validation.watches.push_back(watches[i]);
        break;
      case Part::kTest:
        split.test.watches.push_back(watches[i]);
        break;
    }
  }
  split.train.searches = logs.searches;
  split.train.impressions = logs.impressions;
  return split;
}

absl::StatusOr<TimeCutSplit> SplitAtTime(const Logs& logs, int64_t cut_time_s,
                                         int64_t holdout_s) {
  if (holdout_s <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the holdout length must be positive, not ", holdout_s, " s"));
  }
  const int64_t end_s =
      cut_time_s > std::numeric_limits<int64_t>::max() - holdout_s
          ? std::numeric_limits<int64_t>::max()
          : cut_time_s + holdout_s;
  constexpr int64_t kBeginning = std::numeric_limits<int64_t>::min();
  TimeCutSplit split;
  split.train = CatalogueOf(logs);
  split.holdout = CatalogueOf(logs);
  AppendInWindow(logs.watches, kBeginning, cut_time_s, &split.train.watches);
  AppendInWindow(logs.searches, kBeginning, cut_time_s, &split.train.searches);
  AppendInWindow(logs.impressions, kBeginning, cut_time_s,
                 &split.train.impressions);
  AppendInWindow(logs.watches, cut_time_s, end_s, &split.holdout.watches);
  AppendInWindow(logs.searches, cut_time_s, end_s, &split.holdout.searches);
  AppendInWindow(logs.impressions, cut_time_s, end_s,
                 &split.holdout.impressions);
  return split;
}

absl::StatusOr<int64_t> CutTimeForDay(const Logs& logs, int64_t day) {
  int64_t first_s = std::numeric_limits<int64_t>::max();
  int64_t last_s = std::numeric_limits<int64_t>::min();
  auto extend = [&](int64_t time_s) {
    first_s = std::min(first_s, time_s);
    last_s = std::max(last_s, time_s);
  };
  for (const WatchRecord& r : logs.watches) extend(r.time_s);
  for (const SearchRecord& r : logs.searches) extend(r.time_s);
  for (const ImpressionRecord& r : logs.impressions) extend(r.time_s);
  if (first_s > last_s) {
    return absl::InvalidArgumentError(
        "the logs have no watches, searches or impressions to cut");
  }
  const int64_t first_day_s = DayStart(first_s);
  const int64_t num_days =
      (DayStart(last_s) - first_day_s) / kSecondsPerDay + 1;
  const int64_t index = day >= 0 ? day : num_days + day;
  if (num_days < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the events all fall on one day (from ", first_day_s,
        ", midnight UTC), so no whole-day cut leaves both sides non-empty; "
        "cut at a time instead"));
  }
  if (index < 1 || index >= num_days) {
    return absl::InvalidArgumentError(absl::StrCat(
        "day ", day, " leaves an empty side: the events span ", num_days,
        " days from ", first_day_s, " (midnight UTC); use a day in 1..",
        num_days - 1, " or -", num_days - 1, "..-1"));
  }
  return first_day_s + index * kSecondsPerDay;
}

}  // namespace recsys
