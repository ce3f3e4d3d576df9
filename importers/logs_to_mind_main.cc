// logs_to_mind: writes canonical logs with impressions (e.g. a simulated
// world) as a MIND directory (behaviors.tsv, news.tsv), so that the MIND
// importer can be tested, and a model trained, on MIND-shaped data of any
// size.
//
//   bazel-bin/simulator/world_gen --preset=small --out=/tmp/w
//   bazel-bin/importers/logs_to_mind --in=/tmp/w --out=/tmp/mind_small
//
// docs/data-format.md ("Importers" / "MIND") says what is kept and lost.

#include <chrono>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "common/base/command_line.h"
#include "common/logs/logs.h"
#include "importers/mind.h"

ABSL_FLAG(std::string, in, "",
          "The canonical log directory to read; it must have impressions. "
          "Required; use an absolute path under `bazel run`.");
ABSL_FLAG(std::string, out, "",
          "The MIND directory to write (created if missing). Required; use "
          "an absolute path under `bazel run`.");

namespace recsys {
namespace {

int Run() {
  const std::string in = absl::GetFlag(FLAGS_in);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (in.empty() || out.empty()) {
    spdlog::error("logs_to_mind: --in and --out are required (see --help)");
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Logs> logs = ReadLogs(in);
  if (!logs.ok()) {
    spdlog::error("logs_to_mind: {}", std::string(logs.status().message()));
    return 1;
  }
  const auto read = std::chrono::steady_clock::now();
  WriteMindStats stats;
  if (absl::Status status = WriteMind(out, *logs, &stats); !status.ok()) {
    spdlog::error("logs_to_mind: {}", std::string(status.message()));
    return 1;
  }
  const auto written = std::chrono::steady_clock::now();

  auto seconds = [](auto from, auto to) {
    return std::chrono::duration<double>(to - from).count();
  };
  std::cout << absl::StrFormat(
      "logs_to_mind: %s: %d impressions (%d clicked) on %d pages -> "
      "behaviors rows, %d history entries, %d videos -> news; read in "
      "%.2f s, written to %s in %.2f s.\n",
      in, stats.impressions, stats.clicks, stats.rows, stats.history_entries,
      stats.news, seconds(start, read), out, seconds(read, written));
  return 0;
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Writes canonical logs with impressions as a MIND directory.\n"
      "  logs_to_mind --in=/abs/logs --out=/abs/mind_dir\n"
      "One behaviors row per impression page; history = the user's watches "
      "before their first page; news from the videos. See "
      "docs/data-format.md (Importers, MIND).");
  return recsys::Run();
}
