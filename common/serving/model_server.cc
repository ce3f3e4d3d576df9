#include "common/serving/model_server.h"

#include <algorithm>
#include <thread>

#include "common/serving/dense.h"
#include "common/grpc/proto_messages.h"

namespace recsys {

void PrepareServingProcess() {
  InstallRateLimitedProtobufLogging();
  SetBlasThreads(1);
}

int DefaultMaxInFlight() {
  return 64 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

absl::Status RunModelServer(GrpcServerOptions options, VersionManager* versions,
                            const std::vector<grpc::Service*>& services) {
  options.load = [versions](int /*port*/) {
    absl::Status loaded = versions->LoadInitial();
    if (loaded.ok()) versions->Start();
    return loaded;
  };
  options.on_reload_signal = [versions] { versions->RequestRescan(); };
  return RunGrpcServer(options, services);
}

}  // namespace recsys
