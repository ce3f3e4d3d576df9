#ifndef RECSYS_IMPORTERS_MOVIELENS_H_
#define RECSYS_IMPORTERS_MOVIELENS_H_

// Importers of the public MovieLens rating logs (GroupLens) into the
// canonical log format (common/logs/logs.h). Three directory layouts are read:
//
//  - `kLatest`: ml-latest-small (and ml-latest, ml-25m, ...): UTF-8 CSV with
//    a header row: ratings.csv (userId,movieId,rating,timestamp),
//    movies.csv (movieId,title,genres; genres separated by '|',
//    "(no genres listed)" for none) and, optional, tags.csv
//    (userId,movieId,tag,timestamp). No demographics.
//  - `k100k`: ml-100k: u.data (tab-separated user, item, rating, timestamp),
//    u.item ('|'-separated, Latin-1: id, title, release date, video release
//    date, IMDb URL and 19 genre flags) and u.user
//    (id|age|gender|occupation|zip code).
//  - `k1m`: ml-1m: ratings.dat (UserID::MovieID::Rating::Timestamp),
//    movies.dat (MovieID::Title::Genres, Latin-1) and users.dat
//    (UserID::Gender::Age::Occupation::Zip-code, age as a range code).
//
// The mapping (docs/data-format.md, "Importers", is the reference):
//  - Each rating is one watch at its timestamp, by user "u<userId>" of video
//    "m<movieId>", with watch_seconds = nominal_duration_s * rating / 5.
//  - Each movie is one video (also when never rated): title converted to
//    UTF-8, genres as `topics` (in MovieLens's order), channel "ml",
//    language empty, duration `nominal_duration_s`, upload time Jan 1
//    00:00 UTC of the year in the title, or the movie's first rating if
//    that is earlier or the title has no year, never below 0.
//  - Each tag is one search by its user at its time, the tag as query.
//  - Users: demographics where the layout has them, logged_in 1.
//
// Rows are checked as they are read; a malformed row stops the import with
// InvalidArgumentError "path:line: what is wrong; what to do" (line
// 1-based). The importer is a pure function of the files; it keeps no
// state and may be called from several threads at once.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/logs/logs.h"

namespace recsys {

enum class MovieLensLayout {
  // Detected from the files present: ratings.csv -> kLatest, u.data ->
  // k100k, ratings.dat -> k1m.
  kAuto,
  kLatest,
  k100k,
  k1m,
};

// "auto", "latest", "100k" or "1m".
absl::string_view MovieLensLayoutName(MovieLensLayout layout);
// The inverse of `MovieLensLayoutName`; InvalidArgumentError otherwise.
absl::StatusOr<MovieLensLayout> ParseMovieLensLayout(absl::string_view name);
// The layout of the MovieLens directory `dir`, from the ratings file it
// holds; NotFoundError naming the expected files when there is none.
absl::StatusOr<MovieLensLayout> DetectMovieLensLayout(const std::string& dir);

struct MovieLensImportOptions {
  MovieLensLayout layout = MovieLensLayout::kAuto;
  // Every movie's `duration_s`, seconds: MovieLens has no durations, and a
  // rating of 5 is taken as a full watch (100 minutes by default).
  float nominal_duration_s = 6000;
};

// What an import read, for the summary line.
struct MovieLensImportStats {
  // The layout read (never kAuto).
  MovieLensLayout layout = MovieLensLayout::kAuto;
  // Rating rows = watches.
  int64_t ratings = 0;
  // Movie rows = videos, and how many of them have at least one rating.
  int64_t movies = 0;
  int64_t rated_movies = 0;
  // Users written to users.csv: the users file's rows (100k, 1m), or every
  // user with a rating or a tag (latest).
  int64_t users = 0;
  // Tag rows = searches (0 for 100k and 1m).
  int64_t tags = 0;
};

// Reads the MovieLens directory `dir` and returns it as canonical logs:
// videos by movie ID, users by user ID, watches and searches by time (then
// user ID, then movie ID / file order). The result passes `ValidateLogs`.
// Errors: NotFoundError for a missing required file or an undetectable
// layout; InvalidArgumentError "path:line: ..." for a malformed row,
// including a rating of an unknown movie or (100k, 1m) by an unknown user.
// `stats`, if given, is filled on success.
absl::StatusOr<Logs> ImportMovieLens(const std::string& dir,
                                     const MovieLensImportOptions& options,
                                     MovieLensImportStats* stats = nullptr);

}  // namespace recsys

#endif  // RECSYS_IMPORTERS_MOVIELENS_H_
