#include "common/features/vocabulary.h"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"

namespace recsys {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
  ASSERT_TRUE(out.good()) << path;
}

TEST(VocabularyTest, FromCountsOrdersByCountDescendingThenValue) {
  absl::flat_hash_map<std::string, int64_t> counts = {
      {"pear", 3}, {"apple", 7}, {"fig", 3}, {"kiwi", 1}, {"date", 3}};
  Vocabulary v = Vocabulary::FromCounts(counts, 0);
  EXPECT_THAT(v.values(), ElementsAre("apple", "date", "fig", "pear", "kiwi"));
  EXPECT_EQ(v.size(), 5);
  for (int32_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(v.Lookup(v.value(i)), i) << v.value(i);
  }
}

TEST(VocabularyTest, FromCountsKeepsTheMostFrequentMaxSize) {
  absl::flat_hash_map<std::string, int64_t> counts = {
      {"a", 1}, {"b", 50}, {"c", 20}, {"d", 20}, {"e", 5}};
  Vocabulary v = Vocabulary::FromCounts(counts, 3);
  EXPECT_THAT(v.values(), ElementsAre("b", "c", "d"));
  EXPECT_EQ(v.Lookup("e"), Vocabulary::kOov);
  EXPECT_EQ(v.Lookup("a"), Vocabulary::kOov);
  // A limit above the number of values keeps them all; <= 0 means no limit.
  EXPECT_EQ(Vocabulary::FromCounts(counts, 100).size(), 5);
  EXPECT_EQ(Vocabulary::FromCounts(counts, -1).size(), 5);
}

TEST(VocabularyTest, FromCountsDropsTheEmptyStringEvenWhenMostFrequent) {
  absl::flat_hash_map<std::string, int64_t> counts = {
      {"", 1000}, {"x", 2}, {"y", 1}};
  Vocabulary v = Vocabulary::FromCounts(counts, 2);
  // The empty string neither appears nor takes one of the two slots.
  EXPECT_THAT(v.values(), ElementsAre("x", "y"));
  EXPECT_EQ(v.Lookup(""), Vocabulary::kOov);
}

TEST(VocabularyTest, FromCountsOfNothingIsEmpty) {
  Vocabulary v = Vocabulary::FromCounts({}, 10);
  EXPECT_EQ(v.size(), 0);
  EXPECT_EQ(v.Lookup("anything"), Vocabulary::kOov);
}

TEST(VocabularyTest, LookupOfUnknownValueIsOov) {
  Vocabulary v = *Vocabulary::FromValues({"US", "DE", "FR"});
  EXPECT_EQ(v.Lookup("DE"), 1);
  EXPECT_EQ(v.Lookup("GB"), Vocabulary::kOov);
  EXPECT_EQ(v.Lookup("us"), Vocabulary::kOov);  // Case-sensitive.
  EXPECT_EQ(v.Lookup("US "), Vocabulary::kOov);
  EXPECT_EQ(v.Lookup(""), Vocabulary::kOov);
  EXPECT_EQ(Vocabulary().Lookup("US"), Vocabulary::kOov);
}

TEST(VocabularyTest, FromValuesRejectsDuplicatesAndNewlines) {
  absl::StatusOr<Vocabulary> dup = Vocabulary::FromValues({"a", "b", "a"});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(dup.status().message(), HasSubstr("'a'"));
  absl::StatusOr<Vocabulary> newline = Vocabulary::FromValues({"a", "b\nc"});
  EXPECT_EQ(newline.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(VocabularyTest, SaveLoadRoundTrip) {
  // Values a line-based format could mangle: spaces, tabs, UTF-8, a value
  // that looks like a number, a carriage return.
  std::vector<std::string> values = {"cat videos", " leading", "trailing ",
                                     "tab\there",  "café",     "日本",
                                     "0",          "a\rb",     "v123"};
  Vocabulary v = *Vocabulary::FromValues(values);
  const std::string path = TempPath("vocab_round_trip.txt");
  ASSERT_TRUE(v.Save(path).ok());
  absl::StatusOr<Vocabulary> loaded = Vocabulary::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->values(), values);
  for (int32_t i = 0; i < loaded->size(); ++i) {
    EXPECT_EQ(loaded->Lookup(values[i]), i) << values[i];
  }
}

TEST(VocabularyTest, SaveLoadRoundTripOfEmptyVocabulary) {
  const std::string path = TempPath("vocab_empty.txt");
  ASSERT_TRUE(Vocabulary().Save(path).ok());
  absl::StatusOr<Vocabulary> loaded = Vocabulary::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(loaded->values(), IsEmpty());
}

TEST(VocabularyTest, LoadReadsLineIAsIndexI) {
  const std::string path = TempPath("vocab_no_trailing_newline.txt");
  WriteFile(path, "zebra\napple\nmango");  // Last line without '\n'.
  absl::StatusOr<Vocabulary> v = Vocabulary::Load(path);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_THAT(v->values(), ElementsAre("zebra", "apple", "mango"));
  EXPECT_EQ(v->Lookup("mango"), 2);
}

TEST(VocabularyTest, LoadOfDuplicateLinesFailsNamingTheFile) {
  const std::string path = TempPath("vocab_duplicates.txt");
  WriteFile(path, "alpha\nbeta\nalpha\n");
  absl::StatusOr<Vocabulary> v = Vocabulary::Load(path);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v.status().message(), HasSubstr(path));
  EXPECT_THAT(v.status().message(), HasSubstr("alpha"));
}

TEST(VocabularyTest, LoadOfMissingFileIsNotFoundNamingTheFile) {
  const std::string path = TempPath("no_such_vocab.txt");
  absl::StatusOr<Vocabulary> v = Vocabulary::Load(path);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(v.status().message(), HasSubstr(path));
}

TEST(VocabularyTest, SaveToUnwritablePathFails) {
  Vocabulary v = *Vocabulary::FromValues({"a"});
  EXPECT_FALSE(v.Save(TempPath("no/such/dir/vocab.txt")).ok());
}

}  // namespace
}  // namespace recsys
