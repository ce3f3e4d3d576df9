#include "clients/echo_service.h"

#include "absl/strings/str_cat.h"

namespace recsys {

EchoService::EchoService() : filler_(static_cast<size_t>(kMaxResponseBytes), 'e') {}

grpc::ServerUnaryReactor* EchoService::Echo(grpc::CallbackServerContext* context,
                                            const bench::EchoRequest* request,
                                            bench::EchoResponse* response) {
  calls_.fetch_add(1, std::memory_order_relaxed);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const int32_t n = request->response_bytes();
  if (n < 0 || n > kMaxResponseBytes) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("response_bytes must be in [0, ", kMaxResponseBytes, "], got ", n)));
    return reactor;
  }
  response->set_payload(filler_.data(), static_cast<size_t>(n));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace recsys
