#ifndef RECSYS_CLIENTS_GHZ_CONFIG_H_
#define RECSYS_CLIENTS_GHZ_CONFIG_H_

// ghz's JSON config file (https://ghz.sh/docs/options, e.g.
// deploy/k8s/loadtest/ghz/recommend.json), as recsys_load --config reads
// it. Every field is checked: a field ghz does not know, one recsys_load
// does not support (TLS, metadata, streaming, ...) or a value of the wrong
// type is an InvalidArgument error naming the file and the field.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <google/protobuf/struct.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace recsys {

struct GhzConfig {
  // Where it was read from (for messages).
  std::string path;
  std::optional<std::string> name;
  // "recsys.CandidateService.Recommend" (not checked here).
  std::optional<std::string> call;
  std::optional<std::string> host;
  // >= 1.
  std::optional<int64_t> concurrency;
  std::optional<int64_t> connections;
  // >= 0; 0: no limit.
  std::optional<int64_t> total;
  // "30s", "1m", "500ms" (Go's duration syntax); zero: no limit.
  std::optional<absl::Duration> duration;
  // Positive.
  std::optional<absl::Duration> timeout;
  // How long to wait for the connections before the run ("connect-timeout").
  std::optional<absl::Duration> connect_timeout;
  // "rps" (or ghz's older "qps"); 0 (ghz's "no limit") is left unset.
  std::optional<double> rps;
  // ghz's `data`: an object or an array of objects (checked against the
  // call's request message later, by RequestsFromJsonValue).
  std::optional<google::protobuf::Value> data;
  // ghz's "data-file", as written in the config.
  std::optional<std::string> data_file;
  // Must be true when present: recsys_load speaks plaintext only.
  std::optional<bool> insecure;
  // ghz's "output" with "format" "json" or "pretty": where to write the
  // JSON report.
  std::optional<std::string> output_json;
  // ghz's "tags", copied into the report.
  std::map<std::string, std::string> tags;
};

// ghz's duration syntax (Go's time.ParseDuration): "30s", "1m30s",
// "500ms", "1.5h", "0"; not negative.
absl::StatusOr<absl::Duration> ParseGhzDuration(absl::string_view text);

// Parses a config's JSON text; `path` is used in messages only.
absl::StatusOr<GhzConfig> ParseGhzConfig(absl::string_view json, const std::string& path);

// Reads and parses a config file.
absl::StatusOr<GhzConfig> ReadGhzConfig(const std::string& path);

}  // namespace recsys

#endif  // RECSYS_CLIENTS_GHZ_CONFIG_H_
