#include "clients/ghz_report.h"

#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace recsys {
namespace {

int64_t Ns(absl::Duration d) { return absl::ToInt64Nanoseconds(d); }

std::string Number(double x) {
  if (!std::isfinite(x)) return "0";
  if (x == std::floor(x) && std::fabs(x) < 1e15) return absl::StrCat(static_cast<int64_t>(x));
  return absl::StrFormat("%.6f", x);
}

// A pretty-printing JSON writer: objects and arrays as nested values.
class Json {
 public:
  // A value already formatted as JSON.
  static Json Raw(std::string text) { return Json(std::move(text)); }
  static Json Int(int64_t n) { return Json(absl::StrCat(n)); }
  static Json Double(double x) { return Json(Number(x)); }
  static Json Str(absl::string_view s) { return Json(JsonQuote(s)); }
  static Json Bool(bool b) { return Json(b ? "true" : "false"); }
  static Json Null() { return Json("null"); }
  static Json Object() {
    Json j("");
    j.kind_ = kObject;
    return j;
  }
  static Json Array() {
    Json j("");
    j.kind_ = kArray;
    return j;
  }

  Json& Add(absl::string_view key, Json value) {
    members_.emplace_back(std::string(key), std::move(value));
    return *this;
  }
  Json& Push(Json value) {
    members_.emplace_back("", std::move(value));
    return *this;
  }

  std::string Text(int indent = 0) const {
    if (kind_ == kScalar) return scalar_;
    const char open = kind_ == kObject ? '{' : '[';
    const char close = kind_ == kObject ? '}' : ']';
    if (members_.empty()) return std::string{open, close};
    const std::string pad(static_cast<size_t>(indent + 2), ' ');
    std::vector<std::string> lines;
    for (const auto& [key, value] : members_) {
      lines.push_back(absl::StrCat(pad, kind_ == kObject ? JsonQuote(key) + ": " : "",
                                   value.Text(indent + 2)));
    }
    return absl::StrCat(std::string(1, open), "\n", absl::StrJoin(lines, ",\n"), "\n",
                        std::string(static_cast<size_t>(indent), ' '), std::string(1, close));
  }

 private:
  enum Kind { kScalar, kObject, kArray };
  explicit Json(std::string scalar) : scalar_(std::move(scalar)) {}

  Kind kind_ = kScalar;
  std::string scalar_;
  std::vector<std::pair<std::string, Json>> members_;
};

Json Counts(const std::map<std::string, int64_t>& counts) {
  Json o = Json::Object();
  for (const auto& [key, n] : counts) o.Add(key, Json::Int(n));
  return o;
}

Json Quantiles(const LatencySummary& l) {
  return Json::Object()
      .Add("p50", Json::Int(Ns(l.p50)))
      .Add("p90", Json::Int(Ns(l.p90)))
      .Add("p95", Json::Int(Ns(l.p95)))
      .Add("p99", Json::Int(Ns(l.p99)))
      .Add("p99.9", Json::Int(Ns(l.p999)))
      .Add("min", Json::Int(Ns(l.min)))
      .Add("mean", Json::Int(Ns(l.mean)))
      .Add("max", Json::Int(Ns(l.max)));
}

}  // namespace

std::string JsonQuote(absl::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += ch;
        }
    }
  }
  out += "\"";
  return out;
}

