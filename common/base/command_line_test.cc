#include "common/base/command_line.h"

#include <map>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_DECLARE_FLAG(std::string, log_level);
ABSL_DECLARE_FLAG(std::string, log_format);

namespace recsys {
namespace {

TEST(HelpListsFlagsOfTest, TheMainFileAndTheLoggingFlags) {
  EXPECT_TRUE(HelpListsFlagsOf("trainer", "trainer/trainer_main.cc"));
  EXPECT_TRUE(HelpListsFlagsOf("train_benchmark", "trainer/train_benchmark.cc"));
  EXPECT_TRUE(HelpListsFlagsOf("world_gen", "simulator/world_gen-main.cc"));
  EXPECT_TRUE(HelpListsFlagsOf("ann_benchmark", "common/base/command_line.cc"));
  EXPECT_FALSE(HelpListsFlagsOf("trainer", "trainer/trainer_options.cc"));
  EXPECT_FALSE(HelpListsFlagsOf("train", "trainer/trainer_main.cc"));
  EXPECT_FALSE(HelpListsFlagsOf("", "trainer/trainer_main.cc"));
}

TEST(FlagValuesOfFileTest, TheFlagsOfOneFileAsTheyStand) {
  // command_line.cc defines --log_level and --log_format.
  absl::SetFlag(&FLAGS_log_level, "warn");
  const std::map<std::string, std::string> values = FlagValuesOfFile("common/base/command_line");
  EXPECT_EQ(values.at("log_level"), "warn");
  EXPECT_EQ(values.count("log_format"), 1u);
  for (const auto& [name, value] : values) {
    EXPECT_TRUE(name == "log_level" || name == "log_format") << name;
  }
  EXPECT_TRUE(FlagValuesOfFile("no/such_file").empty());
  absl::SetFlag(&FLAGS_log_level, "info");
}

TEST(InitLoggingFromFlagsTest, NamesTheBadFlag) {
  absl::FlagSaver saver;
  absl::SetFlag(&FLAGS_log_level, "loud");
  absl::Status status = InitLoggingFromFlags("tool");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "--log_level=loud: expected trace, debug, info, warn, error, critical or off");
  absl::SetFlag(&FLAGS_log_level, "info");
  absl::SetFlag(&FLAGS_log_format, "yaml");
  status = InitLoggingFromFlags("tool");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "--log_format=yaml: expected text or json");
}

TEST(InitLoggingFromFlagsTest, SetsTheDefaultLogger) {
  absl::FlagSaver saver;
  absl::SetFlag(&FLAGS_log_level, "debug");
  absl::SetFlag(&FLAGS_log_format, "json");
  ASSERT_TRUE(InitLoggingFromFlags("tool").ok());
  EXPECT_EQ(spdlog::default_logger()->name(), "tool");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
}

// Each in a process of its own: the usage message can be set once.
class ParseCommandLineTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(ParseCommandLineTest, BadLevelExitsWithStatus2) {
  std::vector<std::string> args = {"/bin/tool", "--log_level=loud"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  EXPECT_EXIT(ParseCommandLineAndInitLogging(static_cast<int>(argv.size()), argv.data(), "u"),
              ::testing::ExitedWithCode(2),
              "\\[error\\] tool: --log_level=loud: expected trace, debug, info, warn, error, "
              "critical or off");
}

TEST_F(ParseCommandLineTest, BadFormatExitsWithStatus2) {
  std::vector<std::string> args = {"/bin/tool", "--log_format=xml"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  EXPECT_EXIT(ParseCommandLineAndInitLogging(static_cast<int>(argv.size()), argv.data(), "u"),
              ::testing::ExitedWithCode(2), "tool: --log_format=xml: expected text or json");
}

// Parses a command line with both logging flags and a positional argument,
// logs one line, and exits 0 when everything was as expected.
void ParseLogAndExit() {
  std::vector<std::string> args = {"/bin/tool", "--log_level=warn", "--log_format=json",
                                   "input.csv"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  std::vector<char*> positional =
      ParseCommandLineAndInitLogging(static_cast<int>(argv.size()), argv.data(), "u");
  if (positional.size() != 2 || std::string(positional[1]) != "input.csv") std::exit(3);
  if (spdlog::default_logger()->level() != spdlog::level::warn) std::exit(4);
  spdlog::info("not written");
  spdlog::warn("parsed");
  std::exit(0);
}

TEST_F(ParseCommandLineTest, ParsesAndReturnsPositionalArguments) {
  EXPECT_EXIT(ParseLogAndExit(), ::testing::ExitedWithCode(0),
              R"(^\{"ts":"[^"]*","level":"warning","logger":"tool","msg":"parsed"\})"
              "\n$");
}

}  // namespace
}  // namespace recsys
