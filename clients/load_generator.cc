#include "clients/load_generator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <iterator>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>

#include <grpc/grpc.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "benchmarks/echo.pb.h"
#include "clients/http2_transport.h"
#include "common/grpc/request_validation.h"
#include "common/logs/user_context.h"

namespace recsys {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

int64_t NanosSince(SteadyClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - start)
      .count();
}

std::string Millis(absl::Duration d) {
  const double ms = absl::ToDoubleMilliseconds(d);
  return absl::StrFormat(ms < 10 ? "%.2fms" : "%.1fms", ms);
}

std::string CauseName(DegradedCause cause) {
  return std::string(absl::StripPrefix(DegradedCause_Name(cause), "DEGRADED_"));
}

// "a:3,b:5"; "-" when empty.
std::string FormatCounts(const std::map<std::string, int64_t>& counts) {
  if (counts.empty()) return "-";
  std::vector<std::string> parts;
  for (const auto& [name, n] : counts) {
    parts.push_back(absl::StrCat(name.empty() ? "(none)" : name, ":", n));
  }
  return absl::StrJoin(parts, ",");
}

std::string FailuresByCode(const CallSummary& summary) {
  std::map<std::string, int64_t> failures;
  for (const auto& [code, n] : summary.by_code) {
    if (code != grpc::StatusCode::OK) failures[StatusCodeName(code)] = n;
  }
  return FormatCounts(failures);
}

std::string DegradedByCause(const CallSummary& summary) {
  std::map<std::string, int64_t> causes;
  for (const auto& [cause, n] : summary.degraded_by_cause) causes[CauseName(cause)] = n;
  return FormatCounts(causes);
}

// Nearest rank of sorted `ns`; `q` in (0, 1].
int64_t QuantileNs(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencySummary SummarizeLatencyNs(std::vector<int64_t>& ns) {
  LatencySummary s;
  if (ns.empty()) return s;
  std::sort(ns.begin(), ns.end());
  auto q = [&](double p) { return absl::Nanoseconds(QuantileNs(ns, p)); };
  s.p50 = q(0.50);
  s.p90 = q(0.90);
  s.p95 = q(0.95);
  s.p99 = q(0.99);
  s.p999 = q(0.999);
  s.min = absl::Nanoseconds(ns.front());
  s.max = absl::Nanoseconds(ns.back());
  long double sum = 0;
  for (int64_t v : ns) sum += static_cast<long double>(v);
  s.mean = absl::Nanoseconds(static_cast<int64_t>(sum / static_cast<long double>(ns.size())));
  for (int p : kGhzPercentages) s.ghz_percentiles.push_back(q(p / 100.0));
  // ghz's histogram: 10 equal steps from the fastest, then the slowest.
  constexpr int kBuckets = 10;
  const double step =
      static_cast<double>(ns.back() - ns.front()) / static_cast<double>(kBuckets);
  std::vector<int64_t> marks;
  for (int i = 0; i < kBuckets; ++i) {
    marks.push_back(ns.front() + static_cast<int64_t>(step * i));
  }
  marks.push_back(ns.back());
  std::vector<int64_t> counts(marks.size(), 0);
  size_t bucket = 0;
  for (int64_t v : ns) {
    while (v > marks[bucket] && bucket + 1 < marks.size()) ++bucket;
    ++counts[bucket];
  }
  for (size_t i = 0; i < marks.size(); ++i) {
    s.histogram.emplace_back(absl::Nanoseconds(marks[i]), counts[i]);
  }
  return s;
}

// `prefix` followed by `fill` up to exactly `bytes` bytes.
std::string Padded(const std::string& prefix, int bytes, char fill) {
  const size_t n = static_cast<size_t>(bytes);
  std::string s = prefix.substr(0, n);
  s.resize(n, fill);
  return s;
}

// One finished call in the log: 48 bytes, strings interned.
struct Record {
  int64_t index;
  int64_t sent_ns;
  int64_t latency_ns;
  uint32_t error_id;
  // Size of the serialized answer (OK calls).
  uint32_t response_bytes;
  uint16_t model_version;
  uint16_t ranking_version;
  uint8_t code;
  uint8_t degraded;
  uint8_t cause;
  uint8_t mismatch;
  // Set (release) once the fields above are written.
  std::atomic<uint8_t> ready;
};

// An append-only log of records in completion order. A writer claims a slot
// with one atomic increment and marks it ready when written; readers read
// the ready prefix. Memory comes in chunks, allocated ahead of need (half a
// chunk before), so a writer practically never waits.
class CallLog {
 public:
  static constexpr int kChunkBits = 14;
  static constexpr int64_t kChunkSize = int64_t{1} << kChunkBits;
  static constexpr int64_t kMaxChunks = int64_t{1} << 17;
  static constexpr int64_t kCapacity = kChunkSize * kMaxChunks;

  CallLog() : chunks_(new std::atomic<Record*>[kMaxChunks]) {
    for (int64_t c = 0; c < kMaxChunks; ++c) chunks_[c].store(nullptr, std::memory_order_relaxed);
    Chunk(0);
  }
  ~CallLog() {
    for (int64_t c = 0; c < kMaxChunks; ++c) delete[] chunks_[c].load(std::memory_order_relaxed);
  }
  CallLog(const CallLog&) = delete;
  CallLog& operator=(const CallLog&) = delete;

  // The next slot, to be written then marked ready; nullptr past capacity
  // (the call is not recorded).
  Record* Claim() {
    const int64_t i = claimed_.fetch_add(1, std::memory_order_relaxed);
    if (i >= kCapacity) return nullptr;
    const int64_t c = i >> kChunkBits;
    const int64_t offset = i & (kChunkSize - 1);
    if (offset == kChunkSize / 2 && c + 1 < kMaxChunks) Chunk(c + 1);
    return &Chunk(c)[offset];
  }

  // Slots claimed so far (some perhaps not yet ready).
  int64_t claimed() const {
    return std::min(claimed_.load(std::memory_order_acquire), kCapacity);
  }

  // Slot `i` if it is written, else nullptr.
  const Record* Ready(int64_t i) const {
    const Record* chunk = chunks_[i >> kChunkBits].load(std::memory_order_acquire);
    if (chunk == nullptr) return nullptr;
    const Record& r = chunk[i & (kChunkSize - 1)];
    return r.ready.load(std::memory_order_acquire) != 0 ? &r : nullptr;
  }

 private:
  Record* Chunk(int64_t c) {
    Record* chunk = chunks_[c].load(std::memory_order_acquire);
    if (chunk != nullptr) return chunk;
    std::lock_guard<std::mutex> lock(alloc_mu_);
    chunk = chunks_[c].load(std::memory_order_relaxed);
    if (chunk == nullptr) {
      chunk = new Record[kChunkSize]();
      chunks_[c].store(chunk, std::memory_order_release);
    }
    return chunk;
  }

  std::unique_ptr<std::atomic<Record*>[]> chunks_;
  std::atomic<int64_t> claimed_{0};
  std::mutex alloc_mu_;
};

// Strings seen in answers (versions, error messages) by small IDs: lookups of
// a known string take no lock (entries are immutable once published); id 0
// is "". Past the capacity every new string gets the last id.
class InternTable {
 public:
  static constexpr uint32_t kCapacity = 1024;

  InternTable() : entries_(kCapacity) {
    entries_[kCapacity - 1] = "(more distinct strings than recorded)";
  }

  uint32_t Id(absl::string_view s) {
    if (s.empty()) return 0;
    const uint32_t n = size_.load(std::memory_order_acquire);
    for (uint32_t i = 1; i < n; ++i) {
      if (entries_[i] == s) return i;
    }
    std::lock_guard<std::mutex> lock(mu_);
    const uint32_t m = size_.load(std::memory_order_relaxed);
    for (uint32_t i = n; i < m; ++i) {
      if (entries_[i] == s) return i;
    }
    if (m >= kCapacity - 1) return kCapacity - 1;
    entries_[m] = std::string(s);
    size_.store(m + 1, std::memory_order_release);
    return m;
  }

  const std::string& Get(uint32_t id) const { return entries_[id]; }

 private:
  std::vector<std::string> entries_;
  std::atomic<uint32_t> size_{1};
  std::mutex mu_;
};

}  // namespace

