#ifndef RECSYS_COMMON_SERVING_SERVER_FLAGS_H_
#define RECSYS_COMMON_SERVING_SERVER_FLAGS_H_

// The flags both model servers share, and what they configure. Each main
// adds its own (`--address`, `--max_loaded_versions` and the candidate's
// ranking flags); `--help` lists these with them.
//
//   --bundles --port_file --poll_interval_s --version --max_in_flight
//   --metrics_address --metrics_port_file --access_log_sample
//   --tls_cert_file --tls_key_file --tls_client_ca_file --reflection --drain_s
//   --max_connection_age_s

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/server_metrics.h"
#include "common/serving/version_manager.h"

namespace recsys {

// This file's name as Abseil records it for its flags (for `--help`).
inline constexpr char kServerFlagsFile[] = "common/serving/server_flags.cc";

// What the shared flags give one server.
struct ServerSetup {
  // Address, port file, name, credentials (TLS / mTLS when the --tls_*
  // flags are set), reflection and drain.
  GrpcServerOptions grpc;
  // Root, poll interval, pinned version and name; the caller sets
  // `max_loaded_versions`. Reports loads and loaded versions to `metrics`.
  VersionManager::Options versions;
  // Served on --metrics_address when set; always present (counting costs
  // the same either way, and tests read it).
  std::unique_ptr<ServerMetrics> metrics;
  // --max_in_flight, 0 replaced by `DefaultMaxInFlight()`.
  int max_in_flight = 0;
  // --access_log_sample.
  double access_log_sample = 0;
};

// Prepares the process (`PrepareServingProcess`) and reads the shared flags
// for the server `name` listening on `address`.
// InvalidArgument naming the flag for a bad value (an incomplete TLS set, an
// unreadable certificate, a sample outside [0, 1], a negative drain);
// Unavailable when the metrics address cannot be bound.
absl::StatusOr<ServerSetup> ServerSetupFromFlags(const std::string& name,
                                                 const std::string& address);

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_SERVER_FLAGS_H_
