#ifndef RECSYS_COMMON_BASE_COMMAND_LINE_H_
#define RECSYS_COMMON_BASE_COMMAND_LINE_H_

// What every binary's main does with its command line: the usage message,
// `--help` that lists the binary's own flags and the logging flags, Abseil
// flag parsing, then logging (common/base/logging.h).
//
// This file defines the flags every binary shares (as absl/flags/parse.cc
// defines `--flagfile` and `--help`):
//   --log_level   trace, debug, info, warn, error, critical or off (info)
//   --log_format  text or json (text)
// Only binaries may depend on this target; libraries log through spdlog and
// never read these flags.

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace recsys {

// Sets up logging from `--log_level` and `--log_format` for the binary
// `program_name` (the JSON lines' `logger`). InvalidArgument naming the flag
// and its allowed values when one is bad (logging is then left as it was).
absl::Status InitLoggingFromFlags(absl::string_view program_name);

// Whether `--help` lists the flags defined in `filename` (as the flag's
// `Filename()`, e.g. "trainer/trainer_main.cc") for the binary
// `program_name`: its main file and this file.
bool HelpListsFlagsOf(absl::string_view program_name, absl::string_view filename);

// For main(): sets `usage` as the program's usage message, makes `--help`
// and `--helpshort` list the flags of the binary's main file (named after
// the binary: `<name>.cc`, `<name>_main.cc` or `<name>-main.cc`, Abseil's
// rule), of this file and of `more_flag_files` (files of shared flags the
// binary links, as their flags' `Filename()`: "common/serving/server_flags.cc"),
// parses the command line (exits on `--help` and on
// unknown flags, as `absl::ParseCommandLine`), then sets up logging with
// `InitLoggingFromFlags`. A bad `--log_level` or `--log_format` is logged as
// an error and the process exits with status 2. Returns the positional
// arguments, `argv[0]` first, as `absl::ParseCommandLine`.
// Every flag defined in a file whose name contains `filename_part` (e.g.
// "trainer_main"), name -> value as given or defaulted: what a binary
// records of its settings (a bundle's manifest `hyperparameters`).
std::map<std::string, std::string> FlagValuesOfFile(absl::string_view filename_part);

std::vector<char*> ParseCommandLineAndInitLogging(
    int argc, char** argv, absl::string_view usage,
    const std::vector<std::string>& more_flag_files = {});

}  // namespace recsys

#endif  // RECSYS_COMMON_BASE_COMMAND_LINE_H_
