#include "clients/ghz_config.h"

#include <cmath>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "clients/call_method.h"

namespace recsys {
namespace {

using google::protobuf::Value;

// ghz fields that recsys_load does not implement: an error rather than a
// silently different test.
const std::set<std::string>& UnsupportedGhzFields() {
  static const auto* fields = new std::set<std::string>{
      "cacert",          "cert",          "key",           "skipTLS",
      "cname",           "authority",     "binary",        "binary-file",
      "metadata",        "metadata-file", "stream-interval", "stream-call-duration",
      "stream-call-count", "stream-dynamic-messages", "reflect-metadata",
      "max-duration",    "duration-stop", "debug",         "enable-compression",
      "keepalive",       "skipFirst",     "lb-strategy",   "count-errors",
      "load-schedule",   "load-start",    "load-end",      "load-step",
      "load-step-duration", "load-max-duration", "concurrency-schedule",
      "concurrency-start", "concurrency-end", "concurrency-step",
      "concurrency-step-duration", "concurrency-max-duration", "async"};
  return *fields;
}

// Fields that only tell ghz where the .proto is: recsys_load has the
// methods compiled in, so they are accepted and not used.
const std::set<std::string>& IgnoredGhzFields() {
  static const auto* fields =
      new std::set<std::string>{"proto", "protoset", "import-paths", "cpus"};
  return *fields;
}

std::string KindName(const Value& v) {
  switch (v.kind_case()) {
    case Value::kNullValue:
      return "null";
    case Value::kNumberValue:
      return "a number";
    case Value::kStringValue:
      return absl::StrCat("the string \"", v.string_value(), "\"");
    case Value::kBoolValue:
      return v.bool_value() ? "true" : "false";
    case Value::kStructValue:
      return "an object";
    case Value::kListValue:
      return "an array";
    default:
      return "nothing";
  }
}

class FieldReader {
 public:
  FieldReader(const std::string& path, const std::string& field, const Value& value)
      : path_(path), field_(field), value_(value) {}

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": field \"", field_, "\": ", what));
  }

  absl::StatusOr<std::string> String() const {
    if (value_.kind_case() != Value::kStringValue) {
      return Error(absl::StrCat("expected a string, got ", KindName(value_)));
    }
    return value_.string_value();
  }

  absl::StatusOr<bool> Bool() const {
    if (value_.kind_case() != Value::kBoolValue) {
      return Error(absl::StrCat("expected true or false, got ", KindName(value_)));
    }
    return value_.bool_value();
  }

  absl::StatusOr<int64_t> WholeNumber(int64_t min) const {
    if (value_.kind_case() != Value::kNumberValue) {
      return Error(absl::StrCat("expected a whole number >= ", min, ", got ",
                                KindName(value_)));
    }
    const double d = value_.number_value();
    if (!(d >= static_cast<double>(min)) || d != std::floor(d) || d > 9.0e15) {
      return Error(absl::StrCat("expected a whole number >= ", min, ", got ", d));
    }
    return static_cast<int64_t>(d);
  }

  absl::StatusOr<double> NonNegativeNumber() const {
    if (value_.kind_case() != Value::kNumberValue || !(value_.number_value() >= 0) ||
        !std::isfinite(value_.number_value())) {
      return Error(absl::StrCat("expected a number >= 0, got ", KindName(value_)));
    }
    return value_.number_value();
  }

  absl::StatusOr<absl::Duration> Duration() const {
    if (value_.kind_case() != Value::kStringValue) {
      return Error(absl::StrCat("expected a duration such as \"30s\", \"1m\" or \"500ms\", got ",
                                KindName(value_)));
    }
    absl::StatusOr<absl::Duration> d = ParseGhzDuration(value_.string_value());
    if (!d.ok()) return Error(d.status().message());
    return *d;
  }

 private:
  const std::string& path_;
  const std::string& field_;
  const Value& value_;
};

}  // namespace

absl::StatusOr<absl::Duration> ParseGhzDuration(absl::string_view text) {
  absl::Duration d;
  const std::string trimmed(absl::StripAsciiWhitespace(text));
  if (trimmed.empty() || !absl::ParseDuration(trimmed, &d) ||
      d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", text, "\" is not a duration (e.g. \"30s\", \"1m\", \"500ms\", \"1m30s\")"));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is negative"));
  }
  return d;
}

