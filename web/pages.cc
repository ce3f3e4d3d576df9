#include "web/pages.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include <google/protobuf/util/json_util.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "web/explain_tables.h"
#include "web/html.h"

namespace recsys::web {
namespace {

// The history table shows the most recent watches only.
constexpr int kMaxHistoryRows = 200;
constexpr int kMaxSearchRows = 30;

std::string Esc(absl::string_view text) { return HtmlEscape(text); }

std::string UtcTime(int64_t time_s) {
  return absl::FormatTime("%Y-%m-%d %H:%M", absl::FromUnixSeconds(time_s), absl::UTCTimeZone());
}

// "m:ss" for seconds, e.g. 754.3 -> "12:34".
std::string MinutesSeconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t total = static_cast<int64_t>(std::llround(seconds));
  return absl::StrFormat("%d:%02d", total / 60, total % 60);
}

std::string SourceName(CandidateSource source) {
  return absl::AsciiStrToLower(absl::StripPrefix(CandidateSource_Name(source), "SOURCE_"));
}

std::string GenderName(Gender gender) {
  switch (gender) {
    case GENDER_FEMALE:
      return "female";
    case GENDER_MALE:
      return "male";
    default:
      return "?";
  }
}

std::string OrUnknown(const std::string& text) { return text.empty() ? "?" : text; }

// The catalogue's topics of a video ("music, live"), "?" when unknown.
std::string Topics(const UserDirectory* directory, const std::string& video_id) {
  const VideoRecord* video = directory == nullptr ? nullptr : directory->FindVideo(video_id);
  if (video == nullptr || video->topics.empty()) return "?";
  return absl::StrReplaceAll(video->topics, {{"|", ", "}});
}

std::string ContextJson(const UserContext& context) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(context, &json, options).ok()) return "";
  return json;
}

std::string SubjectName(const Subject& subject) {
  if (!subject.user_id.empty()) return subject.user_id;
  return subject.context.user_id().empty() ? "pasted context"
                                           : absl::StrCat(subject.context.user_id(), " (pasted)");
}

// Demographics, counts and the request time.
std::string ContextSummaryHtml(const UserContext& c) {
  const Demographics& d = c.demographics();
  return absl::StrCat(
      "<p class=\"summary\">As of ", Esc(UtcTime(c.request_time_s())), " UTC (",
      c.request_time_s(), "). Region ", Esc(OrUnknown(d.region())), ", device ",
      Esc(OrUnknown(d.device())), ", language ", Esc(OrUnknown(d.language())), ", gender ",
      GenderName(d.gender()), ", age ", d.age() > 0 ? absl::StrCat(d.age()) : "?",
      d.logged_in() ? ", logged in" : ", logged out", ". ", c.watches_size(), " watches, ",
      c.searches_size(), " searches, ", c.impressions_size(), " impressions.</p>\n");
}

