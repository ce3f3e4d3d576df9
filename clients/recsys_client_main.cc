// recsys_client: asks a running CandidateService for a user's recommendations
// and prints them as a table; or, in batch mode, asks for many users' lists
// and writes them to a CSV file (offline evaluation over gRPC).
//
// The user context comes from the logs (the user's events before --as_of,
// as many as a request may carry: the whole history up to the services'
// limits), from flags, or both: hand-given watches and queries are appended
// after the logged ones.
//
//   recsys_client --address=127.0.0.1:50051 --logs=data/world --user_id=u00017
//   recsys_client --address=127.0.0.1:50051 --watched=v00012,v00345
//       --queries="guitar lesson;jazz" --region=US --device=mobile
//   recsys_client ... --method=candidates --num_results=100
//   recsys_client --logs=data/world --batch_out=lists.csv --users=all
//       --holdout=last --num_results=100
//   recsys_client --logs=data/world --user_id=u00017 --explain  # why, as tables

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include <spdlog/spdlog.h>

#include "clients/explanation_table.h"
#include "common/base/command_line.h"
#include "common/grpc/request_validation.h"
#include "common/grpc/tls.h"
#include "common/logs/csv_writer.h"
#include "common/logs/logs.h"
#include "common/logs/user_context.h"
#include "evaluation/metrics.h"
#include "proto/recsys.grpc.pb.h"

ABSL_FLAG(std::string, address, "127.0.0.1:50051",
          "host:port of the CandidateService.");
ABSL_FLAG(std::string, method, "recommend",
          "recommend: the ranked list (CandidateService.Recommend); "
          "candidates: the unranked candidates "
          "(CandidateService.GenerateCandidates).");
ABSL_FLAG(std::string, user_id, "",
          "Build the context of this user from --logs.");
ABSL_FLAG(std::string, logs, "",
          "Directory of the CSV logs (videos.csv, users.csv, watches.csv, "
          "...). Needed by --user_id; also supplies titles for "
          "--method=candidates.");
ABSL_FLAG(int64_t, as_of, 0,
          "Request time, Unix seconds: the context holds the events strictly "
          "before it. 0: one second after the user's last event (or after "
          "the last event in --logs, or now without logs).");
ABSL_FLAG(int32_t, num_results, 10,
          "Length of the list (number of candidates for "
          "--method=candidates).");
ABSL_FLAG(int32_t, num_candidates, 0,
          "Candidates retrieved before ranking; 0: the service default.");
ABSL_FLAG(std::vector<std::string>, watched, {},
          "Comma-separated video IDs the user watched, oldest first; appended "
          "to the context.");
ABSL_FLAG(std::string, queries, "",
          "';'-separated search queries, oldest first; appended to the "
          "context.");
ABSL_FLAG(std::string, region, "",
          "Region code, e.g. US; overrides the logged one.");
ABSL_FLAG(std::string, device, "",
          "Device class, e.g. mobile, desktop, tv; overrides the logged one.");
ABSL_FLAG(std::string, language, "",
          "The user's language, ISO 639-1, e.g. en; overrides the logged one.");
ABSL_FLAG(int32_t, deadline_ms, 2000, "Deadline of the call, milliseconds.");
ABSL_FLAG(std::string, batch_out, "",
          "Batch mode: ask for the lists of --users (from --logs) and write them here as CSV "
          "(user_id,rank,video_id,score,source,degraded,held_out), one row per listed video; "
          "prints a summary instead of tables.");
ABSL_FLAG(std::string, users, "all",
          "Batch mode: 'all' (every user of --logs, in first-seen order) or comma-separated "
          "user IDs.");
ABSL_FLAG(int32_t, max_users, 0, "Batch mode: at most this many users (0: no cap).");
ABSL_FLAG(std::string, holdout, "none",
          "Batch mode: 'none' (each user's context as of just after their last event) or "
          "'last' (the evaluation protocol: the context is every event before the user's last "
          "watch, which is held out and scored: HR@10/50/100 and NDCG@10 are printed; users "
          "with fewer than 3 watches are skipped).");
