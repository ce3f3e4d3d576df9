#include "common/grpc/grpc_server.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <grpcpp/impl/server_initializer.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "common/base/grpc_status.h"

namespace recsys {
namespace {

constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";
constexpr auto kShutdownDeadline = std::chrono::seconds(5);

// Copies the full names of all services the server registered (ours, the
// health service, reflection) once the server has started. A plugin is the
// only public place where gRPC lists them: `grpc::Service` does not expose
// its name.
class ServiceNamesPlugin : public grpc::ServerBuilderPlugin {
 public:
  explicit ServiceNamesPlugin(std::vector<std::string>* names)
      : names_(names) {}
  std::string name() override { return "recsys_service_names"; }
  void InitServer(grpc::ServerInitializer* /*si*/) override {}
  void Finish(grpc::ServerInitializer* si) override {
    *names_ = *si->GetServiceList();
  }
  void ChangeArguments(const std::string& /*name*/, void* /*value*/) override {}

 private:
  std::vector<std::string>* names_;
};

class ServiceNamesOption : public grpc::ServerBuilderOption {
 public:
  explicit ServiceNamesOption(std::vector<std::string>* names)
      : names_(names) {}
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->push_back(std::make_unique<ServiceNamesPlugin>(names_));
  }

 private:
  std::vector<std::string>* names_;
};

// Removes server reflection from a builder's plugins. Linking gRPC's
// reflection library registers its plugin for every server of the process
// (a static initialiser), so leaving reflection off means taking it out.
class NoReflectionOption : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
                                    return p->name() == "proto_server_reflection";
                                  }),
                   plugins->end());
  }
};

// Writes "`port`\n" to `path` through a temporary file in the same directory
// and a rename, so that readers never see a partial file.
absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  FILE* file = std::fopen(tmp.c_str(), "w");
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot create ", tmp));
  }
  const bool written = std::fprintf(file, "%d\n", port) > 0;
  if (std::fclose(file) != 0 || !written) {
    const int error = errno;
    std::remove(tmp.c_str());
    return absl::ErrnoToStatus(error, absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(tmp.c_str());
    return absl::ErrnoToStatus(error, absl::StrCat("cannot rename ", tmp,
                                                   " to ", path));
  }
  return absl::OkStatus();
}

// The write end of the self-pipe `RunGrpcServer` waits on; -1 when none.
// The handler only writes one byte, which is async-signal-safe, and works
// whichever thread the kernel delivers the signal to.
volatile sig_atomic_t g_signal_pipe_write = -1;

void OnTerminationSignal(int signal_number) {
  const int saved_errno = errno;
  const int fd = g_signal_pipe_write;
  if (fd >= 0) {
    const char byte = static_cast<char>(signal_number);
    [[maybe_unused]] const ssize_t n = write(fd, &byte, 1);
  }
  errno = saved_errno;
}

// Installs `OnTerminationSignal` for SIGINT, SIGTERM and SIGHUP for its
// lifetime and waits for them.
class TerminationSignalWaiter {
 public:
  static absl::StatusOr<std::unique_ptr<TerminationSignalWaiter>> Create() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      return absl::ErrnoToStatus(errno, "pipe2");
    }
    auto waiter = std::unique_ptr<TerminationSignalWaiter>(
        new TerminationSignalWaiter(fds[0], fds[1]));
    g_signal_pipe_write = fds[1];
    struct sigaction action = {};
    action.sa_handler = OnTerminationSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, &waiter->previous_sigint_);
    sigaction(SIGTERM, &action, &waiter->previous_sigterm_);
    sigaction(SIGHUP, &action, &waiter->previous_sighup_);
    waiter->installed_ = true;
    return waiter;
  }

  ~TerminationSignalWaiter() {
    RestorePreviousHandlers();
    close(read_fd_);
    close(write_fd_);
  }

  // Blocks until SIGINT or SIGTERM arrives, calling `on_sighup` (when set)
  // for each SIGHUP meanwhile, restores the previous SIGINT and SIGTERM
  // handlers (a second one terminates the default way) and returns the
  // signal number. SIGHUP stays caught, and ignored, until destruction: it
  // must not kill a server while it drains.
  int Wait(const std::function<void()>& on_sighup) {
    while (true) {
      char byte = 0;
      ssize_t n;
      while ((n = read(read_fd_, &byte, 1)) < 0 && errno == EINTR) {
      }
      if (n == 1 && static_cast<unsigned char>(byte) == SIGHUP) {
        if (on_sighup) on_sighup();
        continue;
      }
      if (installed_) {
        sigaction(SIGINT, &previous_sigint_, nullptr);
        sigaction(SIGTERM, &previous_sigterm_, nullptr);
      }
      return static_cast<unsigned char>(byte);
    }
  }

 private:
  TerminationSignalWaiter(int read_fd, int write_fd)
      : read_fd_(read_fd), write_fd_(write_fd) {}

  void RestorePreviousHandlers() {
    if (!installed_) return;
    sigaction(SIGINT, &previous_sigint_, nullptr);
    sigaction(SIGTERM, &previous_sigterm_, nullptr);
    sigaction(SIGHUP, &previous_sighup_, nullptr);
    g_signal_pipe_write = -1;
    installed_ = false;
  }

  const int read_fd_;
  const int write_fd_;
  bool installed_ = false;
  struct sigaction previous_sigint_ = {};
  struct sigaction previous_sigterm_ = {};
  struct sigaction previous_sighup_ = {};
};

