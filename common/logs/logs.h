#ifndef RECSYS_COMMON_LOGS_LOGS_H_
#define RECSYS_COMMON_LOGS_LOGS_H_

// The canonical log format: one CSV file per kind of record, each with a
// header row, in one directory (see docs/data-format.md). Times are Unix
// seconds, durations and watch times seconds.
//
// CSV dialect (RFC 4180): fields are separated by ',' and records by "\n"
// ("\r\n" is accepted on read); a field that contains ',', '"', '\r' or
// '\n' is enclosed in double quotes, with each inner '"' doubled. Text is
// UTF-8. The first line must name exactly the columns listed below, in that
// order. Booleans are written 0/1; floats in the shortest form that reads
// back to the same `float`, so `ReadLogs(WriteLogs(x)) == x` exactly.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recsys {

inline constexpr char kVideosFileName[] = "videos.csv";
inline constexpr char kUsersFileName[] = "users.csv";
inline constexpr char kWatchesFileName[] = "watches.csv";
inline constexpr char kSearchesFileName[] = "searches.csv";
inline constexpr char kImpressionsFileName[] = "impressions.csv";

// videos.csv, columns
//   video_id,title,channel_id,topics,language,upload_time_s,duration_s
// `video_id` is non-empty and unique; `upload_time_s` >= 0; `duration_s` is
// finite and > 0.
struct VideoRecord {
  std::string video_id;
  std::string title;
  std::string channel_id;
  // Topic labels separated by '|', e.g. "music|live".
  std::string topics;
  // ISO 639-1 code, e.g. "en". May be empty.
  std::string language;
  int64_t upload_time_s = 0;
  float duration_s = 0;
};

// users.csv, columns
//   user_id,region,device,gender,age,logged_in,language
// `user_id` is non-empty and unique; `region` (e.g. "US") and `device` (e.g.
// "mobile") are free labels and may be empty; `age` is in [0, 150];
// `logged_in` is 0 or 1.
struct UserRecord {
  std::string user_id;
  std::string region;
  std::string device;
  // "female", "male" or "" (unknown).
  std::string gender;
  // Years; 0 = unknown.
  int32_t age = 0;
  bool logged_in = false;
  // The user's language, ISO 639-1 (e.g. "en"); may be empty. An optional
  // last column: files written before it was added still read.
  std::string language;
};

// watches.csv, columns
//   user_id,video_id,time_s,watch_seconds
// `time_s` >= 0 is when the watch started; `watch_seconds` is finite and
// >= 0.
struct WatchRecord {
  std::string user_id;
  std::string video_id;
  int64_t time_s = 0;
  float watch_seconds = 0;
};

// searches.csv, columns
//   user_id,time_s,query
// `query` is non-empty free text.
struct SearchRecord {
  std::string user_id;
  int64_t time_s = 0;
  std::string query;
};

// impressions.csv: one row per video shown on a page. Columns
//   user_id,page_id,time_s,position,video_id,clicked,watch_seconds
// All rows of one `page_id` have the same `user_id` and `time_s` and
// distinct `position`s (>= 0); `clicked` is 0 or 1.
struct ImpressionRecord {
  std::string user_id;
  // Identifies the page the video was shown on; all rows of one page share it.
  std::string page_id;
  int64_t time_s = 0;
  // 0-based slot on the page.
  int32_t position = 0;
  std::string video_id;
  bool clicked = false;
  // 0 unless clicked.
  float watch_seconds = 0;
};

// Every record of one data set, in file order.
struct Logs {
  std::vector<VideoRecord> videos;
  std::vector<UserRecord> users;
  std::vector<WatchRecord> watches;
  std::vector<SearchRecord> searches;
  std::vector<ImpressionRecord> impressions;
};

struct ReadLogsOptions {
  // false: the first malformed row stops the read with an error naming the
  // file and line. true: malformed rows are skipped and counted in
  // `ReadLogsStats::skipped_rows` (with the first few messages kept); a
  // `ReadLogsStats` must then be passed, so that skips are never silent.
  // A missing or wrong header row is an error either way.
  bool skip_malformed = false;
  // When set, `ReadLogs` keeps only the users it accepts (their users.csv
  // row and every watch, search and impression of theirs); the rows of
  // other users are checked like any row, then dropped as they stream by,
  // so memory holds only the kept users' rows. Counted in
  // `ReadLogsStats::dropped_rows`. Videos are always all kept. Empty: every
  // user.
  std::function<bool(absl::string_view user_id)> keep_user;
  // When set, called with each (well-formed) watch that `keep_user` drops,
  // before it is dropped: e.g. to count every video's watches over all
  // users while holding the rows of a sample.
  std::function<void(const WatchRecord&)> on_dropped_watch;
};