std::string StatusCodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string GhzStatusCodeName(grpc::StatusCode code) {
  static const char* const kNames[] = {
      "OK",       "Canceled",          "Unknown",          "InvalidArgument",
      "DeadlineExceeded", "NotFound",  "AlreadyExists",    "PermissionDenied",
      "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
      "Unimplemented", "Internal",     "Unavailable",      "DataLoss",
      "Unauthenticated"};
  const int c = static_cast<int>(code);
  if (c >= 0 && c < static_cast<int>(std::size(kNames))) return kNames[c];
  return absl::StrCat("Code(", c, ")");
}

LatencySummary SummarizeLatencies(std::vector<absl::Duration>& latencies) {
  std::vector<int64_t> ns;
  ns.reserve(latencies.size());
  for (absl::Duration d : latencies) ns.push_back(absl::ToInt64Nanoseconds(d));
  return SummarizeLatencyNs(ns);
}

CallSummary SummarizeCalls(absl::Span<const CallRecord> calls) {
  CallSummary s;
  std::vector<int64_t> all;
  std::vector<int64_t> ok;
  all.reserve(calls.size());
  ok.reserve(calls.size());
  for (const CallRecord& c : calls) {
    ++s.calls;
    ++s.by_code[c.code];
    const int64_t ns = absl::ToInt64Nanoseconds(c.latency);
    all.push_back(ns);
    if (!c.ok()) {
      ++s.errors[{c.code, c.error_message}];
      continue;
    }
    ok.push_back(ns);
    ++s.ok;
    ++s.model_versions[c.model_version];
    ++s.ranking_model_versions[c.ranking_model_version];
    if (c.degraded) {
      ++s.degraded;
      ++s.degraded_by_cause[c.degraded_cause];
    }
    if (c.version_mismatch) ++s.version_mismatches;
  }
  s.latency = SummarizeLatencyNs(all);
  s.ok_latency = SummarizeLatencyNs(ok);
  return s;
}

std::string FormatInterval(const IntervalStats& interval) {
  const CallSummary& s = interval.summary;
  return absl::StrFormat(
      "t=%5.1fs ok=%d failed=%d [%s] degraded=%d [%s] mismatch=%d in_flight=%d "
      "versions=%s ranking=%s p50=%s p99=%s",
      absl::ToDoubleSeconds(interval.end), s.ok, s.failed(), FailuresByCode(s),
      s.degraded, DegradedByCause(s), s.version_mismatches, interval.in_flight,
      FormatCounts(s.model_versions), FormatCounts(s.ranking_model_versions),
      Millis(s.latency.p50), Millis(s.latency.p99));
}

