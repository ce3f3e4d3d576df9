#include "common/grpc/access_log.h"

#include <cstdint>
#include <memory>
#include <random>
#include <utility>

#include <spdlog/spdlog.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace recsys {
namespace {

std::mt19937_64& ThreadRandom() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return random;
}

// Values with spaces, quotes or '=' are quoted (logfmt); others as they are.
std::string Value(absl::string_view value) {
  bool plain = !value.empty();
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || !absl::ascii_isprint(c)) {
      plain = false;
      break;
    }
  }
  if (plain) return std::string(value);
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (!absl::ascii_isprint(c)) {
      quoted += absl::StrFormat("\\x%02x", static_cast<unsigned char>(c));
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

// The "access" logger: spdlog's default logger's sinks and formatting (so
// --log_format applies), created on first use.
std::shared_ptr<spdlog::logger> AccessLogger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    std::shared_ptr<spdlog::logger> base = spdlog::default_logger();
    auto access = std::make_shared<spdlog::logger>("access", base->sinks().begin(),
                                                   base->sinks().end());
    access->set_level(spdlog::level::info);
    return access;
  }();
  return logger;
}

}  // namespace

std::string RequestIdFromMetadata(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kRequestIdMetadataKey);
  if (it == metadata.end()) return "";
  std::string id;
  for (char c : absl::string_view(it->second.data(), it->second.size())) {
    if (id.size() >= 64) break;
    if (absl::ascii_isgraph(c)) id += c;
  }
  return id;
}

std::string NewRequestId() { return absl::StrFormat("%016x", ThreadRandom()()); }

std::string RequestIdOf(const grpc::CallbackServerContext& context) {
  std::string id = RequestIdFromMetadata(context);
  return id.empty() ? NewRequestId() : id;
}

void SetCallFields(const char* method, const grpc::CallbackServerContext& context,
                   std::string request_id, absl::StatusCode code, absl::Time start,
                   AccessLogEntry* entry) {
  entry->method = method;
  entry->request_id = std::move(request_id);
  entry->peer = context.peer();
  entry->code = code;
  entry->latency = absl::Now() - start;
}

AccessLog::AccessLog(double sample) : sample_(sample) {}

bool AccessLog::Sample() const {
  if (sample_ <= 0) return false;
  if (sample_ >= 1) return true;
  return std::uniform_real_distribution<double>(0, 1)(ThreadRandom()) < sample_;
}

std::string AccessLog::Format(const AccessLogEntry& e) {
  std::string line = absl::StrCat(
      "access method=", e.method, " request_id=", Value(e.request_id), " peer=", Value(e.peer),
      " code=", absl::StatusCodeToString(e.code),
      absl::StrFormat(" latency_ms=%.3f", absl::ToDoubleMilliseconds(e.latency)));
  if (!e.degraded_cause.empty() || e.degraded) {
    absl::StrAppend(&line, " degraded=", e.degraded ? "true" : "false",
                    " cause=", Value(e.degraded_cause));
  }
  absl::StrAppend(&line, " version=", Value(e.version));
  if (!e.ranking_version.empty()) {
    absl::StrAppend(&line, " ranking_version=", Value(e.ranking_version));
  }
  absl::StrAppend(&line, " results=", e.results);
  return line;
}

void AccessLog::Write(const AccessLogEntry& entry) const {
  AccessLogger()->info(Format(entry));
}

}  // namespace recsys
