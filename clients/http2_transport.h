#ifndef RECSYS_CLIENTS_HTTP2_TRANSPORT_H_
#define RECSYS_CLIENTS_HTTP2_TRANSPORT_H_

// A lean client of gRPC's unary calls over HTTP/2 (plaintext, prior
// knowledge, as h2load speaks to a gRPC server), for the load generator:
// gRPC C++'s own client costs ~13 us of CPU per call on this kind of machine
// and writes every call with its own sendmsg, so that a server measured
// with it answers fewer calls than with h2load.
//
// Each event loop thread owns a group of connections. A call's HEADERS and
// DATA frames are appended to its connection's output (the header block is
// built once: method, scheme, path, authority, content-type, te, user-agent,
// grpc-timeout) and every connection is written once per loop turn, so the
// next calls sent from completion callbacks go out together. Answers are
// read in 64 KiB reads; a call ends with its trailers (grpc-status,
// grpc-message), a RST_STREAM, its deadline (RST_STREAM CANCEL, then
// DEADLINE_EXCEEDED, as a gRPC client) or its connection. Calls open once
// the server's SETTINGS arrived. Flow control, PING, GOAWAY (the next calls
// use a new connection; streams the server did not process are sent again
// there, once, as gRPC does) and HPACK's dynamic table are honoured. A
// connection that fails fails its calls UNAVAILABLE; it is tried again
// after 250 ms, and the calls made meanwhile wait for that attempt (and
// fail UNAVAILABLE with it), so that a closed loop against a server that
// is down makes a few calls a second, not a million. No TLS, compression
// or server push.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "clients/call_transport.h"

namespace recsys {

struct Http2TransportOptions {
  // "host:port", "[v6 address]:port"; a "dns:///" prefix is dropped.
  std::string address;
  int connections = 1;
  // Event loop threads (at most one per connection).
  int threads = 1;
  // "/package.Service/Method".
  std::string path;
  // Serialized request messages.
  std::vector<std::string> requests;
  absl::Duration deadline = absl::Seconds(1);
  std::string user_agent = "recsys_load-h2/1";
};

// InvalidArgument for an address that does not resolve or bad options.
absl::StatusOr<std::unique_ptr<CallTransport>> NewHttp2Transport(Http2TransportOptions options);

// The grpc-timeout header's value for `deadline`: at most 8 digits and a
// unit (n, u, m, S, M, H), rounded up.
std::string GrpcTimeoutValue(absl::Duration deadline);
// grpc-message's percent-decoding.
std::string PercentDecode(absl::string_view text);
// The gRPC status of a stream reset with HTTP/2 error `code`, and of a
// response with HTTP status `status` and no grpc-status (the gRPC spec's
// mappings).
grpc::StatusCode StatusFromHttp2Error(uint32_t code);
grpc::StatusCode StatusFromHttpStatus(int status);

}  // namespace recsys

#endif  // RECSYS_CLIENTS_HTTP2_TRANSPORT_H_
