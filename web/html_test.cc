#include "web/html.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace recsys::web {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(HtmlEscapeTest, EscapesEveryMarkupCharacter) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">Tom & Jerry's</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("crème fútbol"), "crème fútbol");  // UTF-8 passes through
  EXPECT_EQ(HtmlEscape(""), "");
}

TEST(UrlTest, EncodesQueryValuesAndSkipsEmptyOnes) {
  EXPECT_EQ(UrlEncode("u 1&x=é/"), "u%201%26x%3D%C3%A9%2F");
  EXPECT_EQ(UrlEncode("A-z_0.9~"), "A-z_0.9~");
  EXPECT_EQ(UrlWithQuery("/compare", {{"id", "u1"}, {"a", "2026 01"}, {"b", ""}}),
            "/compare?id=u1&a=2026%2001");
  EXPECT_EQ(UrlWithQuery("/", {}), "/");
}

TEST(HtmlPageTest, EscapesTheTitleAndNeedsNothingExternal) {
  const std::string page = HtmlPage("<x>", "<p>body</p>");
  EXPECT_THAT(page, HasSubstr("<title>&lt;x&gt;</title>"));
  EXPECT_THAT(page, HasSubstr("<p>body</p>"));
  EXPECT_THAT(page, Not(HasSubstr("<script")));
  EXPECT_THAT(page, Not(HasSubstr("http://")));
  EXPECT_THAT(page, Not(HasSubstr("https://")));
}

}  // namespace
}  // namespace recsys::web