ABSL_FLAG(bool, explain, false,
          "Recommend with explain mode on: after the list, print why each video is "
          "where it is, as tables: what the user tower read (watches and search tokens "
          "kept and dropped with the reason, demographics, example age), the ranking "
          "model's request-level inputs, each answer video's final rank, sources, "
          "retrieval score and rank, logit and predicted watch seconds, its ranking "
          "features (raw>quantile-normalised, named as in the bundle) and categorical "
          "inputs (value and vocabulary row), and the candidates removed (already "
          "watched, beyond num_candidates, below the cut). Not with --method=candidates "
          "or --batch_out.");
ABSL_FLAG(std::string, model_version, "",
          "Recommend with this loaded candidate bundle version (a directory name "
          "under the server's --bundles); empty: the newest. A version the server has "
          "not loaded is refused (NOT_FOUND, listing the loaded ones).");
ABSL_FLAG(std::string, tls_ca_file, "",
          "PEM CA of the service's certificate: when set, the call uses TLS.");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM client certificate (mutual TLS), with --tls_key_file.");
ABSL_FLAG(std::string, tls_key_file, "", "PEM private key of --tls_cert_file.");
ABSL_FLAG(std::string, tls_server_name, "",
          "The name the service's certificate must carry when it is not --address's host.");

namespace recsys {
namespace {

constexpr int kTitleColumnChars = 44;
// Spacing of hand-given events before the request time, seconds.
constexpr int64_t kHandEventSpacingS = 60;

struct ClientOptions {
  std::string address;
  bool rank = true;
  std::string user_id;
  std::string logs_dir;
  int64_t as_of_s = 0;
  int32_t num_results = 10;
  int32_t num_candidates = 0;
  std::vector<std::string> watched;
  std::vector<std::string> queries;
  std::string region;
  std::string device;
  std::string language;
  absl::Duration deadline;
  bool explain = false;
  std::string model_version;
  ChannelTlsFiles tls;
  // Batch mode (`batch_out` not empty).
  std::string batch_out;
  std::vector<std::string> users;  // empty: all
  int32_t max_users = 0;
  bool holdout_last = false;
};

absl::StatusOr<ClientOptions> OptionsFromFlags() {
  ClientOptions options;
  options.address = absl::GetFlag(FLAGS_address);
  const std::string method = absl::GetFlag(FLAGS_method);
  if (method != "recommend" && method != "candidates") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--method must be recommend or candidates, got '", method, "'"));
  }
  options.rank = method == "recommend";
  options.user_id = absl::GetFlag(FLAGS_user_id);
  options.logs_dir = absl::GetFlag(FLAGS_logs);
  if (!options.user_id.empty() && options.logs_dir.empty()) {
    return absl::InvalidArgumentError("--user_id needs --logs");
  }
  options.as_of_s = absl::GetFlag(FLAGS_as_of);
  options.num_results = absl::GetFlag(FLAGS_num_results);
  options.num_candidates = absl::GetFlag(FLAGS_num_candidates);
  if (options.num_results < 0 || options.num_candidates < 0) {
    return absl::InvalidArgumentError(
        "--num_results and --num_candidates must be >= 0");
  }
  for (const std::string& id : absl::GetFlag(FLAGS_watched)) {
    const std::string trimmed(absl::StripAsciiWhitespace(id));
    if (!trimmed.empty()) options.watched.push_back(trimmed);
  }
  for (absl::string_view query :
       absl::StrSplit(absl::GetFlag(FLAGS_queries), ';', absl::SkipWhitespace())) {
    options.queries.emplace_back(absl::StripAsciiWhitespace(query));
  }
  options.region = absl::GetFlag(FLAGS_region);
  options.device = absl::GetFlag(FLAGS_device);
  options.language = absl::GetFlag(FLAGS_language);
  const int32_t deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  if (deadline_ms <= 0) {
    return absl::InvalidArgumentError("--deadline_ms must be positive");
  }
  options.deadline = absl::Milliseconds(deadline_ms);
  options.explain = absl::GetFlag(FLAGS_explain);
  options.model_version = absl::GetFlag(FLAGS_model_version);
  options.tls.ca_file = absl::GetFlag(FLAGS_tls_ca_file);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert_file);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key_file);
  options.tls.server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.tls.flag_prefix = "tls_";
  options.batch_out = absl::GetFlag(FLAGS_batch_out);
  const std::string users = absl::GetFlag(FLAGS_users);
  if (users != "all") {
    for (absl::string_view id : absl::StrSplit(users, ',', absl::SkipWhitespace())) {
      options.users.emplace_back(absl::StripAsciiWhitespace(id));
    }
  }
  options.max_users = absl::GetFlag(FLAGS_max_users);
  const std::string holdout = absl::GetFlag(FLAGS_holdout);
  if (holdout != "none" && holdout != "last") {
    return absl::InvalidArgumentError(
        absl::StrCat("--holdout must be none or last, got '", holdout, "'"));
  }
  options.holdout_last = holdout == "last";
  if (!options.batch_out.empty() && options.logs_dir.empty()) {
    return absl::InvalidArgumentError("--batch_out needs --logs (the users' histories)");
  }
  if (options.explain && (!options.rank || !options.batch_out.empty())) {
    return absl::InvalidArgumentError(
        "--explain is for one Recommend call (not --method=candidates or --batch_out)");
  }
  if (!options.model_version.empty() && !options.rank) {
    return absl::InvalidArgumentError("--model_version is for --method=recommend");
  }
  if (options.batch_out.empty() && (options.holdout_last || options.max_users != 0)) {
    return absl::InvalidArgumentError("--holdout and --max_users are for batch mode (--batch_out)");
  }
  return options;
}

