#include "common/logs/logs.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

// Field-by-field equality, so that failures print which record differs.
std::string Describe(const VideoRecord& r) {
  return absl::StrCat(r.video_id, "|", r.title, "|", r.channel_id, "|",
                      r.topics, "|", r.language, "|", r.upload_time_s, "|",
                      r.duration_s);
}
std::string Describe(const UserRecord& r) {
  return absl::StrCat(r.user_id, "|", r.region, "|", r.device, "|", r.gender,
                      "|", r.age, "|", r.logged_in, "|", r.language);
}
std::string Describe(const WatchRecord& r) {
  return absl::StrCat(r.user_id, "|", r.video_id, "|", r.time_s, "|",
                      r.watch_seconds);
}
std::string Describe(const SearchRecord& r) {
  return absl::StrCat(r.user_id, "|", r.time_s, "|", r.query);
}
std::string Describe(const ImpressionRecord& r) {
  return absl::StrCat(r.user_id, "|", r.page_id, "|", r.time_s, "|",
                      r.position, "|", r.video_id, "|", r.clicked, "|",
                      r.watch_seconds);
}

template <typename Record>
void ExpectSameRecords(const std::vector<Record>& expected,
                       const std::vector<Record>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(Describe(expected[i]), Describe(actual[i])) << "record " << i;
  }
}

// Floats are compared bit for bit: the round trip must be exact.
template <typename Record, typename Member>
void ExpectSameFloats(const std::vector<Record>& expected,
                      const std::vector<Record>& actual, Member member) {
  ASSERT_EQ(expected.size(), actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i].*member, actual[i].*member) << "record " << i;
  }
}

