#ifndef RECSYS_COMMON_GRPC_ACCESS_LOG_H_
#define RECSYS_COMMON_GRPC_ACCESS_LOG_H_

// A sampled access log: one line for a fraction of the calls (the servers'
// `--access_log_sample`, 0 = off, 1 = every call), through spdlog at info
// with the logger name "access", as logfmt key=value pairs:
//
//   access method=Recommend request_id=5f0c9a1e7d3b2a64 peer=ipv4:10.0.0.7:51234
//       code=OK latency_ms=2.914 degraded=false cause=NONE version=20261201-0600
//       ranking_version=20261201-0600 results=20
//
// The request ID is the caller's `x-request-id` metadata when it sends one,
// else one made here; the candidate server passes it on to ranking, so one
// Recommend's lines in both servers share it.

#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace recsys {

// The metadata key that carries a request ID between services.
inline constexpr char kRequestIdMetadataKey[] = "x-request-id";

// The caller's `x-request-id` (at most 64 printable characters kept), or
// "" when it sent none.
std::string RequestIdFromMetadata(const grpc::CallbackServerContext& context);
// A new random request ID: 16 hex digits.
std::string NewRequestId();
// The caller's request ID (`RequestIdFromMetadata`), else a new one.
std::string RequestIdOf(const grpc::CallbackServerContext& context);

struct AccessLogEntry {
  const char* method = "";
  std::string request_id;
  std::string peer;
  absl::StatusCode code = absl::StatusCode::kOk;
  absl::Duration latency;
  // Recommend only; empty for the other methods.
  bool degraded = false;
  std::string degraded_cause;
  std::string version;
  std::string ranking_version;
  int results = 0;
};

// Sets the fields every method's line has: `method`, `request_id`, the
// peer, `code` and the latency since `start`.
void SetCallFields(const char* method, const grpc::CallbackServerContext& context,
                   std::string request_id, absl::StatusCode code, absl::Time start,
                   AccessLogEntry* entry);

class AccessLog {
 public:
  // `sample` in [0, 1]: the fraction of calls logged.
  explicit AccessLog(double sample = 0);
  bool enabled() const { return sample_ > 0; }
  // Whether to log this call: a draw from a thread-local generator (no lock).
  bool Sample() const;
  void Write(const AccessLogEntry& entry) const;
  // The line `Write` logs (without spdlog's prefix).
  static std::string Format(const AccessLogEntry& entry);

 private:
  double sample_;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_GRPC_ACCESS_LOG_H_