// Every event a request may carry: the whole history up to the services'
// limits (common/grpc/request_validation.h), so that nothing the user
// watched is recommended again.
UserHistories::Options RequestLimits() {
  UserHistories::Options limits;
  limits.max_watches = kMaxWatches;
  limits.max_searches = kMaxSearches;
  limits.max_impressions = kMaxImpressions;
  return limits;
}

// The latest event time of `user_id` in `logs` (or of anyone, when
// `user_id` is empty); nullopt when there is none.
std::optional<int64_t> LastEventTime(const Logs& logs,
                                     const std::string& user_id) {
  std::optional<int64_t> last;
  auto see = [&](const std::string& event_user, int64_t time_s) {
    if (!user_id.empty() && event_user != user_id) return;
    if (!last.has_value() || time_s > *last) last = time_s;
  };
  for (const WatchRecord& w : logs.watches) see(w.user_id, w.time_s);
  for (const SearchRecord& s : logs.searches) see(s.user_id, s.time_s);
  for (const ImpressionRecord& i : logs.impressions) see(i.user_id, i.time_s);
  return last;
}

// Builds the request context: the user's logged context, then the
// hand-given events and demographics on top.
absl::StatusOr<UserContext> BuildContext(const ClientOptions& options,
                                         const Logs* logs) {
  int64_t request_time_s = options.as_of_s;
  if (request_time_s == 0) {
    std::optional<int64_t> last;
    if (logs != nullptr) last = LastEventTime(*logs, options.user_id);
    if (!last.has_value() && logs != nullptr && !options.user_id.empty()) {
      last = LastEventTime(*logs, "");  // A user without events.
    }
    request_time_s =
        last.has_value() ? *last + 1 : absl::ToUnixSeconds(absl::Now());
  }

  UserContext context;
  if (!options.user_id.empty()) {
    UserHistories histories = UserHistories::Build(*logs, RequestLimits());
    absl::StatusOr<UserContext> logged =
        histories.ContextAt(options.user_id, request_time_s);
    if (!logged.ok()) return logged.status();
    context = *std::move(logged);
  }
  context.set_request_time_s(request_time_s);

  const int64_t n = static_cast<int64_t>(options.watched.size());
  for (int64_t i = 0; i < n; ++i) {
    Watch* watch = context.add_watches();
    watch->set_video_id(options.watched[i]);
    watch->set_time_s(request_time_s - (n - i) * kHandEventSpacingS);
  }
  const int64_t m = static_cast<int64_t>(options.queries.size());
  for (int64_t i = 0; i < m; ++i) {
    SearchQuery* search = context.add_searches();
    search->set_query(options.queries[i]);
    search->set_time_s(request_time_s - (m - i) * kHandEventSpacingS);
  }
  if (!options.region.empty()) {
    context.mutable_demographics()->set_region(options.region);
  }
  if (!options.device.empty()) {
    context.mutable_demographics()->set_device(options.device);
  }
  if (!options.language.empty()) {
    context.mutable_demographics()->set_language(options.language);
  }
  return context;
}