std::string NewTempDir(const std::string& name) {
  const std::string dir = absl::StrCat(::testing::TempDir(), "/", name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

Logs TrickyLogs() {
  Logs logs;
  logs.videos = {
      {"v1", "pasta, garlic and \"basil\"", "c1", "cooking|travel", "en",
       1767225600, 0.1f},
      {"v2", "line one\nline two\r\nline three", "c2", "", "", 0, 1234.5678f},
      {"v3", "crème brûlée 日本 ✓", "c,3", "music", "fr",
       std::numeric_limits<int64_t>::max(), 3.0e38f},
      {"v4", "", "", "a", "de", 5, 1e-7f},
      {"v5", "  leading and trailing spaces  ", "c5", "b", "", 6, 7.0f},
  };
  logs.users = {
      {"u1", "US", "mobile", "female", 34, true, "en"},
      {"u2", "", "", "", 0, false, ""},
      {"u,3", "JP", "tv", "male", 150, true, "ja"},
  };
  logs.watches = {
      {"u1", "v1", 1767225601, 0.3f},
      {"u2", "v3", 0, 0},
      {"u,3", "v2", std::numeric_limits<int64_t>::max(), 98765.4321f},
  };
  logs.searches = {
      {"u1", 1767225599, "pasta, \"quick\""},
      {"u2", 1767225000, "日本 music"},
  };
  logs.impressions = {
      {"u1", "p1", 1767225590, 0, "v1", true, 12.25f},
      {"u1", "p1", 1767225590, 1, "v2", false, 0},
      {"u,3", "p,2", 7, 3, "v5", true, 0},
  };
  return logs;
}

TEST(LogsTest, RoundTripIsExact) {
  const std::string dir = NewTempDir("round_trip");
  const Logs logs = TrickyLogs();
  ASSERT_TRUE(WriteLogs(dir, logs).ok());

  absl::StatusOr<Logs> read = ReadLogs(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameRecords(logs.videos, read->videos);
  ExpectSameRecords(logs.users, read->users);
  ExpectSameRecords(logs.watches, read->watches);
  ExpectSameRecords(logs.searches, read->searches);
  ExpectSameRecords(logs.impressions, read->impressions);
  ExpectSameFloats(logs.videos, read->videos, &VideoRecord::duration_s);
  ExpectSameFloats(logs.watches, read->watches, &WatchRecord::watch_seconds);
  ExpectSameFloats(logs.impressions, read->impressions,
                   &ImpressionRecord::watch_seconds);

  // Writing what was read gives the same bytes.
  const std::string dir2 = NewTempDir("round_trip_2");
  ASSERT_TRUE(WriteLogs(dir2, *read).ok());
  for (const char* file : {kVideosFileName, kUsersFileName, kWatchesFileName,
                           kSearchesFileName, kImpressionsFileName}) {
    EXPECT_EQ(ReadFile(dir + "/" + file), ReadFile(dir2 + "/" + file)) << file;
  }
}

// `keep_user` keeps the chosen users' rows of every kind, drops the rest
// (counted), keeps every video, and still checks the dropped rows.
TEST(LogsTest, KeepUserReadsOnlyThoseUsersRows) {
  const std::string dir = NewTempDir("keep_user");
  const Logs logs = TrickyLogs();
  ASSERT_TRUE(WriteLogs(dir, logs).ok());
  ReadLogsOptions options;
  options.keep_user = [](absl::string_view user) { return user == "u1" || user == "u,3"; };
  std::vector<std::string> dropped_watches;
  options.on_dropped_watch = [&](const WatchRecord& w) {
    dropped_watches.push_back(w.user_id + ":" + w.video_id);
  };
  ReadLogsStats stats;
  absl::StatusOr<Logs> read = ReadLogs(dir, options, &stats);
  ASSERT_TRUE(read.ok()) << read.status();
  Logs expected = logs;
  auto kept = [](const auto& r) { return r.user_id != "u2"; };
  auto filter = [&](auto& rows) {
    rows.erase(std::remove_if(rows.begin(), rows.end(), [&](const auto& r) { return !kept(r); }),
               rows.end());
  };
  filter(expected.users);
  filter(expected.watches);
  filter(expected.searches);
  filter(expected.impressions);
  ExpectSameRecords(expected.videos, read->videos);
  ExpectSameRecords(expected.users, read->users);
  ExpectSameRecords(expected.watches, read->watches);
  ExpectSameRecords(expected.searches, read->searches);
  ExpectSameRecords(expected.impressions, read->impressions);
  // u2's user row, watch and search.
  EXPECT_EQ(stats.dropped_rows, 3);
  EXPECT_EQ(dropped_watches, std::vector<std::string>{"u2:v3"});

  // A dropped user's malformed row is still an error naming file and line.
  WriteFile(dir + "/" + kWatchesFileName,
            "user_id,video_id,time_s,watch_seconds\nu1,v1,5,1\nu2,v1,-5,1\n");
  absl::Status status = ReadLogs(dir, options, &stats).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("watches.csv:3"));
}

TEST(LogsTest, RandomFloatsRoundTripBitForBit) {
  Logs logs;
  logs.videos.push_back({"v", "t", "c", "x", "en", 0, 1.0f});
  uint32_t state = 12345;
  for (int i = 0; i < 2000; ++i) {
    state = state * 1664525u + 1013904223u;
    // Positive finite floats of every magnitude.
    uint32_t bits = state & 0x7F7FFFFFu;
    float value;
    static_assert(sizeof(value) == sizeof(bits));
    std::memcpy(&value, &bits, sizeof(value));
    logs.watches.push_back({"u", "v", i, value});
  }
  const std::string dir = NewTempDir("floats");
  ASSERT_TRUE(WriteLogs(dir, logs).ok());
  absl::StatusOr<Logs> read = ReadLogs(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameFloats(logs.watches, read->watches, &WatchRecord::watch_seconds);
}

TEST(LogsTest, WritesHeaderAndQuotesOnlyWhenNeeded) {
  const std::string dir = NewTempDir("quoting");
  Logs logs;
  logs.videos = {{"v1", "a, \"b\"\nc", "c1", "x", "en", 10, 60.5f},
                 {"v2", "plain title", "c2", "x|y", "", 11, 2}};
  ASSERT_TRUE(WriteLogs(dir, logs).ok());
  EXPECT_EQ(ReadFile(dir + "/videos.csv"),
            "video_id,title,channel_id,topics,language,upload_time_s,"
            "duration_s\n"
            "v1,\"a, \"\"b\"\"\nc\",c1,x,en,10,60.5\n"
            "v2,plain title,c2,x|y,,11,2\n");
  EXPECT_EQ(ReadFile(dir + "/watches.csv"),
            "user_id,video_id,time_s,watch_seconds\n");
  EXPECT_EQ(ReadFile(dir + "/users.csv"),
            "user_id,region,device,gender,age,logged_in,language\n");
  EXPECT_EQ(ReadFile(dir + "/searches.csv"), "user_id,time_s,query\n");
  EXPECT_EQ(ReadFile(dir + "/impressions.csv"),
            "user_id,page_id,time_s,position,video_id,clicked,"
            "watch_seconds\n");
}

TEST(LogsTest, ReadsQuotedFieldsCrLfBlankLinesAndByteOrderMark) {
  const std::string dir = NewTempDir("reading");
  WriteFile(dir + "/videos.csv",
            "\xEF\xBB\xBFvideo_id,title,channel_id,topics,language,"
            "upload_time_s,duration_s\r\n"
            "\"v1\",\"x, \"\"y\"\"\r\nz\",c1,,,10,60\r\n"
            "\r\n"
            "v2,\"\",c2,,,11,61");  // No final newline.
  WriteFile(dir + "/watches.csv",
            "user_id,video_id,time_s,watch_seconds\nu1,v2,12,3.5\n");
  absl::StatusOr<Logs> read = ReadLogs(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->videos.size(), 2);
  EXPECT_EQ(read->videos[0].title, "x, \"y\"\r\nz");
  EXPECT_EQ(read->videos[1].title, "");
  EXPECT_EQ(read->videos[1].duration_s, 61);
  // users.csv, searches.csv and impressions.csv are optional.
  EXPECT_TRUE(read->users.empty());
  ASSERT_EQ(read->watches.size(), 1);
  EXPECT_EQ(read->watches[0].user_id, "u1");  // Unchecked without users.
}

constexpr char kVideosHeader[] =
    "video_id,title,channel_id,topics,language,upload_time_s,duration_s\n";
constexpr char kUsersHeader[] = "user_id,region,device,gender,age,logged_in\n";
constexpr char kWatchesHeader[] = "user_id,video_id,time_s,watch_seconds\n";
constexpr char kSearchesHeader[] = "user_id,time_s,query\n";
constexpr char kImpressionsHeader[] =
    "user_id,page_id,time_s,position,video_id,clicked,watch_seconds\n";

// A valid data set; each malformed case replaces one file.
void WriteValidDir(const std::string& dir) {
  WriteFile(dir + "/videos.csv", std::string(kVideosHeader) +
                                     "v1,first,c1,a,en,100,60\n"
                                     "v2,\"multi\nline\",c1,a,en,100,60\n"
                                     "v3,third,c2,b,en,100,60\n");
  WriteFile(dir + "/users.csv", std::string(kUsersHeader) +
                                    "u1,US,mobile,female,30,1\n"
                                    "u2,DE,tv,,0,0\n");
  WriteFile(dir + "/watches.csv",
            std::string(kWatchesHeader) + "u1,v1,200,30\nu2,v3,201,31\n");
  WriteFile(dir + "/searches.csv",
            std::string(kSearchesHeader) + "u1,199,\"cats, dogs\"\n");
  WriteFile(dir + "/impressions.csv", std::string(kImpressionsHeader) +
                                          "u1,p1,190,0,v1,1,30\n"
                                          "u1,p1,190,1,v2,0,0\n");
}

struct MalformedCase {
  std::string name;
  std::string file;
  std::string contents;
  // The 1-based line the error must name.
  int line;
  std::string reason;
};

std::vector<MalformedCase> MalformedCases() {
  const std::string v = kVideosHeader;
  const std::string u = kUsersHeader;
  const std::string w = kWatchesHeader;
  const std::string s = kSearchesHeader;
  const std::string i = kImpressionsHeader;
  return {
      {"BadHeader", "watches.csv", "user,video,time_s,watch_seconds\n", 1,
       "header is \"user,video,time_s,watch_seconds\" but must be exactly "
       "\"user_id,video_id,time_s,watch_seconds\""},
      {"HeaderWithExtraColumn", "users.csv",
       "user_id,region,device,gender,age,logged_in,extra\n", 1,
       "but must be exactly"},
      {"MissingColumn", "watches.csv", w + "u1,v1,200,30\nu1,v1,200\n", 3,
       "expected 4 columns (user_id,video_id,time_s,watch_seconds) but found "
       "3"},
      {"ExtraColumn", "watches.csv", w + "u1,v1,200,30,7\n", 2,
       "but found 5"},
      {"UnquotedComma", "searches.csv", s + "u1,199,cats, dogs\n", 2,
       "enclose fields that contain ',' in double quotes"},
      {"NotAnInteger", "watches.csv", w + "u1,v1,200,30\nu1,v1,abc,30\n", 3,
       "column 'time_s': \"abc\" is not an integer"},
      {"IntegerWithSpace", "watches.csv", w + "u1,v1, 200,30\n", 2,
       "column 'time_s': \" 200\" is not an integer"},
      {"NotAFloat", "watches.csv", w + "u1,v1,200,3x\n", 2,
       "column 'watch_seconds': \"3x\" is not a finite number"},
      {"NanFloat", "videos.csv", v + "v1,t,c,a,en,100,nan\n", 2,
       "column 'duration_s': \"nan\" is not a finite number"},
      {"AgeOutOfRange", "users.csv", u + "u1,US,tv,male,99999999999,1\n", 2,
       "column 'age': \"99999999999\" is out of the int32 range"},
      {"NegativeTime", "watches.csv", w + "u1,v1,-5,30\n", 2,
       "column 'time_s': -5 is negative"},
      {"NegativeUploadTime", "videos.csv", v + "v1,t,c,a,en,-1,60\n", 2,
       "column 'upload_time_s': -1 is negative"},
      {"NegativeDuration", "videos.csv", v + "v1,t,c,a,en,1,-60\n", 2,
       "column 'duration_s': -60 is not a finite number of seconds > 0"},
      {"ZeroDuration", "videos.csv", v + "v1,t,c,a,en,1,0\n", 2,
       "column 'duration_s': 0 is not"},
      {"NegativeWatchSeconds", "watches.csv", w + "u1,v1,200,-1.5\n", 2,
       "column 'watch_seconds': -1.5 is not a finite number >= 0"},
      {"NegativePosition", "impressions.csv", i + "u1,p1,190,-1,v1,0,0\n", 2,
       "column 'position': -1 is negative"},
      {"UnclickedWithWatchTime", "impressions.csv", i + "u1,p1,190,0,v1,0,4\n",
       2, "column 'watch_seconds': 4 on an impression that was not clicked"},
      {"BadBool", "users.csv", u + "u1,US,tv,male,30,yes\n", 2,
       "column 'logged_in': \"yes\" is not 0 or 1"},
      {"BadGender", "users.csv", u + "u1,US,tv,m,30,1\n", 2,
       "column 'gender': \"m\" is not \"female\", \"male\" or empty"},
      {"EmptyVideoId", "videos.csv", v + "v1,t,c,a,en,1,60\n,t,c,a,en,1,60\n",
       3, "column 'video_id': is empty"},
      {"EmptyUserId", "watches.csv", w + ",v1,200,30\n", 2,
       "column 'user_id': is empty"},
      {"EmptyPageId", "impressions.csv", i + "u1,,190,0,v1,0,0\n", 2,
       "column 'page_id': is empty"},
      {"EmptyQuery", "searches.csv", s + "u1,199,\n", 2,
       "column 'query': is empty"},
      {"EmptyTopicLabel", "videos.csv", v + "v1,t,c,a||b,en,1,60\n", 2,
       "column 'topics': \"a||b\" has an empty label"},
      {"UnknownVideoInWatches", "watches.csv", w + "u1,v1,200,30\nu1,v9,1,1\n",
       3, "column 'video_id': unknown video \"v9\"; add it to videos.csv"},
      {"UnknownUserInWatches", "watches.csv", w + "u7,v1,200,30\n", 2,
       "column 'user_id': unknown user \"u7\"; add it to users.csv"},
      {"UnknownUserInSearches", "searches.csv", s + "u7,199,cats\n", 2,
       "unknown user \"u7\""},
      {"UnknownVideoInImpressions", "impressions.csv",
       i + "u1,p1,190,0,v9,0,0\n", 2, "unknown video \"v9\""},
      {"UnknownUserInImpressions", "impressions.csv",
       i + "u9,p1,190,0,v1,0,0\n", 2, "unknown user \"u9\""},
      {"PageWithTwoUsers", "impressions.csv",
       i + "u1,p1,190,0,v1,0,0\nu2,p1,190,1,v2,0,0\n", 3,
       "column 'page_id': page \"p1\" was shown to user \"u1\" at 190"},
      {"PageWithRepeatedPosition", "impressions.csv",
       i + "u1,p1,190,0,v1,0,0\nu1,p1,190,0,v2,0,0\n", 3,
       "already has a video at position 0"},
      {"DuplicateVideo", "videos.csv",
       v + "v1,t,c,a,en,1,60\nv2,t,c,a,en,1,60\nv1,t,c,a,en,1,60\n", 4,
       "column 'video_id': duplicate video \"v1\""},
      {"DuplicateUser", "users.csv", u + "u1,US,tv,,0,0\nu1,US,tv,,0,0\n", 3,
       "column 'user_id': duplicate user \"u1\""},
      {"InvalidUtf8", "videos.csv", v + "v1,caf\xE9,c,a,en,1,60\n", 2,
       "column 'title': \"caf\\xe9\" is not valid UTF-8 (at byte 3)"},
      {"OverlongUtf8", "searches.csv", s + "u1,1,\xC0\xAF\n", 2,
       "column 'query': \"\\xc0\\xaf\" is not valid UTF-8"},
      {"StrayQuote", "videos.csv", v + "v1,say \"hi\",c,a,en,1,60\n", 2,
       "stray '\"' inside the unquoted field"},
      {"TextAfterClosingQuote", "videos.csv", v + "v1,\"hi\"x,c,a,en,1,60\n",
       2, "after the closing quote"},
      {"UnterminatedQuote", "videos.csv",
       v + "v1,t,c,a,en,1,60\nv2,\"never closed,c,a,en,1,60\nv3,t\n", 3,
       "quoted field is never closed"},
      // The multi-line field on line 2 moves the next record to line 4.
      {"LineNumbersCountQuotedNewlines", "videos.csv",
       v + "v1,\"a\nb\",c,a,en,1,60\nv2,t,c,a,en,1,x\n", 4,
       "column 'duration_s'"},
      {"EmptyFile", "watches.csv", "", 0, "the file is empty"},
  };
}

class MalformedTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedTest, ErrorNamesFileLineAndReason) {
  const MalformedCase& c = GetParam();
  const std::string dir = NewTempDir("malformed_" + c.name);
  WriteValidDir(dir);
  ASSERT_TRUE(ReadLogs(dir).ok()) << ReadLogs(dir).status();
  const std::string path = dir + "/" + c.file;
  WriteFile(path, c.contents);

  absl::StatusOr<Logs> read = ReadLogs(dir);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string location =
      c.line > 0 ? absl::StrCat(path, ":", c.line, ": ") : path + ": ";
  EXPECT_THAT(read.status().message(), HasSubstr(location));
  EXPECT_THAT(read.status().message(), HasSubstr(c.reason));
}

INSTANTIATE_TEST_SUITE_P(
    AllCases, MalformedTest, ::testing::ValuesIn(MalformedCases()),
    [](const ::testing::TestParamInfo<MalformedCase>& info) {
      return info.param.name;
    });

TEST(LogsTest, SkipMalformedCountsEveryBadRowAndKeepsTheRest) {
  const std::string dir = NewTempDir("skip");
  WriteValidDir(dir);
  WriteFile(dir + "/videos.csv", std::string(kVideosHeader) +
                                     "v1,t,c,a,en,1,60\n"
                                     "v2,t,c,a,en,1,-60\n"  // Bad duration.
                                     "v3,\"oops,c,a,en,1,60\n");  // Unclosed.
  WriteFile(dir + "/watches.csv", std::string(kWatchesHeader) +
                                      "u1,v1,200,30\n"
                                      "u1,v2,201,30\n"  // v2 was skipped.
                                      "u1,v1,abc,30\n"
                                      "u2,v1,202,30\n");

  ReadLogsOptions options;
  options.skip_malformed = true;
  ReadLogsStats stats;
  absl::StatusOr<Logs> read = ReadLogs(dir, options, &stats);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->videos.size(), 1);
  ASSERT_EQ(read->watches.size(), 2);
  EXPECT_EQ(read->watches[1].user_id, "u2");
  // Two videos, two watches and the impression of the skipped video v2.
  EXPECT_EQ(stats.skipped_rows, 5);
  ASSERT_EQ(stats.skip_messages.size(), 5);
  EXPECT_THAT(stats.skip_messages[0], HasSubstr("videos.csv:3: column "
                                                "'duration_s'"));
  EXPECT_THAT(stats.skip_messages[1], HasSubstr("videos.csv:4: quoted field"));
  EXPECT_THAT(stats.skip_messages[2], HasSubstr("watches.csv:3: column "
                                                "'video_id': unknown video"));
  EXPECT_THAT(stats.skip_messages[3], HasSubstr("watches.csv:4: column "
                                                "'time_s'"));
  EXPECT_THAT(stats.skip_messages[4],
              HasSubstr("impressions.csv:3: column 'video_id': unknown video "
                        "\"v2\""));
  EXPECT_EQ(read->impressions.size(), 1);
}

TEST(LogsTest, SkipMalformedNeedsStats) {
  const std::string dir = NewTempDir("skip_needs_stats");
  WriteValidDir(dir);
  ReadLogsOptions options;
  options.skip_malformed = true;
  EXPECT_EQ(ReadLogs(dir, options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// users.csv gained `language` as an optional last column: files written
// before still read (language empty), and a file with it must give it on
// every row.
TEST(LogsTest, UsersLanguageColumnIsOptional) {
  const std::string dir = NewTempDir("users_language");
  WriteValidDir(dir);  // users.csv without the column.
  absl::StatusOr<Logs> read = ReadLogs(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->users.size(), 2);
  EXPECT_EQ(read->users[0].language, "");

  WriteFile(dir + "/users.csv",
            std::string(kUsersHeader).insert(strlen(kUsersHeader) - 1,
                                              ",language") +
                "u1,US,mobile,female,30,1,en\n"
                "u2,DE,tv,,0,0,\n");
  read = ReadLogs(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->users[0].language, "en");
  EXPECT_EQ(read->users[1].language, "");

  WriteFile(dir + "/users.csv",
            "user_id,region,device,gender,age,logged_in,language\n"
            "u1,US,mobile,female,30,1\n");
  read = ReadLogs(dir);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(read.status().message(),
              HasSubstr("users.csv:2: expected 7 columns"));

  WriteFile(dir + "/users.csv", "user_id,region,device,gender,age\n");
  read = ReadLogs(dir);
  EXPECT_THAT(read.status().message(),
              HasSubstr("the last 1 may be left out"));
}

TEST(LogsTest, SkipMalformedStillFailsOnABadHeader) {
  const std::string dir = NewTempDir("skip_bad_header");
  WriteValidDir(dir);
  WriteFile(dir + "/watches.csv", "user_id,time_s\n");
  ReadLogsOptions options;
  options.skip_malformed = true;
  ReadLogsStats stats;
  absl::StatusOr<Logs> read = ReadLogs(dir, options, &stats);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(read.status().message(), HasSubstr("watches.csv:1: header"));
}

TEST(LogsTest, RequiredFilesMustExist) {
  const std::string dir = NewTempDir("missing");
  WriteValidDir(dir);
  std::filesystem::remove(dir + "/watches.csv");
  absl::StatusOr<Logs> read = ReadLogs(dir);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(), HasSubstr("watches.csv"));

  // Optional files may be absent.
  WriteValidDir(dir);
  std::filesystem::remove(dir + "/searches.csv");
  std::filesystem::remove(dir + "/impressions.csv");
  std::filesystem::remove(dir + "/users.csv");
  EXPECT_TRUE(ReadLogs(dir).ok());
}

TEST(LogsTest, WriteRejectsWhatReadWouldReject) {
  const std::string dir = NewTempDir("write_invalid");
  Logs logs = TrickyLogs();
  logs.watches[1].time_s = -3;
  absl::Status status = WriteLogs(dir, logs);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("watches[1]: column 'time_s': -3 is negative"));
  EXPECT_FALSE(std::filesystem::exists(dir + "/videos.csv"));

  logs = TrickyLogs();
  logs.impressions[0].video_id = "nope";
  EXPECT_THAT(ValidateLogs(logs).message(),
              HasSubstr("impressions[0]: column 'video_id': unknown video"));
  logs = TrickyLogs();
  logs.videos[2].title = "bad \xFF";
  EXPECT_THAT(ValidateLogs(logs).message(),
              HasSubstr("videos[2]: column 'title'"));
  EXPECT_TRUE(ValidateLogs(TrickyLogs()).ok());
}

TEST(LogsTest, VideosFileRoundTrip) {
  const std::string dir = NewTempDir("videos_only");
  const std::string path = dir + "/catalogue.csv";
  const Logs logs = TrickyLogs();
  ASSERT_TRUE(WriteVideos(path, logs.videos).ok());
  absl::StatusOr<std::vector<VideoRecord>> read = ReadVideos(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ExpectSameRecords(logs.videos, *read);

  WriteFile(path, std::string(kVideosHeader) + "v1,t,c,a,en,1,60\n"
                                               "v1,t,c,a,en,1,60\n");
  EXPECT_THAT(ReadVideos(path).status().message(),
              HasSubstr(path + ":3: column 'video_id': duplicate video"));
  EXPECT_EQ(ReadVideos(dir + "/absent.csv").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace recsys

namespace recsys {
namespace {

// Files several read blocks long, with quoted newlines that straddle block
// boundaries: streaming reads every record whole and counts lines exactly.
TEST(LogStreamTest, LargeFilesStreamAcrossBlocksWithExactLineNumbers) {
  const std::string dir = NewTempDir("stream_large");
  Logs logs;
  for (int i = 0; i < 40000; ++i) {
    logs.videos.push_back({absl::StrCat("v", i),
                           absl::StrCat("Part ", i, ",\n\"quoted\" title"), "c1",
                           "music", "en", 1000 + i, 60.5f});
  }
  logs.users.push_back({"u1", "US", "tv", "", 30, true});
  for (int i = 0; i < 100000; ++i) {
    logs.watches.push_back({"u1", absl::StrCat("v", i % 40000), 2000 + i, 1.5f});
  }
  ASSERT_TRUE(WriteLogs(dir, logs).ok());
  ASSERT_GT(std::filesystem::file_size(dir + "/videos.csv"), 2u << 20);

  absl::StatusOr<std::unique_ptr<LogStreamReader>> reader = LogStreamReader::Open(dir);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ExpectSameRecords(logs.videos, (*reader)->videos());
  std::vector<WatchRecord> watches;
  ASSERT_TRUE((*reader)->ForEachWatch([&](WatchRecord&& w) {
    watches.push_back(std::move(w));
  }).ok());
  ExpectSameRecords(logs.watches, watches);

  // A bad row at the very end: the line number counts every quoted newline.
  std::ofstream(dir + "/videos.csv", std::ios::app) << "v-bad,t,c,a,en,1,-60\n";
  // Header line + 2 lines per video, so the bad row starts on line 80002.
  absl::StatusOr<Logs> bad = ReadLogs(dir);
  EXPECT_THAT(bad.status().message(), HasSubstr("videos.csv:80002:"));
}

TEST(LogStreamTest, WriterChecksRowsAndLeavesNothingWhenNotFinished) {
  const std::string dir = NewTempDir("stream_writer");
  {
    absl::StatusOr<std::unique_ptr<LogWriter>> writer = LogWriter::Create(dir);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Add(VideoRecord{"v1", "t", "c", "a", "en", 1, 60}).ok());
    absl::Status unknown = (*writer)->Add(WatchRecord{"u1", "v9", 5, 1});
    EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(unknown.message(), HasSubstr("unknown video"));
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));

  absl::StatusOr<std::unique_ptr<LogWriter>> writer = LogWriter::Create(dir);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Add(VideoRecord{"v1", "t", "c", "a", "en", 1, 60}).ok());
  ASSERT_TRUE((*writer)->Add(WatchRecord{"u1", "v1", 5, 1}).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  absl::StatusOr<Logs> read = ReadLogs(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->watches.size(), 1u);
}

}  // namespace
}  // namespace recsys