// The context's watches (most recent first) and searches.
std::string HistoryHtml(const UserDirectory* directory, const UserContext& c) {
  std::vector<const Watch*> watches;
  for (const Watch& w : c.watches()) watches.push_back(&w);
  std::stable_sort(watches.begin(), watches.end(),
                   [](const Watch* a, const Watch* b) { return a->time_s() > b->time_s(); });
  std::string html = absl::StrCat("<h2>History</h2>\n<table class=\"history\" data-field=\"watches\">"
                                  "<caption>Watches, most recent first (",
                                  watches.size(), ")</caption><thead><tr><th>time (UTC)</th>"
                                  "<th>video</th><th>title</th><th>channel</th><th>topic</th>"
                                  "<th>watched</th></tr></thead><tbody>");
  const int shown = std::min<int>(static_cast<int>(watches.size()), kMaxHistoryRows);
  for (int i = 0; i < shown; ++i) {
    const Watch& w = *watches[i];
    const VideoRecord* video = directory == nullptr ? nullptr : directory->FindVideo(w.video_id());
    absl::StrAppend(&html, "<tr><td>", Esc(UtcTime(w.time_s())), "</td><td>", Esc(w.video_id()),
                    "</td><td>", video == nullptr ? "?" : Esc(video->title), "</td><td>",
                    video == nullptr ? "?" : Esc(video->channel_id), "</td><td>",
                    Esc(Topics(directory, w.video_id())), "</td><td class=\"num\">",
                    MinutesSeconds(w.watch_seconds()), "</td></tr>");
  }
  if (watches.empty()) html += "<tr><td colspan=\"6\">none</td></tr>";
  html += "</tbody></table>\n";
  if (shown < static_cast<int>(watches.size())) {
    absl::StrAppend(&html, "<p class=\"note\">", watches.size() - shown,
                    " older watches not shown (all of them are in the request).</p>\n");
  }
  if (c.searches_size() > 0) {
    std::vector<const SearchQuery*> searches;
    for (const SearchQuery& s : c.searches()) searches.push_back(&s);
    std::stable_sort(searches.begin(), searches.end(), [](const SearchQuery* a, const SearchQuery* b) {
      return a->time_s() > b->time_s();
    });
    html += "<p>Searches, most recent first: ";
    std::vector<std::string> shown_searches;
    for (size_t i = 0; i < searches.size() && i < kMaxSearchRows; ++i) {
      shown_searches.push_back(absl::StrCat("&ldquo;", Esc(searches[i]->query()), "&rdquo;"));
    }
    absl::StrAppend(&html, absl::StrJoin(shown_searches, ", "),
                    searches.size() > kMaxSearchRows ? ", ..." : "", "</p>\n");
  }
  return html;
}

// Where each video of `other` is, 1-based.
absl::flat_hash_map<std::string, int> Ranks(const RecommendResponse& other) {
  absl::flat_hash_map<std::string, int> ranks;
  for (int i = 0; i < other.videos_size(); ++i) ranks.emplace(other.videos(i).video_id(), i + 1);
  return ranks;
}

// The answer's videos as cards. With `other` (the compare view), each card
// says where the other version put the video.
std::string CardsHtml(const UserDirectory* directory, const RecommendResponse& response,
                      const absl::flat_hash_map<std::string, int>* other,
                      absl::string_view other_name) {
  std::string html = "<div class=\"cards\">";
  for (int i = 0; i < response.videos_size(); ++i) {
    const RankedVideo& v = response.videos(i);
    absl::StrAppend(&html, "<div class=\"card\" data-video-id=\"", Esc(v.video_id()),
                    "\"><div class=\"rank\">#", i + 1, " &middot; ", Esc(v.video_id()),
                    "</div><div class=\"title\">", Esc(v.title().empty() ? "(untitled)" : v.title()),
                    "</div><div class=\"meta\">channel <span class=\"channel\">",
                    Esc(OrUnknown(v.channel_id())), "</span> &middot; topic <span class=\"topic\">",
                    Esc(Topics(directory, v.video_id())),
                    "</span></div><div class=\"watch\">predicted watch <b>",
                    MinutesSeconds(v.predicted_watch_seconds()), "</b> (",
                    absl::StrFormat("%.1f", v.predicted_watch_seconds()),
                    " s)</div><div class=\"meta\">source <span class=\"source\">",
                    Esc(SourceName(v.source())), "</span> &middot; retrieval score ",
                    absl::StrFormat("%.3f", v.retrieval_score()), "</div>");
    if (other != nullptr) {
      auto it = other->find(v.video_id());
      absl::StrAppend(&html, "<div class=\"meta other\">",
                      it == other->end() ? absl::StrCat("not in ", other_name)
                                         : absl::StrCat("#", it->second, " in ", other_name),
                      "</div>");
    }
    html += "</div>";
  }
  if (response.videos_size() == 0) html += "<p>No videos.</p>";
  html += "</div>\n";
  return html;
}