std::string GenderName(Gender gender) {
  switch (gender) {
    case GENDER_FEMALE:
      return "female";
    case GENDER_MALE:
      return "male";
    default:
      return "?";
  }
}

void PrintContextSummary(const UserContext& context) {
  const Demographics& d = context.demographics();
  std::cout << "User "
            << (context.user_id().empty() ? "(hand-built context)"
                                          : context.user_id())
            << " as of "
            << absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                                absl::FromUnixSeconds(context.request_time_s()),
                                absl::UTCTimeZone())
            << " (" << context.request_time_s() << ")\n";
  std::cout << "  demographics: region="
            << (d.region().empty() ? "?" : d.region())
            << " device=" << (d.device().empty() ? "?" : d.device())
            << " gender=" << GenderName(d.gender())
            << " age=" << (d.age() > 0 ? absl::StrCat(d.age()) : "?")
            << " logged_in=" << (d.logged_in() ? "yes" : "no")
            << " language=" << (d.language().empty() ? "?" : d.language())
            << "\n";
  std::cout << "  history: " << context.watches_size() << " watches, "
            << context.searches_size() << " searches, "
            << context.impressions_size() << " impressions\n";

  std::vector<const SearchQuery*> searches;
  for (const SearchQuery& s : context.searches()) searches.push_back(&s);
  std::stable_sort(searches.begin(), searches.end(),
                   [](const SearchQuery* a, const SearchQuery* b) {
                     return a->time_s() < b->time_s();
                   });
  if (!searches.empty()) {
    std::vector<std::string> last;
    for (size_t i = searches.size() > 3 ? searches.size() - 3 : 0;
         i < searches.size(); ++i) {
      last.push_back(absl::StrCat("\"", searches[i]->query(), "\""));
    }
    std::cout << "  last searches (most recent last): "
              << absl::StrJoin(last, ", ") << "\n";
  }
  std::cout << "\n";
}

// "m:ss" for a duration in seconds, e.g. 754.3 -> "12:34".
std::string MinutesSeconds(float seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t total = static_cast<int64_t>(std::lround(seconds));
  return absl::StrFormat("%d:%02d", total / 60, total % 60);
}

std::string SourceName(CandidateSource source) {
  return absl::AsciiStrToLower(
      absl::StripPrefix(CandidateSource_Name(source), "SOURCE_"));
}

// `text` cut to at most `width` UTF-8 code points (a cut is marked by a final
// '~') and padded with spaces to `width` columns.
std::string FitColumn(const std::string& text, int width) {
  // Byte offsets where each code point starts, plus the end.
  std::vector<size_t> starts;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      starts.push_back(i);
    }
  }
  const int code_points = static_cast<int>(starts.size());
  if (code_points > width) {
    return text.substr(0, starts[width - 1]) + "~";
  }
  return text + std::string(static_cast<size_t>(width - code_points), ' ');
}

struct Row {
  std::string video_id;
  std::string title;
  std::string watch_time;
  float retrieval_score = 0;
  std::string source;
};

