#include "common/logs/logs.h"

#include "common/logs/csv_writer.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace recsys {
namespace {

using Fields = std::vector<std::string>;

// ---------------------------------------------------------------------------
// Column layouts. The header row of each file must equal these, in order.

const std::vector<absl::string_view>& Columns(const VideoRecord*) {
  static const auto* const kColumns = new std::vector<absl::string_view>{
      "video_id", "title",         "channel_id", "topics",
      "language", "upload_time_s", "duration_s"};
  return *kColumns;
}
const std::vector<absl::string_view>& Columns(const UserRecord*) {
  static const auto* const kColumns = new std::vector<absl::string_view>{
      "user_id", "region", "device", "gender", "age", "logged_in", "language"};
  return *kColumns;
}
const std::vector<absl::string_view>& Columns(const WatchRecord*) {
  static const auto* const kColumns = new std::vector<absl::string_view>{
      "user_id", "video_id", "time_s", "watch_seconds"};
  return *kColumns;
}
const std::vector<absl::string_view>& Columns(const SearchRecord*) {
  static const auto* const kColumns =
      new std::vector<absl::string_view>{"user_id", "time_s", "query"};
  return *kColumns;
}
const std::vector<absl::string_view>& Columns(const ImpressionRecord*) {
  static const auto* const kColumns = new std::vector<absl::string_view>{
      "user_id",  "page_id", "time_s",       "position",
      "video_id", "clicked", "watch_seconds"};
  return *kColumns;
}

template <typename Record>
const std::vector<absl::string_view>& ColumnsOf() {
  return Columns(static_cast<const Record*>(nullptr));
}

// How many leading columns a file must have; the others are optional
// trailing columns, added to the format later, that a header may leave out
// (their fields then read as empty). Written files always have them all.
template <typename Record>
size_t RequiredColumns() {
  return ColumnsOf<Record>().size();
}
template <>
size_t RequiredColumns<UserRecord>() {
  return 6;  // `language` came later.
}

// ---------------------------------------------------------------------------
// Field parsing and formatting. Messages name the column and quote the value;
// the caller prefixes the location.

// `value` quoted and C-escaped for a message, cut to a readable length.
std::string Quote(absl::string_view value) {
  constexpr size_t kMaxShown = 60;
  std::string shown = absl::CHexEscape(value.substr(0, kMaxShown));
  return absl::StrCat("\"", shown, "\"", value.size() > kMaxShown ? "..." : "");
}

absl::Status ColumnError(absl::string_view column, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("column '", column, "': ", what));
}

absl::Status ParseInt64(absl::string_view column, absl::string_view text,
                        int64_t* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return ColumnError(column, absl::StrCat(Quote(text),
                                            " is not an integer; write a "
                                            "plain decimal integer like 42"));
  }
  return absl::OkStatus();
}

absl::Status ParseInt32(absl::string_view column, absl::string_view text,
                        int32_t* out) {
  int64_t value = 0;
  if (absl::Status status = ParseInt64(column, text, &value); !status.ok()) {
    return status;
  }
  if (value < INT32_MIN || value > INT32_MAX) {
    return ColumnError(column,
                       absl::StrCat(Quote(text), " is out of the int32 range"));
  }
  *out = static_cast<int32_t>(value);
  return absl::OkStatus();
}

absl::Status ParseFloat(absl::string_view column, absl::string_view text,
                        float* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  if (text.empty() || ec != std::errc() || ptr != end ||
      !std::isfinite(*out)) {
    return ColumnError(column, absl::StrCat(Quote(text),
                                            " is not a finite number; write "
                                            "a decimal number like 12.5"));
  }
  return absl::OkStatus();
}

absl::Status ParseBool(absl::string_view column, absl::string_view text,
                       bool* out) {
  if (text == "0" || text == "1") {
    *out = text == "1";
    return absl::OkStatus();
  }
  return ColumnError(column, absl::StrCat(Quote(text), " is not 0 or 1"));
}

std::string FormatFloat(float value) { return FormatCsvFloat(value); }

std::string FormatBool(bool value) { return value ? "1" : "0"; }

// ---------------------------------------------------------------------------
// Per-record constraints that need no other record. Shared by reading and
// `ValidateLogs`, so that whatever is written can be read back.

// Byte offset of the first invalid UTF-8 sequence in `text`, or -1.
int64_t FindInvalidUtf8(absl::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const size_t size = text.size();
  size_t i = 0;
  while (i < size) {
    const unsigned char lead = bytes[i];
    int length = 0;
    uint32_t min_code_point = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      min_code_point = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      min_code_point = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      min_code_point = 0x10000;
    } else {
      return static_cast<int64_t>(i);
    }
    if (i + length > size) return static_cast<int64_t>(i);
    uint32_t code_point = lead & (0x7F >> length);
    for (int k = 1; k < length; ++k) {
      const unsigned char next = bytes[i + k];
      if ((next & 0xC0) != 0x80) return static_cast<int64_t>(i);
      code_point = (code_point << 6) | (next & 0x3F);
    }
    // Overlong encodings, UTF-16 surrogates and values past U+10FFFF.
    if (code_point < min_code_point || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return static_cast<int64_t>(i);
    }
    i += length;
  }
  return -1;
}

