#include "importers/mind.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/base/status_macros.h"
#include "common/logs/logs.h"
#include "importers/input_errors.h"

namespace recsys {
namespace {

using importers_internal::FileOpenError;
using importers_internal::FileReadError;
using importers_internal::Quote;
using importers_internal::RowLocation;

// Every article's language: MIND is a sample of English MSN News.
constexpr char kLanguage[] = "en";
// `WriteMind`'s Category or SubCategory for a video with fewer topic labels.
constexpr char kNoCategory[] = "none";
// `WriteMind`'s entity columns: an empty JSON list, as MIND writes for an
// article without entities.
constexpr char kNoEntities[] = "[]";

constexpr char kBehaviorsColumns[] =
    "Impression ID, User ID, Time, History, Impressions";
constexpr int kNumBehaviorsColumns = 5;
constexpr char kNewsColumns[] =
    "News ID, Category, SubCategory, Title, Abstract, URL, Title Entities, "
    "Abstract Entities";
constexpr int kNumNewsColumns = 8;
// The news.tsv columns an ID listed twice must repeat exactly (the entity
// columns are not read).
constexpr int kNumComparedNewsColumns = 6;
constexpr absl::string_view kNewsColumnNames[kNumComparedNewsColumns] = {
    "News ID", "Category", "SubCategory", "Title", "Abstract", "URL"};

// ---------------------------------------------------------------------------
// Reading rows.

std::string JoinPath(const std::string& dir, absl::string_view file) {
  return (std::filesystem::path(dir) / std::string(file)).string();
}

// One row of a MIND file: its tab-separated fields and 1-based line.
struct TsvRow {
  int64_t line = 0;
  std::vector<absl::string_view> fields;
};

// Calls `fn` for each non-blank line of the tab-separated file `path` (no
// quoting; "\n" or "\r\n" ends a line; a leading UTF-8 byte order mark is
// ignored), one line at a time, and stops at its first error.
absl::Status ForEachTsvRow(
    const std::string& path,
    const std::function<absl::Status(const TsvRow&)>& fn) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FileOpenError(path);
  std::string text;
  TsvRow row;
  while (std::getline(in, text)) {
    ++row.line;
    absl::string_view line = text;
    if (row.line == 1) absl::ConsumePrefix(&line, "\xEF\xBB\xBF");
    absl::ConsumeSuffix(&line, "\r");
    if (line.empty()) continue;
    row.fields = absl::StrSplit(line, '\t');
    RECSYS_RETURN_IF_ERROR(fn(row));
  }
  if (in.bad()) return FileReadError(path);
  return absl::OkStatus();
}

// Checks of one row's fields; each error names the file, line and column.
class RowParser : public RowLocation {
 public:
  RowParser(const std::string& path, const TsvRow& row)
      : RowLocation(path, row.line), row_(row) {}

  absl::Status ExpectColumns(size_t count, absl::string_view names) const {
    if (row_.fields.size() == count) return absl::OkStatus();
    return Error(absl::StrCat("expected ", count, " tab-separated columns (",
                              names, ") but found ", row_.fields.size(),
                              "; is this a MIND file?"));
  }

  // A field that must not be empty.
  absl::Status NonEmpty(size_t index, absl::string_view column,
                        absl::string_view why) const {
    if (!row_.fields[index].empty()) return absl::OkStatus();
    return ColumnError(column, absl::StrCat("is empty; ", why));
  }

  // A `record` made from this row, checked as the canonical format checks
  // it (valid UTF-8, no empty topic label, ...) by `ValidateLogs` itself,
  // so the importer does not restate its rules.
  template <typename Record>
  absl::Status Canonical(Record record,
                         std::vector<Record> Logs::*table) const {
    Logs one;
    (one.*table).push_back(std::move(record));
    absl::Status status = ValidateLogs(one);
    if (status.ok()) return status;
    absl::string_view message = status.message();
    // "videos[0]: column ...": the row is named by path and line instead.
    if (const size_t colon = message.find("]: ");
        colon != absl::string_view::npos) {
      message.remove_prefix(colon + 3);
    }
    return Error(message);
  }

  absl::string_view field(size_t index) const { return row_.fields[index]; }

