#ifndef RECSYS_COMMON_GRPC_PROTO_MESSAGES_H_
#define RECSYS_COMMON_GRPC_PROTO_MESSAGES_H_

// Our services take their requests as raw bytes (gRPC's "raw" callback
// methods) and parse them here, because gRPC's own parse failure answers
// UNIMPLEMENTED with an empty message: a client that sends bytes that do not
// parse (invalid UTF-8 in a string field, a truncated message) should learn
// that its request is malformed and why. Also: protobuf's error log lines,
// rate-limited.

#include <cstdint>

#include <grpcpp/grpcpp.h>
#include <google/protobuf/arena.h>
#include <google/protobuf/message.h>

#include "absl/status/status.h"

namespace recsys {

// Parses `buffer` into `message`. InvalidArgument when it does not parse:
// "the request could not be parsed as recsys.RecommendRequest: <protobuf's
// reason, e.g. the field with invalid UTF-8>". Protobuf's log lines for this
// parse become part of the message instead of the log (the first call
// installs the handler of `InstallRateLimitedProtobufLogging`).
absl::Status ParseRequest(const grpc::ByteBuffer& buffer,
                          google::protobuf::Message* message);

// Serialises `message` into `buffer`; Internal on failure.
absl::Status SerializeResponse(const google::protobuf::Message& message,
                               grpc::ByteBuffer* buffer);

// The arena options of one call's messages (request, answer, and for
// Recommend the ranking call's): they take ~10-30 KB, so an 8 KB first
// block growing to 64 KB blocks.
google::protobuf::ArenaOptions CallArenaOptions();

// Routes protobuf's log lines (outside `ParseRequest`) to spdlog, at most
// `max_per_minute` lines a minute, with a count of those dropped. Call once
// at start; process-wide.
void InstallRateLimitedProtobufLogging(int max_per_minute = 10);

}  // namespace recsys

#endif  // RECSYS_COMMON_GRPC_PROTO_MESSAGES_H_
