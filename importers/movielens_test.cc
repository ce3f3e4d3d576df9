#include "importers/movielens.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/logs/logs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "importers/test_util.h"

namespace recsys {
namespace {

using ::recsys::testing::CopyFixtureWith;
using ::recsys::testing::Lines;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The fixtures, relative to the test's working directory (the runfiles
// root).
constexpr char kFixtures[] = "importers/testdata/movielens";

std::string Fixture(const std::string& layout) {
  return absl::StrCat(kFixtures, "/", layout);
}

absl::Status ImportError(const std::string& dir) {
  return ImportMovieLens(dir, MovieLensImportOptions()).status();
}

TEST(MovieLensLayoutTest, NamesRoundTripAndDetect) {
  for (MovieLensLayout layout :
       {MovieLensLayout::kAuto, MovieLensLayout::kLatest,
        MovieLensLayout::k100k, MovieLensLayout::k1m}) {
    absl::StatusOr<MovieLensLayout> parsed =
        ParseMovieLensLayout(MovieLensLayoutName(layout));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, layout);
  }
  EXPECT_EQ(ParseMovieLensLayout("25m").status().code(),
            absl::StatusCode::kInvalidArgument);

  EXPECT_EQ(*DetectMovieLensLayout(Fixture("latest")),
            MovieLensLayout::kLatest);
  EXPECT_EQ(*DetectMovieLensLayout(Fixture("100k")), MovieLensLayout::k100k);
  EXPECT_EQ(*DetectMovieLensLayout(Fixture("1m")), MovieLensLayout::k1m);
  absl::Status missing = DetectMovieLensLayout(kFixtures).status();
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("u.data (ml-100k)"));
}

TEST(ImportMovieLensTest, LatestLayout) {
  MovieLensImportStats stats;
  absl::StatusOr<Logs> logs =
      ImportMovieLens(Fixture("latest"), MovieLensImportOptions(), &stats);
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_EQ(stats.layout, MovieLensLayout::kLatest);
  EXPECT_EQ(stats.ratings, 9);
  EXPECT_EQ(stats.movies, 9);
  EXPECT_EQ(stats.rated_movies, 8);
  EXPECT_EQ(stats.users, 4);
  EXPECT_EQ(stats.tags, 3);

  // Upload: Jan 1 of the title's year (1995 = 788918400), or the first
  // rating when earlier or there is no year; pre-1970 years clamp to 0.
  EXPECT_THAT(
      Lines(logs->videos),
      ElementsAre(
          "m1|Toy Story (1995)|ml|Adventure|Animation|Children|Comedy||"
          "788918400|6000",
          "m2|American President, The (1995)|ml|Comedy|Drama|Romance||"
          "788918400|6000",
          "m3|Misérables, Les (1995)|ml|Drama|War||788918400|6000",
          "m4|Babylon 5|ml|||1445715000|6000",
          "m5|Metropolis (1927)|ml|Drama|Sci-Fi||0|6000",
          "m6|Never Rated (2001)|ml|Drama||978307200|6000",
          "m7|11'09\"01 - September 11 (2002)|ml|Drama||1009843200|6000",
          "m8|Death Note: Desu nôto (2006–2007)|ml|Animation||1136073600|"
          "6000",
          "m9|Future Film (2030)|ml|Drama||964982000|6000"));
  // No demographics in ml-latest; user 4 only tagged.
  EXPECT_THAT(Lines(logs->users), ElementsAre("u1||||0|1|", "u2||||0|1|",
                                              "u3||||0|1|", "u4||||0|1|"));
  // watch_seconds = 6000 * rating / 5, in time order (ties by user, movie).
  EXPECT_THAT(Lines(logs->watches),
              ElementsAre("u1|m2|964981247|6000", "u1|m9|964982000|3600",
                          "u1|m5|964982224|600", "u1|m1|964982701|4800",
                          "u3|m7|1306463578|5400", "u3|m8|1306463578|3600",
                          "u2|m1|1445714835|4200", "u2|m3|1445714994|6000",
                          "u2|m4|1445715000|2400"));
  EXPECT_THAT(Lines(logs->searches),
              ElementsAre("u4|1137206825|pixar", "u2|1445714996|musical",
                          "u2|1445714998|\"artsy\", sad"));
  EXPECT_TRUE(logs->impressions.empty());
}

TEST(ImportMovieLensTest, WrittenLogsReadBackIdentical) {
  absl::StatusOr<Logs> logs =
      ImportMovieLens(Fixture("latest"), MovieLensImportOptions());
  ASSERT_TRUE(logs.ok()) << logs.status();
  const std::string out = ::testing::TempDir() + "/movielens_written";
  ASSERT_TRUE(WriteLogs(out, *logs).ok());
  absl::StatusOr<Logs> read = ReadLogs(out);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(Lines(*read), Lines(*logs));
}