 private:
  const TsvRow& row_;
};

// ---------------------------------------------------------------------------
// MIND's time format, "M/D/YYYY h:mm:ss AM" (12-hour clock, no leading
// zeros on month, day and hour), read and written as UTC.

// Whether `text` is 1 to `max_digits` ASCII digits (exactly `max_digits`
// when `exact`); stores their value.
bool ParseDigits(absl::string_view text, size_t max_digits, bool exact,
                 int* value) {
  if (text.empty() || text.size() > max_digits ||
      (exact && text.size() != max_digits) ||
      !absl::c_all_of(text, absl::ascii_isdigit)) {
    return false;
  }
  return absl::SimpleAtoi(text, value);
}

// Unix seconds of MIND time `text`; nullopt when it is not one (also for a
// date that does not exist, such as 2/30, and for times before 1970).
std::optional<int64_t> ParseMindTime(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ' ');
  if (parts.size() != 3) return std::nullopt;
  const std::vector<absl::string_view> date = absl::StrSplit(parts[0], '/');
  const std::vector<absl::string_view> clock = absl::StrSplit(parts[1], ':');
  if (date.size() != 3 || clock.size() != 3) return std::nullopt;
  int month, day, year, hour, minute, second;
  if (!ParseDigits(date[0], 2, false, &month) ||
      !ParseDigits(date[1], 2, false, &day) ||
      !ParseDigits(date[2], 4, true, &year) ||
      !ParseDigits(clock[0], 2, false, &hour) ||
      !ParseDigits(clock[1], 2, true, &minute) ||
      !ParseDigits(clock[2], 2, true, &second)) {
    return std::nullopt;
  }
  if (hour < 1 || hour > 12 || year < 1970) return std::nullopt;
  // 12 AM is midnight, 12 PM noon.
  if (parts[2] == "AM") {
    hour %= 12;
  } else if (parts[2] == "PM") {
    hour = hour % 12 + 12;
  } else {
    return std::nullopt;
  }
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  // CivilSecond normalises out-of-range fields (13/1, 2/30, 9:61); a real
  // time keeps them.
  if (civil.year() != year || civil.month() != month || civil.day() != day ||
      civil.hour() != hour || civil.minute() != minute ||
      civil.second() != second) {
    return std::nullopt;
  }
  return absl::ToUnixSeconds(absl::FromCivil(civil, absl::UTCTimeZone()));
}

std::string FormatMindTime(int64_t time_s) {
  const absl::CivilSecond civil =
      absl::ToCivilSecond(absl::FromUnixSeconds(time_s), absl::UTCTimeZone());
  const int hour12 = civil.hour() % 12 == 0 ? 12 : civil.hour() % 12;
  return absl::StrFormat("%d/%d/%d %d:%02d:%02d %s", civil.month(), civil.day(),
                         civil.year(), hour12, civil.minute(), civil.second(),
                         civil.hour() < 12 ? "AM" : "PM");
}

// ---------------------------------------------------------------------------
// The directories, read into one intermediate form with interned IDs.

// An article as first read, and where.
struct News {
  std::string fields[kNumComparedNewsColumns];
  std::string path;
  int64_t line = 0;
};

// One entry of an impression list.
struct ImpressionEntry {
  int32_t news = 0;
  // The entry's index in the list (kept when an earlier entry is skipped).
  int32_t position = 0;
  bool clicked = false;
};

// Where a row came from; rows and their events keep this order.
struct Source {
  int32_t dir = 0;
  int64_t line = 0;

  friend bool operator<(const Source& a, const Source& b) {
    return std::tie(a.dir, a.line) < std::tie(b.dir, b.line);
  }
};

// One behaviors.tsv row.
struct Behavior {
  Source source;
  int64_t time_s = 0;
  int32_t user = 0;
  std::string impression_id;
  std::vector<ImpressionEntry> entries;
};

struct User {
  std::string id;
  // The earliest time of the user's rows.
  int64_t first_time_s = std::numeric_limits<int64_t>::max();
  // The history used: the longest of the user's rows' histories, that of
  // the earliest such row (by time, then source) on a tie.
  std::vector<int32_t> history;
  int64_t history_time_s = 0;
  Source history_source;
  // Whether the user's rows carry different histories.
  bool history_differs = false;
  bool has_row = false;
};

