// candidate_server: serves CandidateService from the newest model bundle,
// ranking through a RankingService.
//
//   candidate_server --bundles=bundles --address=0.0.0.0:50051
//       --ranking_address=127.0.0.1:50052

#include <cstdio>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "candidate_service/candidate_service_impl.h"
#include "common/serving/retriever.h"
#include "common/serving/bundle.h"
#include "common/cpu_env.h"
#include "common/grpc_server.h"

ABSL_FLAG(std::string, bundles, "bundles",
          "Directory of model bundle versions; the newest is served.");
ABSL_FLAG(std::string, address, "0.0.0.0:50051", "host:port to listen on (port 0 = any free port).");
ABSL_FLAG(std::string, port_file, "", "If set, the bound port is written here once listening.");
ABSL_FLAG(std::string, ranking_address, "127.0.0.1:50052", "The RankingService, host:port.");
ABSL_FLAG(int, ranking_deadline_ms, 500,
          "Deadline of each ranking call; past it the response is in retrieval order.");
ABSL_FLAG(int, num_candidates, 200,
          "Candidates retrieved and ranked per request by default (the paper: hundreds).");
ABSL_FLAG(int, num_results, 20, "Videos returned by Recommend by default.");
ABSL_FLAG(int, nprobe, 16, "IVF lists visited per search (IVF indexes only).");
ABSL_FLAG(int, ef_search, 512, "HNSW search width (HNSW indexes only).");

int main(int argc, char** argv) {
  // The OpenBLAS kernels this CPU runs; OpenMP threads that sleep when idle.
  recsys::ReexecWithTunedCpuEnvironment(argv);
  absl::SetProgramUsageMessage(
      "Serves recsys.CandidateService (with gRPC health checking and reflection) "
      "from the newest model bundle.\n\n"
      "  candidate_server --bundles=bundles --address=0.0.0.0:50051 "
      "--ranking_address=127.0.0.1:50052");
  absl::ParseCommandLine(argc, argv);
  absl::StatusOr<std::string> dir = recsys::Bundle::FindNewest(absl::GetFlag(FLAGS_bundles));
  if (!dir.ok()) {
    std::fprintf(stderr, "candidate_server: %s\n", std::string(dir.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<recsys::Bundle>> bundle = recsys::Bundle::Open(*dir);
  if (!bundle.ok()) {
    std::fprintf(stderr, "candidate_server: %s\n", std::string(bundle.status().message()).c_str());
    return 1;
  }
  recsys::AnnIndex::Options ann_options;
  ann_options.nprobe = absl::GetFlag(FLAGS_nprobe);
  ann_options.ef_search = absl::GetFlag(FLAGS_ef_search);
  absl::StatusOr<std::unique_ptr<recsys::Retriever>> retriever =
      recsys::Retriever::Load(**bundle, ann_options);
  if (!retriever.ok()) {
    std::fprintf(stderr, "candidate_server: cannot load candidate generation from %s: %s\n",
                 dir->c_str(), std::string(retriever.status().message()).c_str());
    return 1;
  }
  auto channel = grpc::CreateChannel(absl::GetFlag(FLAGS_ranking_address),
                                     grpc::InsecureChannelCredentials());
  recsys::CandidateServiceOptions options;
  options.ranking_deadline_ms = absl::GetFlag(FLAGS_ranking_deadline_ms);
  options.default_num_candidates = absl::GetFlag(FLAGS_num_candidates);
  options.default_num_results = absl::GetFlag(FLAGS_num_results);
  recsys::CandidateServiceImpl service(std::move(*retriever),
                                       recsys::RankingService::NewStub(channel), options);
  std::fprintf(stderr, "candidate_server: serving bundle %s, ranking at %s\n", dir->c_str(),
               absl::GetFlag(FLAGS_ranking_address).c_str());
  recsys::GrpcServerOptions server_options;
  server_options.address = absl::GetFlag(FLAGS_address);
  server_options.port_file = absl::GetFlag(FLAGS_port_file);
  server_options.name = "candidate_server";
  absl::Status status = recsys::RunGrpcServer(server_options, {&service});
  if (!status.ok()) {
    std::fprintf(stderr, "candidate_server: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