absl::Status CheckText(absl::string_view column, absl::string_view text) {
  const int64_t bad = FindInvalidUtf8(text);
  if (bad >= 0) {
    return ColumnError(
        column, absl::StrCat(Quote(text), " is not valid UTF-8 (at byte ", bad,
                             "); re-encode the text as UTF-8"));
  }
  return absl::OkStatus();
}

absl::Status CheckId(absl::string_view column, absl::string_view id) {
  if (id.empty()) {
    return ColumnError(column, "is empty; every row needs an ID");
  }
  return CheckText(column, id);
}

absl::Status CheckNonNegative(absl::string_view column, int64_t value) {
  if (value < 0) {
    return ColumnError(column,
                       absl::StrCat(value,
                                    " is negative; times are Unix seconds "
                                    "and must be >= 0"));
  }
  return absl::OkStatus();
}

absl::Status CheckNonNegative(absl::string_view column, float value) {
  if (!std::isfinite(value) || value < 0) {
    return ColumnError(column, absl::StrCat(FormatFloat(value),
                                            " is not a finite number >= 0"));
  }
  return absl::OkStatus();
}

// Runs each check in order and returns the first failure.
template <typename... Checks>
absl::Status FirstError(Checks&&... checks) {
  absl::Status result;
  // Fold over the comma operator: stops updating once `result` failed.
  ((result.ok() ? (void)(result = checks()) : (void)0), ...);
  return result;
}

absl::Status CheckRecord(const VideoRecord& r) {
  return FirstError(
      [&] { return CheckId("video_id", r.video_id); },
      [&] { return CheckText("title", r.title); },
      [&] { return CheckText("channel_id", r.channel_id); },
      [&] {
        if (absl::Status s = CheckText("topics", r.topics); !s.ok()) return s;
        if (r.topics.empty()) return absl::OkStatus();
        for (absl::string_view label : absl::StrSplit(r.topics, '|')) {
          if (label.empty()) {
            return ColumnError(
                "topics", absl::StrCat(Quote(r.topics),
                                       " has an empty label; separate labels "
                                       "with a single '|'"));
          }
        }
        return absl::OkStatus();
      },
      [&] { return CheckText("language", r.language); },
      [&] { return CheckNonNegative("upload_time_s", r.upload_time_s); },
      [&] {
        if (!std::isfinite(r.duration_s) || r.duration_s <= 0) {
          return ColumnError("duration_s",
                             absl::StrCat(FormatFloat(r.duration_s),
                                          " is not a finite number of "
                                          "seconds > 0"));
        }
        return absl::OkStatus();
      });
}

absl::Status CheckRecord(const UserRecord& r) {
  return FirstError(
      [&] { return CheckId("user_id", r.user_id); },
      [&] { return CheckText("region", r.region); },
      [&] { return CheckText("device", r.device); },
      [&] { return CheckText("language", r.language); },
      [&] {
        if (r.gender == "female" || r.gender == "male" || r.gender.empty()) {
          return absl::OkStatus();
        }
        return ColumnError("gender",
                           absl::StrCat(Quote(r.gender),
                                        " is not \"female\", \"male\" or "
                                        "empty (unknown)"));
      },
      [&] {
        if (r.age < 0 || r.age > 150) {
          return ColumnError("age", absl::StrCat(r.age,
                                                 " is outside [0, 150]; use 0 "
                                                 "for unknown"));
        }
        return absl::OkStatus();
      });
}

absl::Status CheckRecord(const WatchRecord& r) {
  return FirstError(
      [&] { return CheckId("user_id", r.user_id); },
      [&] { return CheckId("video_id", r.video_id); },
      [&] { return CheckNonNegative("time_s", r.time_s); },
      [&] { return CheckNonNegative("watch_seconds", r.watch_seconds); });
}

absl::Status CheckRecord(const SearchRecord& r) {
  return FirstError(
      [&] { return CheckId("user_id", r.user_id); },
      [&] { return CheckNonNegative("time_s", r.time_s); },
      [&] {
        if (r.query.empty()) {
          return ColumnError("query", "is empty; drop searches without text");
        }
        return CheckText("query", r.query);
      });
}

absl::Status CheckRecord(const ImpressionRecord& r) {
  return FirstError(
      [&] { return CheckId("user_id", r.user_id); },
      [&] { return CheckId("page_id", r.page_id); },
      [&] { return CheckNonNegative("time_s", r.time_s); },
      [&] {
        if (r.position < 0) {
          return ColumnError("position",
                             absl::StrCat(r.position, " is negative; "
                                                      "positions are 0-based"));
        }
        return absl::OkStatus();
      },
      [&] { return CheckId("video_id", r.video_id); },
      [&] { return CheckNonNegative("watch_seconds", r.watch_seconds); },
      [&] {
        if (!r.clicked && r.watch_seconds != 0) {
          return ColumnError("watch_seconds",
                             absl::StrCat(FormatFloat(r.watch_seconds),
                                          " on an impression that was not "
                                          "clicked; it must be 0"));
        }
        return absl::OkStatus();
      });
}

