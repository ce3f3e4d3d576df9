#include "clients/call_method.h"

#include <fstream>
#include <sstream>

#include <google/protobuf/util/json_util.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "benchmarks/echo.pb.h"
#include "proto/recsys.pb.h"

namespace recsys {
namespace {

struct MethodNames {
  CallMethod method;
  std::string name;
  std::string path;
};

const std::vector<MethodNames>& Methods() {
  static const auto* methods = new std::vector<MethodNames>{
      {CallMethod::kRecommend, "recsys.CandidateService.Recommend",
       "/recsys.CandidateService/Recommend"},
      {CallMethod::kGenerateCandidates, "recsys.CandidateService.GenerateCandidates",
       "/recsys.CandidateService/GenerateCandidates"},
      {CallMethod::kRank, "recsys.RankingService.Rank", "/recsys.RankingService/Rank"},
      {CallMethod::kEcho, "recsys.bench.Echo.Echo", "/recsys.bench.Echo/Echo"},
  };
  return *methods;
}

const MethodNames& Names(CallMethod method) {
  for (const MethodNames& m : Methods()) {
    if (m.method == method) return m;
  }
  return Methods().front();
}

std::string ProtobufMessage(const google::protobuf::util::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

}  // namespace

const std::vector<CallMethod>& AllCallMethods() {
  static const auto* all = new std::vector<CallMethod>{
      CallMethod::kRecommend, CallMethod::kGenerateCandidates, CallMethod::kRank,
      CallMethod::kEcho};
  return *all;
}

const std::string& CallMethodName(CallMethod method) { return Names(method).name; }

const std::string& CallMethodPath(CallMethod method) { return Names(method).path; }

absl::StatusOr<CallMethod> ParseCallMethod(absl::string_view call) {
  for (const MethodNames& m : Methods()) {
    if (call == m.name || call == m.path || call == absl::StripPrefix(m.path, "/")) {
      return m.method;
    }
  }
  std::vector<std::string> names;
  for (const MethodNames& m : Methods()) names.push_back(m.name);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown call '", call, "': one of ", absl::StrJoin(names, ", "),
                   " (or the /package.Service/Method form)"));
}

std::unique_ptr<google::protobuf::Message> NewRequestMessage(CallMethod method) {
  switch (method) {
    case CallMethod::kRecommend:
      return std::make_unique<RecommendRequest>();
    case CallMethod::kGenerateCandidates:
      return std::make_unique<GenerateCandidatesRequest>();
    case CallMethod::kRank:
      return std::make_unique<RankRequest>();
    case CallMethod::kEcho:
      return std::make_unique<bench::EchoRequest>();
  }
  return nullptr;
}

std::unique_ptr<google::protobuf::Message> NewResponseMessage(CallMethod method) {
  switch (method) {
    case CallMethod::kRecommend:
      return std::make_unique<RecommendResponse>();
    case CallMethod::kGenerateCandidates:
      return std::make_unique<GenerateCandidatesResponse>();
    case CallMethod::kRank:
      return std::make_unique<RankResponse>();
    case CallMethod::kEcho:
      return std::make_unique<bench::EchoResponse>();
  }
  return nullptr;
}

absl::StatusOr<google::protobuf::Value> ParseJsonValue(absl::string_view json,
                                                       absl::string_view source) {
  google::protobuf::Value value;
  const google::protobuf::util::Status status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &value);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": not valid JSON: ", ProtobufMessage(status)));
  }
  return value;
}

absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>>
RequestsFromJsonValue(CallMethod method, const google::protobuf::Value& data,
                      absl::string_view source) {
  const std::string& type = NewRequestMessage(method)->GetDescriptor()->full_name();
  std::vector<const google::protobuf::Value*> elements;
  const bool is_array = data.kind_case() == google::protobuf::Value::kListValue;
  if (is_array) {
    for (const google::protobuf::Value& v : data.list_value().values()) elements.push_back(&v);
    if (elements.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": the data array is empty (need at least one ", type, ")"));
    }
  } else {
    elements.push_back(&data);
  }
  std::vector<std::unique_ptr<google::protobuf::Message>> requests;
  for (size_t i = 0; i < elements.size(); ++i) {
    const std::string where =
        is_array ? absl::StrCat(source, ": element ", i) : std::string(source);
    if (elements[i]->kind_case() != google::protobuf::Value::kStructValue) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": expected a JSON object (a ", type, "), got ",
          is_array ? "another JSON value" : "a JSON value that is neither an object nor an array"));
    }
    std::string json;
    google::protobuf::util::Status status =
        google::protobuf::util::MessageToJsonString(*elements[i], &json);
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", ProtobufMessage(status)));
    }
    std::unique_ptr<google::protobuf::Message> request = NewRequestMessage(method);
    status = google::protobuf::util::JsonStringToMessage(json, request.get());
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": not a ", type, ": ", ProtobufMessage(status)));
    }
    requests.push_back(std::move(request));
  }
  return requests;
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return text.str();
}

absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>>
RequestsFromJsonFile(CallMethod method, const std::string& path) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<google::protobuf::Value> value = ParseJsonValue(*text, path);
  if (!value.ok()) return value.status();
  return RequestsFromJsonValue(method, *value, path);
}

}  // namespace recsys
