// ranking_server: serves RankingService from the model bundles under
// --bundles, reloading new versions as they appear (docs/serving.md).
//
//   ranking_server --bundles=bundles --address=0.0.0.0:50052

#include <cstdio>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "common/base/cpu_env.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/server_metrics.h"
#include "common/serving/model_server.h"
#include "common/serving/version_manager.h"
#include "ranking_service/ranking_service_impl.h"

ABSL_FLAG(std::string, bundles, "bundles",
          "Directory of model bundle versions (<bundles>/<version>/); the newest valid "
          "ones are served and new ones loaded as they appear.");
ABSL_FLAG(std::string, address, "0.0.0.0:50052", "host:port to listen on (port 0 = any free port).");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written here once the server is SERVING (a model is loaded).");
ABSL_FLAG(std::string, log_level, "info",
          "Least severe log lines written: trace, debug, info, warn, error, critical or off.");
ABSL_FLAG(std::string, metrics_address, "",
          "host:port for Prometheus metrics over HTTP (GET /metrics); empty: none. Port 0: any "
          "free port (see --metrics_port_file).");
ABSL_FLAG(std::string, metrics_port_file, "",
          "If set, the bound metrics port is written here once it listens.");
ABSL_FLAG(double, poll_interval_s, 5,
          "Seconds between scans of --bundles for new versions (SIGHUP scans at once).");
ABSL_FLAG(std::string, version, "",
          "Serve exactly this bundle version (a directory name under --bundles); empty: "
          "the newest valid ones.");
ABSL_FLAG(int, max_loaded_versions, 2,
          "Newest valid versions kept loaded, so that a request can be ranked with the "
          "version its candidates came from while a new one rolls out.");
ABSL_FLAG(int, max_in_flight, 0,
          "Requests handled at once; past it RESOURCE_EXHAUSTED at once. 0: 64 per CPU core.");

int main(int argc, char** argv) {
  // The OpenBLAS kernels this CPU runs; OpenMP threads that sleep when idle.
  recsys::ReexecWithTunedCpuEnvironment(argv);
  absl::SetProgramUsageMessage(
      "Serves recsys.RankingService (with gRPC health checking and reflection) from the "
      "model bundles under --bundles, loading new versions as they appear and keeping the "
      "last good one when a new one is invalid (docs/serving.md).\n\n"
      "  ranking_server --bundles=bundles --address=0.0.0.0:50052");
  absl::ParseCommandLine(argc, argv);
  if (absl::Status prepared = recsys::PrepareServingProcess(absl::GetFlag(FLAGS_log_level));
      !prepared.ok()) {
    spdlog::error("ranking_server: {}", std::string(prepared.message()));
    return 2;
  }
  recsys::VersionManager::Options version_options;
  version_options.root = absl::GetFlag(FLAGS_bundles);
  version_options.poll_interval = absl::Seconds(absl::GetFlag(FLAGS_poll_interval_s));
  version_options.pinned_version = absl::GetFlag(FLAGS_version);
  version_options.max_loaded_versions = absl::GetFlag(FLAGS_max_loaded_versions);
  version_options.name = "ranking_server";
  absl::StatusOr<std::unique_ptr<recsys::ServerMetrics>> metrics =
      recsys::StartServerMetrics("ranking_server", absl::GetFlag(FLAGS_metrics_address),
                                 absl::GetFlag(FLAGS_metrics_port_file), &version_options);
  if (!metrics.ok()) {
    spdlog::error("ranking_server: {}", std::string(metrics.status().message()));
    return 1;
  }
  absl::StatusOr<std::unique_ptr<recsys::VersionManager>> versions =
      recsys::VersionManager::Create(
          version_options, recsys::MakeLoader(&recsys::RankingServable::Load));
  if (!versions.ok()) {
    spdlog::error("ranking_server: {}", std::string(versions.status().message()));
    return 2;
  }

  recsys::RankingServiceOptions options;
  options.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  if (options.max_in_flight <= 0) options.max_in_flight = recsys::DefaultMaxInFlight();
  options.metrics = metrics->get();
  recsys::RankingServiceImpl service(versions->get(), options);
  recsys::GrpcServerOptions server_options;
  server_options.address = absl::GetFlag(FLAGS_address);
  server_options.port_file = absl::GetFlag(FLAGS_port_file);
  server_options.name = "ranking_server";
  absl::Status status = recsys::RunModelServer(server_options, versions->get(), {&service});
  if (!status.ok()) {
    spdlog::error("ranking_server: {}", std::string(status.message()));
    return 1;
  }
  return 0;
}
