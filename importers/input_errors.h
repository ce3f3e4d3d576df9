#ifndef RECSYS_IMPORTERS_INPUT_ERRORS_H_
#define RECSYS_IMPORTERS_INPUT_ERRORS_H_

// The errors the importers return for input they cannot use, written once so
// that every importer names the place the same way: "path: what" for a file,
// "path:line: what" for a row and "path:line: column 'name': what" for one
// field. A row's message says what is wrong and then what to do about it.
//
// Internal to //importers; the canonical log reader (common/logs) has its own
// messages.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace recsys::importers_internal {

// `value` C-escaped and quoted for a message, cut to its first 60 bytes (then
// followed by "...").
std::string Quote(absl::string_view value);

// The error for a file that an input stream could not open: NotFound
// "path: no such file" when `path` does not exist, else PermissionDenied
// "path: cannot be opened for reading".
absl::Status FileOpenError(const std::string& path);

// DataLoss "path: read failed", for a stream that went bad while reading.
absl::Status FileReadError(const std::string& path);

// InvalidArgument "path:line: what", for line `line` (1-based) of `path`.
absl::Status RowError(absl::string_view path, int64_t line,
                      absl::string_view what);

// One row's place in its input file, and the errors that name it. Importers'
// row parsers derive from it, so that each of their checks can return
// `Error` or `ColumnError` directly.
class RowLocation {
 public:
  // `path` must outlive this object; `line` is 1-based.
  RowLocation(const std::string& path, int64_t line)
      : path_(path), line_(line) {}

  // InvalidArgument "path:line: what".
  absl::Status Error(absl::string_view what) const;

  // InvalidArgument "path:line: column 'column': what".
  absl::Status ColumnError(absl::string_view column,
                           absl::string_view what) const;

  const std::string& path() const { return path_; }
  int64_t line() const { return line_; }

 private:
  const std::string& path_;
  int64_t line_;
};

}  // namespace recsys::importers_internal

#endif  // RECSYS_IMPORTERS_INPUT_ERRORS_H_
