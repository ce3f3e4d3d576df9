// split_logs: splits a canonical log directory for offline evaluation.
//
//   bazel run //importers:split_logs -- --in=/abs/logs --out=/abs/split
//       --mode=leave_last_out
//     -> out/train, out/validation, out/test
//   bazel run //importers:split_logs -- --in=/abs/logs --out=/abs/split
//       --mode=time_cut (--cut_day=N | --cut_time_s=T)
//     -> out/train, out/holdout
//
// Each output directory is a complete log directory (videos.csv and
// users.csv copied). docs/data-format.md ("Splits") defines the protocols.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/base/command_line.h"
#include "common/base/time_units.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/logs/logs.h"
#include "importers/splits.h"

ABSL_FLAG(std::string, in, "",
          "Canonical log directory to split. Required; use an absolute path "
          "under `bazel run`.");
ABSL_FLAG(std::string, out, "",
          "Directory to write the parts into, one subdirectory each "
          "(created if missing). Required.");
ABSL_FLAG(std::string, mode, "",
          "leave_last_out (train/validation/test: each user's last watch is "
          "test, the one before validation) or time_cut (train/holdout: "
          "events before the cut, and in the day from it). Required.");
ABSL_FLAG(std::optional<int64_t>, cut_day, std::nullopt,
          "time_cut: cut at the start of this UTC day, counted from the "
          "first event's day (0); negative counts back from the end (-1 = "
          "hold out the last day).");
ABSL_FLAG(std::optional<int64_t>, cut_time_s, std::nullopt,
          "time_cut: cut at this Unix time, seconds.");
ABSL_FLAG(int, holdout_days, 1, "time_cut: days held out from the cut on.");

namespace recsys {
namespace {

// A part's name and logs, in the order written.
using Parts = std::vector<std::pair<std::string, Logs>>;

absl::StatusOr<Parts> Split(const Logs& logs, std::string* description) {
  const std::string mode = absl::GetFlag(FLAGS_mode);
  const std::optional<int64_t> cut_day = absl::GetFlag(FLAGS_cut_day);
  const std::optional<int64_t> cut_time_s = absl::GetFlag(FLAGS_cut_time_s);
  if (mode == "leave_last_out") {
    if (cut_day.has_value() || cut_time_s.has_value()) {
      return absl::InvalidArgumentError(
          "--cut_day and --cut_time_s are only for --mode=time_cut");
    }
    LeaveLastOutSplit split = SplitLeaveLastOut(logs);
    *description = "leave-last-out";
    Parts parts;
    parts.emplace_back("train", std::move(split.train));
    parts.emplace_back("validation", std::move(split.validation));
    parts.emplace_back("test", std::move(split.test));
    return parts;
  }
  if (mode == "time_cut") {
    if (cut_day.has_value() == cut_time_s.has_value()) {
      return absl::InvalidArgumentError(
          "--mode=time_cut needs exactly one of --cut_day and --cut_time_s");
    }
    int64_t cut = 0;
    if (cut_day.has_value()) {
      absl::StatusOr<int64_t> day_cut = CutTimeForDay(logs, *cut_day);
      if (!day_cut.ok()) return day_cut.status();
      cut = *day_cut;
    } else {
      cut = *cut_time_s;
    }
    const int64_t holdout_s = absl::GetFlag(FLAGS_holdout_days) * kSecondsPerDay;
    absl::StatusOr<TimeCutSplit> split = SplitAtTime(logs, cut, holdout_s);
    if (!split.ok()) return split.status();
    *description =
        absl::StrCat("time cut at ", cut, " (holdout until ", cut + holdout_s, ")");
    Parts parts;
    parts.emplace_back("train", std::move(split->train));
    parts.emplace_back("holdout", std::move(split->holdout));
    return parts;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--mode must be leave_last_out or time_cut, not \"", mode, "\""));
}

int Run() {
  const std::string in = absl::GetFlag(FLAGS_in);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (in.empty() || out.empty()) {
    spdlog::error("split_logs: --in and --out are required (see --help)");
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Logs> logs = ReadLogs(in);
  if (!logs.ok()) {
    spdlog::error("split_logs: {}", std::string(logs.status().message()));
    return 1;
  }
  std::string description;
  absl::StatusOr<Parts> parts = Split(*logs, &description);
  if (!parts.ok()) {
    spdlog::error("split_logs: {}", std::string(parts.status().message()));
    return 2;
  }
  std::vector<std::string> counts;
  for (const auto& [name, part] : *parts) {
    const std::string dir = (std::filesystem::path(out) / name).string();
    if (absl::Status status = WriteLogs(dir, part); !status.ok()) {
      spdlog::error("split_logs: {}", std::string(status.message()));
      return 1;
    }
    counts.push_back(
        absl::StrFormat("%s %d watches, %d searches, %d "
                        "impressions",
                        name, part.watches.size(), part.searches.size(),
                        part.impressions.size()));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::cout << absl::StrFormat(
      "split_logs: %s of %s (%d watches, %d users): %s; written to %s in "
      "%.2f s.\n",
      description, in, logs->watches.size(), logs->users.size(),
      absl::StrJoin(counts, "; "), out, seconds);
  return 0;
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Splits canonical logs for offline evaluation.\n"
      "  split_logs --in=/abs/logs --out=/abs/split --mode=leave_last_out\n"
      "  split_logs --in=/abs/logs --out=/abs/split --mode=time_cut "
      "(--cut_day=N | --cut_time_s=T)\n"
      "See docs/data-format.md (Splits).");
  return recsys::Run();
}