std::string FormatCallSummary(const CallSummary& s) {
  std::map<std::string, int64_t> codes;
  for (const auto& [code, n] : s.by_code) codes[StatusCodeName(code)] = n;
  const LatencySummary& l = s.latency;
  std::string text = absl::StrCat(
      "calls: ", s.calls, ", ok: ", s.ok, ", failed: ", s.failed(),
      "\nby status: ", FormatCounts(codes),
      "\ndegraded: ", s.degraded, " [", DegradedByCause(s), "]",
      ", version mismatches: ", s.version_mismatches,
      "\nlatency: p50 ", Millis(l.p50), ", p90 ", Millis(l.p90), ", p95 ", Millis(l.p95),
      ", p99 ", Millis(l.p99), ", p99.9 ", Millis(l.p999), ", min ", Millis(l.min),
      ", mean ", Millis(l.mean), ", max ", Millis(l.max),
      "\nanswers: ", s.ok > 0 ? s.response_bytes / s.ok : 0, " bytes on average",
      "\nmodel versions: ", FormatCounts(s.model_versions),
      "\nranking model versions: ", FormatCounts(s.ranking_model_versions), "\n");
  int shown = 0;
  for (const auto& [key, n] : s.errors) {
    if (++shown > 5) {
      absl::StrAppend(&text, "  ... ", s.errors.size() - 5, " more distinct errors\n");
      break;
    }
    absl::StrAppend(&text, "error x", n, ": ", StatusCodeName(key.first), ": ", key.second,
                    "\n");
  }
  return text;
}

std::optional<absl::Duration> LoadReport::FirstAnswerWithModelVersion(
    const std::string& version) const {
  std::optional<absl::Duration> first;
  for (const CallRecord& c : calls) {
    if (!c.ok() || c.model_version != version) continue;
    if (!first.has_value() || c.completed() < *first) first = c.completed();
  }
  return first;
}

std::optional<absl::Duration> LoadReport::FirstAnswerWithRankingVersion(
    const std::string& version) const {
  std::optional<absl::Duration> first;
  for (const CallRecord& c : calls) {
    if (!c.ok() || c.ranking_model_version != version) continue;
    if (!first.has_value() || c.completed() < *first) first = c.completed();
  }
  return first;
}

std::optional<absl::Duration> LoadReport::LastAnswerWithModelVersion(
    const std::string& version) const {
  std::optional<absl::Duration> last;
  for (const CallRecord& c : calls) {
    if (!c.ok() || c.model_version != version) continue;
    if (!last.has_value() || c.completed() > *last) last = c.completed();
  }
  return last;
}

std::vector<std::string> SerializeAll(
    const std::vector<std::unique_ptr<google::protobuf::Message>>& messages) {
  std::vector<std::string> out;
  out.reserve(messages.size());
  for (const auto& m : messages) out.push_back(m->SerializeAsString());
  return out;
}

std::vector<std::string> SerializeAll(const std::vector<RecommendRequest>& requests) {
  std::vector<std::string> out;
  out.reserve(requests.size());
  for (const RecommendRequest& r : requests) out.push_back(r.SerializeAsString());
  return out;
}

