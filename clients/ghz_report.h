#ifndef RECSYS_CLIENTS_GHZ_REPORT_H_
#define RECSYS_CLIENTS_GHZ_REPORT_H_

// A load run's summary as ghz writes it with `--format=json`
// (github.com/bojand/ghz, runner/reporter.go), so that tools reading ghz
// reports read ours:
//
//   name, endReason, options {host, call, insecure, total, concurrency,
//   connections, rps, duration, timeout, CPUs, name}, date (RFC 3339), count,
//   total, average, fastest, slowest (durations in nanoseconds), rps,
//   errorDistribution {"rpc error: code = Unavailable desc = ...": n},
//   statusCodeDistribution {"OK": n, "Unavailable": n},
//   latencyDistribution [{percentage, latency}] for 10, 25, 50, 75, 90, 95,
//   99 (null without an OK call), histogram [{mark (seconds), count,
//   frequency}], tags.
//
// As in ghz, `average` is over every call and fastest, slowest, the
// distribution and the histogram over OK calls. ghz's per-call `details` are
// left out (recsys_load --calls_csv writes them). Ours are under "recsys":
// degraded answers (Recommend) and by cause, version mismatches, latency
// quantiles with p99.9 (over every call, and over OK calls), errors by
// code, the model versions that answered, the loop, the most calls in
// flight, calls sent per second.

#include <cstdint>
#include <map>
#include <string>

#include "absl/time/time.h"
#include "clients/load_generator.h"

namespace recsys {

// What was asked for (ghz's "options").
struct GhzRunOptions {
  std::string name;
  std::string call;
  std::string host;
  bool insecure = true;
  int64_t total = 0;
  int64_t concurrency = 0;
  int64_t connections = 1;
  // 0: no rate.
  double rps = 0;
  // Zero: no limit.
  absl::Duration duration;
  absl::Duration timeout;
  int cpus = 0;
  std::map<std::string, std::string> tags;
  // Ours: "closed" or "open", how many distinct requests were cycled
  // through, and where they came from.
  std::string loop;
  int64_t distinct_requests = 0;
  std::string data_source;
};

// The JSON text (pretty-printed, ends with a newline). `date` is when the
// run ended.
std::string GhzJsonReport(const LoadReport& report, const GhzRunOptions& options,
                          absl::Time date);

// JSON string literal of `s` (quotes included; control characters, quotes,
// backslashes escaped; other bytes as they are).
std::string JsonQuote(absl::string_view s);

}  // namespace recsys

#endif  // RECSYS_CLIENTS_GHZ_REPORT_H_