absl::StatusOr<GhzConfig> ParseGhzConfig(absl::string_view json, const std::string& path) {
  absl::StatusOr<Value> root = ParseJsonValue(json, path);
  if (!root.ok()) return root.status();
  if (root->kind_case() != Value::kStructValue) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": a ghz config is a JSON object, got ", KindName(*root)));
  }
  GhzConfig config;
  config.path = path;
  std::optional<std::string> output;
  std::optional<std::string> format;
  // Fields in name order (a Struct is a map), so the first error is stable.
  std::map<std::string, const Value*> fields;
  for (const auto& [name, value] : root->struct_value().fields()) fields[name] = &value;
  for (const auto& [name, value_ptr] : fields) {
    const Value& value = *value_ptr;
    FieldReader f(path, name, value);
#define RECSYS_READ(target, expr)             \
  {                                           \
    auto parsed = (expr);                     \
    if (!parsed.ok()) return parsed.status(); \
    target = *std::move(parsed);              \
  }
    if (name == "name") {
      RECSYS_READ(config.name, f.String());
    } else if (name == "call") {
      RECSYS_READ(config.call, f.String());
    } else if (name == "host") {
      RECSYS_READ(config.host, f.String());
    } else if (name == "concurrency") {
      RECSYS_READ(config.concurrency, f.WholeNumber(1));
    } else if (name == "connections") {
      RECSYS_READ(config.connections, f.WholeNumber(1));
    } else if (name == "total") {
      RECSYS_READ(config.total, f.WholeNumber(0));
    } else if (name == "duration") {
      RECSYS_READ(config.duration, f.Duration());
    } else if (name == "timeout") {
      absl::Duration timeout;
      RECSYS_READ(timeout, f.Duration());
      if (timeout <= absl::ZeroDuration()) return f.Error("must be positive");
      config.timeout = timeout;
    } else if (name == "connect-timeout") {
      RECSYS_READ(config.connect_timeout, f.Duration());
    } else if (name == "rps" || name == "qps") {
      if (config.rps.has_value()) return f.Error("give only one of \"rps\" and \"qps\"");
      double rps = 0;
      RECSYS_READ(rps, f.NonNegativeNumber());
      if (rps > 0) config.rps = rps;
    } else if (name == "data") {
      if (value.kind_case() != Value::kStructValue &&
          value.kind_case() != Value::kListValue) {
        return f.Error(absl::StrCat("expected an object or an array of objects, got ",
                                    KindName(value)));
      }
      config.data = value;
    } else if (name == "data-file") {
      RECSYS_READ(config.data_file, f.String());
    } else if (name == "insecure") {
      bool insecure = true;
      RECSYS_READ(insecure, f.Bool());
      if (!insecure) {
        return f.Error("recsys_load speaks plaintext only: set it to true or leave it out");
      }
      config.insecure = insecure;
    } else if (name == "output") {
      RECSYS_READ(output, f.String());
    } else if (name == "format") {
      RECSYS_READ(format, f.String());
      if (*format != "summary" && *format != "json" && *format != "pretty") {
        return f.Error(absl::StrCat("\"", *format,
                                    "\" is not supported: \"summary\" (the default), "
                                    "\"json\" or \"pretty\" (both write the JSON report)"));
      }
    } else if (name == "tags") {
      if (value.kind_case() != Value::kStructValue) {
        return f.Error(absl::StrCat("expected an object of strings, got ", KindName(value)));
      }
      for (const auto& [tag, tag_value] : value.struct_value().fields()) {
        if (tag_value.kind_case() != Value::kStringValue) {
          return f.Error(absl::StrCat("tag \"", tag, "\": expected a string, got ",
                                      KindName(tag_value)));
        }
        config.tags[tag] = tag_value.string_value();
      }
    } else if (IgnoredGhzFields().count(name) > 0) {
      // The methods are compiled in; the client's threads are gRPC's.
    } else if (UnsupportedGhzFields().count(name) > 0) {
      return f.Error("a ghz option recsys_load does not support");
    } else {
      return f.Error("unknown field (not a ghz config option)");
    }
#undef RECSYS_READ
  }
  if (config.data.has_value() && config.data_file.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": give only one of \"data\" and \"data-file\""));
  }
  if (format.has_value() && *format != "summary") {
    if (!output.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": field \"format\": \"", *format, "\" needs \"output\""));
    }
    config.output_json = output;
  } else if (output.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": field \"output\": only the JSON report can be written to a file: "
              "add \"format\": \"json\""));
  }
  return config;
}

absl::StatusOr<GhzConfig> ReadGhzConfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  return ParseGhzConfig(*text, path);
}

}  // namespace recsys