void PrintTable(const std::vector<Row>& rows) {
  size_t id_width = 8;
  for (const Row& row : rows) id_width = std::max(id_width, row.video_id.size());
  const std::string header = absl::StrFormat(
      "%4s  %-*s  %s  %10s  %9s  %s", "rank", id_width, "video",
      FitColumn("title", kTitleColumnChars), "watch time", "retrieval",
      "source");
  std::cout << header << "\n" << std::string(header.size(), '-') << "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    std::cout << absl::StrFormat("%4d  %-*s  %s  %10s  %9.3f  %s", i + 1,
                                 id_width, row.video_id,
                                 FitColumn(row.title, kTitleColumnChars),
                                 row.watch_time, row.retrieval_score,
                                 row.source)
              << "\n";
  }
}

// Prints a failed call and returns the exit status.
int ReportRpcError(const std::string& rpc, const std::string& address,
                   const grpc::Status& status) {
  spdlog::error("recsys_client: {} on {} failed: {} (code {}): {}", rpc, address,
                absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                static_cast<int>(status.error_code()), status.error_message());
  return 1;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const ClientOptions& options) {
  grpc::ChannelArguments args;
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(options.tls, &args);
  if (!credentials.ok()) return credentials.status();
  return grpc::CreateCustomChannel(options.address, *credentials, args);
}

// One user's list: video IDs with their scores and sources.
struct UserList {
  std::vector<Row> rows;
  bool degraded = false;
};

// Asks for `context`'s list (Recommend or GenerateCandidates).
absl::StatusOr<UserList> AskList(CandidateService::Stub& stub, const ClientOptions& options,
                                 const UserContext& context) {
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + options.deadline));
  UserList list;
  grpc::Status status;
  if (options.rank) {
    RecommendRequest request;
    *request.mutable_context() = context;
    request.set_num_results(options.num_results);
    request.set_num_candidates(options.num_candidates);
    request.set_model_version(options.model_version);
    RecommendResponse response;
    status = stub.Recommend(&call, request, &response);
    list.degraded = response.degraded();
    for (const RankedVideo& v : response.videos()) {
      // The score of a ranked list: the predicted watch time.
      list.rows.push_back({v.video_id(), v.title(), "", v.predicted_watch_seconds(),
                           SourceName(v.source())});
    }
  } else {
    GenerateCandidatesRequest request;
    *request.mutable_context() = context;
    request.set_num_candidates(options.num_results);
    GenerateCandidatesResponse response;
    status = stub.GenerateCandidates(&call, request, &response);
    for (const Candidate& c : response.candidates()) {
      list.rows.push_back({c.video_id(), "", "", c.retrieval_score(), SourceName(c.source())});
    }
  }
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat(options.rank ? "Recommend" : "GenerateCandidates", " on ",
                                     options.address, " failed: ", status.error_message()));
  }
  return list;
}