struct MindData {
  std::vector<News> news;
  absl::flat_hash_map<std::string, int32_t> news_index;
  std::vector<User> users;
  absl::flat_hash_map<std::string, int32_t> user_index;
  std::vector<Behavior> rows;
  int64_t unknown_news_skipped = 0;
};

// An article's `topics`: "category|subcategory", or the category alone when
// the subcategory is empty.
std::string Topics(absl::string_view category, absl::string_view subcategory) {
  if (subcategory.empty()) return std::string(category);
  return absl::StrCat(category, "|", subcategory);
}

// Reads `path` (a news.tsv) into `data`, merging IDs already read.
absl::Status ReadNews(const std::string& path, MindData* data) {
  return ForEachTsvRow(path, [&](const TsvRow& row) -> absl::Status {
    RowParser parser(path, row);
    RECSYS_RETURN_IF_ERROR(parser.ExpectColumns(kNumNewsColumns, kNewsColumns));
    RECSYS_RETURN_IF_ERROR(parser.NonEmpty(
        0, "News ID", "every article needs the ID behaviors.tsv refers to"));
    RECSYS_RETURN_IF_ERROR(parser.NonEmpty(
        1, "Category",
        "every MIND article has a category (its channel and main topic)"));
    for (int column : {1, 2}) {
      if (absl::StrContains(parser.field(column), '|')) {
        return parser.ColumnError(
            kNewsColumnNames[column],
            absl::StrCat(Quote(parser.field(column)),
                         " contains '|', which separates topic labels; "
                         "remove it from the category name"));
      }
    }
    const std::string id(parser.field(0));
    auto [it, inserted] = data->news_index.try_emplace(
        id, static_cast<int32_t>(data->news.size()));
    if (!inserted) {
      const News& first = data->news[it->second];
      for (int c = 1; c < kNumComparedNewsColumns; ++c) {
        if (first.fields[c] == parser.field(c)) continue;
        return parser.ColumnError(
            kNewsColumnNames[c],
            absl::StrCat("news ", Quote(id), " is listed again with ",
                         Quote(parser.field(c)), " but ", first.path, ":",
                         first.line, " has ", Quote(first.fields[c]),
                         "; the same news ID must have the same row in "
                         "every news.tsv"));
      }
      return absl::OkStatus();
    }
    News news;
    for (int c = 0; c < kNumComparedNewsColumns; ++c) {
      news.fields[c] = std::string(parser.field(c));
    }
    news.path = path;
    news.line = row.line;
    VideoRecord video;
    video.video_id = id;
    video.title = news.fields[3];
    video.channel_id = news.fields[1];
    video.topics = Topics(news.fields[1], news.fields[2]);
    video.duration_s = 1;
    RECSYS_RETURN_IF_ERROR(parser.Canonical(std::move(video), &Logs::videos));
    data->news.push_back(std::move(news));
    return absl::OkStatus();
  });
}

// The news index of `id` for column `column`; nullopt when unknown and
// skipped (counted), an error when unknown and not skipped.
absl::StatusOr<std::optional<int32_t>> LookUpNews(
    const RowParser& parser, absl::string_view column, absl::string_view id,
    const MindImportOptions& options, MindData* data) {
  if (auto it = data->news_index.find(id); it != data->news_index.end()) {
    return std::optional<int32_t>(it->second);
  }
  if (options.skip_unknown_news) {
    ++data->unknown_news_skipped;
    return std::optional<int32_t>();
  }
  return parser.ColumnError(
      column, absl::StrCat("unknown news ", Quote(id),
                           "; add it to news.tsv, or set skip_unknown_news "
                           "to drop such entries"));
}

