#ifndef RECSYS_WEB_EXPLAIN_TABLES_H_
#define RECSYS_WEB_EXPLAIN_TABLES_H_

// Any protobuf message as HTML tables, by reflection: how the web page shows
// `RecommendResponse.explanation` without naming its fields, so that a field
// added to or renamed in the explain messages (proto/recsys.proto) shows up
// without a change here.
//
// The layout, for a message M rendered under the name N:
//  - one two-column table (`data-field="N"`) of M's singular leaves: scalars,
//    enums (by name), repeated scalars (joined), with the fields of singular
//    sub-messages flattened into dotted paths ("user_tower.example_age");
//  - then one table per repeated message field, anywhere under M's singular
//    fields (`data-field` = its dotted path, e.g. "user_tower.watches_kept"),
//    one row per element and one column per leaf of the element type (in
//    declaration order; its singular sub-messages flattened the same way);
//    a repeated message field inside an element is a nested table in its
//    cell. Each of these tables is in a <details> element whose summary
//    names it and counts its rows, open unless it has more than 40.
// Every table has class "explain"; nested ones also "nested". Every header
// is a field path and every value is HTML-escaped. Tables are drawn from the
// descriptor, so an empty repeated field still gives its table with its
// header row (and one row saying "none").

#include <string>

#include <google/protobuf/message.h>

#include "absl/strings/string_view.h"

namespace recsys::web {

std::string ExplainTablesHtml(const google::protobuf::Message& message, absl::string_view name);

}  // namespace recsys::web

#endif  // RECSYS_WEB_EXPLAIN_TABLES_H_
