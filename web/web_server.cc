#include "web/web_server.h"

#include <sys/socket.h>

#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace recsys::web {
namespace {

// The largest request body accepted (a pasted context), bytes: the
// services' own request limit.
constexpr size_t kMaxBodyBytes = 4 << 20;
constexpr int kReadTimeoutS = 10;

void Answer(const HttpPage& page, httplib::Response& res) {
  res.status = page.status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(page.html, "text/html; charset=utf-8");
}

std::string Param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : "";
}

}  // namespace

absl::StatusOr<WebServer::Options> ParseListenAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen must be host:port with a port in [0, 65535], e.g. 127.0.0.1:8080; got '",
        address, "'"));
  }
  WebServer::Options options;
  options.host = address.substr(0, colon);
  options.port = port;
  return options;
}

absl::StatusOr<std::unique_ptr<WebServer>> WebServer::Create(const Options& options,
                                                             const WebApp* app) {
  auto server = std::make_unique<httplib::Server>();
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a
  // second server would share a port in use instead of failing.
  server->set_socket_options([](socket_t socket) {
    const int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->set_payload_max_length(kMaxBodyBytes);
  server->set_read_timeout(kReadTimeoutS, 0);
  server->Get("/", [app](const httplib::Request& req, httplib::Response& res) {
    Answer(app->Index(Param(req, "q")), res);
  });
  server->Get("/user", [app](const httplib::Request& req, httplib::Response& res) {
    Answer(app->User(Param(req, "id"), Param(req, "v")), res);
  });
  server->Get("/compare", [app](const httplib::Request& req, httplib::Response& res) {
    Answer(app->Compare(Param(req, "id"), Param(req, "a"), Param(req, "b")), res);
  });
  server->Post("/context", [app](const httplib::Request& req, httplib::Response& res) {
    Answer(app->PastedContext(Param(req, "context"), Param(req, "a"), Param(req, "b")), res);
  });
  // Unknown paths and requests httplib refuses itself (too large, bad
  // syntax) get an error page too.
  server->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    const absl::Status status =
        res.status == 404
            ? absl::NotFoundError(absl::StrCat("no page at ", req.path, " (see / for the index)"))
            : absl::InvalidArgumentError(absl::StrCat("the request was refused (HTTP ", res.status, ")"));
    const int http_status = res.status;
    Answer({http_status, ErrorPageHtml(http_status, status)}, res);
  });
  server->set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        Answer(WebApp::Error(absl::InternalError("the page failed to render")), res);
      });

  int port = options.port;
  if (port == 0) {
    port = server->bind_to_any_port(options.host);
    if (port < 0) port = 0;
  } else if (!server->bind_to_port(options.host, port)) {
    port = 0;
  }
  if (port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.host, ":", options.port,
                     " (the port is in use, or the host is not an address of this machine)"));
  }
  return std::unique_ptr<WebServer>(new WebServer(std::move(server), port));
}

WebServer::WebServer(std::unique_ptr<httplib::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

WebServer::~WebServer() = default;

void WebServer::Run() {
  // `run_active_` before `stop_requested_` is read, `Stop` the other way
  // round: either this sees the stop, or `Stop` sees this run and waits for
  // httplib to be listening (its `stop` does nothing before).
  run_active_.store(true);
  if (!stop_requested_.load()) server_->listen_after_bind();
  run_active_.store(false);
}

void WebServer::Stop() {
  stop_requested_.store(true);
  while (run_active_.load() && !server_->is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server_->stop();
}

}  // namespace recsys::web