TEST(ImportMovieLensTest, Layout100k) {
  MovieLensImportOptions options;
  options.layout = MovieLensLayout::k100k;
  MovieLensImportStats stats;
  absl::StatusOr<Logs> logs = ImportMovieLens(Fixture("100k"), options, &stats);
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_EQ(stats.layout, MovieLensLayout::k100k);
  EXPECT_EQ(stats.tags, 0);
  // Latin-1 "\xe9" becomes UTF-8 "é"; the "unknown" genre flag is no topic.
  EXPECT_THAT(
      Lines(logs->videos),
      ElementsAre(
          "m1|Toy Story (1995)|ml|Animation|Children's|Comedy||788918400|6000",
          "m2|GoldenEye (1995)|ml|Action|Adventure|Thriller||788918400|6000",
          "m3|Misérables, Les (1995)|ml|Drama|Musical||788918400|6000",
          "m267|unknown|ml|||875071561|6000"));
  EXPECT_THAT(Lines(logs->users),
              ElementsAre("u1|zip8||male|24|1|", "u2|zip9||female|53|1|",
                          "u3|||male|23|1|"));
  EXPECT_THAT(Lines(logs->watches),
              ElementsAre("u1|m1|874965758|6000", "u1|m267|875071561|1200",
                          "u2|m3|876893171|4800", "u3|m2|878542960|3600"));
  EXPECT_TRUE(logs->searches.empty());
}

TEST(ImportMovieLensTest, Layout1m) {
  MovieLensImportStats stats;
  absl::StatusOr<Logs> logs =
      ImportMovieLens(Fixture("1m"), MovieLensImportOptions(), &stats);
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_EQ(stats.layout, MovieLensLayout::k1m);
  EXPECT_THAT(
      Lines(logs->videos),
      ElementsAre(
          "m1|Toy Story (1995)|ml|Animation|Children's|Comedy||788918400|6000",
          "m2|Misérables, Les (1995)|ml|Drama|Musical||788918400|6000",
          "m3|Heat (1995)|ml|Action|Crime|Thriller||788918400|6000"));
  // Age code 1 ("Under 18") is written as 17; the others as they are.
  EXPECT_THAT(Lines(logs->users),
              ElementsAre("u1|zip4||female|17|1|", "u2|zip7||male|56|1|",
                          "u3|zip5||male|25|1|"));
  EXPECT_THAT(Lines(logs->watches),
              ElementsAre("u2|m2|978300760|3600", "u3|m3|978301968|2400",
                          "u3|m1|978302109|4800", "u1|m1|978824268|6000"));
}

TEST(ImportMovieLensTest, NominalDurationScalesWatchTime) {
  MovieLensImportOptions options;
  options.nominal_duration_s = 100;
  absl::StatusOr<Logs> logs = ImportMovieLens(Fixture("1m"), options);
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_EQ(logs->videos[0].duration_s, 100);
  EXPECT_EQ(logs->watches[0].watch_seconds, 60);  // Rating 3.

  options.nominal_duration_s = 0;
  EXPECT_EQ(ImportMovieLens(Fixture("1m"), options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Each malformed input names the file and the 1-based line of the record.
struct MalformedCase {
  std::string layout;
  std::string file;
  std::string contents;
  std::string expected;  // A substring of the error message.
};

TEST(ImportMovieLensTest, MalformedRowsNameFileAndLine) {
  const std::vector<MalformedCase> cases = {
      // Blank lines count.
      {"latest", "ratings.csv",
       "userId,movieId,rating,timestamp\n1,1,4.0,1\n\n1,abc,4.0,2\n",
       "ratings.csv:4: column 'movieId': \"abc\" is not a non-negative "
       "integer"},
      {"latest", "ratings.csv",
       "userId,movieId,rating,timestamp\r\n1,42,4.0,1\r\n",
       "ratings.csv:2: column 'movieId': unknown movie 42"},
      {"latest", "ratings.csv", "userId,movieId,rating,timestamp\n1,1,7,1\n",
       "ratings.csv:2: column 'rating': \"7\" is not a rating from 0 to 5"},
      {"latest", "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4,-5\n",
       "ratings.csv:2: column 'timestamp'"},
      {"latest", "ratings.csv", "userId,movieId,rating,timestamp\n1,1,4\n",
       "ratings.csv:2: expected 4 columns"},
      {"latest", "ratings.csv", "user,movie,rating,time\n1,1,4,1\n",
       "ratings.csv:1: header is \"user,movie,rating,time\""},
      // A quoted title spanning two lines: the next record starts on line 4.
      {"latest", "movies.csv",
       "movieId,title,genres\n1,\"Two\nLines (1995)\",Drama\n2,Bad,Drama|\n",
       "movies.csv:4: column 'genres': \"Drama|\" has an empty genre"},
      {"latest", "movies.csv",
       "movieId,title,genres\n1,Toy Story (1995),Comedy\n2,\"Open,Drama\n",
       "movies.csv:3: a quoted field is never closed"},
      {"latest", "movies.csv", "movieId,title,genres\n1,Toy \"Story\",Comedy\n",
       "movies.csv:2: a '\"' inside an unquoted field"},
      {"latest", "movies.csv",
       "movieId,title,genres\n1,Toy Story (1995),Comedy\n1,Again,Drama\n",
       "movies.csv:3: column 'movieId': 1 appears twice"},
      {"latest", "movies.csv", "movieId,title,genres\n1,Caf\xe9,Comedy\n",
       "movies.csv:2: column 'title': \"Caf\\xe9\" is not valid UTF-8"},
      {"latest", "tags.csv", "userId,movieId,tag,timestamp\n1,1,,5\n",
       "tags.csv:2: column 'tag': is empty"},
      {"100k", "u.data", "1\t1\t5\t874965758\n2\t3\t4\n",
       "u.data:2: expected 4 columns"},
      {"100k", "u.data", "1\t1\t5\t874965758\n9\t3\t4\t876893171\n",
       "u.data:2: column 'user id': unknown user 9"},
      {"100k", "u.user", "1|24|X|technician|85711\n",
       "u.user:1: column 'gender': \"X\" is not F or M"},
      {"100k", "u.item", "1|Toy Story (1995)|||url|0|0|2\n",
       "u.item:1: expected 24 columns"},
      {"1m", "users.dat", "1::F::1::10::48067\n2::M::30::16::70072\n",
       "users.dat:2: column 'Age': 30 is not an ml-1m age code"},
      {"1m", "ratings.dat", "1::1::5::978824268\n1::1::5\n",
       "ratings.dat:2: expected 4 columns"},
  };
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.file + ": " + c.contents);
    absl::Status status =
        ImportError(CopyFixtureWith(Fixture(c.layout), {{c.file, c.contents}}));
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr(c.expected));
  }
}

