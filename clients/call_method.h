#ifndef RECSYS_CLIENTS_CALL_METHOD_H_
#define RECSYS_CLIENTS_CALL_METHOD_H_

// The unary methods the load generator can call, named as ghz names them
// ("recsys.CandidateService.Recommend") or as gRPC does
// ("/recsys.CandidateService/Recommend"), and their request messages read
// from JSON the way ghz reads its `data`: one object, or an array of objects
// that calls cycle through, each in proto3 JSON of the method's request
// message (google::protobuf::util::JsonStringToMessage, unknown fields
// refused).

#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/message.h>
#include <google/protobuf/struct.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace recsys {

enum class CallMethod {
  kRecommend,           // recsys.CandidateService.Recommend
  kGenerateCandidates,  // recsys.CandidateService.GenerateCandidates
  kRank,                // recsys.RankingService.Rank
  kEcho,                // recsys.bench.Echo.Echo (benchmarks/echo.proto)
};

// Every method, in the order above.
const std::vector<CallMethod>& AllCallMethods();

// ghz's name: "recsys.CandidateService.Recommend".
const std::string& CallMethodName(CallMethod method);
// The HTTP/2 path: "/recsys.CandidateService/Recommend".
const std::string& CallMethodPath(CallMethod method);

// Either name form above, or the path without its leading slash;
// InvalidArgument naming the supported methods otherwise.
absl::StatusOr<CallMethod> ParseCallMethod(absl::string_view call);

// A new, empty request / response message of `method`.
std::unique_ptr<google::protobuf::Message> NewRequestMessage(CallMethod method);
std::unique_ptr<google::protobuf::Message> NewResponseMessage(CallMethod method);

// Parses `json` (any JSON) into a google.protobuf.Value; InvalidArgument
// with `source` (e.g. a file name) and protobuf's message otherwise.
absl::StatusOr<google::protobuf::Value> ParseJsonValue(absl::string_view json,
                                                       absl::string_view source);

// `data` as ghz's `data`: an object, or a non-empty array of objects, each
// parsed as `method`'s request. Errors are InvalidArgument and start with
// `source`, then (for an array) "element I" (from 0), then protobuf's
// message, e.g. `data.json: element 2: context.watches[0]: Cannot find
// field: vidoeId`.
absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>>
RequestsFromJsonValue(CallMethod method, const google::protobuf::Value& data,
                      absl::string_view source);

// The same from a file's text; NotFound when it cannot be read.
absl::StatusOr<std::vector<std::unique_ptr<google::protobuf::Message>>>
RequestsFromJsonFile(CallMethod method, const std::string& path);

// Reads a whole file; NotFound naming it when it cannot.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

}  // namespace recsys

#endif  // RECSYS_CLIENTS_CALL_METHOD_H_