// ---------------------------------------------------------------------------
// Fields <-> records. `fields` has exactly the right number of columns.

absl::Status ParseRecord(const Fields& f, VideoRecord* r) {
  r->video_id = f[0];
  r->title = f[1];
  r->channel_id = f[2];
  r->topics = f[3];
  r->language = f[4];
  return FirstError([&] { return ParseInt64("upload_time_s", f[5],
                                            &r->upload_time_s); },
                    [&] { return ParseFloat("duration_s", f[6],
                                            &r->duration_s); });
}

absl::Status ParseRecord(const Fields& f, UserRecord* r) {
  r->user_id = f[0];
  r->region = f[1];
  r->device = f[2];
  r->gender = f[3];
  r->language = f.size() > 6 ? f[6] : "";
  return FirstError([&] { return ParseInt32("age", f[4], &r->age); },
                    [&] { return ParseBool("logged_in", f[5], &r->logged_in); });
}

absl::Status ParseRecord(const Fields& f, WatchRecord* r) {
  r->user_id = f[0];
  r->video_id = f[1];
  return FirstError(
      [&] { return ParseInt64("time_s", f[2], &r->time_s); },
      [&] { return ParseFloat("watch_seconds", f[3], &r->watch_seconds); });
}

absl::Status ParseRecord(const Fields& f, SearchRecord* r) {
  r->user_id = f[0];
  r->query = f[2];
  return ParseInt64("time_s", f[1], &r->time_s);
}

absl::Status ParseRecord(const Fields& f, ImpressionRecord* r) {
  r->user_id = f[0];
  r->page_id = f[1];
  r->video_id = f[4];
  return FirstError(
      [&] { return ParseInt64("time_s", f[2], &r->time_s); },
      [&] { return ParseInt32("position", f[3], &r->position); },
      [&] { return ParseBool("clicked", f[5], &r->clicked); },
      [&] { return ParseFloat("watch_seconds", f[6], &r->watch_seconds); });
}

Fields FormatRecord(const VideoRecord& r) {
  return {r.video_id, r.title,
          r.channel_id, r.topics,
          r.language, absl::StrCat(r.upload_time_s),
          FormatFloat(r.duration_s)};
}

Fields FormatRecord(const UserRecord& r) {
  return {r.user_id,           r.region,
          r.device,            r.gender,
          absl::StrCat(r.age), FormatBool(r.logged_in),
          r.language};
}

Fields FormatRecord(const WatchRecord& r) {
  return {r.user_id, r.video_id, absl::StrCat(r.time_s),
          FormatFloat(r.watch_seconds)};
}

Fields FormatRecord(const SearchRecord& r) {
  return {r.user_id, absl::StrCat(r.time_s), r.query};
}

Fields FormatRecord(const ImpressionRecord& r) {
  return {r.user_id,
          r.page_id,
          absl::StrCat(r.time_s),
          absl::StrCat(r.position),
          r.video_id,
          FormatBool(r.clicked),
          FormatFloat(r.watch_seconds)};
}

// ---------------------------------------------------------------------------
// Checks across records: unique IDs, references, page consistency. A record
// is remembered only once it passed, so that skipped rows leave no trace.

class CrossChecker {
 public:
  absl::Status Accept(const VideoRecord& r) {
    if (!video_ids_.insert(r.video_id).second) {
      return ColumnError("video_id",
                         absl::StrCat("duplicate video ", Quote(r.video_id),
                                      "; each video must appear once"));
    }
    return absl::OkStatus();
  }

  absl::Status Accept(const UserRecord& r) {
    if (!user_ids_.insert(r.user_id).second) {
      return ColumnError("user_id",
                         absl::StrCat("duplicate user ", Quote(r.user_id),
                                      "; each user must appear once"));
    }
    return absl::OkStatus();
  }

  absl::Status Accept(const WatchRecord& r) {
    return FirstError([&] { return CheckUser(r.user_id); },
                      [&] { return CheckVideo(r.video_id); });
  }

  absl::Status Accept(const SearchRecord& r) { return CheckUser(r.user_id); }

