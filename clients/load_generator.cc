#include "clients/load_generator.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/grpc/request_validation.h"
#include "common/logs/user_context.h"

namespace recsys {
namespace {

// Nearest-rank quantile of sorted `values`; `q` in (0, 1].
absl::Duration Quantile(const std::vector<absl::Duration>& sorted, double q) {
  if (sorted.empty()) return absl::ZeroDuration();
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::string Millis(absl::Duration d) {
  return absl::StrFormat("%.1fms", absl::ToDoubleMilliseconds(d));
}

std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
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
    if (code != grpc::StatusCode::OK) failures[CodeName(code)] = n;
  }
  return FormatCounts(failures);
}

std::string DegradedByCause(const CallSummary& summary) {
  std::map<std::string, int64_t> causes;
  for (const auto& [cause, n] : summary.degraded_by_cause) causes[CauseName(cause)] = n;
  return FormatCounts(causes);
}

// The calls of `calls` bucketed by completion time into intervals of
// `interval` from 0 up to the last completion.
std::vector<IntervalStats> IntervalsByCompletion(const std::vector<CallRecord>& calls,
                                                 absl::Duration interval) {
  absl::Duration last = absl::ZeroDuration();
  for (const CallRecord& c : calls) last = std::max(last, c.completed());
  absl::Duration remainder;
  const int64_t n = absl::IDivDuration(last, interval, &remainder) + 1;
  std::vector<std::vector<CallRecord>> buckets(static_cast<size_t>(n));
  std::vector<IntervalStats> intervals(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    intervals[i].start = interval * i;
    intervals[i].end = interval * (i + 1);
  }
  for (const CallRecord& c : calls) {
    absl::Duration unused;
    const int64_t b = absl::IDivDuration(c.completed(), interval, &unused);
    buckets[static_cast<size_t>(b)].push_back(c);
    // In flight at the end of every interval from its sending to its
    // completion.
    for (int64_t i = absl::IDivDuration(c.sent, interval, &unused); i < b; ++i) {
      ++intervals[static_cast<size_t>(i)].in_flight;
    }
  }
  for (int64_t i = 0; i < n; ++i) intervals[i].summary = SummarizeCalls(buckets[i]);
  return intervals;
}

std::optional<absl::Duration> FirstCompletion(
    const std::vector<CallRecord>& calls,
    const std::function<bool(const CallRecord&)>& match) {
  std::optional<absl::Duration> first;
  for (const CallRecord& c : calls) {
    if (!c.ok() || !match(c)) continue;
    if (!first.has_value() || c.completed() < *first) first = c.completed();
  }
  return first;
}

// `prefix` followed by `fill` up to exactly `bytes` bytes.
std::string Padded(const std::string& prefix, int bytes, char fill) {
  const size_t n = static_cast<size_t>(bytes);
  std::string s = prefix.substr(0, n);
  s.resize(n, fill);
  return s;
}

}  // namespace

CallSummary SummarizeCalls(absl::Span<const CallRecord> calls) {
  CallSummary s;
  std::vector<absl::Duration> latencies;
  latencies.reserve(calls.size());
  for (const CallRecord& c : calls) {
    ++s.calls;
    ++s.by_code[c.code];
    latencies.push_back(c.latency);
    if (!c.ok()) continue;
    ++s.ok;
    ++s.model_versions[c.model_version];
    ++s.ranking_model_versions[c.ranking_model_version];
    if (c.degraded) {
      ++s.degraded;
      ++s.degraded_by_cause[c.degraded_cause];
    }
    if (c.version_mismatch) ++s.version_mismatches;
  }
  std::sort(latencies.begin(), latencies.end());
  s.latency.p50 = Quantile(latencies, 0.50);
  s.latency.p99 = Quantile(latencies, 0.99);
  s.latency.max = latencies.empty() ? absl::ZeroDuration() : latencies.back();
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
  for (const auto& [code, n] : s.by_code) codes[CodeName(code)] = n;
  return absl::StrCat(
      "calls: ", s.calls, ", ok: ", s.ok, ", failed: ", s.failed(),
      "\nby status: ", FormatCounts(codes),
      "\ndegraded: ", s.degraded, " [", DegradedByCause(s), "]",
      ", version mismatches: ", s.version_mismatches,
      "\nlatency: p50 ", Millis(s.latency.p50), ", p99 ", Millis(s.latency.p99),
      ", max ", Millis(s.latency.max),
      "\nmodel versions: ", FormatCounts(s.model_versions),
      "\nranking model versions: ", FormatCounts(s.ranking_model_versions), "\n");
}