// Batch mode: every chosen user's list into `options.batch_out`; with
// --holdout=last, the held-out watch's HR@K and NDCG@10.
int RunBatch(const ClientOptions& options, const Logs& logs) {
  const UserHistories histories = UserHistories::Build(logs, RequestLimits());
  std::vector<std::string> users = options.users;
  if (users.empty()) users = histories.user_ids();
  if (options.max_users > 0 && static_cast<int>(users.size()) > options.max_users) {
    users.resize(options.max_users);
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  if (!channel.ok()) {
    spdlog::error("recsys_client: {}", std::string(channel.status().message()));
    return 1;
  }
  auto stub = CandidateService::NewStub(*channel);
  absl::StatusOr<std::unique_ptr<CsvFileWriter>> out = CsvFileWriter::Create(
      options.batch_out, {"user_id", "rank", "video_id", "score", "source", "degraded",
                          "held_out"});
  if (!out.ok()) {
    spdlog::error("recsys_client: {}", std::string(out.status().message()));
    return 1;
  }
  CsvFileWriter& csv = **out;
  int64_t asked = 0, skipped = 0, degraded = 0;
  RetrievalMetrics metrics({10, 50, 100});
  const absl::Time start = absl::Now();
  for (const std::string& user : users) {
    const std::vector<WatchRecord>& watches = histories.watches(user);
    absl::StatusOr<UserContext> context;
    std::string held_out;
    if (options.holdout_last) {
      if (watches.size() < 3) {
        ++skipped;
        continue;
      }
      held_out = watches.back().video_id;
      context = histories.ContextBefore(watches.back());
    } else {
      std::optional<int64_t> last = LastEventTime(logs, user);
      context = histories.ContextAt(user, last.has_value() ? *last + 1 : 0);
    }
    if (!context.ok()) {
      spdlog::error("recsys_client: {}", std::string(context.status().message()));
      return 1;
    }
    absl::StatusOr<UserList> list = AskList(*stub, options, *context);
    if (!list.ok()) {
      spdlog::error("recsys_client: user {}: {}", user, std::string(list.status().message()));
      return 1;
    }
    ++asked;
    degraded += list->degraded ? 1 : 0;
    int64_t held_out_rank = -1;
    for (size_t i = 0; i < list->rows.size(); ++i) {
      const Row& row = list->rows[i];
      csv.Text(user);
      csv.Int(static_cast<int64_t>(i) + 1);
      csv.Text(row.video_id);
      csv.Float(row.retrieval_score);
      csv.Text(row.source);
      csv.Bool(list->degraded);
      csv.Text(held_out);
      csv.EndRow();
      if (!held_out.empty() && row.video_id == held_out) held_out_rank = static_cast<int64_t>(i);
    }
    if (options.holdout_last) metrics.AddRank(held_out_rank);
  }
  if (absl::Status closed = csv.Finish(); !closed.ok()) {
    spdlog::error("recsys_client: {}", std::string(closed.message()));
    return 1;
  }
  std::cout << absl::StrFormat(
      "%s: %d users asked (%d skipped: fewer than 3 watches), %d degraded answers, in %s; "
      "lists written to %s\n",
      options.rank ? "Recommend" : "GenerateCandidates", asked, skipped, degraded,
      absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1))),
      options.batch_out);
  if (options.holdout_last && asked > 0) {
    std::cout << absl::StrFormat(
        "held-out last watch: HR@10 %.3f  HR@50 %.3f  HR@100 %.3f  NDCG@10 %.3f "
        "(lists of %d; HR@K counts only K <= the list's length)\n",
        metrics.hit_rate(10), metrics.hit_rate(50), metrics.hit_rate(100), metrics.ndcg(10),
        options.num_results);
  }
  return degraded > 0 && options.rank ? 3 : 0;
}

