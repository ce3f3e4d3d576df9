#ifndef RECSYS_WEB_HTML_H_
#define RECSYS_WEB_HTML_H_

// The few pieces of HTML every page of recsys_web is made of: escaping of
// text and attribute values, query-string encoding, and the page frame
// with its inline style sheet. Pages are plain server-rendered HTML: no
// JavaScript and no external assets (the machines serving it may have no
// internet).

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace recsys::web {

// `text` with &, <, >, " and ' replaced by entities: safe inside element
// content and inside a double- or single-quoted attribute value.
std::string HtmlEscape(absl::string_view text);

// `value` percent-encoded for a URL query (RFC 3986 unreserved characters
// kept, everything else as %XX of its UTF-8 bytes).
std::string UrlEncode(absl::string_view value);

// "path?k1=v1&k2=v2" with each key and value `UrlEncode`d; parameters with
// an empty value are left out. Not HTML-escaped: pass the result through
// `HtmlEscape` before putting it in an attribute.
std::string UrlWithQuery(absl::string_view path,
                         const std::vector<std::pair<std::string, std::string>>& params);

// A whole HTML5 document: <title> `title` (escaped here), the inline style
// sheet, a header linking back to the index, then `body_html` (already
// HTML, placed as is).
std::string HtmlPage(absl::string_view title, absl::string_view body_html);

}  // namespace recsys::web

#endif  // RECSYS_WEB_HTML_H_
