#include "common/base/logging.h"

#include <chrono>
#include <memory>
#include <string>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/spdlog.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

std::string JsonString(absl::string_view text) {
  std::string out;
  AppendJsonString(text, &out);
  return out;
}

// `line` parsed by protobuf's JSON parser (independent of the code under
// test) into a Struct; fails the test when it is not one JSON object.
google::protobuf::Struct ParseJsonObject(const std::string& line) {
  google::protobuf::Struct object;
  const auto status = google::protobuf::util::JsonStringToMessage(line, &object);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << line;
  return object;
}

std::string Format(const spdlog::details::log_msg& msg) {
  JsonLogFormatter formatter;
  spdlog::memory_buf_t buffer;
  formatter.format(msg, buffer);
  return std::string(buffer.data(), buffer.size());
}

// 2026-01-01T00:00:00Z plus `ms` milliseconds.
std::chrono::system_clock::time_point NewYear2026(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(1767225600)) +
         std::chrono::milliseconds(ms);
}

TEST(ParseLogLevelTest, AcceptsEachLevelAndSpdlogsAliases) {
  EXPECT_EQ(*ParseLogLevel("trace"), spdlog::level::trace);
  EXPECT_EQ(*ParseLogLevel("debug"), spdlog::level::debug);
  EXPECT_EQ(*ParseLogLevel("info"), spdlog::level::info);
  EXPECT_EQ(*ParseLogLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(*ParseLogLevel("warning"), spdlog::level::warn);
  EXPECT_EQ(*ParseLogLevel("error"), spdlog::level::err);
  EXPECT_EQ(*ParseLogLevel("err"), spdlog::level::err);
  EXPECT_EQ(*ParseLogLevel("critical"), spdlog::level::critical);
  EXPECT_EQ(*ParseLogLevel("off"), spdlog::level::off);
}

TEST(ParseLogLevelTest, NamesTheFlagAndTheAllowedValues) {
  for (absl::string_view bad : {"verbose", "", "INFO", "info "}) {
    absl::StatusOr<spdlog::level::level_enum> level = ParseLogLevel(bad);
    ASSERT_FALSE(level.ok()) << bad;
    EXPECT_EQ(level.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(level.status().message(),
              std::string("--log_level=") + std::string(bad) +
                  ": expected trace, debug, info, warn, error, critical or off");
  }
}

TEST(ParseLogFormatTest, TextOrJson) {
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  absl::StatusOr<LogFormat> bad = ParseLogFormat("xml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "--log_format=xml: expected text or json");
}

TEST(AppendJsonStringTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString(""), R"("")");
  EXPECT_EQ(JsonString("plain text"), R"("plain text")");
  EXPECT_EQ(JsonString(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(JsonString(R"(C:\dir\file)"), R"("C:\\dir\\file")");
  EXPECT_EQ(JsonString("a\nb\r\tc\b\f"), R"("a\nb\r\tc\b\f")");
  EXPECT_EQ(JsonString(absl::string_view("\0\x01\x1f\x7f", 4)), R"("\u0000\u0001\u001f\u007f")");
  EXPECT_EQ(JsonString("/ ' < >"), R"("/ ' < >")");
}

TEST(AppendJsonStringTest, PassesValidUtf8Through) {
  // é (2 bytes), € (3), U+1F600 (4), U+10FFFF (the last code point).
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF";
  EXPECT_EQ(JsonString(text), "\"" + text + "\"");
}

TEST(AppendJsonStringTest, ReplacesEachByteOfInvalidUtf8) {
  const std::string kReplacement = "\xEF\xBF\xBD";
  EXPECT_EQ(JsonString("a\xFF" "b"), "\"a" + kReplacement + "b\"");
  // A truncated sequence: each byte replaced.
  EXPECT_EQ(JsonString("\xE2\x82"), "\"" + kReplacement + kReplacement + "\"");
  // Overlong "/", a UTF-16 surrogate, past U+10FFFF, a lone continuation byte.
  EXPECT_EQ(JsonString("\xC0\xAF"), "\"" + kReplacement + kReplacement + "\"");
  EXPECT_EQ(JsonString("\xED\xA0\x80"),
            "\"" + kReplacement + kReplacement + kReplacement + "\"");
  EXPECT_EQ(JsonString("\xF4\x90\x80\x80"),
            "\"" + kReplacement + kReplacement + kReplacement + kReplacement + "\"");
  EXPECT_EQ(JsonString("\x80"), "\"" + kReplacement + "\"");
}

TEST(FormatRfc3339UtcTest, UtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339Utc(NewYear2026(123)), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(FormatRfc3339Utc(NewYear2026(86400 * 1000 + 3723 * 1000 + 7)),
            "2026-01-02T01:02:03.007Z");
  EXPECT_EQ(FormatRfc3339Utc(std::chrono::system_clock::time_point()),
            "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Utc(std::chrono::system_clock::time_point() -
                             std::chrono::milliseconds(1)),
            "1969-12-31T23:59:59.999Z");
}

TEST(JsonLogFormatterTest, OneObjectPerLine) {
  const spdlog::details::log_msg msg(NewYear2026(45), spdlog::source_loc{}, "trainer",
                                     spdlog::level::warn, "bad row 3: \"x\\y\"\nnext");
  EXPECT_EQ(Format(msg),
            R"({"ts":"2026-01-01T00:00:00.045Z","level":"warning","logger":"trainer",)"
            R"("msg":"bad row 3: \"x\\y\"\nnext"})"
            "\n");
}

TEST(JsonLogFormatterTest, EveryLineParsesAsJsonAndKeepsTheMessage) {
  // Every ASCII byte but NUL, valid UTF-8 of each length.
  std::string message;
  for (int c = 1; c < 128; ++c) message.push_back(static_cast<char>(c));
  message += " caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
  const spdlog::details::log_msg msg(NewYear2026(999), spdlog::source_loc{}, "world_gen",
                                     spdlog::level::err, message);
  const std::string line = Format(msg);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
  const google::protobuf::Struct object = ParseJsonObject(line.substr(0, line.size() - 1));
  ASSERT_EQ(object.fields_size(), 4);
  EXPECT_EQ(object.fields().at("ts").string_value(), "2026-01-01T00:00:00.999Z");
  EXPECT_EQ(object.fields().at("level").string_value(), "error");
  EXPECT_EQ(object.fields().at("logger").string_value(), "world_gen");
  EXPECT_EQ(object.fields().at("msg").string_value(), message);
}

TEST(JsonLogFormatterTest, InvalidUtf8StillParses) {
  const spdlog::details::log_msg msg(NewYear2026(0), spdlog::source_loc{}, "trainer",
                                     spdlog::level::info, "row \xFF\xFE");
  const std::string line = Format(msg);
  const google::protobuf::Struct object = ParseJsonObject(line.substr(0, line.size() - 1));
  EXPECT_EQ(object.fields().at("msg").string_value(), "row \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(InitLoggingTest, JsonLinesOnStderrAtTheLevel) {
  InitLogging({"tool", spdlog::level::info, LogFormat::kJson});
  ::testing::internal::CaptureStderr();
  spdlog::debug("not written");
  spdlog::info("read {}: {} videos", "data/world", 3000);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, MatchesRegex(R"(\{"ts":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:)"
                                R"([0-9]{2}\.[0-9]{3}Z","level":"info","logger":"tool",)"
                                R"("msg":"read data/world: 3000 videos"\}.)"));
  ParseJsonObject(err.substr(0, err.size() - 1));
}

TEST(InitLoggingTest, TextLinesOnStderr) {
  InitLogging({"tool", spdlog::level::warn, LogFormat::kText});
  ::testing::internal::CaptureStderr();
  spdlog::info("not written");
  spdlog::error("tool: cannot write {}", "/x");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, MatchesRegex(R"(\[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.)"
                                R"([0-9]{3}Z\] \[error\] tool: cannot write /x.)"));
  EXPECT_THAT(err, ::testing::Not(HasSubstr("not written")));
}

}  // namespace
}  // namespace recsys
