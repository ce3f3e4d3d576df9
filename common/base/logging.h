#ifndef RECSYS_COMMON_BASE_LOGGING_H_
#define RECSYS_COMMON_BASE_LOGGING_H_

// The one logging set-up of every binary: spdlog's default logger writing to
// stderr, as text or as JSON lines (docs/logging.md). Diagnostics, progress
// and errors are logged; a tool's results (tables, CSV, the text a user asked
// for) stay on stdout.
//
// This library reads no flags: binaries get `--log_level` and `--log_format`
// from `//common/base:command_line`, which calls `InitLogging` here.

#include <chrono>
#include <memory>
#include <string>

#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recsys {

// How log lines are written.
enum class LogFormat {
  kText,  // `kTextLogPattern`, for people.
  kJson,  // One JSON object per line (`JsonLogFormatter`), for collectors.
};

// spdlog's pattern for `LogFormat::kText`: the time in UTC (RFC 3339, with
// milliseconds), the level, the message, e.g.
// `[2026-12-01T06:03:22.123Z] [info] read data/world: 3000 videos, ...`.
inline constexpr char kTextLogPattern[] = "[%Y-%m-%dT%H:%M:%S.%eZ] [%^%l%$] %v";

// "trace", "debug", "info", "warn", "error", "critical" or "off" (and
// spdlog's aliases "warning" and "err") as a level; InvalidArgument naming
// `--log_level` and the allowed values otherwise.
absl::StatusOr<spdlog::level::level_enum> ParseLogLevel(absl::string_view name);

// "text" or "json"; InvalidArgument naming `--log_format` and the allowed
// values otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view name);

// `text` as a JSON string literal (with its quotes) appended to `out`:
// `"` and `\` escaped, control characters as \n, \r, \t, \b, \f or \u00XX,
// valid UTF-8 passed through, and each byte of an invalid UTF-8 sequence
// replaced by U+FFFD (so every line is valid JSON whatever the message
// holds, e.g. a malformed CSV row).
void AppendJsonString(absl::string_view text, std::string* out);

// `time` as RFC 3339 in UTC with milliseconds: "2026-12-01T06:03:22.123Z".
std::string FormatRfc3339Utc(std::chrono::system_clock::time_point time);

// Formats each message as one JSON object on one line:
//   {"ts":"2026-12-01T06:03:22.123Z","level":"info","logger":"trainer","msg":"..."}
// `level` is spdlog's name of the level (trace, debug, info, warning, error,
// critical). Stateless, so safe wherever spdlog calls it.
class JsonLogFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

struct LoggingOptions {
  // The `logger` of JSON lines: the binary's name (e.g. "trainer").
  std::string program_name;
  // The least severe level written.
  spdlog::level::level_enum level = spdlog::level::info;
  LogFormat format = LogFormat::kText;
};

// Replaces spdlog's default logger (which writes to stdout) with one named
// `options.program_name` that writes to stderr in `options.format` (colours
// the level on a terminal in text format), at `options.level`. Every
// `spdlog::info(...)` etc. in the process goes through it. Call once from
// main, before other threads log.
void InitLogging(const LoggingOptions& options);

}  // namespace recsys

#endif  // RECSYS_COMMON_BASE_LOGGING_H_
