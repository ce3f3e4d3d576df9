#ifndef RECSYS_CLIENTS_ECHO_SERVICE_H_
#define RECSYS_CLIENTS_ECHO_SERVICE_H_

// recsys.bench.Echo (benchmarks/echo.proto) on the callback API: answers
// every call at once, on gRPC's own thread, with a payload of the requested
// size. The load generator's yardstick (benchmarks/echo_server,
// benchmarks/loadgen_vs_h2load.sh) and the tests' trivial server.

#include <atomic>
#include <cstdint>
#include <string>

#include <grpcpp/grpcpp.h>

#include "benchmarks/echo.grpc.pb.h"

namespace recsys {

class EchoService final : public bench::Echo::CallbackService {
 public:
  // The largest `response_bytes` answered; more is INVALID_ARGUMENT.
  static constexpr int32_t kMaxResponseBytes = 16 << 20;

  EchoService();

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const bench::EchoRequest* request,
                                 bench::EchoResponse* response) override;

  // Calls answered so far (any outcome).
  int64_t calls() const { return calls_.load(std::memory_order_relaxed); }

 private:
  // kMaxResponseBytes bytes the payloads are cut from.
  const std::string filler_;
  std::atomic<int64_t> calls_{0};
};

}  // namespace recsys

#endif  // RECSYS_CLIENTS_ECHO_SERVICE_H_
