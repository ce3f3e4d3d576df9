#include "web/explain_tables.h"

#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "web/html.h"

namespace recsys::web {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

// Sub-messages flattened deeper than this are shown as their text form: a
// guard against recursive message types.
constexpr int kMaxDepth = 4;
// A table of more rows starts folded (<details> without `open`).
constexpr size_t kMaxOpenRows = 40;

// One value as text: floats with 4 significant digits, enums by name.
std::string ScalarText(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool repeated = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(repeated ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(repeated ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(repeated ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(repeated ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrFormat("%.4g",
                             repeated ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrFormat("%.4g",
                             repeated ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (repeated ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return repeated ? r->GetRepeatedEnum(m, f, index)->name() : r->GetEnum(m, f)->name();
    case FieldDescriptor::CPPTYPE_STRING:
      return repeated ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return (repeated ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f))
          .ShortDebugString();
  }
  return "";
}

// A column (or a row of the key/value table): a path of singular fields
// from the rendered message down to `leaf`.
struct Leaf {
  std::vector<const FieldDescriptor*> path;
  std::string name;  // dotted
};

// The leaves of `type` under `prefix` (singular sub-messages flattened;
// repeated message fields go to `repeated_messages`).
void CollectLeaves(const Descriptor* type, const std::vector<const FieldDescriptor*>& prefix,
                   const std::string& name_prefix, int depth, std::vector<Leaf>* leaves,
                   std::vector<Leaf>* repeated_messages) {
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* f = type->field(i);
    std::vector<const FieldDescriptor*> path = prefix;
    path.push_back(f);
    const std::string name = name_prefix.empty() ? f->name() : absl::StrCat(name_prefix, ".", f->name());
    const bool message = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    if (message && f->is_repeated()) {
      repeated_messages->push_back({std::move(path), name});
    } else if (message && depth < kMaxDepth) {
      CollectLeaves(f->message_type(), path, name, depth + 1, leaves, repeated_messages);
    } else {
      leaves->push_back({std::move(path), name});
    }
  }
}

// The message holding `leaf`'s last field, following its singular path from
// `root` (unset sub-messages read as their defaults).
const Message& Holder(const Message& root, const Leaf& leaf) {
  const Message* m = &root;
  for (size_t i = 0; i + 1 < leaf.path.size(); ++i) {
    m = &m->GetReflection()->GetMessage(*m, leaf.path[i]);
  }
  return *m;
}

std::string TableHtml(const Descriptor* type, const std::vector<const Message*>& rows,
                      const std::string& name, bool nested);

// The cell of `leaf` in `root`: the value (repeated scalars joined), or a
// nested table for a repeated message field.
std::string CellHtml(const Message& root, const Leaf& leaf) {
  const Message& m = Holder(root, leaf);
  const FieldDescriptor* f = leaf.path.back();
  if (!f->is_repeated()) return HtmlEscape(ScalarText(m, f, 0));
  const int n = m.GetReflection()->FieldSize(m, f);
  if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    std::vector<const Message*> elements;
    for (int i = 0; i < n; ++i) elements.push_back(&m.GetReflection()->GetRepeatedMessage(m, f, i));
    return TableHtml(f->message_type(), elements, leaf.name, /*nested=*/true);
  }
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i) values.push_back(ScalarText(m, f, i));
  return HtmlEscape(absl::StrJoin(values, ", "));
}

bool IsNumeric(const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
    case FieldDescriptor::CPPTYPE_ENUM:
    case FieldDescriptor::CPPTYPE_MESSAGE:
    case FieldDescriptor::CPPTYPE_BOOL:
      return false;
    default:
      return !f->is_repeated();
  }
}

// One row per element of `rows` (all of `type`), one column per leaf.
std::string TableHtml(const Descriptor* type, const std::vector<const Message*>& rows,
                      const std::string& name, bool nested) {
  std::vector<Leaf> leaves;
  std::vector<Leaf> repeated_messages;
  CollectLeaves(type, {}, "", 0, &leaves, &repeated_messages);
  // Inside an element, a repeated message field is a column too (a nested
  // table), after the scalars.
  leaves.insert(leaves.end(), repeated_messages.begin(), repeated_messages.end());
  std::string html = absl::StrCat("<table class=\"explain", nested ? " nested" : "",
                                  "\" data-field=\"", HtmlEscape(name), "\">");
  html += "<thead><tr>";
  for (const Leaf& leaf : leaves) absl::StrAppend(&html, "<th>", HtmlEscape(leaf.name), "</th>");
  html += "</tr></thead><tbody>";
  for (const Message* row : rows) {
    html += "<tr>";
    for (const Leaf& leaf : leaves) {
      absl::StrAppend(&html, IsNumeric(leaf.path.back()) ? "<td class=\"num\">" : "<td>",
                      CellHtml(*row, leaf), "</td>");
    }
    html += "</tr>";
  }
  if (rows.empty()) {
    absl::StrAppend(&html, "<tr><td class=\"none\" colspan=\"", leaves.size(), "\">none</td></tr>");
  }
  html += "</tbody></table>";
  return html;
}

}  // namespace

std::string ExplainTablesHtml(const Message& message, absl::string_view name) {
  std::vector<Leaf> leaves;
  std::vector<Leaf> repeated_messages;
  CollectLeaves(message.GetDescriptor(), {}, "", 0, &leaves, &repeated_messages);
  std::string html;
  if (!leaves.empty()) {
    absl::StrAppend(&html, "<table class=\"explain\" data-field=\"", HtmlEscape(name),
                    "\"><caption>", HtmlEscape(name),
                    "</caption><thead><tr><th>field</th><th>value</th></tr></thead><tbody>");
    for (const Leaf& leaf : leaves) {
      absl::StrAppend(&html, "<tr><th>", HtmlEscape(leaf.name), "</th><td>",
                      CellHtml(message, leaf), "</td></tr>");
    }
    html += "</tbody></table>\n";
  }
  for (const Leaf& leaf : repeated_messages) {
    const Message& holder = Holder(message, leaf);
    const FieldDescriptor* f = leaf.path.back();
    const Reflection* r = holder.GetReflection();
    std::vector<const Message*> rows;
    for (int i = 0; i < r->FieldSize(holder, f); ++i) rows.push_back(&r->GetRepeatedMessage(holder, f, i));
    // Long tables (the removed candidates: hundreds) start folded.
    absl::StrAppend(&html, "<details", rows.size() <= kMaxOpenRows ? " open" : "", "><summary>",
                    HtmlEscape(leaf.name), " (", rows.size(), ")</summary>",
                    TableHtml(f->message_type(), rows, leaf.name, /*nested=*/false),
                    "</details>\n");
  }
  return html;
}

}  // namespace recsys::web
