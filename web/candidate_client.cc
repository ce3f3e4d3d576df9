#include "web/candidate_client.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace recsys::web {

absl::StatusOr<std::unique_ptr<GrpcCandidateClient>> GrpcCandidateClient::Create(
    const Options& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("the candidate server's address is empty");
  }
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the call deadline must be positive");
  }
  auto channel = grpc::CreateChannel(options.address, grpc::InsecureChannelCredentials());
  return std::unique_ptr<GrpcCandidateClient>(
      new GrpcCandidateClient(options, CandidateService::NewStub(channel)));
}

absl::StatusOr<RecommendResponse> GrpcCandidateClient::Recommend(const RecommendRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.deadline));
  RecommendResponse response;
  const grpc::Status status = stub_->Recommend(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("Recommend on ", options_.address,
                                     " failed: ", status.error_message()));
  }
  return response;
}

}  // namespace recsys::web
