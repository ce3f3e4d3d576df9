#ifndef RECSYS_COMMON_GRPC_TLS_H_
#define RECSYS_COMMON_GRPC_TLS_H_

// TLS and mutual TLS for our servers and for the candidate server's channel
// to ranking, from PEM files named by flags. All paths empty means plaintext
// (the default, for a laptop or a mesh that encrypts for us).
//
//   server: cert + key              TLS; any client may connect
//           cert + key + client CA  mTLS: a client must present a
//                                   certificate signed by the CA
//   channel: CA                     TLS; the server's certificate must be
//                                   signed by the CA (and name the target
//                                   host, or `server_name`)
//            CA + cert + key        mTLS: also present our certificate
//
// Files are read once, at start-up; each error names the flag and the file.

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"

namespace recsys {

struct ServerTlsFiles {
  std::string cert_file;       // --tls_cert_file
  std::string key_file;        // --tls_key_file
  std::string client_ca_file;  // --tls_client_ca_file
  bool enabled() const { return !cert_file.empty() || !key_file.empty() || !client_ca_file.empty(); }
};

struct ChannelTlsFiles {
  std::string ca_file;      // --<prefix>ca_file
  std::string cert_file;    // --<prefix>cert_file
  std::string key_file;     // --<prefix>key_file
  // The name the server's certificate must carry when it is not the target's
  // host (e.g. connecting to an IP address): --<prefix>server_name.
  std::string server_name;
  // The flags' common prefix, for error messages: "ranking_tls_" (the
  // candidate server's channel to ranking) or "tls_" (the clients).
  std::string flag_prefix = "ranking_tls_";
  bool enabled() const {
    return !ca_file.empty() || !cert_file.empty() || !key_file.empty() || !server_name.empty();
  }
};

// Insecure credentials when `files` is empty; InvalidArgument for an
// incomplete set (a key without its certificate, a client CA without a
// server certificate) or a file that cannot be read or holds no PEM block.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsFiles& files);

// Insecure credentials when `files` is empty. `args` receives the target
// name override when `server_name` is set. Errors as above; TLS needs the CA.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ChannelTlsFiles& files, grpc::ChannelArguments* args);

}  // namespace recsys

#endif  // RECSYS_COMMON_GRPC_TLS_H_
