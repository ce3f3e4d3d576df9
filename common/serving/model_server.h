#ifndef RECSYS_COMMON_SERVING_MODEL_SERVER_H_
#define RECSYS_COMMON_SERVING_MODEL_SERVER_H_

// What both servers' mains share once their flags are parsed: the process
// set-up for serving, a `VersionManager::Loader` from a servable's factory,
// and running gRPC services whose models come from a version manager.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/server_metrics.h"
#include "common/serving/bundle.h"
#include "common/serving/stage_clock.h"
#include "common/serving/version_manager.h"

namespace recsys {

// Protobuf's log lines rate-limited (logging itself is set up by the
// command line, common/base/command_line.h), and
// one BLAS thread per call: requests run concurrently on gRPC's threads, and
// OpenBLAS's own pool would spin (sched_yield) between the small products of
// one request; and Abseil's mutex deadlock detection off (Debian builds it
// in).
absl::Status PrepareServingProcess();

// Requests in flight a server admits when its flag says 0: 64 per core.
int DefaultMaxInFlight();

// A loader that calls `load(bundle)` (returning
// `absl::StatusOr<std::unique_ptr<T>>`, T a `Servable`).
template <typename Load>
VersionManager::Loader MakeLoader(Load load) {
  return [load = std::move(load)](
             const Bundle& bundle) -> absl::StatusOr<std::shared_ptr<const Servable>> {
    auto servable = load(bundle);
    if (!servable.ok()) return servable.status();
    return std::shared_ptr<const Servable>(std::move(*servable));
  };
}

// The server's metrics, served on `address` when not empty, with the bound
// port written to `port_file` when not empty; `versions` (options not yet
// used to create a manager) reports each load and the loaded versions to
// them. The metrics must outlive the manager.
absl::StatusOr<std::unique_ptr<ServerMetrics>> StartServerMetrics(
    const std::string& server, const std::string& address, const std::string& port_file,
    VersionManager::Options* versions);

// Records each stage marked on `clock` for `method` (nothing when `metrics`
// is null).
void RecordStages(ServerMetrics* metrics, const char* method, const StageClock& clock);

// `RunGrpcServer` with `versions` as the source of models: health answers
// NOT_SERVING until `LoadInitial` succeeds (the server exits with its error
// when no version is valid), then polling starts and SIGHUP rescans.
// `options.load` and `options.on_reload_signal` are set here.
absl::Status RunModelServer(GrpcServerOptions options, VersionManager* versions,
                            const std::vector<grpc::Service*>& services);

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_MODEL_SERVER_H_