int Run(const ClientOptions& options) {
  std::optional<Logs> logs;
  if (!options.logs_dir.empty()) {
    absl::StatusOr<Logs> read = ReadLogs(options.logs_dir);
    if (!read.ok()) {
      spdlog::error("recsys_client: cannot read logs: {}", read.status().ToString());
      return 1;
    }
    logs = *std::move(read);
  }
  if (!options.batch_out.empty()) return RunBatch(options, *logs);
  absl::StatusOr<UserContext> context =
      BuildContext(options, logs.has_value() ? &*logs : nullptr);
  if (!context.ok()) {
    spdlog::error("recsys_client: {}", context.status().ToString());
    return 1;
  }
  PrintContextSummary(*context);

  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  if (!channel.ok()) {
    spdlog::error("recsys_client: {}", std::string(channel.status().message()));
    return 2;
  }
  auto stub = CandidateService::NewStub(*channel);
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + options.deadline));
  const absl::Time start = absl::Now();
  std::vector<Row> rows;
  std::string explanation;  // --explain: printed after the list

  if (options.rank) {
    RecommendRequest request;
    *request.mutable_context() = *context;
    request.set_num_results(options.num_results);
    request.set_num_candidates(options.num_candidates);
    request.set_model_version(options.model_version);
    request.set_explain(options.explain);
    RecommendResponse response;
    grpc::Status status = stub->Recommend(&call, request, &response);
    if (!status.ok()) return ReportRpcError("Recommend", options.address, status);
    if (options.explain) explanation = FormatExplanation(response);
    std::cout << "Recommend: " << response.videos_size() << " videos in "
              << absl::FormatDuration(absl::Now() - start)
              << " (candidate model " << response.model_version()
              << ", ranking model "
              << (response.ranking_model_version().empty()
                      ? "-"
                      : response.ranking_model_version())
              << ")\n";
    if (response.degraded()) {
      std::cout << "WARNING: degraded (" << DegradedCause_Name(response.degraded_cause())
                << "): the list is in retrieval order\n";
    }
    if (response.version_mismatch()) {
      std::cout << "WARNING: ranked with bundle version " << response.ranking_model_version()
                << ", retrieved with " << response.model_version()
                << " (ranking does not have it loaded)\n";
    }
    for (const RankedVideo& video : response.videos()) {
      rows.push_back({video.video_id(), video.title(),
                      MinutesSeconds(video.predicted_watch_seconds()),
                      video.retrieval_score(), SourceName(video.source())});
    }
  } else {
    GenerateCandidatesRequest request;
    *request.mutable_context() = *context;
    request.set_num_candidates(options.num_results);
    GenerateCandidatesResponse response;
    grpc::Status status = stub->GenerateCandidates(&call, request, &response);
    if (!status.ok()) {
      return ReportRpcError("GenerateCandidates", options.address, status);
    }
    std::cout << "GenerateCandidates: " << response.candidates_size()
              << " candidates in " << absl::FormatDuration(absl::Now() - start)
              << " (candidate model " << response.model_version() << ")\n";
    absl::flat_hash_map<std::string, const VideoRecord*> videos;
    if (logs.has_value()) {
      for (const VideoRecord& v : logs->videos) videos[v.video_id] = &v;
    }
    for (const Candidate& candidate : response.candidates()) {
      auto it = videos.find(candidate.video_id());
      rows.push_back({candidate.video_id(),
                      it == videos.end() ? "" : it->second->title, "-",
                      candidate.retrieval_score(),
                      SourceName(candidate.source())});
    }
  }
  std::cout << "\n";
  PrintTable(rows);
  if (!explanation.empty()) std::cout << "\n" << explanation;
  return 0;
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  std::vector<char*> positional = recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Asks a running CandidateService for recommendations and prints them.\n"
      "\n"
      "  recsys_client --address=127.0.0.1:50051 --logs=data/world "
      "--user_id=u00017\n"
      "  recsys_client --address=127.0.0.1:50051 --watched=v1,v2 "
      "--queries=\"q1;q2\" --region=US --device=mobile --language=en\n"
      "  recsys_client --logs=data/world --batch_out=lists.csv --holdout=last "
      "--num_results=100\n"
      "  recsys_client --logs=data/world --user_id=u00017 --explain "
      "[--model_version=20261201-120000]\n"
      "\n"
      "Without --user_id, --watched or --queries the context is empty "
      "(a cold-start user). The context from --logs holds the user's whole history "
      "up to the services' request limits (10,000 watches).\n"
      "--explain prints, after the list, why each video is where it is: the user "
      "tower's reading, each video's sources, retrieval score and rank, ranking features "
      "and predicted watch time, and the removed candidates with the reason.\n"
      "Exit status: 0; 1 for a failed call or unreadable logs; 2 for bad flags; 3 when "
      "a batch got degraded answers.");
  if (positional.size() > 1) {
    spdlog::error("recsys_client: unexpected argument '{}'; see --help", positional[1]);
    return 2;
  }
  absl::StatusOr<recsys::ClientOptions> options = recsys::OptionsFromFlags();
  if (!options.ok()) {
    spdlog::error("recsys_client: {}; see --help", std::string(options.status().message()));
    return 2;
  }
  return recsys::Run(*options);
}