// Which versions answered, and whether the answer is degraded.
std::string AnswerSummaryHtml(const AnsweredList& list) {
  const RecommendResponse& r = list.response;
  std::string html = absl::StrCat(
      "<p class=\"versions\">Candidate bundle <b class=\"model-version\">", Esc(r.model_version()),
      "</b>", list.requested_version.empty() ? " (the server's newest)" : " (as asked)",
      ", ranking bundle ", Esc(r.ranking_model_version().empty() ? "none" : r.ranking_model_version()),
      ". ", r.videos_size(), " videos.");
  if (r.degraded()) {
    absl::StrAppend(&html, " <span class=\"degraded\">Degraded: ",
                    Esc(DegradedCause_Name(r.degraded_cause())),
                    " (in retrieval order, not ranked).</span>");
  }
  if (r.version_mismatch()) html += " Ranked with another bundle version.";
  if (r.shards_missing() > 0) absl::StrAppend(&html, " ", r.shards_missing(), " ANN shards missing.");
  html += "</p>\n";
  return html;
}

std::string ExplanationHtml(const RecommendResponse& response) {
  if (!response.has_explanation()) {
    // The tables of the explain messages, empty: the server did not explain
    // (an older candidate_server).
    return absl::StrCat("<p class=\"note\">The candidate server sent no explanation.</p>",
                        ExplainTablesHtml(response.explanation(), "explanation"));
  }
  return ExplainTablesHtml(response.explanation(), "explanation");
}

// The compare form: versions A and B for the same subject.
std::string CompareFormHtml(const Subject& subject, const std::string& a, const std::string& b) {
  std::string html = "<h2>Compare two bundle versions</h2>\n";
  if (subject.pasted_json.empty()) {
    absl::StrAppend(&html, "<form method=\"get\" action=\"/compare\"><input type=\"hidden\" name=\"id\" value=\"",
                    Esc(subject.user_id), "\">");
  } else {
    absl::StrAppend(&html, "<form method=\"post\" action=\"/context\"><input type=\"hidden\" name=\"context\" value=\"",
                    Esc(subject.pasted_json), "\">");
  }
  absl::StrAppend(&html, "A <input name=\"a\" value=\"", Esc(a), "\" size=\"20\"> B <input name=\"b\" value=\"",
                  Esc(b), "\" size=\"20\"> <button type=\"submit\">compare</button> "
                  "<span class=\"note\">(bundle version directory names loaded by the candidate server, "
                  "see its --max_loaded_versions)</span></form>\n");
  return html;
}

std::string ContextJsonHtml(const UserContext& context) {
  return absl::StrCat("<details><summary>The request's context as JSON (paste it on the index page to "
                      "edit it)</summary><pre>",
                      Esc(ContextJson(context)), "</pre></details>\n");
}

}  // namespace

std::string IndexPageHtml(const UserDirectory* directory, absl::string_view query,
                          const std::vector<std::string>& users, int total_matches) {
  std::string body = "<h1>Pick a user</h1>\n";
  if (directory == nullptr) {
    body += "<p class=\"note\">No logs were given (--world or --logs): paste a context below.</p>\n";
  } else {
    absl::StrAppend(&body, "<form method=\"get\" action=\"/\">User ID contains <input name=\"q\" value=\"",
                    Esc(query), "\" autofocus> <button type=\"submit\">search</button></form>\n<p>",
                    total_matches, " of ", directory->num_users(), " users match",
                    static_cast<int>(users.size()) < total_matches
                        ? absl::StrCat("; the first ", users.size(), " are listed")
                        : "",
                    ".</p>\n<ul class=\"users\">");
    for (const std::string& user : users) {
      absl::StrAppend(&body, "<li><a href=\"", Esc(UrlWithQuery("/user", {{"id", user}})), "\">",
                      Esc(user), "</a></li>");
    }
    body += "</ul>\n";
  }
  body += "<h2>Or paste a context</h2>\n"
          "<form method=\"post\" action=\"/context\"><p class=\"note\">A recsys.UserContext as JSON "
          "(protobuf's JSON mapping), e.g. <code>{\"watches\": [{\"video_id\": \"v00012\"}], "
          "\"demographics\": {\"region\": \"US\"}}</code>.</p><textarea name=\"context\"></textarea><br>"
          "Version <input name=\"a\" size=\"20\"> (empty: the newest); compare with <input name=\"b\" "
          "size=\"20\"> (optional) <button type=\"submit\">recommend</button></form>\n";
  return HtmlPage("recsys: pick a user", body);
}

