#include "importers/movielens.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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
using importers_internal::RowError;
using importers_internal::RowLocation;

// Every imported video's channel: MovieLens has no channels, and a constant
// adds no invented signal.
constexpr char kChannelId[] = "ml";
// ml-latest's genres field when a movie has none.
constexpr char kNoGenres[] = "(no genres listed)";

// The 19 genre flags of ml-100k's u.item, in column order. "unknown" marks
// a movie without genres and becomes no topic.
constexpr absl::string_view k100kGenres[] = {
    "unknown",   "Action",   "Adventure",   "Animation", "Children's",
    "Comedy",    "Crime",    "Documentary", "Drama",     "Fantasy",
    "Film-Noir", "Horror",   "Musical",     "Mystery",   "Romance",
    "Sci-Fi",    "Thriller", "War",         "Western"};
constexpr int kNum100kGenres = sizeof(k100kGenres) / sizeof(k100kGenres[0]);
// u.item: id, title, release date, video release date, IMDb URL, flags.
constexpr int k100kItemColumns = 5 + kNum100kGenres;

// ml-1m's age codes: each is the lower bound of its range, except 1
// ("Under 18").
constexpr int k1mAgeCodes[] = {1, 18, 25, 35, 45, 50, 56};
// The age written for code 1: still under 18, and not read as an infant.
constexpr int k1mUnder18Age = 17;

// ---------------------------------------------------------------------------
// Reading rows.

// One input record: its fields and the 1-based line it starts on.
struct Row {
  int64_t line = 0;
  std::vector<std::string> fields;
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FileOpenError(path);
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return FileReadError(path);
  return std::move(contents).str();
}

bool FileExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// Each byte of Latin-1 (ISO 8859-1) `text` as its UTF-8 encoding.
std::string Latin1ToUtf8(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xC0 | (byte >> 6)));
      out.push_back(static_cast<char>(0x80 | (byte & 0x3F)));
    }
  }
  return out;
}

// The byte offset of the first byte of `text` that does not start a valid
// UTF-8 sequence (overlong forms, surrogates and code points above U+10FFFF
// are invalid), or -1 if all of it is valid.
int64_t FindInvalidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t code_point;
    uint32_t smallest;
    if ((lead & 0xE0) == 0xC0) {
      length = 2, code_point = lead & 0x1F, smallest = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, code_point = lead & 0x0F, smallest = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, code_point = lead & 0x07, smallest = 0x10000;
    } else {
      return static_cast<int64_t>(i);
    }
    if (i + length > text.size()) return static_cast<int64_t>(i);
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return static_cast<int64_t>(i);
      code_point = (code_point << 6) | (next & 0x3F);
    }
    if (code_point < smallest || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return static_cast<int64_t>(i);
    }
    i += length;
  }
  return -1;
}