// The entries of an Impressions field, "N1-1 N2-0" (positions are list
// indices).
absl::StatusOr<std::vector<ImpressionEntry>> ParseImpressions(
    const RowParser& parser, const MindImportOptions& options, MindData* data) {
  constexpr char kColumn[] = "Impressions";
  std::vector<ImpressionEntry> entries;
  int32_t position = 0;
  for (absl::string_view token :
       absl::StrSplit(parser.field(4), ' ', absl::SkipEmpty())) {
    const size_t dash = token.rfind('-');
    if (dash == absl::string_view::npos) {
      return parser.ColumnError(
          kColumn,
          absl::StrCat(Quote(token),
                       " has no click label: MIND's test split has no "
                       "labels; import a train or dev directory (entries "
                       "look like N123-1)"));
    }
    const absl::string_view label = token.substr(dash + 1);
    if (label != "0" && label != "1") {
      return parser.ColumnError(
          kColumn, absl::StrCat(Quote(token),
                                " has a bad label; an entry is NewsID-1 "
                                "(clicked) or NewsID-0 (not clicked)"));
    }
    RECSYS_ASSIGN_OR_RETURN(
        const std::optional<int32_t> news,
        LookUpNews(parser, kColumn, token.substr(0, dash), options, data));
    if (news.has_value()) {
      ImpressionEntry entry;
      entry.news = *news;
      entry.position = position;
      entry.clicked = label == "1";
      entries.push_back(entry);
    }
    ++position;
  }
  if (position == 0) {
    return parser.ColumnError(
        kColumn, "is empty; a MIND row lists the news shown, as N123-1 N45-0");
  }
  return entries;
}

// Records `row`'s time and `history` on its user.
void UpdateUser(const Behavior& row, std::vector<int32_t> history, User* user) {
  user->first_time_s = std::min(user->first_time_s, row.time_s);
  bool take = !user->has_row;
  if (user->has_row) {
    user->history_differs |= history != user->history;
    take = history.size() > user->history.size() ||
           (history.size() == user->history.size() &&
            std::tie(row.time_s, row.source) <
                std::tie(user->history_time_s, user->history_source));
  }
  user->has_row = true;
  if (take) {
    user->history = std::move(history);
    user->history_time_s = row.time_s;
    user->history_source = row.source;
  }
}

// Reads `path` (a behaviors.tsv, the `dir`-th directory) into `data`.
absl::Status ReadBehaviors(const std::string& path, int32_t dir,
                           const MindImportOptions& options, MindData* data) {
  // Impression ID -> the line it is on, to name both of a repeated ID.
  absl::flat_hash_map<std::string, int64_t> impression_lines;
  return ForEachTsvRow(path, [&](const TsvRow& tsv) -> absl::Status {
    RowParser parser(path, tsv);
    RECSYS_RETURN_IF_ERROR(
        parser.ExpectColumns(kNumBehaviorsColumns, kBehaviorsColumns));
    RECSYS_RETURN_IF_ERROR(parser.NonEmpty(
        0, "Impression ID", "every row needs one (it becomes the page ID)"));
    RECSYS_RETURN_IF_ERROR(
        parser.NonEmpty(1, "User ID", "every row needs the user it shows"));
    Behavior row;
    row.source = {dir, tsv.line};
    row.impression_id = std::string(parser.field(0));
    if (auto [it, inserted] =
            impression_lines.try_emplace(row.impression_id, tsv.line);
        !inserted) {
      return parser.ColumnError(
          "Impression ID",
          absl::StrCat(Quote(row.impression_id),
                       " appears twice (first on line ", it->second,
                       "); each row of a behaviors.tsv needs its own ID"));
    }
    const std::optional<int64_t> time_s = ParseMindTime(parser.field(2));
    if (!time_s.has_value()) {
      return parser.ColumnError(
          "Time", absl::StrCat(Quote(parser.field(2)),
                               " is not a time like 11/11/2019 9:05:58 AM "
                               "(M/D/YYYY h:mm:ss AM|PM, 1970 or later)"));
    }
    row.time_s = *time_s;

    std::vector<int32_t> history;
    for (absl::string_view id :
         absl::StrSplit(parser.field(3), ' ', absl::SkipEmpty())) {
      RECSYS_ASSIGN_OR_RETURN(const std::optional<int32_t> news,
                              LookUpNews(parser, "History", id, options, data));
      if (news.has_value()) history.push_back(*news);
    }
    RECSYS_ASSIGN_OR_RETURN(row.entries,
                            ParseImpressions(parser, options, data));

    const std::string user_id(parser.field(1));
    auto [it, inserted] = data->user_index.try_emplace(
        user_id, static_cast<int32_t>(data->users.size()));
    if (inserted) {
      UserRecord record;
      record.user_id = user_id;
      RECSYS_RETURN_IF_ERROR(parser.Canonical(std::move(record), &Logs::users));
      data->users.emplace_back().id = user_id;
    }
    row.user = it->second;
    UpdateUser(row, std::move(history), &data->users[row.user]);
    data->rows.push_back(std::move(row));
    return absl::OkStatus();
  });
}

