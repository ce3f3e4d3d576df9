#include "common/serving/ann_shards.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace recsys {
namespace {

using Clock = std::chrono::system_clock;

// The metrics label of a failed call.
const char* OutcomeOf(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "deadline_exceeded";
    case grpc::StatusCode::UNAVAILABLE:
      return "unavailable";
    default:
      return "error";
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<AnnIndexShard>> AnnIndexShard::Load(
    const Bundle& bundle, const AnnIndex::Options& options, int shard_index, int num_shards) {
  if (num_shards < 1 || shard_index < 0 || shard_index >= num_shards) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shard_index must be in [0, num_shards) and num_shards >= 1, got shard ", shard_index,
        " of ", num_shards));
  }
  const bundle::AnnSpec& spec = bundle.manifest().ann();
  if (spec.file().empty()) {
    return absl::DataLossError(absl::StrCat(bundle.dir(), "/manifest.pb names no ANN index file"));
  }
  const std::string path = bundle.Path(spec.file());
  AnnIndex::Options resolved = options;
  resolved.nprobe = ServingNprobe(bundle.manifest(), options.nprobe);
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<AnnIndex> whole, AnnIndex::Load(path, resolved));
  if (spec.dimension() != whole->dimension() || spec.num_vectors() != whole->size()) {
    return absl::DataLossError(absl::StrCat(
        bundle.dir(), "/manifest.pb says the ANN index is ", spec.num_vectors(), " x ",
        spec.dimension(), ", but ", path, " holds ", whole->size(), " x ", whole->dimension()));
  }
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<AnnIndex> shard,
                          whole->Shard(shard_index, num_shards));
  return std::unique_ptr<AnnIndexShard>(new AnnIndexShard(
      bundle.version(), std::move(shard), whole->size(), shard_index, num_shards));
}

absl::StatusOr<std::unique_ptr<AnnShardsClient>> AnnShardsClient::Create(
    const Options& options) {
  if (options.addresses.empty()) {
    return absl::InvalidArgumentError("no ANN shard addresses");
  }
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the shard deadline must be > 0, got ", absl::FormatDuration(options.deadline)));
  }
  // Reconnection attempts 100 ms to 1 s apart (gRPC's default backoff
  // grows to 120 s, which would keep a restarted shard out for minutes).
  // The minimum stays gRPC's: it is also how long one connection attempt
  // may take.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  std::vector<std::unique_ptr<AnnShardService::StubInterface>> stubs;
  for (size_t i = 0; i < options.addresses.size(); ++i) {
    if (options.addresses[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("ANN shard ", i, "'s address is empty"));
    }
    // A channel of its own per shard: distinct arguments keep gRPC from
    // sharing one subchannel between two shards of the same address.
    grpc::ChannelArguments shard_args = args;
    shard_args.SetInt("recsys.ann_shard", static_cast<int>(i));
    std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
        options.addresses[i], grpc::InsecureChannelCredentials(), shard_args);
    channel->GetState(/*try_to_connect=*/true);  // not on the first request's time
    stubs.push_back(AnnShardService::NewStub(channel));
  }
  return std::make_unique<AnnShardsClient>(std::move(stubs), options);
}

AnnShardsClient::AnnShardsClient(
    std::vector<std::unique_ptr<AnnShardService::StubInterface>> stubs, const Options& options)
    : stubs_(std::move(stubs)), options_(options) {}

AnnShardsClient::Result AnnShardsClient::Search(absl::Span<const float> query, int k,
                                                const std::string& version, int64_t total_rows,
                                                Clock::time_point deadline) const {
  const int num_shards = static_cast<int>(stubs_.size());
  ShardSearchRequest request;
  request.mutable_query()->Add(query.begin(), query.end());
  request.set_k(k);
  request.set_model_version(version);
  deadline = std::min(deadline, Clock::now() + absl::ToChronoMilliseconds(options_.deadline));

  // One call per shard on this search's own completion queue; the tag of
  // shard i's answer is `&calls[i]`.
  struct Call {
    grpc::ClientContext context;
    ShardSearchResponse response;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReaderInterface<ShardSearchResponse>> reader;
  };
  std::vector<Call> calls(num_shards);
  grpc::CompletionQueue queue;
  for (int i = 0; i < num_shards; ++i) {
    Call& call = calls[i];
    call.context.set_deadline(deadline);
    call.reader = stubs_[i]->PrepareAsyncSearch(&call.context, request, &queue);
    call.reader->StartCall();
    call.reader->Finish(&call.response, &call.status, &call);
  }
  // Every call ends by its deadline (gRPC fails it then), so this waits at
  // most until `deadline`.
  for (int done = 0; done < num_shards; ++done) {
    void* tag = nullptr;
    bool ok = false;
    if (!queue.Next(&tag, &ok)) break;
  }
  queue.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (queue.Next(&tag, &ok)) {
  }

  Result result;
  std::vector<std::vector<Neighbor>> lists;
  lists.reserve(num_shards);
  for (int i = 0; i < num_shards; ++i) {
    const Call& call = calls[i];
    const ShardSearchResponse& r = call.response;
    if (!call.status.ok()) {
      NoteMissing(i, OutcomeOf(call.status),
                  absl::StrCat("answered ", call.status.error_code(), ": ",
                               call.status.error_message()));
      ++result.missing;
      continue;
    }
    if (r.model_version() != version) {
      NoteMissing(i, "other_version",
                  absl::StrCat("answered for version ", r.model_version(), ", not ", version));
      ++result.missing;
      continue;
    }
    if (r.shard_index() != i || r.num_shards() != num_shards) {
      NoteMissing(i, "other_shard",
                  absl::StrCat("answered as shard ", r.shard_index(), " of ", r.num_shards()));
      ++result.missing;
      continue;
    }
    const bool rows_valid =
        r.rows_size() == r.scores_size() && r.rows_size() <= k &&
        std::all_of(r.rows().begin(), r.rows().end(), [&](int64_t row) {
          return row >= 0 && row < total_rows && row % num_shards == i;
        });
    if (!rows_valid) {
      NoteMissing(i, "bad_answer", "answered rows that are not its own");
      ++result.missing;
      continue;
    }
    if (options_.metrics != nullptr) options_.metrics->RecordShardCall(i, "ok");
    std::vector<Neighbor>& list = lists.emplace_back(r.rows_size());
    for (int j = 0; j < r.rows_size(); ++j) list[j] = Neighbor{r.rows(j), r.scores(j)};
  }
  result.neighbors = MergeNeighbors(lists, k);
  return result;
}

void AnnShardsClient::NoteMissing(int shard, const char* outcome,
                                  const std::string& detail) const {
  if (options_.metrics != nullptr) options_.metrics->RecordShardCall(shard, outcome);
  int64_t suppressed = 0;
  if (missing_log_.Allow(&suppressed)) {
    spdlog::warn("ANN shard {} ({}) left out: {} ({} more shards left out since the last line)",
                 shard,
                 shard < static_cast<int>(options_.addresses.size()) ? options_.addresses[shard]
                                                                      : "",
                 detail,
                 suppressed);
  }
}

}  // namespace recsys
