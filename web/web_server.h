#ifndef RECSYS_WEB_WEB_SERVER_H_
#define RECSYS_WEB_WEB_SERVER_H_

// The HTTP/1.1 server of recsys_web (cpp-httplib, the only file that
// includes it): routes the URLs of `WebApp` (web/web_app.h) and answers
// every other path 404, each with `Cache-Control: no-store`.

#include <atomic>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "web/web_app.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace recsys::web {

class WebServer {
 public:
  struct Options {
    // Host to bind, e.g. "127.0.0.1" or "0.0.0.0", and port; 0 lets the
    // kernel pick a free one.
    std::string host = "127.0.0.1";
    int port = 8080;
  };

  // Binds the socket (Unavailable when it cannot: a port in use); does not
  // serve yet. `app` must outlive the server.
  static absl::StatusOr<std::unique_ptr<WebServer>> Create(const Options& options,
                                                           const WebApp* app);
  ~WebServer();

  // The bound port.
  int port() const { return port_; }

  // Serves until `Stop`; returns at once when `Stop` was called before.
  // Requests are answered on the server's thread pool.
  void Run();
  // Makes `Run` return once the requests in flight are answered. Safe from
  // any thread (not from a signal handler).
  void Stop();

 private:
  WebServer(std::unique_ptr<httplib::Server> server, int port);

  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> run_active_{false};
};

// Splits "host:port" (the port a number in [0, 65535]; the host not empty).
absl::StatusOr<WebServer::Options> ParseListenAddress(const std::string& address);

}  // namespace recsys::web

#endif  // RECSYS_WEB_WEB_SERVER_H_
