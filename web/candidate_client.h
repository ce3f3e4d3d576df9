#ifndef RECSYS_WEB_CANDIDATE_CLIENT_H_
#define RECSYS_WEB_CANDIDATE_CLIENT_H_

// Where the web page gets its recommendations: `CandidateService.Recommend`,
// behind a one-method interface so that the pages can be tested without a
// server.

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/recsys.grpc.pb.h"
#include "proto/recsys.pb.h"

namespace recsys::web {

// Implementations are thread-safe: the web server calls from several
// threads at once.
class RecommendationSource {
 public:
  virtual ~RecommendationSource() = default;
  // The answer, or the call's status (with the gRPC code as its code).
  virtual absl::StatusOr<RecommendResponse> Recommend(const RecommendRequest& request) = 0;
};

// A `RecommendationSource` over a gRPC channel to a candidate_server.
class GrpcCandidateClient : public RecommendationSource {
 public:
  struct Options {
    // host:port of the CandidateService (plaintext).
    std::string address;
    // Every call's deadline.
    absl::Duration deadline = absl::Seconds(5);
  };

  // InvalidArgument for an empty address or a non-positive deadline. The
  // channel connects lazily: a server that is down fails the calls, not this.
  static absl::StatusOr<std::unique_ptr<GrpcCandidateClient>> Create(const Options& options);

  // Errors say which call on which address failed, e.g. "Recommend on
  // 127.0.0.1:50051 failed: failed to connect to all addresses".
  absl::StatusOr<RecommendResponse> Recommend(const RecommendRequest& request) override;

 private:
  GrpcCandidateClient(const Options& options, std::unique_ptr<CandidateService::Stub> stub)
      : options_(options), stub_(std::move(stub)) {}

  const Options options_;
  const std::unique_ptr<CandidateService::Stub> stub_;
};

}  // namespace recsys::web

#endif  // RECSYS_WEB_CANDIDATE_CLIENT_H_