std::string UserPageHtml(const UserDirectory* directory, const Subject& subject,
                         const AnsweredList& list) {
  const std::string name = SubjectName(subject);
  std::string body = absl::StrCat("<h1>Recommendations for <span class=\"user\">", Esc(name), "</span></h1>\n",
                                  ContextSummaryHtml(subject.context));
  absl::StrAppend(&body, "<h2>Recommended</h2>\n", AnswerSummaryHtml(list),
                  "<section class=\"list\" data-version=\"", Esc(list.response.model_version()), "\">",
                  CardsHtml(directory, list.response, nullptr, ""), "</section>\n",
                  CompareFormHtml(subject, list.response.model_version(), ""),
                  HistoryHtml(directory, subject.context), "<h2>Explanation</h2>\n",
                  ExplanationHtml(list.response), ContextJsonHtml(subject.context));
  return HtmlPage(absl::StrCat("recsys: ", name), body);
}

std::string ComparePageHtml(const UserDirectory* directory, const Subject& subject,
                            const AnsweredList& a, const AnsweredList& b) {
  const std::string name = SubjectName(subject);
  const absl::flat_hash_map<std::string, int> ranks_a = Ranks(a.response);
  const absl::flat_hash_map<std::string, int> ranks_b = Ranks(b.response);
  int shared = 0;
  for (const RankedVideo& v : a.response.videos()) shared += ranks_b.contains(v.video_id()) ? 1 : 0;
  std::string body = absl::StrCat(
      "<h1>Two versions for <span class=\"user\">", Esc(name), "</span></h1>\n",
      ContextSummaryHtml(subject.context), "<p>", shared, " videos are in both lists.</p>\n",
      "<div class=\"compare\">");
  const struct {
    const char* label;
    const AnsweredList* list;
    const absl::flat_hash_map<std::string, int>* other;
    const char* other_name;
  } sides[] = {{"A", &a, &ranks_b, "B"}, {"B", &b, &ranks_a, "A"}};
  for (const auto& side : sides) {
    absl::StrAppend(&body, "<section class=\"list\" data-side=\"", side.label, "\" data-version=\"",
                    Esc(side.list->response.model_version()), "\"><h2>", side.label, ": ",
                    Esc(side.list->response.model_version()), "</h2>", AnswerSummaryHtml(*side.list),
                    CardsHtml(directory, side.list->response, side.other, side.other_name),
                    "<details><summary>Explanation of ", side.label, "</summary>",
                    ExplanationHtml(side.list->response), "</details></section>\n");
  }
  absl::StrAppend(&body, "</div>\n", CompareFormHtml(subject, a.requested_version, b.requested_version),
                  HistoryHtml(directory, subject.context), ContextJsonHtml(subject.context));
  return HtmlPage(absl::StrCat("recsys: ", name, ", two versions"), body);
}

std::string ErrorPageHtml(int http_status, const absl::Status& status) {
  return HtmlPage(
      absl::StrCat("recsys: error ", http_status),
      absl::StrCat("<h1>Error ", http_status, "</h1>\n<div class=\"error\"><p><b>",
                   Esc(absl::StatusCodeToString(status.code())), "</b>: <span class=\"message\">",
                   Esc(status.message()), "</span></p></div>\n<p><a href=\"/\">Back to the index</a></p>\n"));
}

}  // namespace recsys::web