std::optional<absl::Duration> LoadReport::FirstAnswerWithModelVersion(
    const std::string& version) const {
  return FirstCompletion(
      calls, [&](const CallRecord& c) { return c.model_version == version; });
}

std::optional<absl::Duration> LoadReport::FirstAnswerWithRankingVersion(
    const std::string& version) const {
  return FirstCompletion(
      calls, [&](const CallRecord& c) { return c.ranking_model_version == version; });
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

// One call in flight: owned by the generator from `Issue` to `Finish`.
struct LoadGenerator::Call {
  CallRecord record;
  grpc::ClientContext context;
  RecommendResponse response;
};

absl::StatusOr<std::unique_ptr<LoadGenerator>> LoadGenerator::Create(
    std::shared_ptr<grpc::Channel> channel, std::vector<RecommendRequest> requests,
    LoadOptions options) {
  if (channel == nullptr) return absl::InvalidArgumentError("no channel");
  if (requests.empty()) return absl::InvalidArgumentError("no requests to send");
  if (!(options.requests_per_second > 0) || !std::isfinite(options.requests_per_second)) {
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
  if (options.max_calls < 0 || options.max_in_flight < 0) {
    return absl::InvalidArgumentError("max_calls and max_in_flight must be >= 0");
  }
  if (options.report_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("report_interval must be positive");
  }
  return std::unique_ptr<LoadGenerator>(
      new LoadGenerator(std::move(channel), std::move(requests), std::move(options)));
}

LoadGenerator::LoadGenerator(std::shared_ptr<grpc::Channel> channel,
                             std::vector<RecommendRequest> requests, LoadOptions options)
    : requests_(std::move(requests)),
      options_(std::move(options)),
      stub_(CandidateService::NewStub(std::move(channel))) {}

LoadGenerator::~LoadGenerator() {
  // Calls in flight refer to this object; `Run` returns only when none is.
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int64_t* in_flight) { return *in_flight == 0; }, &in_flight_));
}

std::vector<CallRecord> LoadGenerator::CompletedSoFar() const {
  absl::MutexLock lock(&mu_);
  return completed_;
}

void LoadGenerator::Issue(int64_t index, absl::Duration scheduled) {
  auto* call = new Call;
  call->record.index = index;
  call->record.scheduled = scheduled;
  const RecommendRequest& request = requests_[static_cast<size_t>(index) % requests_.size()];
  {
    absl::MutexLock lock(&mu_);
    ++in_flight_;
  }
  const absl::Time now = absl::Now();
  call->record.sent = now - start_;
  call->context.set_deadline(absl::ToChronoTime(now + options_.deadline));
  stub_->async()->Recommend(&call->context, &request, &call->response,
                            [this, call](grpc::Status status) { Finish(call, status); });
}

void LoadGenerator::Finish(Call* call, const grpc::Status& status) {
  CallRecord& r = call->record;
  r.latency = absl::Now() - start_ - r.sent;
  r.code = status.error_code();
  if (status.ok()) {
    const RecommendResponse& response = call->response;
    r.model_version = response.model_version();
    r.ranking_model_version = response.ranking_model_version();
    r.degraded = response.degraded();
    r.degraded_cause = response.degraded_cause();
    r.version_mismatch = response.version_mismatch();
  } else {
    r.error_message = status.error_message();
  }
  {
    absl::MutexLock lock(&mu_);
    completed_.push_back(std::move(r));
    --in_flight_;
  }
  delete call;
}