// ---------------------------------------------------------------------------
// The mapping to canonical logs.

// Orders IDs such as "N9" < "N10" < "N100": by the text before the trailing
// digits, then those digits as a number, then the whole text.
bool IdLess(absl::string_view a, absl::string_view b) {
  auto split = [](absl::string_view id) {
    size_t digits = id.size();
    while (digits > 0 && absl::ascii_isdigit(id[digits - 1])) --digits;
    absl::string_view number = id.substr(digits);
    while (number.size() > 1 && number[0] == '0') number.remove_prefix(1);
    return std::make_tuple(id.substr(0, digits), number.size(), number, id);
  };
  return split(a) < split(b);
}

// The page ID of a row of the `dir`-th directory (0-based).
std::string PageId(int32_t dir, absl::string_view impression_id) {
  if (dir == 0) return absl::StrCat("i", impression_id);
  return absl::StrCat(dir + 1, ":i", impression_id);
}

// A watch to write, with its place in the output order.
struct Watch {
  int64_t time_s = 0;
  Source source;
  // 0: from the row's history, 1: a click in its impressions.
  int part = 0;
  int32_t index = 0;
  int32_t user = 0;
  int32_t news = 0;

  friend bool operator<(const Watch& a, const Watch& b) {
    return std::tie(a.time_s, a.source, a.part, a.index) <
           std::tie(b.time_s, b.source, b.part, b.index);
  }
};

// Every watch: clicks at their row's time, and each user's history placed
// before the user's first row, one second apart (oldest first), never
// below 0. Sorted.
std::vector<Watch> CollectWatches(const MindData& data) {
  std::vector<Watch> watches;
  for (const Behavior& row : data.rows) {
    for (const ImpressionEntry& entry : row.entries) {
      if (!entry.clicked) continue;
      watches.push_back(
          {row.time_s, row.source, 1, entry.position, row.user, entry.news});
    }
  }
  for (int32_t u = 0; u < static_cast<int32_t>(data.users.size()); ++u) {
    const User& user = data.users[u];
    const int64_t n = static_cast<int64_t>(user.history.size());
    for (int64_t k = 0; k < n; ++k) {
      const int64_t time_s = std::max<int64_t>(0, user.first_time_s - (n - k));
      watches.push_back({time_s, user.history_source, 0,
                         static_cast<int32_t>(k), u, user.history[k]});
    }
  }
  absl::c_sort(watches);
  return watches;
}

// Each article's upload time: its first appearance, shown or watched (in a
// placed history); an article that appears nowhere gets the earliest
// appearance of any article (0 if there is none).
std::vector<int64_t> UploadTimes(const MindData& data,
                                 const std::vector<Watch>& watches) {
  std::vector<std::optional<int64_t>> first_seen_s(data.news.size());
  auto see = [&](int32_t news, int64_t time_s) {
    std::optional<int64_t>& seen = first_seen_s[news];
    seen = seen.has_value() ? std::min(*seen, time_s) : time_s;
  };
  for (const Watch& w : watches) see(w.news, w.time_s);
  for (const Behavior& row : data.rows) {
    for (const ImpressionEntry& entry : row.entries) {
      see(entry.news, row.time_s);
    }
  }
  std::optional<int64_t> start_s;
  for (const std::optional<int64_t>& seen : first_seen_s) {
    if (seen.has_value()) start_s = std::min(start_s.value_or(*seen), *seen);
  }
  std::vector<int64_t> upload_s(first_seen_s.size());
  for (size_t n = 0; n < upload_s.size(); ++n) {
    upload_s[n] =
        std::max<int64_t>(0, first_seen_s[n].value_or(start_s.value_or(0)));
  }
  return upload_s;
}

