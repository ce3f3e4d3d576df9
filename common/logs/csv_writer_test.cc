#include "common/logs/csv_writer.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace recsys {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

TEST(CsvFileWriterTest, WritesTheLogsDialectAndAppearsOnFinish) {
  const std::string path = ::testing::TempDir() + "/csv_writer_dialect.csv";
  std::filesystem::remove(path);
  absl::StatusOr<std::unique_ptr<CsvFileWriter>> writer =
      CsvFileWriter::Create(path, {"text", "int", "float", "bool"});
  ASSERT_TRUE(writer.ok()) << writer.status();
  (*writer)->Text("say \"hi\", twice");
  (*writer)->Int(-42);
  (*writer)->Float(0.1f);
  (*writer)->Bool(true);
  (*writer)->EndRow();
  (*writer)->Text("plain");
  (*writer)->Int(0);
  (*writer)->Float(2.5f);
  (*writer)->Bool(false);
  (*writer)->EndRow();
  EXPECT_FALSE(std::filesystem::exists(path));
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ(ReadFile(path),
            "text,int,float,bool\n"
            "\"say \"\"hi\"\", twice\",-42,0.1,1\n"
            "plain,0,2.5,0\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(CsvFileWriterTest, UnfinishedWriterLeavesNothing) {
  const std::string path = ::testing::TempDir() + "/csv_writer_unfinished.csv";
  {
    absl::StatusOr<std::unique_ptr<CsvFileWriter>> writer =
        CsvFileWriter::Create(path, {"a"});
    ASSERT_TRUE(writer.ok()) << writer.status();
    (*writer)->Int(1);
    (*writer)->EndRow();
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(CsvFileWriterTest, UnwritableDirectoryIsAnInternalError) {
  absl::StatusOr<std::unique_ptr<CsvFileWriter>> writer =
      CsvFileWriter::Create("/nonexistent-dir/x.csv", {"a"});
  EXPECT_EQ(writer.status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace recsys
