// import_movielens: converts a MovieLens directory (ml-latest-small, ml-100k
// or ml-1m) into the canonical log format.
//
//   bazel run //importers:import_movielens -- --in=/abs/ml-latest-small
//       --out=/abs/data/movielens [--layout=auto|latest|100k|1m]
//
// docs/data-format.md ("Importers") describes the mapping.

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
#include "importers/movielens.h"

ABSL_FLAG(std::string, in, "",
          "The MovieLens directory to read (as unpacked from GroupLens). "
          "Required; use an absolute path under `bazel run`.");
ABSL_FLAG(std::string, out, "",
          "Directory to write the canonical CSV files to (created if "
          "missing). Required; use an absolute path under `bazel run`.");
ABSL_FLAG(std::string, layout, "auto",
          "auto (from the files present), latest (ml-latest, "
          "ml-latest-small), 100k (ml-100k) or 1m (ml-1m).");

namespace recsys {
namespace {

int Run() {
  const std::string in = absl::GetFlag(FLAGS_in);
  const std::string out = absl::GetFlag(FLAGS_out);
  if (in.empty() || out.empty()) {
    spdlog::error("import_movielens: --in and --out are required (see --help)");
    return 2;
  }
  MovieLensImportOptions options;
  absl::StatusOr<MovieLensLayout> layout =
      ParseMovieLensLayout(absl::GetFlag(FLAGS_layout));
  if (!layout.ok()) {
    spdlog::error("import_movielens: --layout: {}",
                  std::string(layout.status().message()));
    return 2;
  }
  options.layout = *layout;

  const auto start = std::chrono::steady_clock::now();
  MovieLensImportStats stats;
  absl::StatusOr<Logs> logs = ImportMovieLens(in, options, &stats);
  if (!logs.ok()) {
    spdlog::error("import_movielens: {}", std::string(logs.status().message()));
    return 1;
  }
  const auto imported = std::chrono::steady_clock::now();
  if (absl::Status status = WriteLogs(out, *logs); !status.ok()) {
    spdlog::error("import_movielens: {}", std::string(status.message()));
    return 1;
  }
  const auto written = std::chrono::steady_clock::now();

  auto seconds = [](auto from, auto to) {
    return std::chrono::duration<double>(to - from).count();
  };
  std::cout << absl::StrFormat(
      "import_movielens: %s layout from %s: %d ratings -> %d watches, %d "
      "movies (%d rated) -> videos, %d users, %d tags -> %d searches; "
      "imported in %.2f s, written to %s in %.2f s.\n",
      MovieLensLayoutName(stats.layout), in, stats.ratings,
      logs->watches.size(), stats.movies, stats.rated_movies, stats.users,
      stats.tags, logs->searches.size(), seconds(start, imported), out,
      seconds(imported, written));
  return 0;
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Converts a MovieLens directory into the canonical CSV logs.\n"
      "  import_movielens --in=/abs/ml-latest-small --out=/abs/dir "
      "[--layout=auto|latest|100k|1m]\n"
      "Each rating becomes a watch, each movie a video, each tag a search; "
      "see docs/data-format.md (Importers).");
  return recsys::Run();
}