TEST(ImportMovieLensTest, MissingFiles) {
  const std::string dir = CopyFixtureWith(Fixture("latest"), {});
  std::filesystem::remove(std::filesystem::path(dir) / "movies.csv");
  absl::Status status = ImportError(dir);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("movies.csv: no such file"));

  // tags.csv is optional.
  const std::string no_tags = CopyFixtureWith(Fixture("latest"), {});
  std::filesystem::remove(std::filesystem::path(no_tags) / "tags.csv");
  absl::StatusOr<Logs> logs = ImportMovieLens(no_tags, {});
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_TRUE(logs->searches.empty());
  EXPECT_EQ(logs->users.size(), 3);  // u4 only tagged.
}

// The real ml-latest-small, when the shared data directory is passed in
// (./recsys test does; by hand: --test_env=RECSYS_SHARED_DATA=/abs/data).
TEST(ImportMovieLensTest, RealMovieLensLatestSmall) {
  const char* shared = std::getenv("RECSYS_SHARED_DATA");
  if (shared == nullptr || *shared == '\0') {
    GTEST_SKIP() << "RECSYS_SHARED_DATA is not set";
  }
  const std::string dir = absl::StrCat(shared, "/ml-latest-small");
  if (!std::filesystem::is_directory(dir)) {
    GTEST_SKIP() << dir << " is not there";
  }
  MovieLensImportStats stats;
  absl::StatusOr<Logs> logs = ImportMovieLens(dir, {}, &stats);
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_EQ(stats.layout, MovieLensLayout::kLatest);
  EXPECT_EQ(stats.ratings, 100836);
  EXPECT_EQ(logs->watches.size(), 100836);
  EXPECT_EQ(logs->users.size(), 610);
  absl::flat_hash_set<std::string> watchers;
  absl::flat_hash_set<std::string> rated;
  for (const WatchRecord& w : logs->watches) {
    watchers.insert(w.user_id);
    rated.insert(w.video_id);
  }
  EXPECT_EQ(watchers.size(), 610);
  EXPECT_EQ(rated.size(), 9724);
  EXPECT_EQ(stats.rated_movies, 9724);
  EXPECT_EQ(logs->videos.size(), 9742);
  EXPECT_EQ(logs->searches.size(), 3683);

  const std::string out = ::testing::TempDir() + "/ml_latest_small";
  ASSERT_TRUE(WriteLogs(out, *logs).ok());
  absl::StatusOr<Logs> read = ReadLogs(out);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->watches.size(), 100836);
  EXPECT_EQ(read->users.size(), 610);
  EXPECT_EQ(read->videos.size(), 9742);
}

}  // namespace
}  // namespace recsys
