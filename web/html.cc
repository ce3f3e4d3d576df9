#include "web/html.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace recsys::web {
namespace {

// Inline, so that the page needs nothing but itself.
constexpr char kStyleSheet[] = R"css(
body { font-family: sans-serif; margin: 0 1.5em 2em; color: #222; background: #fafafa; }
header { border-bottom: 1px solid #ccc; margin-bottom: 1em; padding: .6em 0; }
header a { font-weight: bold; color: #222; text-decoration: none; font-size: 1.2em; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: .4em 0 1em; font-size: .85em; background: #fff; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: bold; padding: .3em 0; }
.cards { display: flex; flex-wrap: wrap; gap: .6em; margin: .5em 0 1em; }
.card { background: #fff; border: 1px solid #ccc; border-radius: 6px; padding: .5em .7em; width: 16em; }
.card .rank { color: #888; font-size: .8em; }
.card .title { font-weight: bold; margin: .15em 0; }
.card .meta { font-size: .8em; color: #555; }
.card .watch { font-size: .9em; margin-top: .25em; }
.compare { display: flex; gap: 2em; align-items: flex-start; }
.compare > section { flex: 1; min-width: 0; }
.compare .cards { display: block; } .compare .card { width: auto; margin-bottom: .5em; }
.note { color: #555; font-size: .9em; }
.error { border: 1px solid #c33; background: #fee; padding: .8em 1em; border-radius: 6px; }
.degraded { color: #a40; font-weight: bold; }
form { margin: .5em 0 1em; } textarea { width: 100%; max-width: 60em; height: 10em; font-family: monospace; }
ul.users { columns: 4 10em; font-family: monospace; }
)css";

bool IsUnreserved(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == '~';
}

}  // namespace

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string UrlEncode(absl::string_view value) {
  std::string out;
  for (char c : value) {
    if (IsUnreserved(c)) {
      out += c;
    } else {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string UrlWithQuery(absl::string_view path,
                         const std::vector<std::pair<std::string, std::string>>& params) {
  std::string url(path);
  char separator = '?';
  for (const auto& [key, value] : params) {
    if (value.empty()) continue;
    absl::StrAppend(&url, std::string(1, separator), UrlEncode(key), "=", UrlEncode(value));
    separator = '&';
  }
  return url;
}

std::string HtmlPage(absl::string_view title, absl::string_view body_html) {
  return absl::StrCat("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<title>",
                      HtmlEscape(title), "</title><style>", kStyleSheet,
                      "</style></head>\n<body><header><a href=\"/\">recsys: recommendations "
                      "explorer</a></header>\n",
                      body_html, "\n</body></html>\n");
}

}  // namespace recsys::web
