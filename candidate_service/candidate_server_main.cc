// candidate_server: serves CandidateService from the model bundles under
// --bundles (reloading new versions as they appear, docs/serving.md),
// ranking through a RankingService.
//
//   candidate_server --bundles=bundles --address=0.0.0.0:50051
//       --ranking_address=127.0.0.1:50052
//
// Sharded retrieval (docs/serving.md, "Sharded retrieval"): with
// --shard_index and --num_shards it serves AnnShardService from its shard
// of every loaded version's ANN index instead; with --ann_shards it serves
// CandidateService with its ANN step fanned out to those shards.

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "candidate_service/ann_shard_service_impl.h"
#include "candidate_service/candidate_service_impl.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"
#include "common/grpc/grpc_server.h"
#include "common/grpc/server_metrics.h"
#include "common/grpc/tls.h"
#include "common/serving/ann_shards.h"
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
ABSL_FLAG(int, nprobe, 0,
          "IVF lists visited per search (IVF indexes only). 0: each bundle version's own, "
          "chosen by the trainer for its recall target (--ann_target_recall), 16 when the "
          "bundle does not say.");
ABSL_FLAG(int, ef_search, 512, "HNSW search width (HNSW indexes only).");
ABSL_FLAG(double, covisit_share, -1,
          "Share of the candidates taken by the bundle's co-visitation table (SOURCE_COVISIT), "
          "interleaved with the network's; 0 turns the source off. In [0, 1], or -1: the "
          "share the trainer used (the bundle's manifest; its ranking model learned from it).");

ABSL_FLAG(std::optional<int>, shard_index, std::nullopt,
          "Shard mode: serve recsys.AnnShardService from shard I of --num_shards of every loaded "
          "version's ANN index (the rows r with r % K == I), and no CandidateService. In "
          "[0, --num_shards). Kubernetes: --shard_index=$(POD_INDEX), POD_INDEX from the label "
          "apps.kubernetes.io/pod-index.");
ABSL_FLAG(std::optional<int>, num_shards, std::nullopt,
          "Shard mode: the number of shards K the index is split into (>= 1); with "
          "--shard_index.");
ABSL_FLAG(std::string, ann_shards, "",
          "Front mode: comma-separated host:port of the K AnnShardService servers, shard i at "
          "position i; the ANN step asks them all and merges their top-k instead of searching "
          "the local index. A shard that fails or is late is left out (the answer says how many "
          "in shards_missing; Recommend answers are degraded, DEGRADED_SHARD_UNAVAILABLE).");
ABSL_FLAG(int, shard_deadline_ms, 50,
          "Front mode: longest wait for the ANN shards' answers (the caller's deadline shortens "
          "it).");

namespace {

const char* const kName = "candidate_server";
const char* const kShardName = "ann_shard_server";

// --shard_index and --num_shards, checked; nullopt when neither is set.
struct ShardFlags {
  int index = 0;
  int count = 1;
};
absl::StatusOr<std::optional<ShardFlags>> ShardFlagsFromFlags() {
  const std::optional<int> index = absl::GetFlag(FLAGS_shard_index);
  const std::optional<int> count = absl::GetFlag(FLAGS_num_shards);
  if (!index.has_value() && !count.has_value()) return std::nullopt;
  if (!count.has_value() || *count < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--num_shards=", count.has_value() ? absl::StrCat(*count) : "(unset)",
        ": shard mode needs --num_shards >= 1"));
  }
  if (!index.has_value() || *index < 0 || *index >= *count) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--shard_index=", index.has_value() ? absl::StrCat(*index) : "(unset)",
        ": must be in [0, --num_shards=", *count, ")"));
  }
  if (!absl::GetFlag(FLAGS_ann_shards).empty()) {
    return absl::InvalidArgumentError(
        "--ann_shards (front mode) and --shard_index (shard mode) exclude each other");
  }
  return ShardFlags{*index, *count};
}

recsys::AnnIndex::Options AnnOptionsFromFlags() {
  recsys::AnnIndex::Options ann;
  ann.nprobe = absl::GetFlag(FLAGS_nprobe);
  ann.ef_search = absl::GetFlag(FLAGS_ef_search);
  return ann;
}

