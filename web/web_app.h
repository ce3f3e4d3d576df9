#ifndef RECSYS_WEB_WEB_APP_H_
#define RECSYS_WEB_WEB_APP_H_

// What each URL of recsys_web answers, without the HTTP server around it
// (web/web_server.h): parse and check the parameters, build the user's
// context, ask the candidate server, render the page. Every failure is an
// error page with an HTTP status (`HttpStatusFor`), never an exception.
//
//   GET  /                        the index: users whose ID contains ?q=
//   GET  /user?id=U[&v=VERSION]   U's history, recommendations, explanation
//   GET  /compare?id=U&a=V1&b=V2  U's lists from bundle versions V1 and V2
//   POST /context                 form fields context (a UserContext as
//                                 JSON), a and b (optional versions): the
//                                 user page (version a, or the newest), or
//                                 with both the compare page; b alone is 400

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/status/statusor.h"
#include "web/candidate_client.h"
#include "web/pages.h"
#include "web/user_directory.h"

namespace recsys::web {

// An HTTP answer: status code and an HTML document.
struct HttpPage {
  int status = 200;
  std::string html;
};

// The HTTP status of an error: 400 for bad input (InvalidArgument,
// FailedPrecondition, OutOfRange), 404 NotFound (an unknown user or bundle
// version), 503 Unavailable (the candidate server is down), 504
// DeadlineExceeded, 500 otherwise.
int HttpStatusFor(absl::StatusCode code);

// Thread-safe: its state is immutable, and `RecommendationSource` is.
class WebApp {
 public:
  struct Options {
    // Videos per list (`RecommendRequest.num_results`).
    int num_results = 20;
    // Users listed on the index at most.
    int max_listed_users = 200;
  };

  // `directory` (null: no logs, only pasted contexts) and `source` must
  // outlive the app.
  WebApp(const Options& options, const UserDirectory* directory, RecommendationSource* source)
      : options_(options), directory_(directory), source_(source) {}

  HttpPage Index(absl::string_view query) const;
  HttpPage User(const std::string& user_id, const std::string& version) const;
  HttpPage Compare(const std::string& user_id, const std::string& version_a,
                   const std::string& version_b) const;
  HttpPage PastedContext(const std::string& json, const std::string& version_a,
                         const std::string& version_b) const;

  // The error page for `status` (not OK), with `HttpStatusFor`'s code.
  static HttpPage Error(const absl::Status& status);

 private:
  absl::StatusOr<AnsweredList> Ask(const Subject& subject, const std::string& version) const;
  HttpPage Show(const absl::StatusOr<Subject>& subject, const std::string& version_a,
                const std::string& version_b, bool compare) const;

  const Options options_;
  const UserDirectory* const directory_;
  RecommendationSource* const source_;
};

}  // namespace recsys::web

#endif  // RECSYS_WEB_WEB_APP_H_