// The indices of `items` ordered by `IdLess` of `id_of(item)`.
template <typename T, typename IdOf>
std::vector<int32_t> OrderById(const std::vector<T>& items, IdOf id_of) {
  std::vector<int32_t> order(items.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  absl::c_sort(order, [&](int32_t a, int32_t b) {
    return IdLess(id_of(items[a]), id_of(items[b]));
  });
  return order;
}

std::vector<VideoRecord> ToVideos(const MindData& data,
                                  const std::vector<Watch>& watches,
                                  const MindImportOptions& options) {
  const std::vector<int64_t> upload_s = UploadTimes(data, watches);
  std::vector<VideoRecord> videos;
  videos.reserve(data.news.size());
  for (int32_t n : OrderById(data.news, [](const News& news) {
         return absl::string_view(news.fields[0]);
       })) {
    const News& news = data.news[n];
    VideoRecord video;
    video.video_id = news.fields[0];
    video.title = news.fields[3];
    video.channel_id = news.fields[1];
    video.topics = Topics(news.fields[1], news.fields[2]);
    video.language = kLanguage;
    video.duration_s = options.nominal_read_s;
    video.upload_time_s = upload_s[n];
    videos.push_back(std::move(video));
  }
  return videos;
}

std::vector<UserRecord> ToUsers(const MindData& data) {
  std::vector<UserRecord> users;
  users.reserve(data.users.size());
  for (int32_t u : OrderById(data.users, [](const User& user) {
         return absl::string_view(user.id);
       })) {
    UserRecord user;
    user.user_id = data.users[u].id;
    user.logged_in = true;
    users.push_back(std::move(user));
  }
  return users;
}

// The impressions of `rows`, which are in output order.
std::vector<ImpressionRecord> ToImpressions(const MindData& data,
                                            const std::vector<Behavior>& rows,
                                            const MindImportOptions& options) {
  size_t num_entries = 0;
  for (const Behavior& row : rows) num_entries += row.entries.size();
  std::vector<ImpressionRecord> impressions;
  impressions.reserve(num_entries);
  for (const Behavior& row : rows) {
    const std::string page_id = PageId(row.source.dir, row.impression_id);
    for (const ImpressionEntry& entry : row.entries) {
      ImpressionRecord impression;
      impression.user_id = data.users[row.user].id;
      impression.page_id = page_id;
      impression.time_s = row.time_s;
      impression.position = entry.position;
      impression.video_id = data.news[entry.news].fields[0];
      impression.clicked = entry.clicked;
      impression.watch_seconds = entry.clicked ? options.nominal_read_s : 0;
      impressions.push_back(std::move(impression));
    }
  }
  return impressions;
}

Logs ToLogs(MindData data, const MindImportOptions& options,
            MindImportStats* stats) {
  const std::vector<Watch> watches = CollectWatches(data);
  absl::c_stable_sort(data.rows, [](const Behavior& a, const Behavior& b) {
    return std::tie(a.time_s, a.source) < std::tie(b.time_s, b.source);
  });
  Logs logs;
  logs.videos = ToVideos(data, watches, options);
  logs.users = ToUsers(data);
  logs.impressions = ToImpressions(data, data.rows, options);
  logs.watches.reserve(watches.size());
  for (const Watch& w : watches) {
    WatchRecord watch;
    watch.user_id = data.users[w.user].id;
    watch.video_id = data.news[w.news].fields[0];
    watch.time_s = w.time_s;
    watch.watch_seconds = options.nominal_read_s;
    logs.watches.push_back(std::move(watch));
    (w.part == 0 ? stats->history_watches : stats->clicks) += 1;
  }

  stats->rows = static_cast<int64_t>(data.rows.size());
  stats->impressions = static_cast<int64_t>(logs.impressions.size());
  stats->users = static_cast<int64_t>(logs.users.size());
  stats->news = static_cast<int64_t>(logs.videos.size());
  stats->unknown_news_skipped = data.unknown_news_skipped;
  stats->users_with_differing_history = absl::c_count_if(
      data.users, [](const User& user) { return user.history_differs; });
  return logs;
}

// ---------------------------------------------------------------------------
// Writing a MIND directory.

// `text` with tabs and line breaks replaced by spaces, for a TSV field.
std::string TsvField(absl::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

// An error unless `id` can stand in a space-separated MIND list.
absl::Status CheckMindId(absl::string_view record, absl::string_view column,
                         absl::string_view id) {
  if (!absl::c_any_of(id, absl::ascii_isspace)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      record, ": column '", column, "': ", Quote(id),
      " contains whitespace, which separates IDs in MIND; rename it"));
}

// Writes what `fill` puts out to `path`, through "<path>.tmp" renamed into
// place.
absl::Status WriteFileAtomically(
    const std::string& path, const std::function<void(std::ostream&)>& fill) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return absl::PermissionDeniedError(
          absl::StrCat(tmp, ": cannot be opened for writing"));
    }
    fill(out);
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      return absl::InternalError(
          absl::StrCat(tmp, ": write failed (disk full?)"));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat(tmp, ": cannot be renamed to ", path, ": ", ec.message()));
  }
  return absl::OkStatus();
}

