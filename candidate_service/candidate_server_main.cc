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
#include "absl/time/time.h"
#include "candidate_service/candidate_service_impl.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/server_metrics.h"
#include "common/grpc/tls.h"
#include "common/serving/model_server.h"
#include "common/serving/retriever.h"
#include "common/serving/server_flags.h"
#include "common/serving/version_manager.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051",
          "host:port to listen on (port 0 = any free port); 0.0.0.0:PORT for every interface "
          "(in a container).");
ABSL_FLAG(int, max_loaded_versions, 1, "Newest valid versions kept loaded.");
ABSL_FLAG(std::string, ranking_address, "127.0.0.1:50052",
          "The RankingService: host:port, or a gRPC target such as dns:///ranking-headless:50052 "
          "(every address the name resolves to, balanced by --ranking_lb_policy).");
ABSL_FLAG(std::string, ranking_lb_policy, "round_robin",
          "How calls spread over ranking's addresses: round_robin (every replica behind a "
          "headless Service's name) or pick_first (one connection).");
ABSL_FLAG(std::string, ranking_tls_ca_file, "",
          "PEM CA that signed ranking's certificate: when set, the channel to ranking uses TLS.");
ABSL_FLAG(std::string, ranking_tls_cert_file, "",
          "PEM client certificate presented to ranking (mutual TLS); with "
          "--ranking_tls_key_file.");
ABSL_FLAG(std::string, ranking_tls_key_file, "", "PEM private key of --ranking_tls_cert_file.");
ABSL_FLAG(std::string, ranking_tls_server_name, "",
          "The name ranking's certificate must carry when it is not the host of "
          "--ranking_address (e.g. an IP address).");
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
ABSL_FLAG(double, covisit_share, -1,
          "Share of the candidates taken by the bundle's co-visitation table (SOURCE_COVISIT), "
          "interleaved with the network's; 0 turns the source off. In [0, 1], or -1: the "
          "share the trainer used (the bundle's manifest; its ranking model learned from it).");

int main(int argc, char** argv) {
  // The OpenBLAS kernels this CPU runs; OpenMP threads that sleep when idle.
  recsys::ReexecWithTunedCpuEnvironment(argv);
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Serves recsys.CandidateService (with gRPC health checking and, unless "
      "--reflection=false, reflection) from the model bundles under --bundles, loading new "
      "versions as they appear and keeping the last good one when a new one is invalid; "
      "ranks through --ranking_address and answers in retrieval order (degraded) when "
      "ranking fails (docs/serving.md).\n\n"
      "  candidate_server --bundles=bundles --address=0.0.0.0:50051 "
      "--ranking_address=127.0.0.1:50052 --metrics_address=0.0.0.0:9090",
      {recsys::kServerFlagsFile});
  const char* const kName = "candidate_server";
  absl::StatusOr<recsys::ServerSetup> setup =
      recsys::ServerSetupFromFlags(kName, absl::GetFlag(FLAGS_address));
  if (!setup.ok()) {
    spdlog::error("{}: {}", kName, std::string(setup.status().message()));
    return 2;
  }
  recsys::ServerMetrics* metrics = setup->metrics.get();
  setup->versions.max_loaded_versions = absl::GetFlag(FLAGS_max_loaded_versions);
  // The ANN recall each loaded version's export measured, as a gauge.
  setup->versions.on_published =
      [metrics, published = setup->versions.on_published](
          const std::vector<std::shared_ptr<const recsys::Servable>>& loaded) {
        published(loaded);
        for (const auto& servable : loaded) {
          const auto& retriever = static_cast<const recsys::Retriever&>(*servable);
          metrics->SetAnnRecall(retriever.version(), retriever.ann_recall(),
                                retriever.ann_recall_at());
        }
      };
  recsys::Retriever::Options retriever_options;
  retriever_options.ann.nprobe = absl::GetFlag(FLAGS_nprobe);
  retriever_options.ann.ef_search = absl::GetFlag(FLAGS_ef_search);
  retriever_options.covisit_share = absl::GetFlag(FLAGS_covisit_share);
  if (!(retriever_options.covisit_share <= 1) ||
      (retriever_options.covisit_share < 0 && retriever_options.covisit_share != -1)) {
    spdlog::error("{}: --covisit_share={} is not in [0, 1] or -1 (the bundle's)", kName,
                  retriever_options.covisit_share);
    return 2;
  }
  absl::StatusOr<std::unique_ptr<recsys::VersionManager>> versions =
      recsys::VersionManager::Create(
          setup->versions,
          recsys::MakeLoader([retriever_options](const recsys::Bundle& bundle) {
            return recsys::Retriever::Load(bundle, retriever_options);
          }));
  if (!versions.ok()) {
    spdlog::error("{}: {}", kName, std::string(versions.status().message()));
    return 2;
  }

  grpc::ChannelArguments channel_args;
  const int max_backoff_ms = std::max(100, absl::GetFlag(FLAGS_ranking_max_backoff_ms));
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff_ms);
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(100, max_backoff_ms));
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, std::min(100, max_backoff_ms));
  const std::string lb_policy = absl::GetFlag(FLAGS_ranking_lb_policy);
  if (lb_policy != "round_robin" && lb_policy != "pick_first") {
    spdlog::error("{}: --ranking_lb_policy={}: expected round_robin or pick_first", kName,
                  lb_policy);
    return 2;
  }
  channel_args.SetLoadBalancingPolicyName(lb_policy);
  recsys::ChannelTlsFiles ranking_tls;
  ranking_tls.ca_file = absl::GetFlag(FLAGS_ranking_tls_ca_file);
  ranking_tls.cert_file = absl::GetFlag(FLAGS_ranking_tls_cert_file);
  ranking_tls.key_file = absl::GetFlag(FLAGS_ranking_tls_key_file);
  ranking_tls.server_name = absl::GetFlag(FLAGS_ranking_tls_server_name);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ranking_credentials =
      recsys::MakeChannelCredentials(ranking_tls, &channel_args);
  if (!ranking_credentials.ok()) {
    spdlog::error("{}: {}", kName, std::string(ranking_credentials.status().message()));
    return 2;
  }
  auto channel = grpc::CreateCustomChannel(absl::GetFlag(FLAGS_ranking_address),
                                           *ranking_credentials, channel_args);
  recsys::CandidateServiceOptions options;
  options.ranking_deadline = absl::Milliseconds(absl::GetFlag(FLAGS_ranking_deadline_ms));
  options.degraded_reserve = absl::Milliseconds(absl::GetFlag(FLAGS_degraded_reserve_ms));
  options.default_num_candidates = absl::GetFlag(FLAGS_num_candidates);
  options.default_num_results = absl::GetFlag(FLAGS_num_results);
  options.max_in_flight = setup->max_in_flight;
  options.metrics = metrics;
  options.access_log_sample = setup->access_log_sample;
  options.breaker.failure_threshold = absl::GetFlag(FLAGS_breaker_failures);
  options.breaker.cool_down = absl::Milliseconds(absl::GetFlag(FLAGS_breaker_cool_down_ms));
  recsys::CandidateServiceImpl service(versions->get(), recsys::RankingService::NewStub(channel),
                                       options);
  spdlog::info("{}: ranking at {} ({}, {})", kName, absl::GetFlag(FLAGS_ranking_address),
               lb_policy, ranking_tls.enabled() ? "TLS" : "plaintext");
  absl::Status status = recsys::RunModelServer(setup->grpc, versions->get(), {&service});
  if (!status.ok()) {
    spdlog::error("{}: {}", kName, std::string(status.message()));
    return 1;
  }
  return 0;
}