std::vector<std::shared_ptr<grpc::Channel>> CreateLoadChannels(const std::string& address,
                                                               int connections) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::max(connections, 1); ++i) {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    args.SetMaxReceiveMessageSize(-1);
    // Channels with equal arguments may share a subchannel (one TCP
    // connection) through the global pool: a private pool and an argument
    // of its own keep each on its own connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("recsys.load_connection", i);
    // gRPC's transparent retries stay on: they only resend a call the
    // server never saw (one caught by a GOAWAY, e.g. --max_connection_age_s),
    // as the HTTP/2 transport does, so each call is still measured once.
    // Without them such a call fails UNAVAILABLE: a lost call the servers
    // did not cause. They cost the client ~20% more CPU per call on this
    // path; the default transport (h2) is the lean one.
    channels.push_back(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

// ---------------------------------------------------------------------------
// The run's shared state.

struct LoadGenerator::State {
  CallMethod method = CallMethod::kRecommend;
  int64_t num_requests = 1;
  // Open loop: call i is due at period * i.
  absl::Duration period;
  bool closed_loop = false;

  absl::Time start;
  SteadyClock::time_point start_steady;
  // Calls are not issued at or after this offset (ns); kNever: no limit.
  int64_t end_ns = kNever;
  int64_t max_calls = kNever;

  std::atomic<int64_t> next_index{0};
  // Calls sent and not yet recorded (what the report calls in flight).
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> max_in_flight{0};
  // Calls sent whose callback has not yet finished with the run: in closed
  // loop a worker's next call is counted before its previous one stops
  // counting, so `pending` reaches 0 only once every worker has stopped.
  std::atomic<int64_t> pending{0};
  std::atomic<bool> stopped_by_time{false};
  // The run's thread waits until fewer than this many calls are pending
  // (0: it does not wait). A completion that takes `pending` below it
  // wakes the thread; no other completion touches the mutex.
  std::atomic<int64_t> wake_below{0};
  std::mutex mu;
  std::condition_variable cv;

  CallLog log;
  InternTable versions;
  InternTable errors;

  std::vector<std::unique_ptr<Worker>> workers;

  int64_t NowNs() const { return NanosSince(start_steady); }

  void CallStarted() {
    pending.fetch_add(1);
    const int64_t n = in_flight.fetch_add(1, std::memory_order_relaxed) + 1;
    int64_t seen = max_in_flight.load(std::memory_order_relaxed);
    while (n > seen &&
           !max_in_flight.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
    }
  }

  void CallEnded() {
    const int64_t n = pending.fetch_sub(1) - 1;
    if (n < wake_below.load()) {
      std::lock_guard<std::mutex> lock(mu);
      cv.notify_all();
    }
  }

  // Writes the log record of a finished call; `scratch` is a response
  // message of `method` to parse into (unused for Echo).
  void RecordCall(int64_t index, int64_t sent_ns, int64_t now_ns, const CallResult& result,
                  google::protobuf::Message* scratch) {
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    Record* r = log.Claim();
    if (r == nullptr) return;
    r->index = index;
    r->sent_ns = sent_ns;
    r->latency_ns = now_ns - sent_ns;
    r->code = static_cast<uint8_t>(result.code);
    r->error_id = 0;
    r->response_bytes = static_cast<uint32_t>(
        result.buffer != nullptr ? result.buffer->Length() : result.bytes.size());
    r->model_version = 0;
    r->ranking_version = 0;
    r->degraded = 0;
    r->cause = 0;
    r->mismatch = 0;
    if (result.code != grpc::StatusCode::OK) {
      r->error_id = errors.Id(result.message);
    } else if (method != CallMethod::kEcho) {
      bool parsed;
      if (result.buffer != nullptr) {
        grpc::ProtoBufferReader reader(result.buffer);
        parsed = scratch->ParseFromZeroCopyStream(&reader);
      } else {
        parsed = scratch->ParseFromArray(result.bytes.data(), static_cast<int>(result.bytes.size()));
      }
      if (!parsed) {
        r->code = static_cast<uint8_t>(grpc::StatusCode::INTERNAL);
        r->error_id = errors.Id(absl::StrCat("recsys_load: cannot parse the answer as ",
                                             scratch->GetDescriptor()->full_name()));
      } else if (method == CallMethod::kRecommend) {
        const auto& answer = static_cast<const RecommendResponse&>(*scratch);
        r->model_version = static_cast<uint16_t>(versions.Id(answer.model_version()));
        r->ranking_version =
            static_cast<uint16_t>(versions.Id(answer.ranking_model_version()));
        r->degraded = answer.degraded() ? 1 : 0;
        r->cause = static_cast<uint8_t>(answer.degraded_cause());
        r->mismatch = answer.version_mismatch() ? 1 : 0;
      } else if (method == CallMethod::kGenerateCandidates) {
        const auto& answer = static_cast<const GenerateCandidatesResponse&>(*scratch);
        r->model_version = static_cast<uint16_t>(versions.Id(answer.model_version()));
      } else if (method == CallMethod::kRank) {
        const auto& answer = static_cast<const RankResponse&>(*scratch);
        r->ranking_version = static_cast<uint16_t>(versions.Id(answer.model_version()));
      }
    }
    r->ready.store(1, std::memory_order_release);
  }

  CallRecord ToCallRecord(const Record& r) const {
    CallRecord c;
    c.index = r.index;
    c.sent = absl::Nanoseconds(r.sent_ns);
    c.scheduled = closed_loop ? c.sent : period * r.index;
    c.latency = absl::Nanoseconds(r.latency_ns);
    c.code = static_cast<grpc::StatusCode>(r.code);
    c.error_message = errors.Get(r.error_id);
    c.model_version = versions.Get(r.model_version);
    c.ranking_model_version = versions.Get(r.ranking_version);
    c.degraded = r.degraded != 0;
    c.degraded_cause = static_cast<DegradedCause>(r.cause);
    c.version_mismatch = r.mismatch != 0;
    return c;
  }

  CallSummary Summarize(absl::Span<const Record* const> records) const {
    CallSummary s;
    std::vector<int64_t> all;
    std::vector<int64_t> ok;
    all.reserve(records.size());
    ok.reserve(records.size());
    std::map<std::pair<uint8_t, uint32_t>, int64_t> errors_by_id;
    std::vector<int64_t> model_counts(InternTable::kCapacity, 0);
    std::vector<int64_t> ranking_counts(InternTable::kCapacity, 0);
    for (const Record* r : records) {
      ++s.calls;
      ++s.by_code[static_cast<grpc::StatusCode>(r->code)];
      all.push_back(r->latency_ns);
      if (r->code != 0) {
        ++errors_by_id[{r->code, r->error_id}];
        continue;
      }
      ok.push_back(r->latency_ns);
      ++s.ok;
      s.response_bytes += r->response_bytes;
      ++model_counts[r->model_version];
      ++ranking_counts[r->ranking_version];
      if (r->degraded != 0) {
        ++s.degraded;
        ++s.degraded_by_cause[static_cast<DegradedCause>(r->cause)];
      }
      if (r->mismatch != 0) ++s.version_mismatches;
    }
    for (uint32_t id = 0; id < InternTable::kCapacity; ++id) {
      if (model_counts[id] > 0) s.model_versions[versions.Get(id)] += model_counts[id];
      if (ranking_counts[id] > 0) {
        s.ranking_model_versions[versions.Get(id)] += ranking_counts[id];
      }
    }
    for (const auto& [key, n] : errors_by_id) {
      s.errors[{static_cast<grpc::StatusCode>(key.first), errors.Get(key.second)}] += n;
    }
    s.latency = SummarizeLatencyNs(all);
    s.ok_latency = SummarizeLatencyNs(ok);
    return s;
  }
};

// Closed loop: one of `concurrency` workers. Its calls follow one another;
// the next is sent by the transport thread that took the previous one's
// completion, with no hand-off to another thread.
class LoadGenerator::Worker final : public CallCompletion {
 public:
  Worker(State* state, CallTransport* transport, size_t connection)
      : state_(state),
        transport_(transport),
        connection_(connection),
        scratch_(NewResponseMessage(state->method)) {}

  // Sends the worker's next call; false (nothing sent) once the run is over.
  bool IssueNext() {
    State& s = *state_;
    // Time first, then the index: every index handed out is sent, so the
    // indices of a run are 0..n-1.
    if (s.end_ns != kNever && s.NowNs() >= s.end_ns) {
      s.stopped_by_time.store(true, std::memory_order_relaxed);
      return false;
    }
    const int64_t index = s.next_index.fetch_add(1, std::memory_order_relaxed);
    if (index >= s.max_calls) return false;
    s.CallStarted();
    index_ = index;
    sent_ns_ = s.NowNs();
    transport_->Send(connection_, static_cast<size_t>(index % s.num_requests), this);
    return true;
  }

  void OnCallDone(const CallResult& result) override {
    State& s = *state_;
    s.RecordCall(index_, sent_ns_, s.NowNs(), result, scratch_.get());
    // The next call counts as pending before this one stops counting, so
    // `pending` reaches 0 only when every worker has stopped.
    IssueNext();
    s.CallEnded();
  }

 private:
  State* const state_;
  CallTransport* const transport_;
  const size_t connection_;
  const std::unique_ptr<google::protobuf::Message> scratch_;
  int64_t index_ = 0;
  int64_t sent_ns_ = 0;
};

// Open loop: one call in flight, owned by itself until its completion.
struct LoadGenerator::Call final : public CallCompletion {
  State* state = nullptr;
  int64_t index = 0;
  int64_t sent_ns = 0;

  void OnCallDone(const CallResult& result) override {
    State* const s = state;
    // One response message per transport thread and method to parse into.
    thread_local std::unique_ptr<google::protobuf::Message> scratch[4];
    auto& message = scratch[static_cast<int>(s->method)];
    if (message == nullptr) message = NewResponseMessage(s->method);
    s->RecordCall(index, sent_ns, s->NowNs(), result, message.get());
    delete this;
    s->CallEnded();
  }
};

absl::StatusOr<std::unique_ptr<LoadGenerator>> LoadGenerator::Create(
    std::shared_ptr<grpc::Channel> channel, std::vector<RecommendRequest> requests,
    LoadOptions options) {
  if (channel == nullptr) return absl::InvalidArgumentError("no channel");
  Workload workload;
  workload.method = CallMethod::kRecommend;
  workload.requests = SerializeAll(requests);
  return Create(std::vector<std::shared_ptr<grpc::Channel>>{std::move(channel)},
                std::move(workload), std::move(options));
}

namespace {

absl::Status ValidateLoad(const Workload& workload, const LoadOptions& options) {
  if (workload.requests.empty()) return absl::InvalidArgumentError("no requests to send");
  if (options.concurrency < 0 || options.max_calls < 0 || options.max_in_flight < 0) {
    return absl::InvalidArgumentError(
        "concurrency, max_calls and max_in_flight must be >= 0");
  }
  if (options.concurrency > 0 && options.max_in_flight > 0) {
    return absl::InvalidArgumentError(
        "concurrency (closed loop) and max_in_flight (open loop) exclude each other");
  }
  if (options.concurrency == 0 && (!(options.requests_per_second > 0) ||
                                   !std::isfinite(options.requests_per_second))) {
    return absl::InvalidArgumentError(
        absl::StrCat("requests_per_second must be positive, got ",
                     options.requests_per_second));
  }
  if (options.duration <= absl::ZeroDuration() ||
      (options.duration == absl::InfiniteDuration() && options.max_calls == 0)) {
    return absl::InvalidArgumentError(
        "duration must be positive, and finite unless max_calls is set");
  }
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("deadline must be positive");
  }
  if (options.client_threads < 1) {
    return absl::InvalidArgumentError("client_threads must be >= 1");
  }
  if (options.report_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("report_interval must be positive");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<LoadGenerator>> LoadGenerator::Create(
    std::vector<std::shared_ptr<grpc::Channel>> channels, Workload workload,
    LoadOptions options) {
  if (channels.empty()) return absl::InvalidArgumentError("no channel");
  for (const auto& channel : channels) {
    if (channel == nullptr) return absl::InvalidArgumentError("no channel");
  }
  if (absl::Status s = ValidateLoad(workload, options); !s.ok()) return s;
  const int threads =
      std::min(options.client_threads, static_cast<int>(channels.size()));
  std::unique_ptr<CallTransport> transport =
      NewGrpcTransport(std::move(channels), CallMethodPath(workload.method),
                       workload.requests, options.deadline, threads);
  return std::unique_ptr<LoadGenerator>(
      new LoadGenerator(std::move(transport), std::move(workload), std::move(options)));
}

absl::StatusOr<std::unique_ptr<LoadGenerator>> LoadGenerator::Create(
    const LoadTarget& target, Workload workload, LoadOptions options) {
  if (absl::Status s = ValidateLoad(workload, options); !s.ok()) return s;
  if (target.connections < 1) return absl::InvalidArgumentError("connections must be >= 1");
  if (target.transport == LoadTransport::kGrpc) {
    return Create(CreateLoadChannels(target.address, target.connections), std::move(workload),
                  std::move(options));
  }
  Http2TransportOptions h2;
  h2.address = target.address;
  h2.connections = target.connections;
  h2.threads = options.client_threads;
  h2.path = CallMethodPath(workload.method);
  h2.requests = workload.requests;
  h2.deadline = options.deadline;
  absl::StatusOr<std::unique_ptr<CallTransport>> transport = NewHttp2Transport(std::move(h2));
  if (!transport.ok()) return transport.status();
  return std::unique_ptr<LoadGenerator>(
      new LoadGenerator(*std::move(transport), std::move(workload), std::move(options)));
}

LoadGenerator::LoadGenerator(std::unique_ptr<CallTransport> transport, Workload workload,
                             LoadOptions options)
    : options_(std::move(options)),
      transport_(std::move(transport)),
      state_(std::make_unique<State>()) {
  State& s = *state_;
  s.method = workload.method;
  s.num_requests = static_cast<int64_t>(workload.requests.size());
  s.closed_loop = options_.concurrency > 0;
  if (!s.closed_loop) s.period = absl::Seconds(1.0 / options_.requests_per_second);
}

LoadGenerator::~LoadGenerator() {
  // Run returns only when no call is in flight; the transport's threads
  // stop here if Run was never called.
  transport_->Stop();
}

std::vector<CallRecord> LoadGenerator::CompletedSoFar() const {
  const State& s = *state_;
  std::vector<CallRecord> calls;
  const int64_t n = s.log.claimed();
  for (int64_t i = 0; i < n; ++i) {
    const Record* r = s.log.Ready(i);
    if (r == nullptr) break;
    calls.push_back(s.ToCallRecord(*r));
  }
  return calls;
}

bool LoadGenerator::WaitInFlightBelow(int64_t limit, int64_t until_ns) {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.wake_below.store(limit);
  auto below = [&] { return s.pending.load() < limit; };
  bool reached;
  if (until_ns == kNever) {
    s.cv.wait(lock, below);
    reached = true;
  } else {
    reached = s.cv.wait_until(lock, s.start_steady + std::chrono::nanoseconds(until_ns), below);
  }
  s.wake_below.store(0);
  return reached;
}

void LoadGenerator::Issue(int64_t index) {
  State& s = *state_;
  auto* call = new Call;
  call->state = &s;
  call->index = index;
  s.CallStarted();
  call->sent_ns = s.NowNs();
  transport_->Send(static_cast<size_t>(index % static_cast<int64_t>(transport_->connections())),
                   static_cast<size_t>(index % s.num_requests), call);
}

void LoadGenerator::ReportIntervals(absl::Duration now_offset, bool flush) {
  State& s = *state_;
  while (now_offset >= next_report_end_ || flush) {
    if (options_.on_interval) {
      IntervalStats interval;
      interval.start = next_report_end_ - options_.report_interval;
      interval.end = flush ? now_offset : next_report_end_;
      std::vector<const Record*> fresh;
      const int64_t claimed = s.log.claimed();
      for (; reported_calls_ < claimed; ++reported_calls_) {
        const Record* r = s.log.Ready(reported_calls_);
        if (r == nullptr) break;
        fresh.push_back(r);
      }
      interval.in_flight = s.in_flight.load();
      interval.summary = s.Summarize(fresh);
      options_.on_interval(interval);
    }
    if (flush) return;
    next_report_end_ += options_.report_interval;
  }
}

void LoadGenerator::RunOpenLoop() {
  State& s = *state_;
  const int64_t max_calls =
      options_.max_calls > 0
          ? options_.max_calls
          : static_cast<int64_t>(std::ceil(options_.requests_per_second *
                                           absl::ToDoubleSeconds(options_.duration)));
  bool timed_out = false;
  for (int64_t i = 0; i < max_calls; ++i) {
    const absl::Duration scheduled = s.period * i;
    if (scheduled >= options_.duration) {
      timed_out = true;
      break;
    }
    for (absl::Duration now = absl::Nanoseconds(s.NowNs()); now < scheduled;
         now = absl::Nanoseconds(s.NowNs())) {
      ReportIntervals(now, /*flush=*/false);
      absl::SleepFor(std::min(scheduled - now, next_report_end_ - now));
    }
    if (options_.max_in_flight > 0) {
      while (true) {
        ReportIntervals(absl::Nanoseconds(s.NowNs()), /*flush=*/false);
        if (WaitInFlightBelow(options_.max_in_flight,
                              absl::ToInt64Nanoseconds(next_report_end_))) {
          break;
        }
      }
    }
    Issue(i);
  }
  s.stopped_by_time.store(timed_out);
}

void LoadGenerator::RunClosedLoop() {
  State& s = *state_;
  s.end_ns = options_.duration == absl::InfiniteDuration()
                 ? kNever
                 : absl::ToInt64Nanoseconds(options_.duration);
  s.max_calls = options_.max_calls > 0 ? options_.max_calls : kNever;
  for (int w = 0; w < options_.concurrency; ++w) {
    s.workers.push_back(std::make_unique<Worker>(
        &s, transport_.get(), static_cast<size_t>(w) % transport_->connections()));
  }
  for (auto& worker : s.workers) {
    if (!worker->IssueNext()) break;
  }
}

LoadReport LoadGenerator::Run() {
  State& s = *state_;
  transport_->Start();
  const bool connected = options_.connect_timeout <= absl::ZeroDuration() ||
                         transport_->WaitConnected(options_.connect_timeout);
  s.start = absl::Now();
  s.start_steady = SteadyClock::now();
  next_report_end_ = options_.report_interval;
  if (s.closed_loop) {
    RunClosedLoop();
  } else {
    RunOpenLoop();
  }
  // Every call ends by its deadline (gRPC enforces it on the client side).
  while (true) {
    ReportIntervals(absl::Nanoseconds(s.NowNs()), /*flush=*/false);
    if (WaitInFlightBelow(1, absl::ToInt64Nanoseconds(next_report_end_))) break;
  }
  ReportIntervals(absl::Nanoseconds(s.NowNs()), /*flush=*/true);
  transport_->Stop();

  LoadReport report;
  report.start = s.start;
  const int64_t n = s.log.claimed();
  std::vector<const Record*> records;
  records.reserve(static_cast<size_t>(n));
  int64_t last_sent_ns = 0;
  int64_t last_completed_ns = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Record* r = s.log.Ready(i);
    if (r == nullptr) continue;  // Cannot happen: nothing is in flight.
    records.push_back(r);
    last_sent_ns = std::max(last_sent_ns, r->sent_ns);
    last_completed_ns = std::max(last_completed_ns, r->sent_ns + r->latency_ns);
  }
  report.summary = s.Summarize(records);
  report.send_window = absl::Nanoseconds(last_sent_ns);
  report.total = absl::Nanoseconds(last_completed_ns);
  const double calls = static_cast<double>(records.size());
  if (last_sent_ns > 0) report.achieved_rps = calls / absl::ToDoubleSeconds(report.send_window);
  if (last_completed_ns > 0) report.completed_rps = calls / absl::ToDoubleSeconds(report.total);
  report.max_in_flight = s.max_in_flight.load();
  report.connected = connected;
  report.end_reason = s.stopped_by_time.load() ? "timeout" : "normal";

  // Intervals by completion time, from 0 to the last completion.
  const absl::Duration interval = options_.report_interval;
  absl::Duration remainder;
  const int64_t buckets =
      absl::IDivDuration(report.total, interval, &remainder) + 1;
  std::vector<std::vector<const Record*>> by_interval(static_cast<size_t>(buckets));
  report.intervals.resize(static_cast<size_t>(buckets));
  for (int64_t b = 0; b < buckets; ++b) {
    report.intervals[b].start = interval * b;
    report.intervals[b].end = interval * (b + 1);
  }
  for (const Record* r : records) {
    absl::Duration unused;
    const int64_t done =
        absl::IDivDuration(absl::Nanoseconds(r->sent_ns + r->latency_ns), interval, &unused);
    by_interval[static_cast<size_t>(done)].push_back(r);
    // In flight at the end of every interval from its sending to its
    // completion.
    for (int64_t b = absl::IDivDuration(absl::Nanoseconds(r->sent_ns), interval, &unused);
         b < done; ++b) {
      ++report.intervals[static_cast<size_t>(b)].in_flight;
    }
  }
  for (int64_t b = 0; b < buckets; ++b) {
    report.intervals[b].summary = s.Summarize(by_interval[static_cast<size_t>(b)]);
  }

  if (options_.keep_calls) {
    report.calls.reserve(records.size());
    for (const Record* r : records) report.calls.push_back(s.ToCallRecord(*r));
    std::sort(report.calls.begin(), report.calls.end(),
              [](const CallRecord& a, const CallRecord& b) { return a.index < b.index; });
  }
  return report;
}

// ---------------------------------------------------------------------------
// Requests.

std::vector<RecommendRequest> RecommendRequestsFromLogs(const Logs& logs,
                                                        int max_requests,
                                                        int32_t num_results) {
  std::vector<RecommendRequest> requests;
  for (UserContext& context : UserHistories::Build(logs).ContextsAfterLastWatch(max_requests)) {
    RecommendRequest& request = requests.emplace_back();
    *request.mutable_context() = std::move(context);
    request.set_num_results(num_results);
  }
  return requests;
}

std::vector<RecommendRequest> HandBuiltRecommendRequests(int32_t num_results) {
  const int64_t now_s = absl::ToUnixSeconds(absl::Now());
  std::vector<RecommendRequest> requests(3);
  // A cold-start user: no history; "now" on the server.
  requests[0].mutable_context();
  // Searches and demographics only.
  UserContext* searcher = requests[1].mutable_context();
  searcher->set_request_time_s(now_s);
  int64_t t = now_s - 600;
  for (const char* query : {"guitar lesson", "jazz piano", "cooking pasta"}) {
    SearchQuery* s = searcher->add_searches();
    s->set_query(query);
    s->set_time_s(t += 60);
  }
  Demographics* d = searcher->mutable_demographics();
  d->set_region("US");
  d->set_device("mobile");
  d->set_gender(GENDER_FEMALE);
  d->set_age(31);
  d->set_logged_in(true);
  d->set_language("en");
  // Watches of IDs in the format of simulator/world_gen (unknown ones are
  // ignored by the models).
  UserContext* watcher = requests[2].mutable_context();
  watcher->set_request_time_s(now_s);
  t = now_s - 3600;
  for (int i = 1; i <= 8; ++i) {
    Watch* w = watcher->add_watches();
    w->set_video_id(absl::StrFormat("v%05d", i * 37));
    w->set_time_s(t += 300);
    w->set_watch_seconds(120.0f * static_cast<float>(i));
  }
  for (RecommendRequest& r : requests) r.set_num_results(num_results);
  return requests;
}

std::vector<GenerateCandidatesRequest> GenerateCandidatesRequestsFor(
    const std::vector<RecommendRequest>& recommend, int32_t num_candidates) {
  std::vector<GenerateCandidatesRequest> requests;
  for (const RecommendRequest& r : recommend) {
    GenerateCandidatesRequest& g = requests.emplace_back();
    *g.mutable_context() = r.context();
    g.set_num_candidates(num_candidates);
  }
  return requests;
}

std::vector<RankRequest> RankRequestsFor(const std::vector<RecommendRequest>& recommend,
                                         const std::vector<std::string>& video_ids,
                                         int num_candidates, int32_t num_results) {
  std::vector<RankRequest> requests;
  if (video_ids.empty()) return requests;
  size_t next = 0;
  for (const RecommendRequest& r : recommend) {
    RankRequest& rank = requests.emplace_back();
    *rank.mutable_context() = r.context();
    rank.set_num_results(num_results);
    for (int i = 0; i < num_candidates; ++i) {
      Candidate* c = rank.add_candidates();
      c->set_video_id(video_ids[(next + static_cast<size_t>(i)) % video_ids.size()]);
      c->set_retrieval_score(10.0f - 0.01f * static_cast<float>(i));
      c->set_source(SOURCE_DNN);
    }
    next = (next + 97) % video_ids.size();
  }
  return requests;
}

std::unique_ptr<google::protobuf::Message> EchoRequestMessage(int payload_bytes,
                                                              int response_bytes) {
  auto request = std::make_unique<bench::EchoRequest>();
  request->set_payload(std::string(static_cast<size_t>(std::max(payload_bytes, 0)), 'p'));
  request->set_response_bytes(response_bytes);
  return request;
}

RecommendRequest WorstLegalRecommendRequest(int64_t request_time_s) {
  RecommendRequest request;
  request.set_num_results(kMaxResults);
  request.set_num_candidates(kMaxCandidates);
  UserContext* context = request.mutable_context();
  context->set_user_id(Padded("worst-legal-request-", kMaxUserIdBytes, 'u'));
  context->set_request_time_s(request_time_s);
  Demographics* d = context->mutable_demographics();
  d->set_region(Padded("region-", kMaxDemographicBytes, 'r'));
  d->set_device(Padded("device-", kMaxDemographicBytes, 'd'));
  d->set_language(Padded("language-", kMaxDemographicBytes, 'l'));
  d->set_gender(GENDER_MALE);
  d->set_age(120);
  d->set_logged_in(true);
  // Event `i` of `n`: one second apart, the last one second before the
  // request.
  auto time_of = [request_time_s](int i, int n) {
    return std::max<int64_t>(0, request_time_s - (n - i));
  };
  for (int i = 0; i < kMaxWatches; ++i) {
    Watch* w = context->add_watches();
    w->set_video_id(Padded(absl::StrCat("watched-", i, "-"), kMaxVideoIdBytes, 'w'));
    w->set_time_s(time_of(i, kMaxWatches));
    w->set_watch_seconds(600.0f);
  }
  for (int i = 0; i < kMaxSearches; ++i) {
    // Distinct words, so that every unigram and bigram is a new token.
    std::string query;
    for (int word = 0; query.size() < static_cast<size_t>(kMaxQueryBytes); ++word) {
      absl::StrAppend(&query, query.empty() ? "" : " ", "q", i, "w", word);
    }
    query.resize(static_cast<size_t>(kMaxQueryBytes));
    if (query.back() == ' ') query.back() = 'z';
    SearchQuery* s = context->add_searches();
    s->set_query(std::move(query));
    s->set_time_s(time_of(i, kMaxSearches));
  }
  for (int i = 0; i < kMaxImpressions; ++i) {
    Impression* imp = context->add_impressions();
    imp->set_video_id(Padded(absl::StrCat("impressed-", i, "-"), kMaxVideoIdBytes, 'i'));
    imp->set_time_s(time_of(i, kMaxImpressions));
  }
  return request;
}

std::string GrpcFramedMessage(const google::protobuf::Message& message) {
  const std::string payload = message.SerializeAsString();
  const uint32_t n = static_cast<uint32_t>(payload.size());
  std::string framed;
  framed.reserve(payload.size() + 5);
  framed.push_back('\0');
  for (int shift = 24; shift >= 0; shift -= 8) {
    framed.push_back(static_cast<char>((n >> shift) & 0xFF));
  }
  framed += payload;
  return framed;
}

}  // namespace recsys