  absl::Status Accept(const ImpressionRecord& r) {
    absl::Status status = FirstError([&] { return CheckUser(r.user_id); },
                                     [&] { return CheckVideo(r.video_id); });
    if (!status.ok()) return status;
    // Rows of a page are adjacent, so only the current page is remembered
    // and memory stays bounded however many pages a file holds.
    Page& page = page_;
    if (page.page_id != r.page_id) {
      page.page_id = r.page_id;
      page.user_id = r.user_id;
      page.time_s = r.time_s;
      page.positions.clear();
    } else if (page.user_id != r.user_id || page.time_s != r.time_s) {
      return ColumnError(
          "page_id",
          absl::StrCat("page ", Quote(r.page_id), " was shown to user ",
                       Quote(page.user_id), " at ", page.time_s,
                       " by an earlier row but here to ", Quote(r.user_id),
                       " at ", r.time_s,
                       "; all rows of a page share user_id and time_s"));
    }
    if (!page.positions.insert(r.position).second) {
      return ColumnError("position",
                         absl::StrCat("page ", Quote(r.page_id),
                                      " already has a video at position ",
                                      r.position));
    }
    return absl::OkStatus();
  }

 private:
  struct Page {
    std::string page_id;
    std::string user_id;
    int64_t time_s = 0;
    absl::flat_hash_set<int32_t> positions;
  };

  absl::Status CheckUser(const std::string& user_id) const {
    // Without any known user (users.csv absent or empty) users are unchecked.
    if (user_ids_.empty() || user_ids_.contains(user_id)) {
      return absl::OkStatus();
    }
    return ColumnError("user_id",
                       absl::StrCat("unknown user ", Quote(user_id),
                                    "; add it to users.csv or drop the row"));
  }

  absl::Status CheckVideo(const std::string& video_id) const {
    if (video_ids_.contains(video_id)) return absl::OkStatus();
    return ColumnError("video_id",
                       absl::StrCat("unknown video ", Quote(video_id),
                                    "; add it to videos.csv or drop the row"));
  }

  absl::flat_hash_set<std::string> video_ids_;
  absl::flat_hash_set<std::string> user_ids_;
  // The page of the last impression row.
  Page page_;
};

// ---------------------------------------------------------------------------
// CSV text.

// Splits CSV text into records of fields. Tracks 1-based line numbers, so
// that errors can name the line on which a record starts.
class CsvReader {
 public:
  // `first_line` is the line number of the first line of `text` (a chunk of
  // a larger file starts past line 1).
  explicit CsvReader(absl::string_view text, int64_t first_line = 1)
      : text_(text), line_(first_line), record_line_(first_line) {}

  // Reads the next record into `fields` and returns true, or returns false
  // at the end of the text. Blank lines are skipped. On a syntax error sets
  // `*error` (without location), skips to the end of the broken line (the
  // end of the text for an unterminated quote) and returns true.
  bool Next(Fields* fields, absl::Status* error) {
    fields->clear();
    *error = absl::OkStatus();
    while (pos_ < text_.size() && AtLineEnd()) SkipLineEnd();
    if (pos_ >= text_.size()) return false;
    record_line_ = line_;
    std::string field;
    while (true) {
      field.clear();
      absl::Status status = text_[pos_] == '"' ? ReadQuoted(&field)
                                                : ReadUnquoted(&field);
      if (!status.ok()) {
        *error = std::move(status);
        SkipRestOfLine();
        return true;
      }
      fields->push_back(field);
      if (pos_ >= text_.size()) return true;
      if (text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      SkipLineEnd();  // The field readers stop only at ',', a line end or EOF.
      return true;
    }
  }

  // The line on which the last record returned by `Next` started.
  int64_t record_line() const { return record_line_; }
  // The line the reader is on (one past the last record's end).
  int64_t line() const { return line_; }

 private:
  bool AtLineEnd() const {
    return text_[pos_] == '\n' ||
           (text_[pos_] == '\r' && pos_ + 1 < text_.size() &&
            text_[pos_ + 1] == '\n');
  }

  void SkipLineEnd() {
    pos_ += text_[pos_] == '\r' ? 2 : 1;
    ++line_;
  }

  void SkipRestOfLine() {
    while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
    if (pos_ < text_.size()) SkipLineEnd();
  }

  // Reads up to (not including) the next ',', line end or EOF.
  absl::Status ReadUnquoted(std::string* field) {
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && !AtLineEnd()) {
      if (text_[pos_] == '"') {
        return absl::InvalidArgumentError(absl::StrCat(
            "stray '\"' inside the unquoted field ",
            Quote(text_.substr(start, pos_ + 1 - start)),
            "; enclose the whole field in double quotes and double each "
            "inner quote"));
      }
      ++pos_;
    }
    field->assign(text_.data() + start, pos_ - start);
    return absl::OkStatus();
  }

  // Reads a field that starts with '"', through its closing quote.
  absl::Status ReadQuoted(std::string* field) {
    ++pos_;  // Opening quote.
    while (true) {
      const size_t quote = text_.find('"', pos_);
      if (quote == absl::string_view::npos) {
        pos_ = text_.size();
        return absl::InvalidArgumentError(
            "quoted field is never closed; end it with '\"' and double "
            "each '\"' inside it");
      }
      absl::string_view chunk = text_.substr(pos_, quote - pos_);
      for (char c : chunk) line_ += c == '\n';
      field->append(chunk.data(), chunk.size());
      pos_ = quote + 1;
      if (pos_ < text_.size() && text_[pos_] == '"') {  // Escaped quote.
        field->push_back('"');
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] != ',' && !AtLineEnd()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "unexpected ", Quote(text_.substr(pos_, 1)),
            " after the closing quote of a field; a quoted field must be "
            "followed by ',' or the end of the line"));
      }
      return absl::OkStatus();
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
  int64_t line_ = 1;
  int64_t record_line_ = 1;
};

