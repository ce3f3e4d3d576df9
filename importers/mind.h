#ifndef RECSYS_IMPORTERS_MIND_H_
#define RECSYS_IMPORTERS_MIND_H_

// The importer of the public MIND impression logs (Microsoft News
// Recommendation Dataset: MINDsmall_train, MINDsmall_dev, MINDlarge_*) into
// the canonical log format (common/logs/logs.h), and the reverse, canonical
// logs with impressions written as a MIND directory.
//
// A MIND directory holds two tab-separated files without a header:
//  - behaviors.tsv: Impression ID, User ID, Time ("11/11/2019 9:05:58 AM",
//    read as UTC), History (space-separated news IDs the user clicked before
//    the collection window, oldest first; may be empty; repeated on each of
//    the user's rows) and Impressions (space-separated "NewsID-label", label
//    1 = clicked, 0 = not; the test split has no labels and is refused).
//  - news.tsv: News ID, Category, SubCategory, Title, Abstract, URL, Title
//    Entities, Abstract Entities (the entity columns are not read).
//
// The mapping (docs/data-format.md, "Importers" / "MIND", is the reference):
//  - Each article is one video: video_id = the news ID, title = Title,
//    topics "category|subcategory" (no subcategory label when it is empty),
//    channel_id = the category, language "en", duration
//    `nominal_read_s`, upload time = the article's first appearance in an
//    impression or a (placed) history (for an article that appears in
//    neither, the earliest appearance of any article), never below 0.
//  - Each user is one users.csv row: no demographics, logged_in 1.
//  - Each impression list entry is one impressions.csv row on page
//    "i<Impression ID>" at the row's time, position = its index in the list;
//    a clicked entry is also a watch at that time. MIND has no dwell time:
//    every click counts `nominal_read_s` seconds.
//  - Each user's history becomes watches once, placed before the user's
//    first impression, one second apart (invented times).
//
// Rows are checked as they are read; a malformed row stops the import with
// InvalidArgumentError "path:line: what is wrong; what to do" (line 1-based).
// Both functions are pure functions of their inputs; they keep no state and
// may be called from several threads at once.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/logs/logs.h"

namespace recsys {

inline constexpr char kMindBehaviorsFileName[] = "behaviors.tsv";
inline constexpr char kMindNewsFileName[] = "news.tsv";

struct MindImportOptions {
  // Seconds: every article's `duration_s` and every click's or history
  // entry's `watch_seconds` (MIND has neither durations nor dwell times).
  float nominal_read_s = 60;
  // false: a news ID in an impression or history that no news.tsv lists is
  // an error. true: such an entry is dropped and counted in
  // `MindImportStats::unknown_news_skipped`.
  bool skip_unknown_news = false;
};

// What an import read, for the summary line.
struct MindImportStats {
  // behaviors.tsv rows, all directories together.
  int64_t rows = 0;
  // Impression entries = impressions.csv rows, and how many were clicked
  // (= watches from clicks).
  int64_t impressions = 0;
  int64_t clicks = 0;
  // Watches made from histories (one history per user).
  int64_t history_watches = 0;
  // Distinct users = users.csv rows.
  int64_t users = 0;
  // Distinct news IDs = videos.csv rows.
  int64_t news = 0;
  // Impression and history entries dropped for an unknown news ID
  // (`skip_unknown_news`), counted on every row they occur on.
  int64_t unknown_news_skipped = 0;
  // Users whose rows do not all carry the same history (the longest is
  // used).
  int64_t users_with_differing_history = 0;
};

// Reads the MIND directories `dirs` (e.g. train and dev) and returns them as
// one set of canonical logs: news merged by ID (an ID listed twice must have
// the same Category, SubCategory, Title, Abstract and URL), users merged by
// ID. Page IDs are "i<Impression ID>" for the first directory and
// "<k>:i<Impression ID>" for the k-th (k >= 2, 1-based), since MIND numbers
// each split's impressions from 1. Videos and users are ordered by ID (the
// digits of "N123" / "U45" compared as numbers); watches and impressions by
// time, then source order (directory, line, list index; a history's
// watches before its row's impressions). The result passes `ValidateLogs`.
// Errors: NotFoundError naming a missing file; InvalidArgumentError
// "path:line: ..." for a malformed row (column count, time, label, unknown
// news, empty user ID, impression ID repeated within a directory, a
// test-split row without labels). `stats`, if given, is filled on success.
absl::StatusOr<Logs> ImportMind(const std::vector<std::string>& dirs,
                                const MindImportOptions& options,
                                MindImportStats* stats = nullptr);

// What `WriteMind` wrote.
struct WriteMindStats {
  // news.tsv rows (= videos) and behaviors.tsv rows (= impression pages).
  int64_t news = 0;
  int64_t rows = 0;
  // Impression entries, clicked entries, and history entries over all rows.
  int64_t impressions = 0;
  int64_t clicks = 0;
  int64_t history_entries = 0;
};

// Writes `logs` as the MIND directory `dir` (created if missing), so that
// MIND-shaped data of any size can be made from a simulated world:
//  - news.tsv: one row per video, in the logs' order: Category = the first
//    topic label ("none" if there is none), SubCategory = the second label
//    ("none" if there is none), Title = the title (tabs and line breaks as
//    spaces), Abstract and URL empty, entities "[]".
//  - behaviors.tsv: one row per impression page, in the order of the pages'
//    first rows in `logs.impressions`, with Impression IDs 1, 2, ...; Time =
//    the page's time (UTC); History = the user's watches strictly before
//    the user's first page, in time order (then row order); Impressions =
//    the page's videos by position, with their clicked flags.
// Lost on the way: watch times and watch seconds, watches after a user's
// first page that are not clicks, searches, user attributes, users without
// a page, page IDs, and gaps between positions.
// InvalidArgumentError if `logs` fail `ValidateLogs`, have no impressions,
// or hold an ID with whitespace (IDs are space-separated in MIND) or a
// topic label with a tab or line break. Files are written to "<name>.tmp"
// and renamed into place.
absl::Status WriteMind(const std::string& dir, const Logs& logs,
                       WriteMindStats* stats = nullptr);

}  // namespace recsys

#endif  // RECSYS_IMPORTERS_MIND_H_
