#include "common/grpc/tls.h"

#include <fstream>
#include <sstream>

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace recsys {
namespace {

// The contents of a PEM file named by `flag`.
absl::StatusOr<std::string> ReadPem(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", path, ": cannot read the file"));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  std::string pem = contents.str();
  if (!absl::StrContains(pem, "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", path, ": not a PEM file (no -----BEGIN line)"));
  }
  return pem;
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsFiles& files) {
  if (!files.enabled()) return grpc::InsecureServerCredentials();
  if (files.cert_file.empty() || files.key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls_cert_file and --tls_key_file (--tls_client_ca_file adds "
        "client certificate checks on top)");
  }
  grpc::SslServerCredentialsOptions options;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  RECSYS_ASSIGN_OR_RETURN(pair.cert_chain, ReadPem("tls_cert_file", files.cert_file));
  RECSYS_ASSIGN_OR_RETURN(pair.private_key, ReadPem("tls_key_file", files.key_file));
  options.pem_key_cert_pairs.push_back(std::move(pair));
  if (!files.client_ca_file.empty()) {
    RECSYS_ASSIGN_OR_RETURN(options.pem_root_certs,
                            ReadPem("tls_client_ca_file", files.client_ca_file));
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ChannelTlsFiles& files, grpc::ChannelArguments* args) {
  if (!files.enabled()) return grpc::InsecureChannelCredentials();
  const std::string& prefix = files.flag_prefix;
  if (files.ca_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS needs --", prefix, "ca_file (the CA that signed the server's certificate)"));
  }
  if (files.cert_file.empty() != files.key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("a client certificate needs both --", prefix,
                                                   "cert_file and --", prefix, "key_file"));
  }
  grpc::SslCredentialsOptions options;
  RECSYS_ASSIGN_OR_RETURN(options.pem_root_certs,
                          ReadPem(absl::StrCat(prefix, "ca_file"), files.ca_file));
  if (!files.cert_file.empty()) {
    RECSYS_ASSIGN_OR_RETURN(options.pem_cert_chain,
                            ReadPem(absl::StrCat(prefix, "cert_file"), files.cert_file));
    RECSYS_ASSIGN_OR_RETURN(options.pem_private_key,
                            ReadPem(absl::StrCat(prefix, "key_file"), files.key_file));
  }
  if (!files.server_name.empty()) {
    args->SetSslTargetNameOverride(files.server_name);
  }
  return grpc::SslCredentials(options);
}

}  // namespace recsys
