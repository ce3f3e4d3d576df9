#ifndef RECSYS_SIMULATOR_CSV_FILE_WRITER_H_
#define RECSYS_SIMULATOR_CSV_FILE_WRITER_H_

// A streaming CSV file writer in the dialect of common/logs/logs.h, for the
// simulator's ground-truth files (the five log files go through
// common/logs' `LogWriter`, which checks every row). A thin adapter:
// common/logs formats the same dialect but keeps its field writer private
// (logs.cc `AppendCsvField`); once it exports a generic row writer, this
// file should go. Private to //simulator.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recsys {
namespace world_internal {

// Appends CSV rows, field by field, to `path`.tmp through a buffer, and
// renames it to `path` on `Finish`. Quoting and number formatting are those
// of `WriteLogs`: a field is quoted only if it contains ',', '"', '\r' or
// '\n' (inner quotes doubled), floats are the shortest text that reads back
// as the same value, booleans 0/1. Write errors are sticky and reported by
// `Finish`; a writer destroyed before `Finish` removes `path`.tmp. Not
// thread-safe.
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

}  // namespace world_internal
}  // namespace recsys

#endif  // RECSYS_SIMULATOR_CSV_FILE_WRITER_H_
