#include "common/base/command_line.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "common/base/logging.h"

ABSL_FLAG(std::string, log_level, "info",
          "Least severe log lines written (to stderr): trace, debug, info, warn, error, "
          "critical or off.");
ABSL_FLAG(std::string, log_format, "text",
          "Log lines as text ('[2026-12-01T06:03:22.123Z] [info] message', UTC) or json (one "
          "object per line: ts, level, logger, msg); docs/logging.md.");

namespace recsys {
namespace {

absl::string_view Basename(absl::string_view path) {
  const size_t slash = path.find_last_of('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

bool HelpListsFlagsOf(absl::string_view program_name, absl::string_view filename) {
  // This file's name as the compiler saw it, as Abseil records it for the
  // flags defined here.
  if (filename == __FILE__) return true;
  absl::string_view rest = Basename(filename);
  if (program_name.empty() || !absl::ConsumePrefix(&rest, program_name)) return false;
  return absl::StartsWith(rest, ".") || absl::StartsWith(rest, "_main.") ||
         absl::StartsWith(rest, "-main.");
}

absl::Status InitLoggingFromFlags(absl::string_view program_name) {
  absl::StatusOr<spdlog::level::level_enum> level = ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return level.status();
  absl::StatusOr<LogFormat> format = ParseLogFormat(absl::GetFlag(FLAGS_log_format));
  if (!format.ok()) return format.status();
  InitLogging({std::string(program_name), *level, *format});
  return absl::OkStatus();
}

std::map<std::string, std::string> FlagValuesOfFile(absl::string_view filename_part) {
  std::map<std::string, std::string> values;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (absl::StrContains(flag->Filename(), filename_part)) {
      values[std::string(name)] = flag->CurrentValue();
    }
  }
  return values;
}

std::vector<char*> ParseCommandLineAndInitLogging(int argc, char** argv,
                                                  absl::string_view usage,
                                                  const std::vector<std::string>& more_flag_files) {
  const std::string program_name(argc > 0 ? Basename(argv[0]) : "");
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [program_name, more_flag_files](absl::string_view filename) {
    return HelpListsFlagsOf(program_name, filename) ||
           std::find(more_flag_files.begin(), more_flag_files.end(), filename) !=
               more_flag_files.end();
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (absl::Status status = InitLoggingFromFlags(program_name); !status.ok()) {
    // The error in the format asked for when that flag is good.
    LoggingOptions fallback{program_name};
    if (absl::StatusOr<LogFormat> format = ParseLogFormat(absl::GetFlag(FLAGS_log_format));
        format.ok()) {
      fallback.format = *format;
    }
    InitLogging(fallback);
    spdlog::error("{}: {}", program_name, std::string(status.message()));
    std::exit(2);
  }
  return positional;
}

}  // namespace recsys