// One impression page of the logs, its rows by position.
struct Page {
  const ImpressionRecord* first = nullptr;
  std::vector<const ImpressionRecord*> rows;
};

// The pages of `logs` in the order of their first rows. A page is a run of
// adjacent rows with one page_id, as `ValidateLogs` reads them.
std::vector<Page> CollectPages(const Logs& logs) {
  std::vector<Page> pages;
  for (const ImpressionRecord& impression : logs.impressions) {
    if (pages.empty() || pages.back().first->page_id != impression.page_id) {
      pages.emplace_back().first = &impression;
    }
    pages.back().rows.push_back(&impression);
  }
  for (Page& page : pages) {
    absl::c_sort(page.rows,
                 [](const ImpressionRecord* a, const ImpressionRecord* b) {
                   return a->position < b->position;
                 });
  }
  return pages;
}

// User ID -> the user's watches before their first page, in time order
// (then row order); users without a page have none.
absl::flat_hash_map<absl::string_view, std::vector<const WatchRecord*>>
CollectHistories(const Logs& logs, const std::vector<Page>& pages) {
  absl::flat_hash_map<absl::string_view, int64_t> first_page_s;
  for (const Page& page : pages) {
    auto [it, inserted] =
        first_page_s.try_emplace(page.first->user_id, page.first->time_s);
    if (!inserted) it->second = std::min(it->second, page.first->time_s);
  }
  absl::flat_hash_map<absl::string_view, std::vector<const WatchRecord*>>
      histories;
  for (const WatchRecord& watch : logs.watches) {
    auto it = first_page_s.find(watch.user_id);
    if (it != first_page_s.end() && watch.time_s < it->second) {
      histories[watch.user_id].push_back(&watch);
    }
  }
  for (auto& [user, watches] : histories) {
    absl::c_stable_sort(watches,
                        [](const WatchRecord* a, const WatchRecord* b) {
                          return a->time_s < b->time_s;
                        });
  }
  return histories;
}

absl::Status WriteNewsTsv(const std::string& path,
                          const std::vector<VideoRecord>& videos,
                          WriteMindStats* stats) {
  return WriteFileAtomically(path, [&](std::ostream& out) {
    for (const VideoRecord& video : videos) {
      const std::vector<absl::string_view> topics =
          absl::StrSplit(video.topics, '|', absl::SkipEmpty());
      out << video.video_id << '\t'
          << TsvField(topics.size() > 0 ? topics[0] : kNoCategory) << '\t'
          << TsvField(topics.size() > 1 ? topics[1] : kNoCategory) << '\t'
          << TsvField(video.title) << "\t\t\t" << kNoEntities << '\t'
          << kNoEntities << '\n';
    }
    stats->news = static_cast<int64_t>(videos.size());
  });
}