// Sets every health status of `server` (overall and per service).
void SetHealth(grpc::Server* server, const std::vector<std::string>& service_names,
               bool serving) {
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus("", serving);
  for (const std::string& name : service_names) health->SetServingStatus(name, serving);
}

std::string EncodeHealthCheckRequest(const std::string& service) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  {
    google::protobuf::io::CodedOutputStream out(&stream);
    if (!service.empty()) {
      // HealthCheckRequest.service = 1 (string).
      google::protobuf::internal::WireFormatLite::WriteString(1, service,
                                                              &out);
    }
  }
  return bytes;
}

absl::StatusOr<GrpcHealthStatus> DecodeHealthCheckResponse(
    const std::string& bytes) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  // HealthCheckResponse.status = 1 (enum); absent means UNKNOWN.
  uint32_t status = 0;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    if (tag == WireFormatLite::MakeTag(
                   1, WireFormatLite::WIRETYPE_VARINT)) {
      if (!in.ReadVarint32(&status)) {
        return absl::InternalError("truncated HealthCheckResponse.status");
      }
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return absl::InternalError("malformed HealthCheckResponse");
    }
  }
  if (!in.ConsumedEntireMessage()) {
    return absl::InternalError("malformed HealthCheckResponse");
  }
  if (status > static_cast<uint32_t>(GrpcHealthStatus::kServiceUnknown)) {
    return absl::InternalError(
        absl::StrCat("unknown health serving status ", status));
  }
  return static_cast<GrpcHealthStatus>(status);
}

}  // namespace

absl::Status WritePortFileIfSet(const std::string& path, int port) {
  if (path.empty()) return absl::OkStatus();
  return WritePortFile(path, port);
}

absl::StatusOr<StartedGrpcServer> StartGrpcServer(
    const GrpcServerOptions& options,
    const std::vector<grpc::Service*>& services) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("empty server address");
  }
  if (options.max_receive_message_bytes <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_receive_message_bytes must be positive, got ",
                     options.max_receive_message_bytes));
  }
  // Both are process-wide switches read when a builder is constructed.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  StartedGrpcServer started;
  std::vector<std::string> service_names;
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address,
                           options.credentials != nullptr ? options.credentials
                                                          : grpc::InsecureServerCredentials(),
                           &started.port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (options.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_MS,
        static_cast<int>(absl::ToInt64Milliseconds(options.max_connection_age)));
    // Calls in flight on a connection being closed get this long to finish.
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 5000);
  }
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  if (!options.reflection) builder.SetOption(std::make_unique<NoReflectionOption>());
  builder.SetOption(std::make_unique<ServiceNamesOption>(&service_names));
  for (grpc::Service* service : services) {
    builder.RegisterService(service);
  }
  started.server = builder.BuildAndStart();
  if (started.server == nullptr || started.port == 0) {
    if (started.server != nullptr) started.server->Shutdown();
    return absl::UnavailableError(absl::StrCat(
        options.name, ": cannot listen on ", options.address,
        options.credentials != nullptr
            ? " (address in use or invalid, or the TLS certificate and key do not match?)"
            : " (address in use or invalid?)"));
  }

  if (started.server->GetHealthCheckService() == nullptr) {
    started.server->Shutdown();
    return absl::InternalError("the default health service is not enabled");
  }
  started.service_names = service_names;
  SetHealth(started.server.get(), service_names, /*serving=*/!options.load);

  // With a `load` step the port file is written once the server is SERVING
  // (by `RunGrpcServer`): scripts that wait for it may query at once.
  if (!options.port_file.empty() && !options.load) {
    if (absl::Status written = WritePortFile(options.port_file, started.port);
        !written.ok()) {
      started.server->Shutdown();
      return written;
    }
  }
  spdlog::info("{}: listening on {} (port {}, {}), services: {}", options.name,
               options.address, started.port,
               options.credentials != nullptr ? "TLS" : "plaintext",
               absl::StrJoin(service_names, ", "));
  return started;
}