void LoadGenerator::ReportIntervals(absl::Duration now_offset, bool flush) {
  while (now_offset >= next_report_end_ || flush) {
    if (options_.on_interval) {
      IntervalStats interval;
      interval.start = next_report_end_ - options_.report_interval;
      interval.end = flush ? now_offset : next_report_end_;
      std::vector<CallRecord> fresh;
      {
        absl::MutexLock lock(&mu_);
        fresh.assign(completed_.begin() + reported_calls_, completed_.end());
        reported_calls_ = static_cast<int64_t>(completed_.size());
        interval.in_flight = in_flight_;
      }
      interval.summary = SummarizeCalls(fresh);
      options_.on_interval(interval);
    }
    if (flush) return;
    next_report_end_ += options_.report_interval;
  }
}

LoadReport LoadGenerator::Run() {
  start_ = absl::Now();
  next_report_end_ = options_.report_interval;
  const absl::Duration period = absl::Seconds(1.0 / options_.requests_per_second);
  const int64_t max_calls =
      options_.max_calls > 0
          ? options_.max_calls
          : static_cast<int64_t>(std::ceil(options_.requests_per_second *
                                           absl::ToDoubleSeconds(options_.duration)));
  auto below_limit = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return in_flight_ < options_.max_in_flight;
  };
  absl::Duration last_sent = absl::ZeroDuration();
  for (int64_t i = 0; i < max_calls; ++i) {
    const absl::Duration scheduled = period * i;
    if (scheduled >= options_.duration) break;
    for (absl::Duration now = absl::Now() - start_; now < scheduled;
         now = absl::Now() - start_) {
      ReportIntervals(now, /*flush=*/false);
      absl::SleepFor(std::min(scheduled - now, next_report_end_ - now));
    }
    if (options_.max_in_flight > 0) {
      while (true) {
        const absl::Duration now = absl::Now() - start_;
        ReportIntervals(now, /*flush=*/false);
        absl::MutexLock lock(&mu_);
        if (mu_.AwaitWithTimeout(absl::Condition(&below_limit), next_report_end_ - now)) {
          break;
        }
      }
    }
    Issue(i, scheduled);
    last_sent = absl::Now() - start_;
  }
  // Every call ends by its deadline (gRPC enforces it on the client side).
  while (true) {
    const absl::Duration now = absl::Now() - start_;
    ReportIntervals(now, /*flush=*/false);
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(
            absl::Condition(+[](int64_t* n) { return *n == 0; }, &in_flight_),
            std::max(next_report_end_ - now, absl::Milliseconds(1)))) {
      break;
    }
  }
  ReportIntervals(absl::Now() - start_, /*flush=*/true);

  LoadReport report;
  report.start = start_;
  report.send_window = last_sent;
  report.calls = CompletedSoFar();
  std::sort(report.calls.begin(), report.calls.end(),
            [](const CallRecord& a, const CallRecord& b) { return a.index < b.index; });
  report.summary = SummarizeCalls(report.calls);
  if (last_sent > absl::ZeroDuration()) {
    report.achieved_rps = static_cast<double>(report.calls.size()) /
                          absl::ToDoubleSeconds(last_sent);
  }
  report.intervals = IntervalsByCompletion(report.calls, options_.report_interval);
  return report;
}

std::vector<RecommendRequest> RecommendRequestsFromLogs(const Logs& logs,
                                                        int max_requests,
                                                        int32_t num_results) {
  std::vector<RecommendRequest> requests;
  const UserHistories histories = UserHistories::Build(logs);
  for (const std::string& user : histories.user_ids()) {
    if (static_cast<int>(requests.size()) >= max_requests) break;
    const std::vector<WatchRecord>& watches = histories.watches(user);
    if (watches.empty()) continue;
    absl::StatusOr<UserContext> context =
        histories.ContextAt(user, watches.back().time_s + 1);
    if (!context.ok()) continue;
    RecommendRequest& request = requests.emplace_back();
    *request.mutable_context() = *std::move(context);
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
