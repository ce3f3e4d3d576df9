#ifndef RECSYS_COMMON_GRPC_HTTP_GET_H_
#define RECSYS_COMMON_GRPC_HTTP_GET_H_

// A plain HTTP/1.0 GET over a local TCP socket, for tests that scrape a
// server's /metrics page.

#include <string>

#include "absl/status/statusor.h"

namespace recsys {

// The body of `GET path` on 127.0.0.1:`port`; an error unless the status is
// 200.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

}  // namespace recsys

#endif  // RECSYS_COMMON_GRPC_HTTP_GET_H_
