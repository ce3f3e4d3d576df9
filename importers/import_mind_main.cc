// import_mind: converts one or more MIND directories (Microsoft News
// Recommendation Dataset, e.g. MINDsmall_train and MINDsmall_dev) into the
// canonical log format.
//
//   bazel run //importers:import_mind --
//       --in=/abs/MINDsmall_train,/abs/MINDsmall_dev --out=/abs/data/mind
//       [--nominal_read_s=60] [--skip_unknown_news]
//
// docs/data-format.md ("Importers" / "MIND") describes the mapping.

#include <chrono>
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/base/command_line.h"
#include "common/logs/logs.h"
#include "importers/mind.h"

ABSL_FLAG(std::string, in, "",
          "The MIND directories to read, separated by commas (each holds "
          "behaviors.tsv and news.tsv), e.g. train,dev. Required; use "
          "absolute paths under `bazel run`.");
ABSL_FLAG(std::string, out, "",
          "Directory to write the canonical CSV files to (created if "
          "missing). Required; use an absolute path under `bazel run`.");
ABSL_FLAG(double, nominal_read_s, 60,
          "Seconds: every article's duration and every click's (and "
          "history entry's) watch time; MIND has no dwell times.");
ABSL_FLAG(bool, skip_unknown_news, false,
          "Drop impression and history entries whose news ID no news.tsv "
          "lists (counted in the summary) instead of stopping.");

namespace recsys {
namespace {

int Run() {
  const std::vector<std::string> in =
      absl::StrSplit(absl::GetFlag(FLAGS_in), ',', absl::SkipEmpty());
  const std::string out = absl::GetFlag(FLAGS_out);
  if (in.empty() || out.empty()) {
    spdlog::error("import_mind: --in and --out are required (see --help)");
    return 2;
  }
  MindImportOptions options;
  const double nominal_read_s = absl::GetFlag(FLAGS_nominal_read_s);
  if (!(nominal_read_s > 0) ||
      !std::isfinite(static_cast<float>(nominal_read_s))) {
    spdlog::error(
        "import_mind: --nominal_read_s must be a positive number of "
        "seconds, not {}",
        nominal_read_s);
    return 2;
  }
  options.nominal_read_s = static_cast<float>(nominal_read_s);
  options.skip_unknown_news = absl::GetFlag(FLAGS_skip_unknown_news);

  const auto start = std::chrono::steady_clock::now();
  MindImportStats stats;
  absl::StatusOr<Logs> logs = ImportMind(in, options, &stats);
  if (!logs.ok()) {
    spdlog::error("import_mind: {}", std::string(logs.status().message()));
    return 1;
  }
  const auto imported = std::chrono::steady_clock::now();
  if (absl::Status status = WriteLogs(out, *logs); !status.ok()) {
    spdlog::error("import_mind: {}", std::string(status.message()));
    return 1;
  }
  const auto written = std::chrono::steady_clock::now();

  auto seconds = [](auto from, auto to) {
    return std::chrono::duration<double>(to - from).count();
  };
  std::cout << absl::StrFormat(
      "import_mind: %s: %d behaviors rows -> %d impressions (%d clicked), "
      "%d watches (%d clicks + %d from histories), %d users (%d "
      "with differing histories), %d news -> videos, %d unknown news "
      "entries skipped; imported in %.2f s, written to %s in %.2f s.\n",
      absl::StrJoin(in, ","), stats.rows, stats.impressions, stats.clicks,
      logs->watches.size(), stats.clicks, stats.history_watches, stats.users,
      stats.users_with_differing_history, stats.news,
      stats.unknown_news_skipped, seconds(start, imported), out,
      seconds(imported, written));
  return 0;
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Converts MIND directories (behaviors.tsv, news.tsv) into the "
      "canonical CSV logs.\n"
      "  import_mind --in=/abs/MINDsmall_train[,/abs/MINDsmall_dev] "
      "--out=/abs/dir [--nominal_read_s=60] [--skip_unknown_news]\n"
      "Each impression entry becomes an impression, each click and history "
      "entry a watch, each article a video; see docs/data-format.md "
      "(Importers, MIND).");
  return recsys::Run();
}
