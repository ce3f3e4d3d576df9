#ifndef RECSYS_WEB_PAGES_H_
#define RECSYS_WEB_PAGES_H_

// The pages of recsys_web as pure functions of what they show: the index
// (pick a user or paste a context), a user's page (history, recommendation
// cards, explain tables), the side-by-side comparison of two bundle
// versions, and the error page. Every text from logs, requests or answers is
// HTML-escaped. The cards and tables carry stable classes and data
// attributes (`card`, `title`, `data-video-id`, `explain`, `data-field`,
// `data-version`) for tests and readers of the DOM.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/recsys.pb.h"
#include "web/user_directory.h"

namespace recsys::web {

// Whose recommendations a page shows.
struct Subject {
  // The logs' user, or empty for a pasted context.
  std::string user_id;
  // The context as sent in every request of the page.
  UserContext context;
  // A pasted context's JSON, carried by the page's compare form; empty for a
  // user of the logs.
  std::string pasted_json;
};

// One Recommend answer and the version it was asked for (empty: the
// server's newest).
struct AnsweredList {
  std::string requested_version;
  RecommendResponse response;
};

// `directory` may be null (no logs: only pasting is offered). `users` are
// the matches of `query` to list; `total_matches` how many there are.
std::string IndexPageHtml(const UserDirectory* directory, absl::string_view query,
                          const std::vector<std::string>& users, int total_matches);

// History, cards and explain tables of one answer. `directory` (may be
// null) names the videos of the history and gives each card its topic.
std::string UserPageHtml(const UserDirectory* directory, const Subject& subject,
                         const AnsweredList& list);

// Two answers for the same context side by side: A left, B right.
std::string ComparePageHtml(const UserDirectory* directory, const Subject& subject,
                            const AnsweredList& a, const AnsweredList& b);

// A page saying what went wrong and what to do, for HTTP `http_status`.
std::string ErrorPageHtml(int http_status, const absl::Status& status);

}  // namespace recsys::web

#endif  // RECSYS_WEB_PAGES_H_
