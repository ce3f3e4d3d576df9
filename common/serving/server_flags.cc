#include "common/serving/server_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/grpc/tls.h"
#include "common/serving/model_server.h"

ABSL_FLAG(std::string, bundles, "bundles",
          "Directory of model bundle versions (<bundles>/<version>/); the newest valid ones "
          "are served and new ones loaded as they appear.");
ABSL_FLAG(std::string, port_file, "",
          "If set, the bound port is written here once the server is SERVING (a model is "
          "loaded).");
ABSL_FLAG(double, poll_interval_s, 5,
          "Seconds between scans of --bundles for new versions (SIGHUP scans at once).");
ABSL_FLAG(std::string, version, "",
          "Serve exactly this bundle version (a directory name under --bundles); empty: "
          "the newest valid one(s).");
ABSL_FLAG(int, max_in_flight, 0,
          "Requests handled at once; past it RESOURCE_EXHAUSTED at once. 0: 64 per CPU core.");
ABSL_FLAG(std::string, metrics_address, "",
          "host:port for Prometheus metrics over HTTP (GET /metrics); empty: none. Port 0: any "
          "free port (see --metrics_port_file).");
ABSL_FLAG(std::string, metrics_port_file, "",
          "If set, the bound metrics port is written here once it listens.");
ABSL_FLAG(double, access_log_sample, 0,
          "Fraction of calls written to the access log (logger \"access\": request id, peer, "
          "code, latency, degraded, both versions); 0: none, 1: every call.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain of this server; with --tls_key_file the port serves TLS only "
          "(plaintext clients are refused). Empty: plaintext.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file.");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA certificate(s): when set, clients must present a certificate signed by it "
          "(mutual TLS). Needs --tls_cert_file and --tls_key_file.");
ABSL_FLAG(bool, reflection, true,
          "Serve gRPC server reflection (for grpcurl and ghz without .proto files). Turn off "
          "in production to hide the API's shape.");
ABSL_FLAG(double, max_connection_age_s, 0,
          "When > 0, each client connection is closed gracefully after about this many seconds "
          "(GOAWAY; calls in flight finish), so that clients re-resolve the name and reach "
          "replicas added since. 0: connections live as long as the client keeps them.");
ABSL_FLAG(double, drain_s, 0,
          "On SIGTERM: health turns NOT_SERVING and calls are still answered for this many "
          "seconds (while load balancers and DNS stop routing here), then calls in flight get "
          "5 s. Kubernetes: shorter than terminationGracePeriodSeconds minus 5.");

namespace recsys {

absl::StatusOr<ServerSetup> ServerSetupFromFlags(const std::string& name,
                                                 const std::string& address) {
  if (absl::Status prepared = PrepareServingProcess(); !prepared.ok()) return prepared;
  ServerSetup setup;
  setup.grpc.address = address;
  setup.grpc.port_file = absl::GetFlag(FLAGS_port_file);
  setup.grpc.name = name;
  setup.grpc.reflection = absl::GetFlag(FLAGS_reflection);
  const double drain_s = absl::GetFlag(FLAGS_drain_s);
  if (!(drain_s >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("--drain_s=", drain_s, ": must be >= 0"));
  }
  setup.grpc.drain = absl::Seconds(drain_s);
  const double max_age_s = absl::GetFlag(FLAGS_max_connection_age_s);
  if (!(max_age_s >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_connection_age_s=", max_age_s, ": must be >= 0"));
  }
  setup.grpc.max_connection_age = absl::Seconds(max_age_s);
  ServerTlsFiles tls;
  tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file);
  if (tls.enabled()) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        MakeServerCredentials(tls);
    if (!credentials.ok()) return credentials.status();
    setup.grpc.credentials = *std::move(credentials);
  }
  setup.access_log_sample = absl::GetFlag(FLAGS_access_log_sample);
  if (!(setup.access_log_sample >= 0 && setup.access_log_sample <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--access_log_sample=", setup.access_log_sample, ": must be in [0, 1]"));
  }
  setup.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  if (setup.max_in_flight <= 0) setup.max_in_flight = DefaultMaxInFlight();

  setup.versions.root = absl::GetFlag(FLAGS_bundles);
  const double poll_s = absl::GetFlag(FLAGS_poll_interval_s);
  if (!(poll_s > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--poll_interval_s=", poll_s, ": must be > 0"));
  }
  setup.versions.poll_interval = absl::Seconds(poll_s);
  setup.versions.pinned_version = absl::GetFlag(FLAGS_version);
  setup.versions.name = name;
  absl::StatusOr<std::unique_ptr<ServerMetrics>> metrics =
      StartServerMetrics(name, absl::GetFlag(FLAGS_metrics_address),
                         absl::GetFlag(FLAGS_metrics_port_file), &setup.versions);
  if (!metrics.ok()) return metrics.status();
  setup.metrics = *std::move(metrics);
  return setup;
}

}  // namespace recsys
