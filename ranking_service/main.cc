// ranking_server: serves RankingService from the newest model bundle.
//
//   ranking_server --bundles=bundles --address=0.0.0.0:50052

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/serving/bundle.h"
#include "common/cpu_env.h"
#include "common/grpc_server.h"
#include "common/serving/models.h"
#include "ranking_service/ranking_service_impl.h"

ABSL_FLAG(std::string, bundles, "bundles",
          "Directory of model bundle versions; the newest is served.");
ABSL_FLAG(std::string, address, "0.0.0.0:50052", "host:port to listen on (port 0 = any free port).");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written here once listening.");

int main(int argc, char** argv) {
  // The OpenBLAS kernels this CPU runs; OpenMP threads that sleep when idle.
  recsys::ReexecWithTunedCpuEnvironment(argv);
  absl::SetProgramUsageMessage(
      "Serves recsys.RankingService (with gRPC health checking and reflection) "
      "from the newest model bundle.\n\n"
      "  ranking_server --bundles=bundles --address=0.0.0.0:50052");
  absl::ParseCommandLine(argc, argv);
  const std::string root = absl::GetFlag(FLAGS_bundles);
  absl::StatusOr<std::string> dir = recsys::Bundle::FindNewest(root);
  if (!dir.ok()) {
    std::fprintf(stderr, "ranking_server: %s\n", std::string(dir.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<recsys::Bundle>> bundle = recsys::Bundle::Open(*dir);
  if (!bundle.ok()) {
    std::fprintf(stderr, "ranking_server: %s\n", std::string(bundle.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<recsys::RankingModel>> model =
      recsys::RankingModel::Load(**bundle);
  if (!model.ok()) {
    std::fprintf(stderr, "ranking_server: cannot load the ranking model from %s: %s\n",
                 dir->c_str(), std::string(model.status().message()).c_str());
    return 1;
  }
  recsys::RankingServiceImpl service(std::move(*model), (*bundle)->manifest().version());
  std::fprintf(stderr, "ranking_server: serving bundle %s\n", dir->c_str());
  recsys::GrpcServerOptions options;
  options.address = absl::GetFlag(FLAGS_address);
  options.port_file = absl::GetFlag(FLAGS_port_file);
  options.name = "ranking_server";
  absl::Status status = recsys::RunGrpcServer(options, {&service});
  if (!status.ok()) {
    std::fprintf(stderr, "ranking_server: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