void AppendCsvRow(const std::vector<absl::string_view>& fields,
                  std::string* out) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendCsvField(fields[i], out);
  }
  out->push_back('\n');
}

// ---------------------------------------------------------------------------
// Files.

// Writes `contents` to `path` through `path`.tmp and a rename, so readers
// never see a half-written file.
absl::Status WriteStringToFile(const std::string& path,
                               absl::string_view contents) {
  const std::string temp_path = path + ".tmp";
  {
    std::ofstream out(temp_path, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    if (!out) {
      return absl::InternalError(
          absl::StrCat(temp_path, ": write failed (disk full or no access?)"));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp_path, path, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot rename ", temp_path,
                                            " to ", path, ": ", ec.message()));
  }
  return absl::OkStatus();
}

template <typename Record>
std::string HeaderLine() {
  return absl::StrJoin(ColumnsOf<Record>(), ",");
}

// Reads a CSV file in blocks, handing out whole records only, so that a
// file of any size is read in bounded memory (a block plus one record).
class CsvFileReader {
 public:
  static constexpr size_t kBlockBytes = 1 << 20;

  static absl::StatusOr<std::unique_ptr<CsvFileReader>> Open(const std::string& path) {
    auto r = std::unique_ptr<CsvFileReader>(new CsvFileReader());
    r->in_.open(path, std::ios::binary);
    if (!r->in_) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) {
        return absl::NotFoundError(absl::StrCat(path, ": no such file"));
      }
      return absl::PermissionDeniedError(
          absl::StrCat(path, ": cannot be opened for reading"));
    }
    return r;
  }

  // As `CsvReader::Next`; `*read_error` is set when the file cannot be read.
  bool Next(Fields* fields, absl::Status* error, absl::Status* read_error) {
    while (true) {
      if (reader_ != nullptr && reader_->Next(fields, error)) {
        record_line_ = reader_->record_line();
        return true;
      }
      if (reader_ != nullptr) {
        line_ = reader_->line();
        buffer_.erase(0, chunk_end_);
        scanned_ -= chunk_end_;
        last_end_ = std::string::npos;
        reader_.reset();
      }
      if (!Fill(read_error)) return false;
    }
  }

  int64_t record_line() const { return record_line_; }

 private:
  CsvFileReader() = default;

  // Reads blocks until `buffer_` holds at least one whole record (or the
  // rest of the file) and points a `CsvReader` at the whole records.
  bool Fill(absl::Status* read_error) {
    while (true) {
      size_t end = eof_ ? buffer_.size() : LastRecordEnd();
      if (end > 0 && (end != std::string::npos)) {
        chunk_end_ = end;
        absl::string_view chunk(buffer_.data(), end);
        if (first_chunk_) {
          absl::ConsumePrefix(&chunk, "\xEF\xBB\xBF");  // A UTF-8 byte order mark.
          first_chunk_ = false;
        }
        reader_ = std::make_unique<CsvReader>(chunk, line_);
        return true;
      }
      if (eof_) return false;
      const size_t old = buffer_.size();
      buffer_.resize(old + kBlockBytes);
      in_.read(&buffer_[old], kBlockBytes);
      buffer_.resize(old + static_cast<size_t>(in_.gcount()));
      if (in_.bad()) {
        *read_error = absl::DataLossError("read failed");
        return false;
      }
      if (in_.eof()) eof_ = true;
    }
  }

  // One past the last '\n' of `buffer_` outside quotes, or npos. Scans
  // only bytes not scanned before, so a long record costs linear time.
  size_t LastRecordEnd() {
    for (; scanned_ < buffer_.size(); ++scanned_) {
      if (buffer_[scanned_] == '"') {
        quoted_ = !quoted_;
      } else if (buffer_[scanned_] == '\n' && !quoted_) {
        last_end_ = scanned_ + 1;
      }
    }
    return last_end_;
  }

  std::ifstream in_;
  std::string buffer_;
  std::unique_ptr<CsvReader> reader_;
  size_t chunk_end_ = 0;
  // Bytes of `buffer_` scanned for record ends, the quote state after them
  // and the last record end found.
  size_t scanned_ = 0;
  bool quoted_ = false;
  size_t last_end_ = std::string::npos;
  int64_t line_ = 1;
  int64_t record_line_ = 1;
  bool eof_ = false;
  bool first_chunk_ = true;
};

