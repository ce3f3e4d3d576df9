#ifndef RECSYS_COMMON_BASE_GRPC_STATUS_H_
#define RECSYS_COMMON_BASE_GRPC_STATUS_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"

namespace recsys {

// An `absl::Status` as the `grpc::Status` with the same canonical code and
// message. Each service converts at exactly one place, where it finishes a
// call.
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

// The reverse, for client calls.
inline absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace recsys

#endif  // RECSYS_COMMON_BASE_GRPC_STATUS_H_
