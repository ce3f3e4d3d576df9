#include "common/grpc/proto_messages.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>

#include <google/protobuf/stubs/logging.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace recsys {
namespace {

// Where protobuf's log lines go while this thread parses a request.
thread_local std::string* g_parse_messages = nullptr;

int g_max_per_minute = 10;
absl::Mutex g_log_mu;
int64_t g_window_start_s ABSL_GUARDED_BY(g_log_mu) = 0;
int g_logged_in_window ABSL_GUARDED_BY(g_log_mu) = 0;
int64_t g_dropped ABSL_GUARDED_BY(g_log_mu) = 0;

void OnProtobufLog(google::protobuf::LogLevel level, const char* filename, int line,
                   const std::string& message) {
  if (g_parse_messages != nullptr) {
    if (!g_parse_messages->empty()) g_parse_messages->append("; ");
    g_parse_messages->append(message);
    return;
  }
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
  int64_t dropped = 0;
  {
    absl::MutexLock lock(&g_log_mu);
    if (now_s - g_window_start_s >= 60) {
      dropped = g_dropped;
      g_dropped = 0;
      g_window_start_s = now_s;
      g_logged_in_window = 0;
    }
    if (g_logged_in_window >= g_max_per_minute) {
      ++g_dropped;
      return;
    }
    ++g_logged_in_window;
  }
  if (dropped > 0) spdlog::warn("protobuf: {} log lines dropped in the last minute", dropped);
  const auto spd_level = level >= google::protobuf::LOGLEVEL_ERROR ? spdlog::level::err
                         : level == google::protobuf::LOGLEVEL_WARNING
                             ? spdlog::level::warn
                             : spdlog::level::info;
  spdlog::log(spd_level, "protobuf {}:{}: {}", filename, line, message);
}

std::once_flag g_install_once;

void InstallHandlerOnce() {
  std::call_once(g_install_once, [] { google::protobuf::SetLogHandler(&OnProtobufLog); });
}

}  // namespace

absl::Status ParseRequest(const grpc::ByteBuffer& buffer,
                          google::protobuf::Message* message) {
  InstallHandlerOnce();
  grpc::ByteBuffer copy(buffer);  // the reader consumes its buffer
  std::string reasons;
  bool parsed = false;
  {
    grpc::ProtoBufferReader reader(&copy);
    g_parse_messages = &reasons;
    parsed = reader.status().ok() && message->ParseFromZeroCopyStream(&reader);
    g_parse_messages = nullptr;
  }
  if (parsed) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "the request could not be parsed as ", message->GetTypeName(), ": ",
      reasons.empty() ? "malformed or truncated protobuf bytes" : reasons));
}

google::protobuf::ArenaOptions CallArenaOptions() {
  google::protobuf::ArenaOptions options;
  options.start_block_size = 8 << 10;
  options.max_block_size = 64 << 10;
  return options;
}

absl::Status SerializeResponse(const google::protobuf::Message& message,
                               grpc::ByteBuffer* buffer) {
  // Straight into the slice gRPC sends: through a std::string it took an
  // allocation, a copy and a free more (grpc::Slice copies a string).
  const size_t size = message.ByteSizeLong();
  if (size > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::InternalError(absl::StrCat("cannot serialise a ", message.GetTypeName(),
                                            " of ", size, " bytes (over 2 GiB)"));
  }
  grpc::Slice slice(size);
  uint8_t* const begin = const_cast<uint8_t*>(slice.begin());
  const uint8_t* const end = message.SerializeWithCachedSizesToArray(begin);
  if (static_cast<size_t>(end - begin) != size) {
    return absl::InternalError(absl::StrCat("cannot serialise a ", message.GetTypeName(),
                                            ": it changed while being written"));
  }
  *buffer = grpc::ByteBuffer(&slice, 1);
  return absl::OkStatus();
}

void InstallRateLimitedProtobufLogging(int max_per_minute) {
  g_max_per_minute = max_per_minute;
  InstallHandlerOnce();
}

}  // namespace recsys
