// ranking_server: serves RankingService from the model bundles under
// --bundles, reloading new versions as they appear (docs/serving.md).
//
//   ranking_server --bundles=bundles --address=0.0.0.0:50052

#include <cstdio>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/server_metrics.h"
#include "common/serving/model_server.h"
#include "common/serving/server_flags.h"
#include "common/serving/version_manager.h"
#include "ranking_service/ranking_service_impl.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50052",
          "host:port to listen on (port 0 = any free port); 0.0.0.0:PORT for every interface "
          "(in a container).");
ABSL_FLAG(int, max_loaded_versions, 2,
          "Newest valid versions kept loaded, so that a request can be ranked with the "
          "version its candidates came from while a new one rolls out.");

int main(int argc, char** argv) {
  // The OpenBLAS kernels this CPU runs; OpenMP threads that sleep when idle.
  recsys::ReexecWithTunedCpuEnvironment(argv);
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Serves recsys.RankingService (with gRPC health checking and, unless "
      "--reflection=false, reflection) from the model bundles under --bundles, loading new "
      "versions as they appear and keeping the last good one when a new one is invalid "
      "(docs/serving.md).\n\n"
      "  ranking_server --bundles=bundles --address=0.0.0.0:50052 --metrics_address=0.0.0.0:9090",
      {recsys::kServerFlagsFile});
  const char* const kName = "ranking_server";
  absl::StatusOr<recsys::ServerSetup> setup =
      recsys::ServerSetupFromFlags(kName, absl::GetFlag(FLAGS_address));
  if (!setup.ok()) {
    spdlog::error("{}: {}", kName, std::string(setup.status().message()));
    return 2;
  }
  setup->versions.max_loaded_versions = absl::GetFlag(FLAGS_max_loaded_versions);
  absl::StatusOr<std::unique_ptr<recsys::VersionManager>> versions =
      recsys::VersionManager::Create(setup->versions,
                                     recsys::MakeLoader(&recsys::RankingServable::Load));
  if (!versions.ok()) {
    spdlog::error("{}: {}", kName, std::string(versions.status().message()));
    return 2;
  }
  recsys::RankingServiceOptions options;
  options.max_in_flight = setup->max_in_flight;
  options.metrics = setup->metrics.get();
  options.access_log_sample = setup->access_log_sample;
  recsys::RankingServiceImpl service(versions->get(), options);
  absl::Status status = recsys::RunModelServer(setup->grpc, versions->get(), {&service});
  if (!status.ok()) {
    spdlog::error("{}: {}", kName, std::string(status.message()));
    return 1;
  }
  return 0;
}