// Streams one CSV file of `Record`s to `emit`, in file order. `checker`
// runs the cross-record checks on each parsed row and remembers it. Row
// errors stop the read, or with `options.skip_malformed` are counted in
// `stats` and skipped.
template <typename Record, typename Emit>
absl::Status StreamTable(const std::string& path, const ReadLogsOptions& options,
                         ReadLogsStats* stats, CrossChecker* checker, Emit emit) {
  absl::StatusOr<std::unique_ptr<CsvFileReader>> reader = CsvFileReader::Open(path);
  if (!reader.ok()) return reader.status();

  const std::vector<absl::string_view>& columns = ColumnsOf<Record>();
  const std::string expected_header = HeaderLine<Record>();
  Fields fields;
  absl::Status syntax, read_error;
  auto check_read = [&]() -> absl::Status {
    if (read_error.ok()) return absl::OkStatus();
    return absl::DataLossError(absl::StrCat(path, ": ", read_error.message()));
  };
  if (!(*reader)->Next(&fields, &syntax, &read_error)) {
    if (absl::Status s = check_read(); !s.ok()) return s;
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the file is empty; its first line must be the "
                           "header \"",
                     expected_header, "\""));
  }
  // The header names every column, or leaves out optional trailing ones.
  const bool header_ok =
      syntax.ok() && fields.size() >= RequiredColumns<Record>() &&
      fields.size() <= columns.size() &&
      std::equal(fields.begin(), fields.end(), columns.begin());
  if (!header_ok) {
    std::string found = syntax.ok() ? absl::StrJoin(fields, ",")
                                    : std::string(syntax.message());
    return absl::InvalidArgumentError(absl::StrCat(
        path, ":", (*reader)->record_line(), ": header is ", Quote(found),
        " but must be exactly \"", expected_header,
        "\" (these columns, in this order)",
        RequiredColumns<Record>() < columns.size()
            ? absl::StrCat("; the last ",
                           columns.size() - RequiredColumns<Record>(),
                           " may be left out")
            : ""));
  }
  const size_t num_columns = fields.size();
  const std::string file_header = absl::StrJoin(fields, ",");

  while ((*reader)->Next(&fields, &syntax, &read_error)) {
    absl::Status status = syntax;
    Record record;
    if (status.ok() && fields.size() != num_columns) {
      status = absl::InvalidArgumentError(absl::StrCat(
          "expected ", num_columns, " columns (", file_header,
          ") but found ", fields.size(),
          "; enclose fields that contain ',' in double quotes"));
    }
    if (status.ok()) status = ParseRecord(fields, &record);
    if (status.ok()) status = CheckRecord(record);
    if (status.ok()) status = checker->Accept(record);
    if (status.ok()) {
      emit(std::move(record));
      continue;
    }
    std::string message =
        absl::StrCat(path, ":", (*reader)->record_line(), ": ", status.message());
    if (!options.skip_malformed) {
      return absl::InvalidArgumentError(absl::StrCat(
          message, " (or read with skip_malformed to skip bad rows)"));
    }
    ++stats->skipped_rows;
    if (stats->skip_messages.size() < ReadLogsStats::kMaxSkipMessages) {
      stats->skip_messages.push_back(std::move(message));
    }
  }
  return check_read();
}

// Reads one CSV file of `Record`s into `out` (see `StreamTable`).
template <typename Record>
absl::Status ReadTable(const std::string& path, const ReadLogsOptions& options,
                       ReadLogsStats* stats, CrossChecker* checker,
                       std::vector<Record>* out) {
  out->clear();
  return StreamTable<Record>(path, options, stats, checker,
                             [out](Record&& r) { out->push_back(std::move(r)); });
}

// As `ReadTable`, but an absent file leaves `out` empty.
template <typename Record>
absl::Status ReadOptionalTable(const std::string& path,
                               const ReadLogsOptions& options,
                               ReadLogsStats* stats, CrossChecker* checker,
                               std::vector<Record>* out) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    out->clear();
    return absl::OkStatus();
  }
  return ReadTable(path, options, stats, checker, out);
}

// Checks `records` as `ReadTable` would; errors name "label[index]".
template <typename Record>
absl::Status ValidateTable(absl::string_view label,
                           const std::vector<Record>& records,
                           CrossChecker* checker) {
  for (size_t i = 0; i < records.size(); ++i) {
    absl::Status status = CheckRecord(records[i]);
    if (status.ok()) status = checker->Accept(records[i]);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(label, "[", i, "]: ", status.message()));
    }
  }
  return absl::OkStatus();
}

template <typename Record>
std::string FormatTable(const std::vector<Record>& records) {
  std::string out;
  AppendCsvRow(ColumnsOf<Record>(), &out);
  std::vector<absl::string_view> views;
  for (const Record& record : records) {
    const Fields fields = FormatRecord(record);
    views.assign(fields.begin(), fields.end());
    AppendCsvRow(views, &out);
  }
  return out;
}

std::string JoinPath(const std::string& dir, absl::string_view file) {
  return (std::filesystem::path(dir) / std::string(file)).string();
}

}  // namespace

