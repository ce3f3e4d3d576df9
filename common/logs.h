#ifndef RECSYS_COMMON_LOGS_H_
#define RECSYS_COMMON_LOGS_H_

// The canonical log format: one CSV file per kind of record, each with a
// header row, in one directory (see docs/data-format.md). Times are Unix
// seconds, durations and watch times seconds.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace recsys {

// videos.csv
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

// users.csv
struct UserRecord {
  std::string user_id;
  std::string region;
  std::string device;
  // "female", "male" or "" (unknown).
  std::string gender;
  // Years; 0 = unknown.
  int32_t age = 0;
  bool logged_in = false;
};

// watches.csv
struct WatchRecord {
  std::string user_id;
  std::string video_id;
  int64_t time_s = 0;
  float watch_seconds = 0;
};

// searches.csv
struct SearchRecord {
  std::string user_id;
  int64_t time_s = 0;
  std::string query;
};

// impressions.csv: one row per video shown on a page.
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
  // `ReadLogsStats::skipped_rows` (with the first few messages kept).
  bool skip_malformed = false;
};

struct ReadLogsStats {
  int64_t skipped_rows = 0;
  // The first few skip messages, "file:line: reason".
  std::vector<std::string> skip_messages;
};

// Reads videos.csv, users.csv, watches.csv, searches.csv and
// impressions.csv from `dir`. videos.csv and watches.csv are required; the
// others may be absent (empty). Rows that reference an unknown user or video
// are malformed. Errors name the file and the 1-based line.
absl::StatusOr<Logs> ReadLogs(const std::string& dir,
                              const ReadLogsOptions& options = {},
                              ReadLogsStats* stats = nullptr);

// Writes all five files into `dir` (created if missing).
absl::Status WriteLogs(const std::string& dir, const Logs& logs);

// Reads only videos.csv-formatted `path` (as stored in model bundles).
absl::StatusOr<std::vector<VideoRecord>> ReadVideos(const std::string& path);
absl::Status WriteVideos(const std::string& path,
                         const std::vector<VideoRecord>& videos);

}  // namespace recsys

#endif  // RECSYS_COMMON_LOGS_H_
