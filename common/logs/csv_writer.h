#ifndef RECSYS_COMMON_LOGS_CSV_WRITER_H_
#define RECSYS_COMMON_LOGS_CSV_WRITER_H_

// The CSV dialect of the canonical logs (docs/data-format.md), written in
// one place: `AppendCsvField` and `FormatCsvFloat` (used by `WriteLogs` and
// `LogWriter`), and `CsvFileWriter`, a streaming writer of any CSV file in
// that dialect (the simulator's ground-truth files).

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recsys {

// Appends CSV rows, field by field, to `path`.tmp through a buffer, and
// renames it to `path` on `Finish`. Quoting and number formatting are those
// of `WriteLogs`: a field is quoted only if it contains ',', '"', '\r' or
// '\n' (inner quotes doubled), floats are the shortest text that reads back
// as the same value, booleans 0/1. Write errors are sticky and reported by
// `Finish`; a writer destroyed before `Finish` removes `path`.tmp. Not
// thread-safe.
// Appends `field` to `out`, quoted only if it contains ',', '"', '\r' or
// '\n' (inner quotes doubled).
void AppendCsvField(absl::string_view field, std::string* out);
// The shortest text that reads back as exactly `value`.
std::string FormatCsvFloat(float value);

class CsvFileWriter {
 public:
  // Opens `path`.tmp and writes the header row `columns`; InternalError if
  // the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<CsvFileWriter>> Create(
      const std::string& path, const std::vector<absl::string_view>& columns);

  ~CsvFileWriter();

  CsvFileWriter(const CsvFileWriter&) = delete;
  CsvFileWriter& operator=(const CsvFileWriter&) = delete;

  void Text(absl::string_view field);
  void Int(int64_t value);
  void Float(float value);
  void Bool(bool value);
  void EndRow();

  // Flushes, closes and renames the file into place.
  absl::Status Finish();

 private:
  CsvFileWriter(std::string path, std::FILE* file);

  void Separator();
  void Flush();

  const std::string path_;
  std::FILE* file_;
  std::string buffer_;
  bool first_field_ = true;
  bool finished_ = false;
  absl::Status status_;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_LOGS_CSV_WRITER_H_