struct LogStreamReader::State {
  std::string dir;
  ReadLogsOptions options;
  ReadLogsStats* stats = nullptr;
  ReadLogsStats unused_stats;
  CrossChecker checker;
  std::vector<VideoRecord> videos;
  std::vector<UserRecord> users;

  // Streams `file` (required or optional) to `fn`.
  template <typename Record>
  absl::Status Stream(absl::string_view file, bool required,
                      const std::function<void(Record&&)>& fn) {
    const std::string path = JoinPath(dir, file);
    std::error_code ec;
    if (!required && !std::filesystem::exists(path, ec)) return absl::OkStatus();
    return StreamTable<Record>(path, options, stats, &checker,
                               [&fn](Record&& r) { fn(std::move(r)); });
  }
};

LogStreamReader::LogStreamReader(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
LogStreamReader::~LogStreamReader() = default;

absl::StatusOr<std::unique_ptr<LogStreamReader>> LogStreamReader::Open(
    const std::string& dir, const ReadLogsOptions& options, ReadLogsStats* stats) {
  if (options.skip_malformed && stats == nullptr) {
    return absl::InvalidArgumentError(
        "ReadLogs: skip_malformed needs a ReadLogsStats to count skipped "
        "rows in; pass one");
  }
  auto state = std::make_unique<State>();
  state->dir = dir;
  state->options = options;
  state->stats = stats != nullptr ? stats : &state->unused_stats;
  *state->stats = ReadLogsStats();
  // Videos and users first: the other files are checked against them.
  absl::Status status = ReadTable(JoinPath(dir, kVideosFileName), options,
                                  state->stats, &state->checker, &state->videos);
  if (status.ok()) {
    status = ReadOptionalTable(JoinPath(dir, kUsersFileName), options, state->stats,
                               &state->checker, &state->users);
  }
  if (!status.ok()) return status;
  return std::unique_ptr<LogStreamReader>(new LogStreamReader(std::move(state)));
}

const std::vector<VideoRecord>& LogStreamReader::videos() const {
  return state_->videos;
}
const std::vector<UserRecord>& LogStreamReader::users() const {
  return state_->users;
}

absl::Status LogStreamReader::ForEachWatch(
    const std::function<void(WatchRecord&&)>& fn) {
  return state_->Stream<WatchRecord>(kWatchesFileName, true, fn);
}
absl::Status LogStreamReader::ForEachSearch(
    const std::function<void(SearchRecord&&)>& fn) {
  return state_->Stream<SearchRecord>(kSearchesFileName, false, fn);
}
absl::Status LogStreamReader::ForEachImpression(
    const std::function<void(ImpressionRecord&&)>& fn) {
  return state_->Stream<ImpressionRecord>(kImpressionsFileName, false, fn);
}

absl::StatusOr<Logs> ReadLogs(const std::string& dir,
                              const ReadLogsOptions& options,
                              ReadLogsStats* stats) {
  absl::StatusOr<std::unique_ptr<LogStreamReader>> reader =
      LogStreamReader::Open(dir, options, stats);
  if (!reader.ok()) return reader.status();
  const auto& keep_user = options.keep_user;
  int64_t dropped = 0;
  // Appends `r` to `to` when its user is kept, else counts it and passes it
  // to `on_dropped`.
  auto keep = [&](auto& to, auto on_dropped) {
    return [&to, &keep_user, &dropped, on_dropped](auto&& r) {
      if (keep_user && !keep_user(r.user_id)) {
        ++dropped;
        on_dropped(r);
        return;
      }
      to.push_back(std::move(r));
    };
  };
  auto ignore = [](const auto&) {};
  auto dropped_watch = [&options](const WatchRecord& r) {
    if (options.on_dropped_watch) options.on_dropped_watch(r);
  };
  Logs logs;
  logs.videos = (*reader)->videos();
  for (const UserRecord& u : (*reader)->users()) keep(logs.users, ignore)(UserRecord(u));
  absl::Status status = FirstError(
      [&] { return (*reader)->ForEachWatch(keep(logs.watches, dropped_watch)); },
      [&] { return (*reader)->ForEachSearch(keep(logs.searches, ignore)); },
      [&] { return (*reader)->ForEachImpression(keep(logs.impressions, ignore)); });
  if (!status.ok()) return status;
  if (stats != nullptr) stats->dropped_rows = dropped;
  return logs;
}

absl::Status ValidateLogs(const Logs& logs) {
  CrossChecker checker;
  return FirstError(
      [&] { return ValidateTable("videos", logs.videos, &checker); },
      [&] { return ValidateTable("users", logs.users, &checker); },
      [&] { return ValidateTable("watches", logs.watches, &checker); },
      [&] { return ValidateTable("searches", logs.searches, &checker); },
      [&] { return ValidateTable("impressions", logs.impressions, &checker); });
}

struct LogWriter::State {
  // One open temporary file per table, in kind order.
  struct Table {
    std::string path;
    std::ofstream out;
  };
  Table tables[5];
  CrossChecker checker;
  bool finished = false;
  std::string row;

  template <typename Record>
  absl::Status Write(int table, absl::string_view label, const Record& record) {
    absl::Status status = CheckRecord(record);
    if (status.ok()) status = checker.Accept(record);
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "LogWriter: ", label, " row for ", tables[table].path, ": ",
          status.message()));
    }
    const Fields fields = FormatRecord(record);
    std::vector<absl::string_view> views(fields.begin(), fields.end());
    row.clear();
    AppendCsvRow(views, &row);
    tables[table].out.write(row.data(), static_cast<std::streamsize>(row.size()));
    if (!tables[table].out) {
      return absl::InternalError(absl::StrCat(tables[table].path,
                                              ".tmp: write failed (disk full?)"));
    }
    return absl::OkStatus();
  }
};

