#include "importers/mind.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/logs/logs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "importers/test_util.h"
#include "simulator/world.h"

namespace recsys {
namespace {

using ::recsys::testing::CopyFixtureWith;
using ::recsys::testing::Lines;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The fixtures, relative to the test's working directory (the runfiles
// root): a train and a dev directory.
constexpr char kFixtures[] = "importers/testdata/mind";

std::vector<std::string> TrainAndDev(const std::string& root) {
  return {root + "/train", root + "/dev"};
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Times of the fixture rows, Unix seconds (from `date -u -d ... +%s`).
constexpr int64_t kNov10_03_15_00Pm = 1573398900;
constexpr int64_t kNov11_12_00_01Am = 1573430401;
constexpr int64_t kNov11_09_05_58Am = 1573463158;
constexpr int64_t kNov11_12_30_00Pm = 1573475400;
constexpr int64_t kNov12_11_59_59Pm = 1573603199;
constexpr int64_t kNov15_12_59_59Am = 1573779599;
constexpr int64_t kNov15_01_02_03Am = 1573779723;
constexpr int64_t kNov15_01_00_00Pm = 1573822800;
constexpr int64_t kNov15_08_00_00Pm = 1573848000;

TEST(ImportMindTest, TrainAndDev) {
  MindImportStats stats;
  absl::StatusOr<Logs> logs =
      ImportMind(TrainAndDev(kFixtures), MindImportOptions(), &stats);
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_EQ(stats.rows, 10);
  EXPECT_EQ(stats.impressions, 22);
  EXPECT_EQ(stats.clicks, 10);
  EXPECT_EQ(stats.history_watches, 6);
  EXPECT_EQ(stats.users, 4);
  EXPECT_EQ(stats.news, 12);
  EXPECT_EQ(stats.unknown_news_skipped, 0);
  // U23: "N42782" in train, "N42782 N55189" in dev.
  EXPECT_EQ(stats.users_with_differing_history, 1);
  EXPECT_TRUE(ValidateLogs(*logs).ok());

  // By numeric ID. Upload = first appearance, shown or in a placed history;
  // N88 is never shown and gets the data set's first time (U7's first row);
  // N9 has no subcategory; N34694, N42782 and N55189 are only in histories.
  EXPECT_THAT(
      Lines(logs->videos),
      ElementsAre(
          absl::StrCat("N9|Ten recipes for a cold night|lifestyle|lifestyle|"
                       "en|",
                       kNov11_12_00_01Am, "|60"),
          absl::StrCat("N10|Mortgage rates fall again|finance|finance|"
                       "finance-real-estate|en|",
                       kNov11_12_00_01Am, "|60"),
          absl::StrCat("N88|An article nobody was shown|kids|kids|kidsnews|en|",
                       kNov10_03_15_00Pm, "|60"),
          absl::StrCat("N100|Flu season starts early this year|health|health|"
                       "medical|en|",
                       kNov11_12_00_01Am, "|60"),
          absl::StrCat("N777|First snow expected this weekend|weather|weather|"
                       "weathertopstories|en|",
                       kNov10_03_15_00Pm, "|60"),
          absl::StrCat("N20001|New electric pickup unveiled|autos|autos|"
                       "autosnews|en|",
                       kNov15_12_59_59Am, "|60"),
          absl::StrCat("N31801|Dog learns to skateboard|video|video|viral|en|",
                       kNov15_12_59_59Am, "|60"),
          absl::StrCat("N34694|Café concert draws a record crowd|music|music|"
                       "musicnews|en|",
                       kNov11_09_05_58Am - 1, "|60"),
          absl::StrCat("N35729|Storm closes schools across the state|news|news|"
                       "newsus|en|",
                       kNov10_03_15_00Pm, "|60"),
          absl::StrCat("N42782|Three takeaways from the World Series|sports|"
                       "sports|baseball_mlb|en|",
                       kNov11_09_05_58Am - 2, "|60"),
          absl::StrCat("N55189|Host returns, \"live\" and unscripted|tv|tv|"
                       "tvnews|en|",
                       kNov11_09_05_58Am - 3, "|60"),
          absl::StrCat("N55689|Bills rally late to beat the Dolphins|sports|"
                       "sports|football_nfl|en|",
                       kNov11_09_05_58Am, "|60")));
  EXPECT_THAT(Lines(logs->users), ElementsAre("U5||||0|1|", "U7||||0|1|",
                                              "U23||||0|1|", "U100||||0|1|"));
  // Clicks at their row's time; histories once per user, one second apart
  // before the user's first row (U23's is dev's longer one, placed before
  // its train row); ties by directory, line, then list index.
  EXPECT_THAT(
      Lines(logs->watches),
      ElementsAre(absl::StrCat("U7|N10|", kNov11_12_00_01Am, "|60"),
                  absl::StrCat("U100|N55189|", kNov11_09_05_58Am - 3, "|60"),
                  absl::StrCat("U100|N42782|", kNov11_09_05_58Am - 2, "|60"),
                  absl::StrCat("U100|N34694|", kNov11_09_05_58Am - 1, "|60"),
                  absl::StrCat("U100|N55689|", kNov11_09_05_58Am, "|60"),
                  absl::StrCat("U100|N777|", kNov11_09_05_58Am, "|60"),
                  absl::StrCat("U100|N9|", kNov11_12_30_00Pm, "|60"),
                  absl::StrCat("U23|N42782|", kNov12_11_59_59Pm - 2, "|60"),
                  absl::StrCat("U23|N55189|", kNov12_11_59_59Pm - 1, "|60"),
                  absl::StrCat("U23|N100|", kNov12_11_59_59Pm, "|60"),
                  absl::StrCat("U23|N35729|", kNov12_11_59_59Pm, "|60"),
                  absl::StrCat("U5|N10|", kNov15_12_59_59Am - 1, "|60"),
                  absl::StrCat("U23|N20001|", kNov15_01_02_03Am, "|60"),
                  absl::StrCat("U5|N31801|", kNov15_01_00_00Pm, "|60"),
                  absl::StrCat("U5|N20001|", kNov15_01_00_00Pm, "|60"),
                  absl::StrCat("U100|N31801|", kNov15_08_00_00Pm, "|60")));
  EXPECT_THAT(logs->searches, ::testing::IsEmpty());
  // Pages by time, then directory and line; dev's pages carry "2:".
  EXPECT_THAT(
      Lines(logs->impressions),
      ElementsAre(
          absl::StrCat("U7|i5|", kNov10_03_15_00Pm, "|0|N35729|0|0"),
          absl::StrCat("U7|i5|", kNov10_03_15_00Pm, "|1|N777|0|0"),
          absl::StrCat("U7|i2|", kNov11_12_00_01Am, "|0|N9|0|0"),
          absl::StrCat("U7|i2|", kNov11_12_00_01Am, "|1|N10|1|60"),
          absl::StrCat("U7|i2|", kNov11_12_00_01Am, "|2|N100|0|0"),
          absl::StrCat("U100|i1|", kNov11_09_05_58Am, "|0|N55689|1|60"),
          absl::StrCat("U100|i1|", kNov11_09_05_58Am, "|1|N35729|0|0"),
          absl::StrCat("U100|i6|", kNov11_09_05_58Am, "|0|N10|0|0"),
          absl::StrCat("U100|i6|", kNov11_09_05_58Am, "|1|N777|1|60"),
          absl::StrCat("U100|i3|", kNov11_12_30_00Pm, "|0|N9|1|60"),
          absl::StrCat("U100|i3|", kNov11_12_30_00Pm, "|1|N55689|0|0"),
          absl::StrCat("U23|i4|", kNov12_11_59_59Pm, "|0|N100|1|60"),
          absl::StrCat("U23|i4|", kNov12_11_59_59Pm, "|1|N35729|1|60"),
          absl::StrCat("U23|i4|", kNov12_11_59_59Pm, "|2|N777|0|0"),
          absl::StrCat("U5|2:i2|", kNov15_12_59_59Am, "|0|N31801|0|0"),
          absl::StrCat("U5|2:i2|", kNov15_12_59_59Am, "|1|N20001|0|0"),
          absl::StrCat("U23|2:i1|", kNov15_01_02_03Am, "|0|N20001|1|60"),
          absl::StrCat("U23|2:i1|", kNov15_01_02_03Am, "|1|N55689|0|0"),
          absl::StrCat("U5|2:i4|", kNov15_01_00_00Pm, "|0|N9|0|0"),
          absl::StrCat("U5|2:i4|", kNov15_01_00_00Pm, "|1|N31801|1|60"),
          absl::StrCat("U5|2:i4|", kNov15_01_00_00Pm, "|2|N20001|1|60"),
          absl::StrCat("U100|2:i3|", kNov15_08_00_00Pm, "|0|N31801|1|60")));
}

TEST(ImportMindTest, OneDirectoryAndNominalReadSeconds) {
  MindImportOptions options;
  options.nominal_read_s = 30;
  MindImportStats stats;
  absl::StatusOr<Logs> logs =
      ImportMind({absl::StrCat(kFixtures, "/train")}, options, &stats);
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_EQ(stats.rows, 6);
  EXPECT_EQ(stats.impressions, 14);
  EXPECT_EQ(stats.clicks, 6);
  EXPECT_EQ(stats.history_watches, 4);  // U100's three, U23's one.
  EXPECT_EQ(stats.users, 3);
  EXPECT_EQ(stats.news, 9);
  EXPECT_EQ(stats.users_with_differing_history, 0);
  for (const VideoRecord& video : logs->videos) {
    EXPECT_EQ(video.duration_s, 30) << video.video_id;
  }
  for (const WatchRecord& watch : logs->watches) {
    EXPECT_EQ(watch.watch_seconds, 30) << watch.video_id;
  }
  for (const ImpressionRecord& row : logs->impressions) {
    EXPECT_EQ(row.watch_seconds, row.clicked ? 30 : 0) << row.page_id;
    EXPECT_EQ(row.page_id.substr(0, 1), "i");
  }
  ASSERT_EQ(logs->watches.size(), 10);
  // U23's train history alone: one entry, a second before its row.
  EXPECT_EQ(Lines(logs->watches)[7],
            absl::StrCat("U23|N42782|", kNov12_11_59_59Pm - 1, "|30"));
}

TEST(ImportMindTest, WrittenLogsReadBackIdentical) {
  absl::StatusOr<Logs> logs =
      ImportMind(TrainAndDev(kFixtures), MindImportOptions());
  ASSERT_TRUE(logs.ok()) << logs.status();
  const std::string dir = ::testing::TempDir() + "/mind_logs";
  ASSERT_TRUE(WriteLogs(dir, *logs).ok());
  absl::StatusOr<Logs> read = ReadLogs(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(Lines(*read), Lines(*logs));
}

// Each malformed input names the file and the 1-based line of the row.
struct MalformedCase {
  std::string file;  // Relative to the fixture copy.
  std::string contents;
  std::string expected;  // A substring of the error message.
};

TEST(ImportMindTest, MalformedRowsNameFileAndLine) {
  const std::string row1 = "1\tU1\t11/11/2019 9:05:58 AM\tN9\tN10-1\n";
  auto with_time = [](const std::string& time) {
    return absl::StrCat("1\tU1\t", time, "\t\tN9-1\n");
  };
  const std::vector<MalformedCase> cases = {
      {"train/behaviors.tsv", "1\tU1\t11/11/2019 9:05:58 AM\tN9-1\n",
       "train/behaviors.tsv:1: expected 5 tab-separated columns (Impression "
       "ID, User ID, Time, History, Impressions) but found 4"},
      // Blank lines count.
      {"train/behaviors.tsv", row1 + "\n2\tU1\t13/11/2019 9:05:58 AM\t\tN9-1\n",
       "train/behaviors.tsv:3: column 'Time': \"13/11/2019 9:05:58 AM\" is not "
       "a time like 11/11/2019 9:05:58 AM"},
      {"train/behaviors.tsv", with_time("11/11/2019 13:05:58 PM"),
       "behaviors.tsv:1: column 'Time'"},
      {"train/behaviors.tsv", with_time("11/11/2019 0:05:58 AM"),
       "behaviors.tsv:1: column 'Time'"},
      {"train/behaviors.tsv", with_time("2/30/2020 9:05:58 AM"),
       "behaviors.tsv:1: column 'Time'"},
      {"train/behaviors.tsv", with_time("11/11/2019 9:05:60 AM"),
       "behaviors.tsv:1: column 'Time'"},
      {"train/behaviors.tsv", with_time("11/11/2019 9:05:58"),
       "behaviors.tsv:1: column 'Time'"},
      {"train/behaviors.tsv", with_time("11/11/2019 9:05:58 am"),
       "behaviors.tsv:1: column 'Time'"},
      {"train/behaviors.tsv", with_time("2019-11-11 09:05:58"),
       "behaviors.tsv:1: column 'Time'"},
      {"train/behaviors.tsv", with_time("12/31/1969 11:59:59 PM"),
       "behaviors.tsv:1: column 'Time'"},
      {"train/behaviors.tsv", row1 + "2\tU1\t11/11/2019 9:05:58 AM\t\tN9-2\n",
       "train/behaviors.tsv:2: column 'Impressions': \"N9-2\" has a bad label"},
      {"train/behaviors.tsv", "1\tU1\t11/11/2019 9:05:58 AM\t\tN9-1 N10-\n",
       "behaviors.tsv:1: column 'Impressions': \"N10-\" has a bad label"},
      {"train/behaviors.tsv", "1\tU1\t11/11/2019 9:05:58 AM\t\tN404-1\n",
       "train/behaviors.tsv:1: column 'Impressions': unknown news \"N404\"; "
       "add "
       "it to news.tsv, or set skip_unknown_news"},
      {"train/behaviors.tsv", "1\tU1\t11/11/2019 9:05:58 AM\tN9 N404\tN9-1\n",
       "train/behaviors.tsv:1: column 'History': unknown news \"N404\""},
      {"train/behaviors.tsv", "1\t\t11/11/2019 9:05:58 AM\t\tN9-1\n",
       "train/behaviors.tsv:1: column 'User ID': is empty"},
      {"train/behaviors.tsv", "\t\t11/11/2019 9:05:58 AM\t\tN9-1\n",
       "train/behaviors.tsv:1: column 'Impression ID': is empty"},
      {"train/behaviors.tsv",
       row1 + "2\tU2\t11/11/2019 9:05:58 AM\t\tN9-0\n" +
           "1\tU3\t11/11/2019 9:05:58 AM\t\tN9-0\n",
       "train/behaviors.tsv:3: column 'Impression ID': \"1\" appears twice "
       "(first on line 1)"},
      // MIND's test split: no labels.
      {"train/behaviors.tsv", "1\tU1\t11/11/2019 9:05:58 AM\tN9\tN9 N10\n",
       "train/behaviors.tsv:1: column 'Impressions': \"N9\" has no click "
       "label: MIND's test split has no labels; import a train or dev "
       "directory"},
      {"train/behaviors.tsv", "1\tU1\t11/11/2019 9:05:58 AM\tN9\t\n",
       "train/behaviors.tsv:1: column 'Impressions': is empty"},
      {"dev/behaviors.tsv", row1 + row1,
       "dev/behaviors.tsv:2: column "
       "'Impression ID'"},
      {"train/news.tsv", "N1\tnews\tnewsus\tA title\n",
       "train/news.tsv:1: expected 8 tab-separated columns (News ID, Category, "
       "SubCategory, Title, Abstract, URL, Title Entities, Abstract Entities) "
       "but found 4"},
      {"train/news.tsv", "N1\t\tnewsus\tA title\t\t\t[]\t[]\n",
       "train/news.tsv:1: column 'Category': is empty"},
      {"train/news.tsv", "N1\tnews\tus|world\tA title\t\t\t[]\t[]\n",
       "train/news.tsv:1: column 'SubCategory': \"us|world\" contains '|'"},
      {"train/news.tsv", "N1\tnews\tnewsus\tCaf\xe9\t\t\t[]\t[]\n",
       "train/news.tsv:1: column 'title': \"Caf\\xe9\" is not valid UTF-8"},
      // The same ID in two directories with another title.
      {"dev/news.tsv",
       "N10\tfinance\tfinance-real-estate\tMortgage rates rise\t\t\t[]\t[]\n",
       "dev/news.tsv:1: column 'Title': news \"N10\" is listed again with "
       "\"Mortgage rates rise\" but "},
  };
  for (const MalformedCase& c : cases) {
    SCOPED_TRACE(c.file + ": " + c.contents);
    const std::string dir = CopyFixtureWith(kFixtures, {{c.file, c.contents}});
    absl::Status status =
        ImportMind(TrainAndDev(dir), MindImportOptions()).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.expected));
  }
}

TEST(ImportMindTest, SkipUnknownNewsCountsWhatItDrops) {
  const std::string dir = CopyFixtureWith(
      kFixtures,
      {{"train/behaviors.tsv",
        "1\tU1\t11/11/2019 9:05:58 AM\tN404 N9\tN10-1 N405-1 N100-0\n"
        "2\tU1\t11/11/2019 12:30:00 PM\tN404 N9\tN406-0\n"}});
  MindImportOptions options;
  options.skip_unknown_news = true;
  MindImportStats stats;
  absl::StatusOr<Logs> logs = ImportMind({dir + "/train"}, options, &stats);
  ASSERT_TRUE(logs.ok()) << logs.status();
  // N404 twice (both rows' histories), N405 and N406.
  EXPECT_EQ(stats.unknown_news_skipped, 4);
  EXPECT_EQ(stats.rows, 2);
  EXPECT_EQ(stats.impressions, 2);
  EXPECT_EQ(stats.clicks, 1);
  EXPECT_EQ(stats.history_watches, 1);
  // The skipped entry keeps its slot: N100 stays at position 2; row 2 shows
  // nothing known, so it makes no page.
  EXPECT_THAT(
      Lines(logs->impressions),
      ElementsAre(absl::StrCat("U1|i1|", kNov11_09_05_58Am, "|0|N10|1|60"),
                  absl::StrCat("U1|i1|", kNov11_09_05_58Am, "|2|N100|0|0")));
  EXPECT_THAT(Lines(logs->watches),
              ElementsAre(absl::StrCat("U1|N9|", kNov11_09_05_58Am - 1, "|60"),
                          absl::StrCat("U1|N10|", kNov11_09_05_58Am, "|60")));
}

TEST(ImportMindTest, MissingFilesAndBadOptions) {
  const std::string dir = CopyFixtureWith(kFixtures, {});
  std::filesystem::remove(std::filesystem::path(dir) / "dev" / "news.tsv");
  absl::Status status =
      ImportMind(TrainAndDev(dir), MindImportOptions()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("dev/news.tsv: no such file"));

  std::filesystem::remove(std::filesystem::path(dir) / "train" /
                          "behaviors.tsv");
  status = ImportMind({dir + "/train"}, MindImportOptions()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("train/behaviors.tsv: no such file"));

  MindImportOptions zero;
  zero.nominal_read_s = 0;
  EXPECT_EQ(ImportMind(TrainAndDev(kFixtures), zero).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ImportMind({}, MindImportOptions()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Hand-made logs -> the exact MIND text.
TEST(WriteMindTest, WritesBehaviorsAndNews) {
  Logs logs;
  logs.videos = {
      {"v1", "Pasta, \"quick\"\tand\nfresh", "c1", "cooking|quick", "en", 0,
       60},
      {"v2", "No topics", "c1", "", "en", 0, 60},
      {"v3", "One topic", "c2", "music", "en", 0, 60},
  };
  UserRecord u1, u2;
  u1.user_id = "u1";
  u2.user_id = "u2";
  logs.users = {u1, u2};
  logs.watches = {
      {"u1", "v3", 100, 5},
      {"u1", "v2", 50, 5},
      {"u2", "v1", 5, 5},
      // After u1's first page and not a click on a page: not in MIND.
      {"u1", "v1", kNov11_12_30_00Pm - 10, 5},
  };
  logs.impressions = {
      {"u1", "p1", kNov11_09_05_58Am, 1, "v2", true, 30},
      {"u1", "p1", kNov11_09_05_58Am, 0, "v1", false, 0},
      {"u2", "p2", 0, 0, "v3", false, 0},
      {"u1", "p3", kNov11_12_30_00Pm, 0, "v3", true, 20},
  };
  const std::string dir = ::testing::TempDir() + "/write_mind";
  WriteMindStats stats;
  ASSERT_TRUE(WriteMind(dir, logs, &stats).ok());
  EXPECT_EQ(stats.news, 3);
  EXPECT_EQ(stats.rows, 3);
  EXPECT_EQ(stats.impressions, 4);
  EXPECT_EQ(stats.clicks, 2);
  EXPECT_EQ(stats.history_entries, 4);
  EXPECT_EQ(ReadText(dir + "/news.tsv"),
            "v1\tcooking\tquick\tPasta, \"quick\" and fresh\t\t\t[]\t[]\n"
            "v2\tnone\tnone\tNo topics\t\t\t[]\t[]\n"
            "v3\tmusic\tnone\tOne topic\t\t\t[]\t[]\n");
  EXPECT_EQ(ReadText(dir + "/behaviors.tsv"),
            "1\tu1\t11/11/2019 9:05:58 AM\tv2 v3\tv1-0 v2-1\n"
            "2\tu2\t1/1/1970 12:00:00 AM\t\tv3-0\n"
            "3\tu1\t11/11/2019 12:30:00 PM\tv2 v3\tv3-1\n");
  EXPECT_FALSE(std::filesystem::exists(dir + "/behaviors.tsv.tmp"));

  // And it imports.
  absl::StatusOr<Logs> imported = ImportMind({dir}, MindImportOptions());
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_EQ(imported->impressions.size(), 4);
}

TEST(WriteMindTest, RefusesWhatMindCannotHold) {
  Logs logs;
  logs.videos = {{"v 1", "Title", "c1", "a", "en", 0, 60}};
  logs.watches = {{"u1", "v 1", 5, 5}};
  absl::Status status = WriteMind(::testing::TempDir() + "/no_pages", logs);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("the logs have no impressions"));

  logs.impressions = {{"u1", "p1", 5, 0, "v 1", false, 0}};
  status = WriteMind(::testing::TempDir() + "/spaced_id", logs);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("videos[0]: column 'video_id': \"v 1\" contains "
                        "whitespace"));

  logs.watches[0].time_s = -1;  // Fails ValidateLogs.
  EXPECT_EQ(WriteMind(::testing::TempDir() + "/invalid", logs).code(),
            absl::StatusCode::kInvalidArgument);
}

// One page as MIND keeps it: user, time, and (position, video, clicked).
using PageContents =
    std::tuple<std::string, int64_t,
               std::vector<std::tuple<int32_t, std::string, bool>>>;

// The pages of `impressions` in order of their first rows, keyed by page ID.
std::vector<std::pair<std::string, PageContents>> Pages(
    const std::vector<ImpressionRecord>& impressions) {
  std::vector<std::pair<std::string, PageContents>> pages;
  for (const ImpressionRecord& r : impressions) {
    if (pages.empty() || pages.back().first != r.page_id) {
      pages.push_back({r.page_id, {r.user_id, r.time_s, {}}});
    }
    std::get<2>(pages.back().second)
        .emplace_back(r.position, r.video_id, r.clicked);
  }
  for (auto& [id, page] : pages) absl::c_sort(std::get<2>(page));
  return pages;
}

// A simulated world -> MIND -> canonical logs keeps every page, position and
// click.
TEST(WriteMindTest, SimulatedWorldRoundTrip) {
  absl::StatusOr<WorldOptions> tiny = WorldOptionsForPreset("tiny");
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  absl::StatusOr<Logs> world = GenerateWorld(*tiny);
  ASSERT_TRUE(world.ok()) << world.status();
  ASSERT_FALSE(world->impressions.empty());

  const std::string dir = ::testing::TempDir() + "/world_mind";
  WriteMindStats written;
  ASSERT_TRUE(WriteMind(dir, *world, &written).ok());
  MindImportStats stats;
  absl::StatusOr<Logs> imported =
      ImportMind({dir}, MindImportOptions(), &stats);
  ASSERT_TRUE(imported.ok()) << imported.status();
  EXPECT_TRUE(ValidateLogs(*imported).ok());

  // The k-th page of the world is MIND impression k + 1, page "i<k+1>".
  const auto world_pages = Pages(world->impressions);
  absl::flat_hash_map<std::string, PageContents> imported_pages;
  for (auto& [id, page] : Pages(imported->impressions)) {
    imported_pages[id] = page;
  }
  ASSERT_EQ(imported_pages.size(), world_pages.size());
  EXPECT_EQ(written.rows, static_cast<int64_t>(world_pages.size()));
  for (size_t k = 0; k < world_pages.size(); ++k) {
    const std::string id = absl::StrCat("i", k + 1);
    ASSERT_TRUE(imported_pages.contains(id)) << id;
    EXPECT_EQ(imported_pages[id], world_pages[k].second) << id;
  }

  int64_t clicked = 0;
  for (const ImpressionRecord& r : world->impressions) clicked += r.clicked;
  int64_t imported_clicked = 0;
  for (const ImpressionRecord& r : imported->impressions) {
    imported_clicked += r.clicked;
  }
  EXPECT_EQ(imported->impressions.size(), world->impressions.size());
  EXPECT_EQ(imported_clicked, clicked);
  EXPECT_EQ(stats.impressions - stats.clicks,
            static_cast<int64_t>(world->impressions.size()) - clicked);
  // Watches: one per click, plus the watches each user made before their
  // first page.
  absl::flat_hash_map<std::string, int64_t> first_page_s;
  for (const ImpressionRecord& r : world->impressions) {
    auto [it, inserted] = first_page_s.try_emplace(r.user_id, r.time_s);
    if (!inserted) it->second = std::min(it->second, r.time_s);
  }
  int64_t before_first_page = 0;
  for (const WatchRecord& w : world->watches) {
    auto it = first_page_s.find(w.user_id);
    before_first_page += it != first_page_s.end() && w.time_s < it->second;
  }
  EXPECT_EQ(stats.history_watches, before_first_page);
  EXPECT_EQ(stats.clicks, clicked);
  EXPECT_EQ(imported->watches.size(), before_first_page + clicked);
  EXPECT_EQ(stats.users, static_cast<int64_t>(first_page_s.size()));
  EXPECT_EQ(stats.news, static_cast<int64_t>(world->videos.size()));
  EXPECT_EQ(stats.users_with_differing_history, 0);
}

}  // namespace
}  // namespace recsys
