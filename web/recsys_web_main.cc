// recsys_web: a small web page over a running candidate_server, to look at a
// user's recommendations. Pick a user of a world (simulator/world_gen) or of
// imported logs, or paste a context as JSON; see their history, the
// recommended videos as cards (title, channel, topic, predicted watch time,
// source) and the explain tables; compare two loaded bundle versions side
// by side for the same user. Plain HTML, no JavaScript, no external assets.
//
//   recsys_web --candidate_address=127.0.0.1:50051 --world=data/world
//   then open http://127.0.0.1:8080/

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include <spdlog/spdlog.h>

#include "common/base/command_line.h"
#include "common/grpc/grpc_server.h"
#include "web/candidate_client.h"
#include "web/user_directory.h"
#include "web/web_app.h"
#include "web/web_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:8080",
          "host:port the page is served on; port 0 picks a free one (see --port_file).");
ABSL_FLAG(std::string, port_file, "",
          "When set, the bound port is written here (then a newline) once the page is served.");
ABSL_FLAG(std::string, candidate_address, "127.0.0.1:50051",
          "host:port of the CandidateService (plaintext gRPC).");
ABSL_FLAG(std::string, world, "",
          "A world directory written by simulator/world_gen: its users can be picked, their "
          "history is shown with the videos' titles. Give this or --logs, or neither (then "
          "contexts can only be pasted).");
ABSL_FLAG(std::string, logs, "",
          "A directory of imported logs in the canonical CSV format (docs/data-format.md), "
          "used as --world is.");
ABSL_FLAG(int32_t, num_results, 20, "Videos per list.");
ABSL_FLAG(int32_t, deadline_ms, 5000, "Deadline of each Recommend call, milliseconds.");

namespace recsys::web {
namespace {

struct MainOptions {
  WebServer::Options server;
  std::string port_file;
  GrpcCandidateClient::Options client;
  std::string logs_dir;
  WebApp::Options app;
};

absl::StatusOr<MainOptions> OptionsFromFlags() {
  MainOptions options;
  absl::StatusOr<WebServer::Options> server = ParseListenAddress(absl::GetFlag(FLAGS_listen));
  if (!server.ok()) return server.status();
  options.server = *server;
  options.port_file = absl::GetFlag(FLAGS_port_file);
  options.client.address = absl::GetFlag(FLAGS_candidate_address);
  const int32_t deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  if (deadline_ms <= 0) return absl::InvalidArgumentError("--deadline_ms must be positive");
  options.client.deadline = absl::Milliseconds(deadline_ms);
  const std::string world = absl::GetFlag(FLAGS_world);
  const std::string logs = absl::GetFlag(FLAGS_logs);
  if (!world.empty() && !logs.empty()) {
    return absl::InvalidArgumentError("give --world or --logs, not both (they are read alike)");
  }
  options.logs_dir = world.empty() ? logs : world;
  options.app.num_results = absl::GetFlag(FLAGS_num_results);
  if (options.app.num_results < 1 || options.app.num_results > 500) {
    return absl::InvalidArgumentError(
        absl::StrCat("--num_results must be in [1, 500], got ", options.app.num_results));
  }
  return options;
}

int Run(const MainOptions& options) {
  // SIGINT and SIGTERM are taken by one thread with sigwait and blocked in
  // every other: blocked here, before any thread starts (gRPC starts its
  // own with the channel), so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<UserDirectory> directory;
  if (!options.logs_dir.empty()) {
    absl::StatusOr<std::unique_ptr<UserDirectory>> loaded = UserDirectory::Load(options.logs_dir);
    if (!loaded.ok()) {
      spdlog::error("recsys_web: cannot read {}: {}", options.logs_dir,
                    std::string(loaded.status().message()));
      return 1;
    }
    directory = *std::move(loaded);
    spdlog::info("recsys_web: {} users and {} videos from {}", directory->num_users(),
                 directory->num_videos(), options.logs_dir);
  }
  absl::StatusOr<std::unique_ptr<GrpcCandidateClient>> client =
      GrpcCandidateClient::Create(options.client);
  if (!client.ok()) {
    spdlog::error("recsys_web: {}", std::string(client.status().message()));
    return 2;
  }
  const WebApp app(options.app, directory.get(), client->get());

  absl::StatusOr<std::unique_ptr<WebServer>> server = WebServer::Create(options.server, &app);
  if (!server.ok()) {
    spdlog::error("recsys_web: {}", std::string(server.status().message()));
    return 1;
  }
  if (absl::Status written = WritePortFileIfSet(options.port_file, (*server)->port());
      !written.ok()) {
    spdlog::error("recsys_web: {}", std::string(written.message()));
    return 1;
  }
  spdlog::info("recsys_web: serving http://{}:{}/ over the CandidateService at {}",
               options.server.host, (*server)->port(), options.client.address);
  std::atomic<bool> signalled{false};
  std::thread stopper([&stop_signals, &signalled, web = server->get()] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    if (signalled.exchange(true)) return;  // woken by main below
    spdlog::info("recsys_web: signal {}, stopping", signal);
    web->Stop();
  });
  (*server)->Run();
  // `Run` returned without a signal (the listening socket failed): wake the
  // waiting thread.
  const bool stopped_by_signal = signalled.exchange(true);
  if (!stopped_by_signal) pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  if (!stopped_by_signal) {
    spdlog::error("recsys_web: the server stopped listening");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace recsys::web

int main(int argc, char** argv) {
  std::vector<char*> positional = recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Serves a web page over a running CandidateService: pick a user of --world or --logs (or "
      "paste a context as JSON), see their history, recommendations and the explain tables, "
      "and compare two loaded bundle versions side by side.\n"
      "\n"
      "  recsys_web --candidate_address=127.0.0.1:50051 --world=data/world "
      "--listen=127.0.0.1:8080\n"
      "\n"
      "Exit status: 0 after SIGINT or SIGTERM; 1 when the logs cannot be read or the port "
      "cannot be bound; 2 for bad flags.");
  if (positional.size() > 1) {
    spdlog::error("recsys_web: unexpected argument '{}'; see --help", positional[1]);
    return 2;
  }
  absl::StatusOr<recsys::web::MainOptions> options = recsys::web::OptionsFromFlags();
  if (!options.ok()) {
    spdlog::error("recsys_web: {}; see --help", std::string(options.status().message()));
    return 2;
  }
  return recsys::web::Run(*options);
}