// Splits RFC 4180 CSV `text` (ml-latest's dialect: a field with ',' or '"'
// is quoted, an inner '"' doubled; "\n" or "\r\n" ends a record) into rows.
// Blank lines are skipped; a leading UTF-8 byte order mark is ignored.
absl::StatusOr<std::vector<Row>> ParseCsv(const std::string& path,
                                          absl::string_view text) {
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");
  constexpr absl::string_view kHint =
      "; MovieLens CSV quotes a field that contains ',' or '\"' and doubles "
      "each '\"' inside it";
  std::vector<Row> rows;
  const size_t n = text.size();
  size_t i = 0;
  int64_t line = 1;
  while (i < n) {
    if (text[i] == '\n' || absl::StartsWith(text.substr(i), "\r\n")) {
      i += text[i] == '\n' ? 1 : 2;
      ++line;
      continue;
    }
    Row row;
    row.line = line;
    while (true) {  // One field per iteration.
      std::string field;
      if (i < n && text[i] == '"') {
        ++i;
        while (true) {
          if (i >= n) {
            return RowError(
                path, row.line,
                absl::StrCat("a quoted field is never closed", kHint));
          }
          const char c = text[i++];
          if (c == '"') {
            if (i < n && text[i] == '"') {
              field.push_back('"');
              ++i;
              continue;
            }
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (text[i] == '"') {
            return RowError(
                path, row.line,
                absl::StrCat("a '\"' inside an unquoted field", kHint));
          }
          field.push_back(text[i++]);
        }
      }
      row.fields.push_back(std::move(field));
      if (i >= n) break;
      if (text[i] == ',') {
        ++i;
        continue;
      }
      if (text[i] == '\n' || absl::StartsWith(text.substr(i), "\r\n")) {
        i += text[i] == '\n' ? 1 : 2;
        ++line;
        break;
      }
      return RowError(path, row.line,
                      absl::StrCat("unexpected ", Quote(text.substr(i, 1)),
                                   " after a field", kHint));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// Splits `text` into lines ("\n" or "\r\n") and each line at `delimiter`
// (ml-100k's and ml-1m's formats: no quoting). Blank lines are skipped.
std::vector<Row> ParseDelimited(absl::string_view text,
                                absl::string_view delimiter) {
  std::vector<Row> rows;
  int64_t line = 0;
  for (absl::string_view text_line : absl::StrSplit(text, '\n')) {
    ++line;
    absl::ConsumeSuffix(&text_line, "\r");
    if (text_line.empty()) continue;
    Row row;
    row.line = line;
    row.fields = absl::StrSplit(text_line, delimiter);
    rows.push_back(std::move(row));
  }
  return rows;
}

// Reads `path` as CSV and checks (then drops) its header row.
absl::StatusOr<std::vector<Row>> ReadCsvTable(const std::string& path,
                                              absl::string_view header) {
  RECSYS_ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  RECSYS_ASSIGN_OR_RETURN(std::vector<Row> rows, ParseCsv(path, text));
  if (rows.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     ": the file is empty; its first line must be the "
                     "header \"",
                     header, "\""));
  }
  const std::string found = absl::StrJoin(rows.front().fields, ",");
  if (found != header) {
    return RowError(
        path, rows.front().line,
        absl::StrCat("header is ", Quote(found), " but must be \"", header,
                     "\" (is this an ml-latest directory?)"));
  }
  rows.erase(rows.begin());
  return rows;
}

// Reads `path` as `delimiter`-separated lines, converting Latin-1 text to
// UTF-8 first when `latin1`.
absl::StatusOr<std::vector<Row>> ReadDelimitedTable(const std::string& path,
                                                    absl::string_view delimiter,
                                                    bool latin1) {
  RECSYS_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (latin1) text = Latin1ToUtf8(text);
  return ParseDelimited(text, delimiter);
}

// ---------------------------------------------------------------------------
// Parsing fields. Each check names the file, line and column.

class RowParser : public RowLocation {
 public:
  RowParser(const std::string& path, const Row& row)
      : RowLocation(path, row.line), row_(row) {}

  absl::Status ExpectColumns(size_t count, absl::string_view names) const {
    if (row_.fields.size() == count) return absl::OkStatus();
    return Error(absl::StrCat("expected ", count, " columns (", names,
                              ") but found ", row_.fields.size()));
  }

  // A non-negative decimal integer (IDs, Unix seconds, ages).
  absl::Status Integer(size_t index, absl::string_view column,
                       int64_t* out) const {
    const std::string& text = row_.fields[index];
    if (text.empty() || !absl::c_all_of(text, absl::ascii_isdigit) ||
        !absl::SimpleAtoi(text, out)) {
      return ColumnError(column, absl::StrCat(Quote(text),
                                              " is not a non-negative "
                                              "integer"));
    }
    return absl::OkStatus();
  }

  // A rating in [0, 5] ("4", "3.5").
  absl::Status Rating(size_t index, absl::string_view column,
                      double* out) const {
    const std::string& text = row_.fields[index];
    if (!absl::SimpleAtod(text, out) || !(*out >= 0 && *out <= 5)) {
      return ColumnError(column, absl::StrCat(Quote(text),
                                              " is not a rating from 0 "
                                              "to 5"));
    }
    return absl::OkStatus();
  }

  // Text that must be valid UTF-8 (ml-latest's titles, genres and tags).
  absl::Status Utf8(size_t index, absl::string_view column) const {
    const std::string& text = row_.fields[index];
    const int64_t bad = FindInvalidUtf8(text);
    if (bad < 0) return absl::OkStatus();
    return ColumnError(
        column, absl::StrCat(Quote(text), " is not valid UTF-8 (at byte ", bad,
                             "); re-encode the file as UTF-8"));
  }

  // "F" -> "female", "M" -> "male".
  absl::Status Gender(size_t index, absl::string_view column,
                      std::string* out) const {
    const std::string& text = row_.fields[index];
    if (text == "F") {
      *out = "female";
    } else if (text == "M") {
      *out = "male";
    } else {
      return ColumnError(column, absl::StrCat(Quote(text), " is not F or M"));
    }
    return absl::OkStatus();
  }

  // '|'-separated genre labels, none empty; `none` (if non-empty) means no
  // genres.
  absl::Status Genres(size_t index, absl::string_view column,
                      absl::string_view none,
                      std::vector<std::string>* out) const {
    const std::string& text = row_.fields[index];
    out->clear();
    if (text.empty() || (!none.empty() && text == none))
      return absl::OkStatus();
    *out = absl::StrSplit(text, '|');
    for (const std::string& genre : *out) {
      if (genre.empty()) {
        return ColumnError(column, absl::StrCat(Quote(text),
                                                " has an empty genre; "
                                                "separate genres by one "
                                                "'|'"));
      }
    }
    return absl::OkStatus();
  }

  const std::string& field(size_t index) const { return row_.fields[index]; }

 private:
  const Row& row_;
};

// ---------------------------------------------------------------------------
// The layouts, read into one intermediate form.

struct Movie {
  int64_t id = 0;
  std::string title;
  std::vector<std::string> genres;
};

struct Rating {
  int64_t user_id = 0;
  int64_t movie_id = 0;
  double rating = 0;
  int64_t time_s = 0;
};

struct Tag {
  int64_t user_id = 0;
  int64_t time_s = 0;
  std::string text;
};

// A user of a users file (100k, 1m), already in canonical form but for the
// ID.
struct User {
  int64_t id = 0;
  UserRecord record;
};

struct MovieLensData {
  std::vector<Movie> movies;
  // Empty for ml-latest, which has no users file.
  std::vector<User> users;
  bool has_users_file = false;
  std::vector<Rating> ratings;
  std::vector<Tag> tags;
};

std::string JoinPath(const std::string& dir, absl::string_view file) {
  return (std::filesystem::path(dir) / std::string(file)).string();
}

// "zip<d>" for a zip code that starts with digit d, else "".
std::string RegionFromZip(absl::string_view zip) {
  if (zip.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(zip[0]))) {
    return "";
  }
  return absl::StrCat("zip", zip.substr(0, 1));
}

// Checks that IDs of a movies or users file are unique; remembers them.
absl::Status AddUniqueId(const RowParser& parser, absl::string_view column,
                         int64_t id, absl::flat_hash_set<int64_t>* ids) {
  if (ids->insert(id).second) return absl::OkStatus();
  return parser.ColumnError(column, absl::StrCat(id, " appears twice"));
}

// Reads the rating rows `rows` of `path` whose columns are user, movie,
// rating, timestamp (named `names`), checking references to `movie_ids`
// and, when `user_ids` is given, to it.
absl::Status ReadRatings(const std::string& path, const std::vector<Row>& rows,
                         absl::string_view names,
                         const absl::flat_hash_set<int64_t>& movie_ids,
                         const absl::flat_hash_set<int64_t>* user_ids,
                         std::vector<Rating>* ratings) {
  const std::vector<std::string> columns = absl::StrSplit(names, ',');
  ratings->reserve(rows.size());
  for (const Row& row : rows) {
    RowParser parser(path, row);
    RECSYS_RETURN_IF_ERROR(parser.ExpectColumns(4, names));
    Rating rating;
    RECSYS_RETURN_IF_ERROR(parser.Integer(0, columns[0], &rating.user_id));
    RECSYS_RETURN_IF_ERROR(parser.Integer(1, columns[1], &rating.movie_id));
    RECSYS_RETURN_IF_ERROR(parser.Rating(2, columns[2], &rating.rating));
    RECSYS_RETURN_IF_ERROR(parser.Integer(3, columns[3], &rating.time_s));
    if (!movie_ids.contains(rating.movie_id)) {
      return parser.ColumnError(
          columns[1], absl::StrCat("unknown movie ", rating.movie_id,
                                   "; it must be in the movies file"));
    }
    if (user_ids != nullptr && !user_ids->contains(rating.user_id)) {
      return parser.ColumnError(columns[0],
                                absl::StrCat("unknown user ", rating.user_id,
                                             "; it must be in the users file"));
    }
    ratings->push_back(rating);
  }
  return absl::OkStatus();
}

absl::StatusOr<MovieLensData> ReadLatest(const std::string& dir) {
  MovieLensData data;
  absl::flat_hash_set<int64_t> movie_ids;

  const std::string movies_path = JoinPath(dir, "movies.csv");
  RECSYS_ASSIGN_OR_RETURN(const std::vector<Row> movie_rows,
                          ReadCsvTable(movies_path, "movieId,title,genres"));
  for (const Row& row : movie_rows) {
    RowParser parser(movies_path, row);
    RECSYS_RETURN_IF_ERROR(parser.ExpectColumns(3, "movieId,title,genres"));
    Movie movie;
    RECSYS_RETURN_IF_ERROR(parser.Integer(0, "movieId", &movie.id));
    RECSYS_RETURN_IF_ERROR(
        AddUniqueId(parser, "movieId", movie.id, &movie_ids));
    RECSYS_RETURN_IF_ERROR(parser.Utf8(1, "title"));
    RECSYS_RETURN_IF_ERROR(parser.Utf8(2, "genres"));
    movie.title = parser.field(1);
    RECSYS_RETURN_IF_ERROR(
        parser.Genres(2, "genres", kNoGenres, &movie.genres));
    data.movies.push_back(std::move(movie));
  }

  const std::string ratings_path = JoinPath(dir, "ratings.csv");
  constexpr char kRatingColumns[] = "userId,movieId,rating,timestamp";
  RECSYS_ASSIGN_OR_RETURN(const std::vector<Row> rating_rows,
                          ReadCsvTable(ratings_path, kRatingColumns));
  RECSYS_RETURN_IF_ERROR(ReadRatings(ratings_path, rating_rows, kRatingColumns,
                                     movie_ids, nullptr, &data.ratings));

  const std::string tags_path = JoinPath(dir, "tags.csv");
  if (!FileExists(tags_path)) return data;
  constexpr char kTagColumns[] = "userId,movieId,tag,timestamp";
  RECSYS_ASSIGN_OR_RETURN(const std::vector<Row> tag_rows,
                          ReadCsvTable(tags_path, kTagColumns));
  for (const Row& row : tag_rows) {
    RowParser parser(tags_path, row);
    RECSYS_RETURN_IF_ERROR(parser.ExpectColumns(4, kTagColumns));
    Tag tag;
    int64_t movie_id = 0;
    RECSYS_RETURN_IF_ERROR(parser.Integer(0, "userId", &tag.user_id));
    RECSYS_RETURN_IF_ERROR(parser.Integer(1, "movieId", &movie_id));
    RECSYS_RETURN_IF_ERROR(parser.Utf8(2, "tag"));
    RECSYS_RETURN_IF_ERROR(parser.Integer(3, "timestamp", &tag.time_s));
    if (!movie_ids.contains(movie_id)) {
      return parser.ColumnError("movieId",
                                absl::StrCat("unknown movie ", movie_id,
                                             "; it must be in movies.csv"));
    }
    tag.text = parser.field(2);
    if (tag.text.empty()) {
      return parser.ColumnError("tag",
                                "is empty; a tag becomes a search "
                                "query, which must have text");
    }
    data.tags.push_back(std::move(tag));
  }
  return data;
}

absl::StatusOr<MovieLensData> Read100k(const std::string& dir) {
  MovieLensData data;
  data.has_users_file = true;
  absl::flat_hash_set<int64_t> movie_ids;
  absl::flat_hash_set<int64_t> user_ids;

  const std::string items_path = JoinPath(dir, "u.item");
  RECSYS_ASSIGN_OR_RETURN(const std::vector<Row> item_rows,
                          ReadDelimitedTable(items_path, "|", /*latin1=*/true));
  for (const Row& row : item_rows) {
    RowParser parser(items_path, row);
    RECSYS_RETURN_IF_ERROR(parser.ExpectColumns(
        k100kItemColumns,
        "movie id|movie title|release date|video release date|IMDb URL|"
        "19 genre flags"));
    Movie movie;
    RECSYS_RETURN_IF_ERROR(parser.Integer(0, "movie id", &movie.id));
    RECSYS_RETURN_IF_ERROR(
        AddUniqueId(parser, "movie id", movie.id, &movie_ids));
    movie.title = parser.field(1);
    for (int g = 0; g < kNum100kGenres; ++g) {
      const std::string& flag = parser.field(5 + g);
      if (flag != "0" && flag != "1") {
        return parser.ColumnError(
            absl::StrCat("genre ", k100kGenres[g]),
            absl::StrCat(Quote(flag), " is not a 0/1 flag"));
      }
      if (flag == "1" && g > 0) movie.genres.emplace_back(k100kGenres[g]);
    }
    data.movies.push_back(std::move(movie));
  }

  const std::string users_path = JoinPath(dir, "u.user");
  RECSYS_ASSIGN_OR_RETURN(
      const std::vector<Row> user_rows,
      ReadDelimitedTable(users_path, "|", /*latin1=*/false));
  constexpr char kUserColumns[] = "user id|age|gender|occupation|zip code";
  for (const Row& row : user_rows) {
    RowParser parser(users_path, row);
    RECSYS_RETURN_IF_ERROR(parser.ExpectColumns(5, kUserColumns));
    User user;
    int64_t age = 0;
    RECSYS_RETURN_IF_ERROR(parser.Integer(0, "user id", &user.id));
    RECSYS_RETURN_IF_ERROR(AddUniqueId(parser, "user id", user.id, &user_ids));
    RECSYS_RETURN_IF_ERROR(parser.Integer(1, "age", &age));
    if (age > 150) {
      return parser.ColumnError("age", absl::StrCat(age, " is above 150"));
    }
    RECSYS_RETURN_IF_ERROR(parser.Gender(2, "gender", &user.record.gender));
    user.record.age = static_cast<int32_t>(age);
    user.record.region = RegionFromZip(parser.field(4));
    data.users.push_back(std::move(user));
  }

  const std::string ratings_path = JoinPath(dir, "u.data");
  RECSYS_ASSIGN_OR_RETURN(
      const std::vector<Row> rating_rows,
      ReadDelimitedTable(ratings_path, "\t", /*latin1=*/false));
  RECSYS_RETURN_IF_ERROR(ReadRatings(ratings_path, rating_rows,
                                     "user id,item id,rating,timestamp",
                                     movie_ids, &user_ids, &data.ratings));
  return data;
}

absl::StatusOr<MovieLensData> Read1m(const std::string& dir) {
  MovieLensData data;
  data.has_users_file = true;
  absl::flat_hash_set<int64_t> movie_ids;
  absl::flat_hash_set<int64_t> user_ids;

  const std::string movies_path = JoinPath(dir, "movies.dat");
  RECSYS_ASSIGN_OR_RETURN(
      const std::vector<Row> movie_rows,
      ReadDelimitedTable(movies_path, "::", /*latin1=*/true));
  for (const Row& row : movie_rows) {
    RowParser parser(movies_path, row);
    RECSYS_RETURN_IF_ERROR(parser.ExpectColumns(3, "MovieID::Title::Genres"));
    Movie movie;
    RECSYS_RETURN_IF_ERROR(parser.Integer(0, "MovieID", &movie.id));
    RECSYS_RETURN_IF_ERROR(
        AddUniqueId(parser, "MovieID", movie.id, &movie_ids));
    movie.title = parser.field(1);
    RECSYS_RETURN_IF_ERROR(parser.Genres(2, "Genres", "", &movie.genres));
    data.movies.push_back(std::move(movie));
  }

  const std::string users_path = JoinPath(dir, "users.dat");
  RECSYS_ASSIGN_OR_RETURN(
      const std::vector<Row> user_rows,
      ReadDelimitedTable(users_path, "::", /*latin1=*/false));
  for (const Row& row : user_rows) {
    RowParser parser(users_path, row);
    RECSYS_RETURN_IF_ERROR(
        parser.ExpectColumns(5, "UserID::Gender::Age::Occupation::Zip-code"));
    User user;
    int64_t age_code = 0;
    RECSYS_RETURN_IF_ERROR(parser.Integer(0, "UserID", &user.id));
    RECSYS_RETURN_IF_ERROR(AddUniqueId(parser, "UserID", user.id, &user_ids));
    RECSYS_RETURN_IF_ERROR(parser.Gender(1, "Gender", &user.record.gender));
    RECSYS_RETURN_IF_ERROR(parser.Integer(2, "Age", &age_code));
    if (!absl::c_linear_search(k1mAgeCodes, age_code)) {
      return parser.ColumnError(
          "Age", absl::StrCat(age_code,
                              " is not an ml-1m age code (1, 18, 25, 35, "
                              "45, 50, 56)"));
    }
    user.record.age =
        age_code == 1 ? k1mUnder18Age : static_cast<int32_t>(age_code);
    user.record.region = RegionFromZip(parser.field(4));
    data.users.push_back(std::move(user));
  }

  const std::string ratings_path = JoinPath(dir, "ratings.dat");
  RECSYS_ASSIGN_OR_RETURN(
      const std::vector<Row> rating_rows,
      ReadDelimitedTable(ratings_path, "::", /*latin1=*/false));
  RECSYS_RETURN_IF_ERROR(ReadRatings(ratings_path, rating_rows,
                                     "UserID,MovieID,Rating,Timestamp",
                                     movie_ids, &user_ids, &data.ratings));
  return data;
}

// ---------------------------------------------------------------------------
// The mapping to canonical logs.

std::string VideoId(int64_t movie_id) { return absl::StrCat("m", movie_id); }
std::string UserId(int64_t user_id) { return absl::StrCat("u", user_id); }

// The release year at the end of a MovieLens title: "Heat (1995)" -> 1995,
// "Death Note: Desu nôto (2006–2007)" -> 2006; nullopt when there is none.
std::optional<int> TitleYear(absl::string_view title) {
  title = absl::StripTrailingAsciiWhitespace(title);
  if (!absl::ConsumeSuffix(&title, ")")) return std::nullopt;
  const size_t open = title.rfind('(');
  if (open == absl::string_view::npos) return std::nullopt;
  absl::string_view inside = title.substr(open + 1);
  int year = 0;
  if (inside.size() < 4 ||
      !absl::c_all_of(inside.substr(0, 4), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(inside.substr(0, 4), &year)) {
    return std::nullopt;
  }
  absl::string_view rest = inside.substr(4);
  // A range of years: "-" or an en dash, then digits (or nothing).
  if (!rest.empty() && !absl::ConsumePrefix(&rest, "-") &&
      !absl::ConsumePrefix(&rest, "\xE2\x80\x93")) {
    return std::nullopt;
  }
  if (!absl::c_all_of(rest, absl::ascii_isdigit)) return std::nullopt;
  return year;
}

int64_t JanuaryFirstUtc(int year) {
  return absl::ToUnixSeconds(absl::FromCivil(
      absl::CivilSecond(year, 1, 1, 0, 0, 0), absl::UTCTimeZone()));
}

Logs ToLogs(MovieLensData data, const MovieLensImportOptions& options,
            MovieLensImportStats* stats) {
  Logs logs;

  absl::flat_hash_map<int64_t, int64_t> first_rating_s;
  for (const Rating& r : data.ratings) {
    auto [it, inserted] = first_rating_s.try_emplace(r.movie_id, r.time_s);
    if (!inserted) it->second = std::min(it->second, r.time_s);
  }

  absl::c_sort(data.movies,
               [](const Movie& a, const Movie& b) { return a.id < b.id; });
  logs.videos.reserve(data.movies.size());
  for (Movie& movie : data.movies) {
    VideoRecord video;
    video.video_id = VideoId(movie.id);
    video.title = std::move(movie.title);
    video.channel_id = kChannelId;
    video.topics = absl::StrJoin(movie.genres, "|");
    video.duration_s = options.nominal_duration_s;
    std::optional<int64_t> upload_s;
    if (const std::optional<int> year = TitleYear(video.title)) {
      upload_s = JanuaryFirstUtc(*year);
    }
    if (auto it = first_rating_s.find(movie.id); it != first_rating_s.end()) {
      upload_s =
          upload_s.has_value() ? std::min(*upload_s, it->second) : it->second;
    }
    video.upload_time_s = std::max<int64_t>(0, upload_s.value_or(0));
    logs.videos.push_back(std::move(video));
  }

  if (data.has_users_file) {
    absl::c_sort(data.users,
                 [](const User& a, const User& b) { return a.id < b.id; });
    for (User& user : data.users) {
      user.record.user_id = UserId(user.id);
      user.record.logged_in = true;
      logs.users.push_back(std::move(user.record));
    }
  } else {
    std::set<int64_t> user_ids;
    for (const Rating& r : data.ratings) user_ids.insert(r.user_id);
    for (const Tag& t : data.tags) user_ids.insert(t.user_id);
    for (int64_t id : user_ids) {
      UserRecord user;
      user.user_id = UserId(id);
      user.logged_in = true;
      logs.users.push_back(std::move(user));
    }
  }

  absl::c_stable_sort(data.ratings, [](const Rating& a, const Rating& b) {
    return std::tie(a.time_s, a.user_id, a.movie_id) <
           std::tie(b.time_s, b.user_id, b.movie_id);
  });
  logs.watches.reserve(data.ratings.size());
  for (const Rating& r : data.ratings) {
    WatchRecord watch;
    watch.user_id = UserId(r.user_id);
    watch.video_id = VideoId(r.movie_id);
    watch.time_s = r.time_s;
    watch.watch_seconds =
        static_cast<float>(options.nominal_duration_s * r.rating / 5.0);
    logs.watches.push_back(std::move(watch));
  }

  absl::c_stable_sort(data.tags, [](const Tag& a, const Tag& b) {
    return std::tie(a.time_s, a.user_id) < std::tie(b.time_s, b.user_id);
  });
  for (Tag& t : data.tags) {
    SearchRecord search;
    search.user_id = UserId(t.user_id);
    search.time_s = t.time_s;
    search.query = std::move(t.text);
    logs.searches.push_back(std::move(search));
  }

  if (stats != nullptr) {
    stats->ratings = static_cast<int64_t>(logs.watches.size());
    stats->movies = static_cast<int64_t>(logs.videos.size());
    stats->rated_movies = static_cast<int64_t>(first_rating_s.size());
    stats->users = static_cast<int64_t>(logs.users.size());
    stats->tags = static_cast<int64_t>(logs.searches.size());
  }
  return logs;
}

}  // namespace

absl::string_view MovieLensLayoutName(MovieLensLayout layout) {
  switch (layout) {
    case MovieLensLayout::kAuto:
      return "auto";
    case MovieLensLayout::kLatest:
      return "latest";
    case MovieLensLayout::k100k:
      return "100k";
    case MovieLensLayout::k1m:
      return "1m";
  }
  return "unknown";
}

absl::StatusOr<MovieLensLayout> ParseMovieLensLayout(absl::string_view name) {
  for (MovieLensLayout layout :
       {MovieLensLayout::kAuto, MovieLensLayout::kLatest,
        MovieLensLayout::k100k, MovieLensLayout::k1m}) {
    if (name == MovieLensLayoutName(layout)) return layout;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown MovieLens layout ", Quote(name),
                   "; use auto, latest, 100k or 1m"));
}