struct ReadLogsStats {
  int64_t skipped_rows = 0;
  // Well-formed rows left out by `ReadLogsOptions::keep_user`.
  int64_t dropped_rows = 0;
  // The first `kMaxSkipMessages` skip messages, "file:line: reason".
  std::vector<std::string> skip_messages;

  static constexpr int kMaxSkipMessages = 20;
};

// Reads videos.csv, users.csv, watches.csv, searches.csv and
// impressions.csv from `dir`. videos.csv and watches.csv are required
// (NotFoundError if absent); the others may be absent (empty). Rows that
// reference an unknown user or video are malformed; user IDs are checked
// only when users.csv has at least one row. Malformed input gives
// InvalidArgumentError "path:line: what is wrong; what to do", with the
// 1-based line on which the offending record starts. `stats`, if given, is
// reset first.
absl::StatusOr<Logs> ReadLogs(const std::string& dir,
                              const ReadLogsOptions& options = {},
                              ReadLogsStats* stats = nullptr);

// Checks in memory everything `ReadLogs` checks (per-field constraints,
// unique IDs, references, page consistency). Errors name the record, e.g.
// "watches[16]: column 'time_s': -5 is negative; ...".
absl::Status ValidateLogs(const Logs& logs);

// Writes all five files into `dir` (created if missing), each through a
// temporary file renamed into place. Refuses (InvalidArgumentError, nothing
// written) logs that `ValidateLogs` rejects, so whatever is written reads
// back identical.
absl::Status WriteLogs(const std::string& dir, const Logs& logs);

// Reads only videos.csv-formatted `path` (as stored in model bundles), with
// the same checks as `ReadLogs`; never skips rows.
absl::StatusOr<std::vector<VideoRecord>> ReadVideos(const std::string& path);
// Writes `videos` to `path` in videos.csv format, after the same checks.
absl::Status WriteVideos(const std::string& path,
                         const std::vector<VideoRecord>& videos);

// Reads logs one row at a time in bounded memory, for logs too large to hold:
// videos.csv and users.csv (the catalogue and the user table, which every
// other row references) are loaded by `Open`; watches, searches and
// impressions are streamed to callbacks in file order, a block of the file
// at a time, with every check `ReadLogs` makes. Not thread-safe.
class LogStreamReader {
 public:
  // NotFoundError if videos.csv is absent; users.csv may be absent.
  static absl::StatusOr<std::unique_ptr<LogStreamReader>> Open(
      const std::string& dir, const ReadLogsOptions& options = {},
      ReadLogsStats* stats = nullptr);
  ~LogStreamReader();

  const std::vector<VideoRecord>& videos() const;
  const std::vector<UserRecord>& users() const;

  // Each streams its file once. watches.csv is required (NotFoundError);
  // an absent searches.csv or impressions.csv streams nothing.
  absl::Status ForEachWatch(const std::function<void(WatchRecord&&)>& fn);
  absl::Status ForEachSearch(const std::function<void(SearchRecord&&)>& fn);
  absl::Status ForEachImpression(
      const std::function<void(ImpressionRecord&&)>& fn);

 private:
  struct State;
  explicit LogStreamReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Writes logs one row at a time in bounded memory (the world generator's
// large preset streams through it). Each row is checked as `ReadLogs` would
// check it (videos and users before the rows that reference them), so what
// is written reads back identical. Rows go to `<file>.tmp`; `Finish`
// renames the five files into place. A writer destroyed before `Finish`
// removes its temporary files. Not thread-safe.
class LogWriter {
 public:
  static absl::StatusOr<std::unique_ptr<LogWriter>> Create(const std::string& dir);
  ~LogWriter();

  absl::Status Add(const VideoRecord& record);
  absl::Status Add(const UserRecord& record);
  absl::Status Add(const WatchRecord& record);
  absl::Status Add(const SearchRecord& record);
  absl::Status Add(const ImpressionRecord& record);

  absl::Status Finish();

 private:
  struct State;
  explicit LogWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_LOGS_LOGS_H_
