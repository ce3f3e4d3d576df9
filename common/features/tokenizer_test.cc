#include "common/features/tokenizer.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace recsys {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(QueryTokensTest, UnigramsThenBigrams) {
  EXPECT_THAT(QueryTokens("Cat videos!"),
              ElementsAre("cat", "videos", "cat videos"));
}

TEST(QueryTokensTest, SingleWordHasNoBigram) {
  EXPECT_THAT(QueryTokens("HELLO"), ElementsAre("hello"));
}

TEST(QueryTokensTest, RunsOfPunctuationAndWhitespaceSeparateOneWordBoundary) {
  EXPECT_THAT(QueryTokens("  funny---CAT,,\t\nvideos   2024?! "),
              ElementsAre("funny", "cat", "videos", "2024", "funny cat",
                          "cat videos", "videos 2024"));
}

TEST(QueryTokensTest, PunctuationInsideAWordSplitsIt) {
  EXPECT_THAT(QueryTokens("don't"), ElementsAre("don", "t", "don t"));
  EXPECT_THAT(QueryTokens("a_b"), ElementsAre("a", "b", "a b"));
}

TEST(QueryTokensTest, DigitsAndLettersFormOneWord) {
  EXPECT_THAT(QueryTokens("Top10 mp3"), ElementsAre("top10", "mp3", "top10 mp3"));
}

TEST(QueryTokensTest, EmptyAndPunctuationOnlyQueriesHaveNoTokens) {
  EXPECT_THAT(QueryTokens(""), IsEmpty());
  EXPECT_THAT(QueryTokens("   "), IsEmpty());
  EXPECT_THAT(QueryTokens("?!-- ,."), IsEmpty());
}

TEST(QueryTokensTest, NonAsciiBytesStayInWords) {
  // "é" is two bytes (0xC3 0xA9); both belong to the word.
  EXPECT_THAT(QueryTokens("Café au-lait"),
              ElementsAre("café", "au", "lait", "café au", "au lait"));
  EXPECT_THAT(QueryTokens("日本 動画!"), ElementsAre("日本", "動画", "日本 動画"));
  // Non-ASCII letters are kept byte for byte (only ASCII is lower-cased).
  EXPECT_THAT(QueryTokens("ÉTÉ"), ElementsAre("\xC3\x89t\xC3\x89"));
}

TEST(QueryTokensTest, EmbeddedNulIsASeparator) {
  EXPECT_THAT(QueryTokens(absl::string_view("ab\0cd", 5)),
              ElementsAre("ab", "cd", "ab cd"));
}

}  // namespace
}  // namespace recsys