std::string GhzJsonReport(const LoadReport& report, const GhzRunOptions& options,
                          absl::Time date) {
  const CallSummary& s = report.summary;
  Json root = Json::Object();
  if (!options.name.empty()) root.Add("name", Json::Str(options.name));
  root.Add("endReason", Json::Str(report.end_reason));

  Json opts = Json::Object();
  opts.Add("host", Json::Str(options.host))
      .Add("call", Json::Str(options.call))
      .Add("insecure", Json::Bool(options.insecure));
  if (options.total > 0) opts.Add("total", Json::Int(options.total));
  if (options.concurrency > 0) opts.Add("concurrency", Json::Int(options.concurrency));
  if (options.rps > 0) opts.Add("rps", Json::Double(options.rps));
  if (options.connections > 0) opts.Add("connections", Json::Int(options.connections));
  if (options.duration > absl::ZeroDuration()) {
    opts.Add("duration", Json::Int(Ns(options.duration)));
  }
  if (options.timeout > absl::ZeroDuration()) opts.Add("timeout", Json::Int(Ns(options.timeout)));
  opts.Add("CPUs", Json::Int(options.cpus));
  if (!options.name.empty()) opts.Add("name", Json::Str(options.name));
  root.Add("options", std::move(opts));

  // RFC 3339 in UTC, as Go writes it ("Z").
  root.Add("date", Json::Str(absl::FormatTime("%Y-%m-%d%ET%H:%M:%SZ", date, absl::UTCTimeZone())));
  root.Add("count", Json::Int(s.calls));
  root.Add("total", Json::Int(Ns(report.total)));
  root.Add("average", Json::Int(Ns(s.latency.mean)));
  root.Add("fastest", Json::Int(Ns(s.ok_latency.min)));
  root.Add("slowest", Json::Int(Ns(s.ok_latency.max)));
  root.Add("rps", Json::Double(report.completed_rps));

  std::map<std::string, int64_t> errors;
  for (const auto& [key, n] : s.errors) {
    errors[absl::StrCat("rpc error: code = ", GhzStatusCodeName(key.first),
                        " desc = ", key.second)] += n;
  }
  root.Add("errorDistribution", Counts(errors));
  std::map<std::string, int64_t> codes;
  for (const auto& [code, n] : s.by_code) codes[GhzStatusCodeName(code)] += n;
  root.Add("statusCodeDistribution", Counts(codes));

  if (s.ok == 0) {
    root.Add("latencyDistribution", Json::Null());
    root.Add("histogram", Json::Null());
  } else {
    Json latencies = Json::Array();
    for (size_t i = 0; i < s.ok_latency.ghz_percentiles.size(); ++i) {
      latencies.Push(Json::Object()
                         .Add("percentage", Json::Int(kGhzPercentages[i]))
                         .Add("latency", Json::Int(Ns(s.ok_latency.ghz_percentiles[i]))));
    }
    root.Add("latencyDistribution", std::move(latencies));
    Json histogram = Json::Array();
    for (const auto& [mark, count] : s.ok_latency.histogram) {
      histogram.Push(Json::Object()
                         .Add("mark", Json::Double(absl::ToDoubleSeconds(mark)))
                         .Add("count", Json::Int(count))
                         .Add("frequency", Json::Double(static_cast<double>(count) /
                                                        static_cast<double>(s.ok))));
    }
    root.Add("histogram", std::move(histogram));
  }
  if (!options.tags.empty()) {
    Json tags = Json::Object();
    for (const auto& [k, v] : options.tags) tags.Add(k, Json::Str(v));
    root.Add("tags", std::move(tags));
  }

  std::map<std::string, int64_t> by_code;
  for (const auto& [code, n] : s.by_code) by_code[StatusCodeName(code)] += n;
  std::map<std::string, int64_t> causes;
  for (const auto& [cause, n] : s.degraded_by_cause) {
    causes[std::string(absl::StripPrefix(DegradedCause_Name(cause), "DEGRADED_"))] += n;
  }
  Json recsys = Json::Object();
  recsys.Add("loop", Json::Str(options.loop))
      .Add("distinctRequests", Json::Int(options.distinct_requests))
      .Add("dataSource", Json::Str(options.data_source))
      .Add("ok", Json::Int(s.ok))
      .Add("failed", Json::Int(s.failed()))
      .Add("byCode", Counts(by_code))
      .Add("degraded", Json::Int(s.degraded))
      .Add("degradedByCause", Counts(causes))
      .Add("versionMismatches", Json::Int(s.version_mismatches))
      .Add("responseBytes", Json::Int(s.response_bytes))
      .Add("latency", Quantiles(s.latency))
      .Add("okLatency", Quantiles(s.ok_latency))
      .Add("modelVersions", Counts(s.model_versions))
      .Add("rankingModelVersions", Counts(s.ranking_model_versions))
      .Add("maxInFlight", Json::Int(report.max_in_flight))
      .Add("sendWindow", Json::Int(Ns(report.send_window)))
      .Add("sentRps", Json::Double(report.achieved_rps));
  root.Add("recsys", std::move(recsys));
  return root.Text() + "\n";
}

}  // namespace recsys
