#ifndef RECSYS_CLIENTS_CALL_TRANSPORT_H_
#define RECSYS_CLIENTS_CALL_TRANSPORT_H_

// How the load generator's calls reach the server: unary calls of one
// method with pre-serialized requests, over one or more connections, each
// call's outcome reported on one of the transport's own threads.
//
//   - NewGrpcTransport: gRPC C++ (a generic stub on completion queues, one
//     polling thread each) over given channels.
//   - NewHttp2Transport (clients/http2_transport.h): a lean HTTP/2 client
//     of its own, like h2load's: one event loop thread per group of
//     connections, every request's frames batched into one write per loop
//     turn, the header block built once.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace recsys {

// One call's outcome, valid for the duration of `OnCallDone` only.
struct CallResult {
  grpc::StatusCode code = grpc::StatusCode::OK;
  // The status message (grpc-message, or what the transport saw).
  absl::string_view message;
  // The serialized response message, in one of two forms (neither when the
  // call failed).
  grpc::ByteBuffer* buffer = nullptr;
  absl::string_view bytes;
};

class CallCompletion {
 public:
  virtual ~CallCompletion() = default;
  // On a transport thread; may send the next call.
  virtual void OnCallDone(const CallResult& result) = 0;
};

class CallTransport {
 public:
  virtual ~CallTransport() = default;

  // Starts the transport's threads; `Send` may be called from then on.
  virtual void Start() = 0;
  // Sends request `request` on connection `connection % connections()`;
  // `done->OnCallDone` follows on a transport thread, never inside `Send`.
  // Thread-safe.
  virtual void Send(size_t connection, size_t request, CallCompletion* done) = 0;
  // After Start: connects every connection, waiting up to `timeout`; false
  // if one is not connected by then (calls on it fail until it is).
  virtual bool WaitConnected(absl::Duration timeout) = 0;
  // Once every call sent has completed: stops and joins the threads.
  virtual void Stop() = 0;

  virtual size_t connections() const = 0;
  // The threads that take completions; connection i's are taken by thread
  // i % threads().
  virtual size_t threads() const = 0;
};

// gRPC over `channels` (at least one): method `path`
// ("/package.Service/Method"), each call with `deadline`, `threads` polling
// threads (at least 1).
std::unique_ptr<CallTransport> NewGrpcTransport(
    std::vector<std::shared_ptr<grpc::Channel>> channels, std::string path,
    std::vector<std::string> requests, absl::Duration deadline, int threads);

}  // namespace recsys

#endif  // RECSYS_CLIENTS_CALL_TRANSPORT_H_
