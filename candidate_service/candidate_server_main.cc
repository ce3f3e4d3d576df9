// candidate_server: serves CandidateService from the model bundles under
// --bundles (reloading new versions as they appear, docs/serving.md),
// ranking through a RankingService.
//
//   candidate_server --bundles=bundles --address=0.0.0.0:50051
//       --ranking_address=127.0.0.1:50052

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "candidate_service/candidate_service_impl.h"
#include "common/base/cpu_env.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/server_metrics.h"
#include "common/serving/model_server.h"
#include "common/serving/retriever.h"
#include "common/serving/version_manager.h"

ABSL_FLAG(std::string, bundles, "bundles",
          "Directory of model bundle versions (<bundles>/<version>/); the newest valid one "
          "is served and new ones loaded as they appear.");
ABSL_FLAG(std::string, address, "0.0.0.0:50051", "host:port to listen on (port 0 = any free port).");
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
          "the newest valid one.");
ABSL_FLAG(int, max_loaded_versions, 1, "Newest valid versions kept loaded.");
ABSL_FLAG(int, max_in_flight, 0,
          "Requests handled at once; past it RESOURCE_EXHAUSTED at once. 0: 64 per CPU core.");
ABSL_FLAG(std::string, ranking_address, "127.0.0.1:50052", "The RankingService, host:port.");
ABSL_FLAG(int, ranking_deadline_ms, 500,
          "Longest a ranking call may take; the caller's own deadline (minus "
          "--degraded_reserve_ms) shortens it. Past it the answer is in retrieval order.");
ABSL_FLAG(int, degraded_reserve_ms, 20,
          "Time kept back from the caller's deadline to answer in retrieval order when "
          "ranking is late.");
ABSL_FLAG(int, breaker_failures, 5,
          "Consecutive ranking failures that open the circuit breaker (ranking skipped, "
          "answers degraded at once); 0 disables it.");
ABSL_FLAG(int, breaker_cool_down_ms, 500,
          "How long the breaker stays open before one probe call is let through.");
ABSL_FLAG(int, ranking_max_backoff_ms, 1000,
          "Longest wait between reconnection attempts to the RankingService (gRPC's "
          "default is 120 s, which keeps answers degraded long after ranking is back).");
ABSL_FLAG(int, num_candidates, 200,
          "Candidates retrieved and ranked per request by default (the paper: hundreds).");
ABSL_FLAG(int, num_results, 20, "Videos returned by Recommend by default.");
ABSL_FLAG(int, nprobe, 16, "IVF lists visited per search (IVF indexes only).");
ABSL_FLAG(int, ef_search, 512, "HNSW search width (HNSW indexes only).");

int main(int argc, char** argv) {
  // The OpenBLAS kernels this CPU runs; OpenMP threads that sleep when idle.
  recsys::ReexecWithTunedCpuEnvironment(argv);
  absl::SetProgramUsageMessage(
      "Serves recsys.CandidateService (with gRPC health checking and reflection) from the "
      "model bundles under --bundles, loading new versions as they appear and keeping the "
      "last good one when a new one is invalid; ranks through --ranking_address and "
      "answers in retrieval order (degraded) when ranking fails (docs/serving.md).\n\n"
      "  candidate_server --bundles=bundles --address=0.0.0.0:50051 "
      "--ranking_address=127.0.0.1:50052");
  absl::ParseCommandLine(argc, argv);
  if (absl::Status prepared = recsys::PrepareServingProcess(absl::GetFlag(FLAGS_log_level));
      !prepared.ok()) {
    spdlog::error("candidate_server: {}", std::string(prepared.message()));
    return 2;
  }
  recsys::AnnIndex::Options ann_options;
  ann_options.nprobe = absl::GetFlag(FLAGS_nprobe);
  ann_options.ef_search = absl::GetFlag(FLAGS_ef_search);
  recsys::VersionManager::Options version_options;
  version_options.root = absl::GetFlag(FLAGS_bundles);
  version_options.poll_interval = absl::Seconds(absl::GetFlag(FLAGS_poll_interval_s));
  version_options.pinned_version = absl::GetFlag(FLAGS_version);
  version_options.max_loaded_versions = absl::GetFlag(FLAGS_max_loaded_versions);
  version_options.name = "candidate_server";
  absl::StatusOr<std::unique_ptr<recsys::ServerMetrics>> metrics =
      recsys::StartServerMetrics("candidate_server", absl::GetFlag(FLAGS_metrics_address),
                                 absl::GetFlag(FLAGS_metrics_port_file), &version_options);
  if (!metrics.ok()) {
    spdlog::error("candidate_server: {}", std::string(metrics.status().message()));
    return 1;
  }
  absl::StatusOr<std::unique_ptr<recsys::VersionManager>> versions =
      recsys::VersionManager::Create(
          version_options, recsys::MakeLoader([ann_options](const recsys::Bundle& bundle) {
            return recsys::Retriever::Load(bundle, ann_options);
          }));
  if (!versions.ok()) {
    spdlog::error("candidate_server: {}", std::string(versions.status().message()));
    return 2;
  }

  grpc::ChannelArguments channel_args;
  const int max_backoff_ms = std::max(100, absl::GetFlag(FLAGS_ranking_max_backoff_ms));
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff_ms);
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(100, max_backoff_ms));
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, std::min(100, max_backoff_ms));
  auto channel = grpc::CreateCustomChannel(absl::GetFlag(FLAGS_ranking_address),
                                           grpc::InsecureChannelCredentials(), channel_args);
  recsys::CandidateServiceOptions options;
  options.ranking_deadline = absl::Milliseconds(absl::GetFlag(FLAGS_ranking_deadline_ms));
  options.degraded_reserve = absl::Milliseconds(absl::GetFlag(FLAGS_degraded_reserve_ms));
  options.default_num_candidates = absl::GetFlag(FLAGS_num_candidates);
  options.default_num_results = absl::GetFlag(FLAGS_num_results);
  options.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  if (options.max_in_flight <= 0) options.max_in_flight = recsys::DefaultMaxInFlight();
  options.metrics = metrics->get();
  options.breaker.failure_threshold = absl::GetFlag(FLAGS_breaker_failures);
  options.breaker.cool_down = absl::Milliseconds(absl::GetFlag(FLAGS_breaker_cool_down_ms));
  recsys::CandidateServiceImpl service(versions->get(), recsys::RankingService::NewStub(channel),
                                       options);
  recsys::GrpcServerOptions server_options;
  server_options.address = absl::GetFlag(FLAGS_address);
  server_options.port_file = absl::GetFlag(FLAGS_port_file);
  server_options.name = "candidate_server";
  spdlog::info("candidate_server: ranking at {}", absl::GetFlag(FLAGS_ranking_address));
  absl::Status status = recsys::RunModelServer(server_options, versions->get(), {&service});
  if (!status.ok()) {
    spdlog::error("candidate_server: {}", std::string(status.message()));
    return 1;
  }
  return 0;
}