absl::Status RunGrpcServer(const GrpcServerOptions& options,
                           const std::vector<grpc::Service*>& services) {
  // Installed before the server starts, so that a signal that arrives as soon
  // as the port file appears is not lost.
  absl::StatusOr<std::unique_ptr<TerminationSignalWaiter>> waiter =
      TerminationSignalWaiter::Create();
  if (!waiter.ok()) return waiter.status();
  absl::StatusOr<StartedGrpcServer> started =
      StartGrpcServer(options, services);
  if (!started.ok()) return started.status();
  if (options.load) {
    spdlog::info("{}: health NOT_SERVING until a model is loaded", options.name);
    if (absl::Status loaded = options.load(started->port); !loaded.ok()) {
      started->server->Shutdown(std::chrono::system_clock::now());
      started->server->Wait();
      return loaded;
    }
    SetHealth(started->server.get(), started->service_names, /*serving=*/true);
    spdlog::info("{}: health SERVING", options.name);
    if (!options.port_file.empty()) {
      if (absl::Status written = WritePortFile(options.port_file, started->port);
          !written.ok()) {
        started->server->Shutdown(std::chrono::system_clock::now());
        started->server->Wait();
        return written;
      }
    }
  }

  const int signal_number = (*waiter)->Wait(options.on_reload_signal);
  // Health checks answer NOT_SERVING from now on, so that load balancers
  // that poll them stop routing here; calls are still answered during the
  // drain, while endpoints are removed.
  SetHealth(started->server.get(), started->service_names, /*serving=*/false);
  if (options.drain > absl::ZeroDuration()) {
    spdlog::info("{}: signal {} received, health NOT_SERVING, draining for {}", options.name,
                 signal_number, absl::FormatDuration(options.drain));
    absl::SleepFor(options.drain);
  }
  spdlog::info("{}: signal {} received, shutting down (deadline {} s)",
               options.name, signal_number,
               std::chrono::seconds(kShutdownDeadline).count());
  if (grpc::HealthCheckServiceInterface* health =
          started->server->GetHealthCheckService()) {
    health->Shutdown();
  }
  started->server->Shutdown(std::chrono::system_clock::now() +
                            kShutdownDeadline);
  started->server->Wait();
  spdlog::info("{}: stopped", options.name);
  return absl::OkStatus();
}

absl::StatusOr<std::string> RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                                         const std::string& method,
                                         const std::string& request_bytes,
                                         absl::Duration timeout) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::Slice request_slice(request_bytes);
  grpc::ByteBuffer request(&request_slice, 1);
  grpc::ByteBuffer response;
  grpc::Status call_status;
  absl::Notification done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&call_status, &done](grpc::Status status) {
                   call_status = std::move(status);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!call_status.ok()) return FromGrpcStatus(call_status);
  std::vector<grpc::Slice> slices;
  if (response.Valid()) {
    if (grpc::Status dumped = response.Dump(&slices); !dumped.ok()) {
      return FromGrpcStatus(dumped);
    }
  }
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

absl::StatusOr<GrpcHealthStatus> CheckGrpcHealth(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
    absl::Duration timeout) {
  absl::StatusOr<std::string> bytes = RawUnaryCall(
      channel, kHealthCheckMethod, EncodeHealthCheckRequest(service), timeout);
  if (!bytes.ok()) return bytes.status();
  return DecodeHealthCheckResponse(*bytes);
}

}  // namespace recsys
