#include "web/web_app.h"

#include <vector>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "common/grpc/request_validation.h"

namespace recsys::web {
namespace {

// Version strings longer than the service takes (`RecommendRequest.
// model_version`) are refused before any call.
absl::Status CheckVersion(absl::string_view name, const std::string& version) {
  if (version.size() > static_cast<size_t>(kMaxModelVersionBytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("version ", name, " is longer than ", kMaxModelVersionBytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

HttpPage WebApp::Error(const absl::Status& status) {
  const int http_status = HttpStatusFor(status.code());
  return {http_status, ErrorPageHtml(http_status, status)};
}

HttpPage WebApp::Index(absl::string_view query) const {
  std::vector<std::string> users;
  int total = 0;
  if (directory_ != nullptr) users = directory_->FindUsers(query, options_.max_listed_users, &total);
  return {200, IndexPageHtml(directory_, query, users, total)};
}

absl::StatusOr<AnsweredList> WebApp::Ask(const Subject& subject, const std::string& version) const {
  RecommendRequest request;
  *request.mutable_context() = subject.context;
  request.set_num_results(options_.num_results);
  request.set_explain(true);
  request.set_model_version(version);
  absl::StatusOr<RecommendResponse> response = source_->Recommend(request);
  if (!response.ok()) return response.status();
  return AnsweredList{version, *std::move(response)};
}

HttpPage WebApp::Show(const absl::StatusOr<Subject>& subject, const std::string& version_a,
                      const std::string& version_b, bool compare) const {
  if (!subject.ok()) return Error(subject.status());
  for (const absl::Status& check : {CheckVersion("a", version_a), CheckVersion("b", version_b)}) {
    if (!check.ok()) return Error(check);
  }
  absl::StatusOr<AnsweredList> a = Ask(*subject, version_a);
  if (!a.ok()) return Error(a.status());
  if (!compare) return {200, UserPageHtml(directory_, *subject, *a)};
  absl::StatusOr<AnsweredList> b = Ask(*subject, version_b);
  if (!b.ok()) return Error(b.status());
  return {200, ComparePageHtml(directory_, *subject, *a, *b)};
}

namespace {

absl::StatusOr<Subject> LoggedUser(const UserDirectory* directory, const std::string& user_id) {
  if (directory == nullptr) {
    return absl::FailedPreconditionError(
        "recsys_web was started without --world or --logs: there are no users to pick; paste a "
        "context on the index page instead");
  }
  if (user_id.empty()) return absl::InvalidArgumentError("no user given: add ?id=USER_ID");
  absl::StatusOr<UserContext> context = directory->ContextFor(user_id);
  if (!context.ok()) return context.status();
  return Subject{user_id, *std::move(context), ""};
}

absl::StatusOr<Subject> Pasted(const std::string& json) {
  if (json.empty()) {
    return absl::InvalidArgumentError("the context is empty: paste a recsys.UserContext as JSON");
  }
  Subject subject;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &subject.context);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the pasted context is not a recsys.UserContext in JSON: ", status.message().as_string()));
  }
  subject.pasted_json = json;
  return subject;
}

}  // namespace

HttpPage WebApp::User(const std::string& user_id, const std::string& version) const {
  return Show(LoggedUser(directory_, user_id), version, "", /*compare=*/false);
}

HttpPage WebApp::Compare(const std::string& user_id, const std::string& version_a,
                         const std::string& version_b) const {
  if (version_a.empty() || version_b.empty()) {
    return Error(absl::InvalidArgumentError(
        "comparing needs two bundle versions: ?a=VERSION&b=VERSION (directory names under the "
        "candidate server's bundles root)"));
  }
  return Show(LoggedUser(directory_, user_id), version_a, version_b, /*compare=*/true);
}

HttpPage WebApp::PastedContext(const std::string& json, const std::string& version_a,
                               const std::string& version_b) const {
  if (version_a.empty() && !version_b.empty()) {
    return Error(absl::InvalidArgumentError(
        "version b without version a: give a alone (one list) or both (the comparison)"));
  }
  const bool compare = !version_b.empty();
  return Show(Pasted(json), version_a, version_b, compare);
}

}  // namespace recsys::web