// Shard mode: AnnShardService over shard `shard` of every loaded version.
int RunShardServer(const ShardFlags& shard) {
  absl::StatusOr<recsys::ServerSetup> setup =
      recsys::ServerSetupFromFlags(kShardName, absl::GetFlag(FLAGS_address));
  if (!setup.ok()) {
    spdlog::error("{}: {}", kShardName, std::string(setup.status().message()));
    return 2;
  }
  setup->versions.max_loaded_versions = absl::GetFlag(FLAGS_max_loaded_versions);
  const recsys::AnnIndex::Options ann = AnnOptionsFromFlags();
  absl::StatusOr<std::unique_ptr<recsys::VersionManager>> versions =
      recsys::VersionManager::Create(
          setup->versions, recsys::MakeLoader([ann, shard](const recsys::Bundle& bundle) {
            return recsys::AnnIndexShard::Load(bundle, ann, shard.index, shard.count);
          }));
  if (!versions.ok()) {
    spdlog::error("{}: {}", kShardName, std::string(versions.status().message()));
    return 2;
  }
  recsys::AnnShardServiceOptions options;
  options.max_in_flight = setup->max_in_flight;
  options.metrics = setup->metrics.get();
  recsys::AnnShardServiceImpl service(versions->get(), options);
  spdlog::info("{}: shard {} of {} of the ANN index", kShardName, shard.index, shard.count);
  absl::Status status = recsys::RunModelServer(setup->grpc, versions->get(), {&service});
  if (!status.ok()) {
    spdlog::error("{}: {}", kShardName, std::string(status.message()));
    return 1;
  }
  return 0;
}

// Front mode: the fan-out to --ann_shards; null without the flag.
absl::StatusOr<std::unique_ptr<recsys::AnnShardsClient>> AnnShardsFromFlags(
    recsys::ServerMetrics* metrics) {
  const std::string list = absl::GetFlag(FLAGS_ann_shards);
  if (list.empty()) return nullptr;
  recsys::AnnShardsClient::Options options;
  options.addresses = absl::StrSplit(list, ',');
  options.deadline = absl::Milliseconds(absl::GetFlag(FLAGS_shard_deadline_ms));
  options.metrics = metrics;
  if (absl::GetFlag(FLAGS_shard_deadline_ms) <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--shard_deadline_ms=", absl::GetFlag(FLAGS_shard_deadline_ms), ": must be > 0"));
  }
  absl::StatusOr<std::unique_ptr<recsys::AnnShardsClient>> client =
      recsys::AnnShardsClient::Create(options);
  if (!client.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ann_shards=", list, ": ", client.status().message()));
  }
  return client;
}

}  // namespace

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
      "--ranking_address=127.0.0.1:50052 --metrics_address=0.0.0.0:9090\n\n"
      "Sharded retrieval: --shard_index=I --num_shards=K serves recsys.AnnShardService from "
      "shard I of K of the ANN index (no CandidateService, no ranking); --ann_shards=H:P,H:P,... "
      "serves CandidateService with its ANN step fanned out to those shards "
      "(--shard_deadline_ms).\n\n"
      "  candidate_server --bundles=bundles --shard_index=0 --num_shards=2 "
      "--address=0.0.0.0:50053\n"
      "  candidate_server --bundles=bundles --ann_shards=shard-0:50053,shard-1:50053 "
      "--ranking_address=127.0.0.1:50052",
      {recsys::kServerFlagsFile});
  if (absl::GetFlag(FLAGS_nprobe) < 0) {
    spdlog::error("{}: --nprobe={} must be >= 0 (0: each bundle's own)", kName,
                  absl::GetFlag(FLAGS_nprobe));
    return 2;
  }
  absl::StatusOr<std::optional<ShardFlags>> shard = ShardFlagsFromFlags();
  if (!shard.ok()) {
    spdlog::error("{}: {}", kName, std::string(shard.status().message()));
    return 2;
  }
  if (shard->has_value()) return RunShardServer(**shard);
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
  absl::StatusOr<std::unique_ptr<recsys::AnnShardsClient>> ann_shards =
      AnnShardsFromFlags(metrics);
  if (!ann_shards.ok()) {
    spdlog::error("{}: {}", kName, std::string(ann_shards.status().message()));
    return 2;
  }
  recsys::Retriever::Options retriever_options;
  retriever_options.ann = AnnOptionsFromFlags();
  // A front searches the shards, never an index of its own.
  retriever_options.load_ann_index = *ann_shards == nullptr;
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
  options.ann_shards = ann_shards->get();
  if (*ann_shards != nullptr) {
    spdlog::info("{}: ANN step on {} shards ({}), {} ms deadline", kName,
                 (*ann_shards)->num_shards(), absl::GetFlag(FLAGS_ann_shards),
                 absl::GetFlag(FLAGS_shard_deadline_ms));
  }
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