LogWriter::LogWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}

LogWriter::~LogWriter() {
  if (state_->finished) return;
  for (State::Table& t : state_->tables) {
    t.out.close();
    std::error_code ec;
    std::filesystem::remove(t.path + ".tmp", ec);
  }
}

absl::StatusOr<std::unique_ptr<LogWriter>> LogWriter::Create(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create directory ", dir, ": ", ec.message()));
  }
  auto state = std::make_unique<State>();
  const std::pair<absl::string_view, std::string> files[5] = {
      {kVideosFileName, HeaderLine<VideoRecord>()},
      {kUsersFileName, HeaderLine<UserRecord>()},
      {kWatchesFileName, HeaderLine<WatchRecord>()},
      {kSearchesFileName, HeaderLine<SearchRecord>()},
      {kImpressionsFileName, HeaderLine<ImpressionRecord>()},
  };
  auto writer = std::unique_ptr<LogWriter>(new LogWriter(std::move(state)));
  for (int i = 0; i < 5; ++i) {
    State::Table& t = writer->state_->tables[i];
    t.path = JoinPath(dir, files[i].first);
    t.out.open(t.path + ".tmp", std::ios::binary | std::ios::trunc);
    t.out << files[i].second << '\n';
    if (!t.out) {
      return absl::InternalError(absl::StrCat(t.path, ".tmp: cannot be written"));
    }
  }
  return writer;
}

absl::Status LogWriter::Add(const VideoRecord& r) { return state_->Write(0, "videos", r); }
absl::Status LogWriter::Add(const UserRecord& r) { return state_->Write(1, "users", r); }
absl::Status LogWriter::Add(const WatchRecord& r) { return state_->Write(2, "watches", r); }
absl::Status LogWriter::Add(const SearchRecord& r) { return state_->Write(3, "searches", r); }
absl::Status LogWriter::Add(const ImpressionRecord& r) {
  return state_->Write(4, "impressions", r);
}

absl::Status LogWriter::Finish() {
  if (state_->finished) return absl::FailedPreconditionError("LogWriter: already finished");
  for (State::Table& t : state_->tables) {
    t.out.close();
    if (!t.out) {
      return absl::InternalError(absl::StrCat(t.path, ".tmp: write failed (disk full?)"));
    }
  }
  for (State::Table& t : state_->tables) {
    std::error_code ec;
    std::filesystem::rename(t.path + ".tmp", t.path, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("cannot rename ", t.path, ".tmp to ",
                                              t.path, ": ", ec.message()));
    }
  }
  state_->finished = true;
  return absl::OkStatus();
}

absl::Status WriteLogs(const std::string& dir, const Logs& logs) {
  if (absl::Status status = ValidateLogs(logs); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("WriteLogs(", dir, "): ", status.message()));
  }
  absl::StatusOr<std::unique_ptr<LogWriter>> writer = LogWriter::Create(dir);
  if (!writer.ok()) return writer.status();
  auto add_all = [&](const auto& records) -> absl::Status {
    for (const auto& r : records) {
      if (absl::Status s = (*writer)->Add(r); !s.ok()) return s;
    }
    return absl::OkStatus();
  };
  return FirstError([&] { return add_all(logs.videos); },
                    [&] { return add_all(logs.users); },
                    [&] { return add_all(logs.watches); },
                    [&] { return add_all(logs.searches); },
                    [&] { return add_all(logs.impressions); },
                    [&] { return (*writer)->Finish(); });
}

absl::StatusOr<std::vector<VideoRecord>> ReadVideos(const std::string& path) {
  std::vector<VideoRecord> videos;
  CrossChecker checker;
  ReadLogsStats unused_stats;
  absl::Status status =
      ReadTable(path, ReadLogsOptions(), &unused_stats, &checker, &videos);
  if (!status.ok()) return status;
  return videos;
}

absl::Status WriteVideos(const std::string& path,
                         const std::vector<VideoRecord>& videos) {
  CrossChecker checker;
  if (absl::Status status = ValidateTable("videos", videos, &checker);
      !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("WriteVideos(", path, "): ", status.message()));
  }
  return WriteStringToFile(path, FormatTable(videos));
}

}  // namespace recsys