absl::Status WriteBehaviorsTsv(
    const std::string& path, const std::vector<Page>& pages,
    const absl::flat_hash_map<absl::string_view,
                              std::vector<const WatchRecord*>>& histories,
    WriteMindStats* stats) {
  return WriteFileAtomically(path, [&](std::ostream& out) {
    std::string line;
    for (size_t p = 0; p < pages.size(); ++p) {
      const ImpressionRecord& first = *pages[p].first;
      line.clear();
      absl::StrAppend(&line, p + 1, "\t", first.user_id, "\t",
                      FormatMindTime(first.time_s), "\t");
      // The history is repeated on each of the user's rows, as in MIND.
      if (auto it = histories.find(first.user_id); it != histories.end()) {
        for (size_t k = 0; k < it->second.size(); ++k) {
          absl::StrAppend(&line, k == 0 ? "" : " ", it->second[k]->video_id);
        }
        stats->history_entries += static_cast<int64_t>(it->second.size());
      }
      line.push_back('\t');
      for (size_t k = 0; k < pages[p].rows.size(); ++k) {
        const ImpressionRecord& entry = *pages[p].rows[k];
        absl::StrAppend(&line, k == 0 ? "" : " ", entry.video_id, "-",
                        entry.clicked ? "1" : "0");
        stats->clicks += entry.clicked;
      }
      line.push_back('\n');
      out << line;
      stats->impressions += static_cast<int64_t>(pages[p].rows.size());
    }
    stats->rows = static_cast<int64_t>(pages.size());
  });
}

}  // namespace

absl::StatusOr<Logs> ImportMind(const std::vector<std::string>& dirs,
                                const MindImportOptions& options,
                                MindImportStats* stats) {
  if (!(options.nominal_read_s > 0) ||
      options.nominal_read_s == std::numeric_limits<float>::infinity()) {
    return absl::InvalidArgumentError(
        "nominal_read_s must be a positive number of seconds");
  }
  if (dirs.empty()) {
    return absl::InvalidArgumentError("no MIND directory to import");
  }
  MindData data;
  // All news first: a history or impression may name news of any directory.
  for (const std::string& dir : dirs) {
    RECSYS_RETURN_IF_ERROR(ReadNews(JoinPath(dir, kMindNewsFileName), &data));
  }
  for (size_t d = 0; d < dirs.size(); ++d) {
    RECSYS_RETURN_IF_ERROR(
        ReadBehaviors(JoinPath(dirs[d], kMindBehaviorsFileName),
                      static_cast<int32_t>(d), options, &data));
  }
  MindImportStats local_stats;
  Logs logs = ToLogs(std::move(data), options, &local_stats);
  // Every row was checked on the way in; this catches what the canonical
  // format forbids beyond that, before a writer would.
  RECSYS_RETURN_IF_ERROR(ValidateLogs(logs));
  if (stats != nullptr) *stats = local_stats;
  return logs;
}

absl::Status WriteMind(const std::string& dir, const Logs& logs,
                       WriteMindStats* stats) {
  RECSYS_RETURN_IF_ERROR(ValidateLogs(logs));
  if (logs.impressions.empty()) {
    return absl::InvalidArgumentError(
        "the logs have no impressions; a MIND directory is made of "
        "impression pages (logs with impressions, such as a simulated "
        "world's, are needed)");
  }
  for (size_t i = 0; i < logs.videos.size(); ++i) {
    RECSYS_RETURN_IF_ERROR(CheckMindId(absl::StrCat("videos[", i, "]"),
                                       "video_id", logs.videos[i].video_id));
  }
  for (size_t i = 0; i < logs.impressions.size(); ++i) {
    RECSYS_RETURN_IF_ERROR(CheckMindId(absl::StrCat("impressions[", i, "]"),
                                       "user_id", logs.impressions[i].user_id));
  }

  const std::vector<Page> pages = CollectPages(logs);
  const auto histories = CollectHistories(logs, pages);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat(dir, ": cannot be created: ", ec.message()));
  }
  WriteMindStats local_stats;
  RECSYS_RETURN_IF_ERROR(WriteNewsTsv(JoinPath(dir, kMindNewsFileName),
                                      logs.videos, &local_stats));
  RECSYS_RETURN_IF_ERROR(WriteBehaviorsTsv(
      JoinPath(dir, kMindBehaviorsFileName), pages, histories, &local_stats));
  if (stats != nullptr) *stats = local_stats;
  return absl::OkStatus();
}

}  // namespace recsys
