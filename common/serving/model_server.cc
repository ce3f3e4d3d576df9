#include "common/serving/model_server.h"

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

#include "common/serving/dense.h"
#include "common/grpc/proto_messages.h"

namespace recsys {

absl::Status PrepareServingProcess() {
  InstallRateLimitedProtobufLogging();
  SetBlasThreads(1);
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex (gRPC
  // takes several per call) also keeps a lock-order graph for deadlock
  // reports: ~1.3% of both servers' CPU under load. Not for production.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return absl::OkStatus();
}

int DefaultMaxInFlight() {
  return 64 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

absl::StatusOr<std::unique_ptr<ServerMetrics>> StartServerMetrics(
    const std::string& server, const std::string& address, const std::string& port_file,
    VersionManager::Options* versions) {
  absl::StatusOr<std::unique_ptr<ServerMetrics>> metrics = ServerMetrics::Create(server, address);
  if (!metrics.ok()) return metrics.status();
  if (absl::Status written = WritePortFileIfSet(port_file, (*metrics)->port()); !written.ok()) {
    return written;
  }
  ServerMetrics* m = metrics->get();
  versions->on_load = [m](bool accepted) { m->RecordModelLoad(accepted); };
  versions->on_published = [m](const std::vector<std::shared_ptr<const Servable>>& loaded) {
    std::vector<std::string> names;
    for (const auto& v : loaded) names.push_back(v->version());
    m->SetLoadedVersions(names);
  };
  return metrics;
}

void RecordStages(ServerMetrics* metrics, const char* method, const StageClock& clock) {
  if (metrics == nullptr) return;
  const StageTimes& times = clock.times();
  for (int i = 0; i < times.size(); ++i) {
    metrics->RecordStage(method, times[i].first, times[i].second);
  }
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