absl::StatusOr<MovieLensLayout> DetectMovieLensLayout(const std::string& dir) {
  if (FileExists(JoinPath(dir, "ratings.csv"))) return MovieLensLayout::kLatest;
  if (FileExists(JoinPath(dir, "u.data"))) return MovieLensLayout::k100k;
  if (FileExists(JoinPath(dir, "ratings.dat"))) return MovieLensLayout::k1m;
  return absl::NotFoundError(absl::StrCat(
      dir,
      ": not a MovieLens directory: it has none of ratings.csv "
      "(ml-latest, ml-latest-small), u.data (ml-100k), ratings.dat (ml-1m)"));
}

absl::StatusOr<Logs> ImportMovieLens(const std::string& dir,
                                     const MovieLensImportOptions& options,
                                     MovieLensImportStats* stats) {
  if (!(options.nominal_duration_s > 0)) {
    return absl::InvalidArgumentError(
        "nominal_duration_s must be positive (seconds)");
  }
  MovieLensLayout layout = options.layout;
  if (layout == MovieLensLayout::kAuto) {
    RECSYS_ASSIGN_OR_RETURN(layout, DetectMovieLensLayout(dir));
  }
  absl::StatusOr<MovieLensData> data;
  switch (layout) {
    case MovieLensLayout::kLatest:
      data = ReadLatest(dir);
      break;
    case MovieLensLayout::k100k:
      data = Read100k(dir);
      break;
    case MovieLensLayout::k1m:
      data = Read1m(dir);
      break;
    case MovieLensLayout::kAuto:
      return absl::InternalError("layout not resolved");
  }
  if (!data.ok()) return data.status();
  MovieLensImportStats local_stats;
  Logs logs = ToLogs(*std::move(data), options, &local_stats);
  // Everything was checked on the way in; this catches what the canonical
  // format forbids beyond that, before a writer would.
  RECSYS_RETURN_IF_ERROR(ValidateLogs(logs));
  local_stats.layout = layout;
  if (stats != nullptr) *stats = local_stats;
  return logs;
}

}  // namespace recsys
