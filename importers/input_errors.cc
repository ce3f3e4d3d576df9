#include "importers/input_errors.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace recsys::importers_internal {

std::string Quote(absl::string_view value) {
  constexpr size_t kMaxShown = 60;
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, kMaxShown)), "\"",
                      value.size() > kMaxShown ? "..." : "");
}

absl::Status FileOpenError(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  return absl::PermissionDeniedError(
      absl::StrCat(path, ": cannot be opened for reading"));
}

absl::Status FileReadError(const std::string& path) {
  return absl::DataLossError(absl::StrCat(path, ": read failed"));
}

absl::Status RowError(absl::string_view path, int64_t line,
                      absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", what));
}

absl::Status RowLocation::Error(absl::string_view what) const {
  return RowError(path_, line_, what);
}

absl::Status RowLocation::ColumnError(absl::string_view column,
                                      absl::string_view what) const {
  return Error(absl::StrCat("column '", column, "': ", what));
}

}  // namespace recsys::importers_internal
