#include "common/logs/csv_writer.h"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace recsys {

absl::StatusOr<std::unique_ptr<CsvFileWriter>> CsvFileWriter::Create(
    const std::string& path, const std::vector<absl::string_view>& columns) {
  const std::string temp_path = path + ".tmp";
  std::FILE* file = std::fopen(temp_path.c_str(), "wb");
  if (file == nullptr) {
    return absl::InternalError(
        absl::StrCat(temp_path, ": cannot be opened for writing"));
  }
  std::unique_ptr<CsvFileWriter> writer(new CsvFileWriter(path, file));
  for (absl::string_view column : columns) writer->Text(column);
  writer->EndRow();
  return writer;
}

CsvFileWriter::CsvFileWriter(std::string path, std::FILE* file)
    : path_(std::move(path)), file_(file) {}

CsvFileWriter::~CsvFileWriter() {
  if (file_ != nullptr) std::fclose(file_);
  if (!finished_) std::remove((path_ + ".tmp").c_str());
}

void AppendCsvField(absl::string_view field, std::string* out) {
  if (field.find_first_of(",\"\r\n") == absl::string_view::npos) {
    out->append(field.data(), field.size());
    return;
  }
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

std::string FormatCsvFloat(float value) {
  char text[64];
  // Shortest representation that parses back to exactly `value`.
  const auto [end, ec] = std::to_chars(text, text + sizeof(text), value);
  return std::string(text, ec == std::errc() ? end : text);
}

void CsvFileWriter::Text(absl::string_view field) {
  Separator();
  AppendCsvField(field, &buffer_);
}

void CsvFileWriter::Int(int64_t value) {
  Separator();
  absl::StrAppend(&buffer_, value);
}

void CsvFileWriter::Float(float value) {
  Separator();
  buffer_.append(FormatCsvFloat(value));
}

void CsvFileWriter::Bool(bool value) {
  Separator();
  buffer_.push_back(value ? '1' : '0');
}

void CsvFileWriter::EndRow() {
  buffer_.push_back('\n');
  first_field_ = true;
  constexpr size_t kFlushBytes = size_t{1} << 20;
  if (buffer_.size() >= kFlushBytes) Flush();
}

absl::Status CsvFileWriter::Finish() {
  finished_ = true;
  Flush();
  if (std::fclose(file_) != 0 && status_.ok()) {
    status_ = absl::InternalError(
        absl::StrCat(path_, ".tmp: write failed (disk full or no access?)"));
  }
  file_ = nullptr;
  if (!status_.ok()) {
    std::remove((path_ + ".tmp").c_str());
    return status_;
  }
  std::error_code ec;
  std::filesystem::rename(path_ + ".tmp", path_, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot rename ", path_, ".tmp to ",
                                            path_, ": ", ec.message()));
  }
  return absl::OkStatus();
}

void CsvFileWriter::Separator() {
  if (!first_field_) buffer_.push_back(',');
  first_field_ = false;
}

void CsvFileWriter::Flush() {
  if (status_.ok() && !buffer_.empty() &&
      std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
    status_ = absl::InternalError(
        absl::StrCat(path_, ".tmp: write failed (disk full or no access?)"));
  }
  buffer_.clear();
}

}  // namespace recsys
