// serving_bound: the raw-parts bound of one bundle's serving path, and the
// requests benchmarks/serving_benchmark.sh sends.
//
// For a bundle (trained or made by make_synthetic_bundle) it measures, on
// one thread:
//  - this machine's sgemm rate (benchmark_util's SgemmGflops, 512x1024x1024);
//  - the dense FLOPs of one request: the user tower (batch 1) and the
//    ranking tower for --num_candidates rows (its first layer's request
//    columns once, as RankingModel computes them), as time at that rate;
//  - the ANN search of this bundle's own index for --num_candidates
//    neighbours (the candidate server's --nprobe), mean and p50/p99 over
//    the requests' user vectors;
//  - for comparison, the serving code's own times for the same work
//    (CandidateModel::AnnQuery, RankingModel::Logits).
// It prints them as "key value" lines (the script reads them) and writes
// the requests as ghz data files (proto3 JSON arrays): recommend.json
// (RecommendRequest), generate.json (GenerateCandidatesRequest, the same
// contexts and --num_candidates) and rank.json (RankRequest with the --num_candidates videos the ANN index
// returns for the user, as the candidate server would send).
//
//   bazel build -c opt //benchmarks:serving_bound
//   bazel-bin/benchmarks/serving_bound --bundles=bundles --logs=data/world --out_dir=/tmp/sb

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "benchmarks/benchmark_util.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"
#include "common/base/status_macros.h"
#include "common/logs/logs.h"
#include "common/logs/user_context.h"
#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/serving/dense.h"
#include "common/serving/models.h"
#include "common/serving/stage_clock.h"
#include "proto/recsys.pb.h"

ABSL_FLAG(std::string, bundles, "bundles",
          "A bundle version directory, or a root whose newest version is used.");
ABSL_FLAG(std::string, logs, "",
          "World or imported logs: one request per user (the context after their last "
          "watch). Empty: synthetic users, each --watches random videos of the bundle.");
ABSL_FLAG(int, requests, 200, "Distinct requests (users) written and timed.");
ABSL_FLAG(int, watches, 50, "Synthetic users' watches (without --logs).");
ABSL_FLAG(int, num_candidates, 200,
          "Candidates per request: the ANN's k and the ranking batch (the candidate "
          "server's --num_candidates).");
ABSL_FLAG(int, num_results, 20, "num_results of the written requests.");
ABSL_FLAG(int, nprobe, 0,
          "IVF lists visited per search (the candidate server's --nprobe; 0: the bundle's, "
          "16 when it does not say).");
ABSL_FLAG(int, rounds, 5, "Timed passes over the requests (after one untimed pass).");
ABSL_FLAG(std::string, out_dir, "", "Where recommend.json and rank.json go; empty: not written.");
ABSL_FLAG(uint64_t, seed, 42, "Seed of the synthetic users.");

namespace recsys {
namespace {

using Clock = std::chrono::steady_clock;

// Dense FLOPs of `mlp` for `batch` rows (2 * in * out per layer and row),
// with the first `shared_columns` inputs of the first layer computed once.
double MlpFlops(const Mlp& mlp, int batch, int shared_columns) {
  double flops = 0;
  for (size_t i = 0; i < mlp.layers().size(); ++i) {
    const DenseLayer& l = mlp.layers()[i];
    if (i == 0) {
      flops += 2.0 * batch * (l.in - shared_columns) * l.out + 2.0 * shared_columns * l.out;
    } else {
      flops += 2.0 * batch * l.in * l.out;
    }
  }
  return flops;
}

absl::StatusOr<std::vector<UserContext>> Contexts(const Bundle& bundle,
                                                  const CandidateModel& model) {
  const int n = absl::GetFlag(FLAGS_requests);
  std::vector<UserContext> contexts;
  const std::string logs_dir = absl::GetFlag(FLAGS_logs);
  if (!logs_dir.empty()) {
    RECSYS_ASSIGN_OR_RETURN(Logs logs, ReadLogs(logs_dir));
    contexts = UserHistories::Build(logs).ContextsAfterLastWatch(n);
    if (contexts.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(logs_dir, " has no user with a watch"));
    }
    return contexts;
  }
  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));
  const int64_t videos = model.videos().size();
  if (videos <= 0) return absl::InvalidArgumentError("the bundle's video vocabulary is empty");
  const int64_t now_s = bundle.manifest().created_unix_s();
  std::uniform_int_distribution<int64_t> pick(0, videos - 1);
  for (int u = 0; u < n; ++u) {
    UserContext& c = contexts.emplace_back();
    c.set_request_time_s(now_s);
    const int w = absl::GetFlag(FLAGS_watches);
    for (int i = 0; i < w; ++i) {
      Watch* e = c.add_watches();
      e->set_video_id(model.videos().value(static_cast<int32_t>(pick(rng))));
      e->set_time_s(now_s - 60 * (w - i));
      e->set_watch_seconds(120);
    }
  }
  return contexts;
}

absl::Status WriteJsonArray(const std::string& path,
                            const std::vector<const google::protobuf::Message*>& messages) {
  std::ofstream out(path);
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  out << "[\n";
  for (size_t i = 0; i < messages.size(); ++i) {
    std::string json;
    auto status = google::protobuf::util::MessageToJsonString(*messages[i], &json);
    if (!status.ok()) return absl::InternalError(std::string(status.ToString()));
    out << json << (i + 1 < messages.size() ? ",\n" : "\n");
  }
  out << "]\n";
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}

absl::Status Run() {
  SetBlasThreads(1);
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<Bundle> bundle,
                          Bundle::OpenVersionOrNewest(absl::GetFlag(FLAGS_bundles)));
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<CandidateModel> candidate, CandidateModel::Load(*bundle));
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<RankingModel> ranking, RankingModel::Load(*bundle));
  RECSYS_ASSIGN_OR_RETURN(Mlp user_tower, LoadMlp(*bundle, kCandidateTower));
  RECSYS_ASSIGN_OR_RETURN(Mlp ranking_tower, LoadMlp(*bundle, kRankingTower));
  AnnIndex::Options ann_options;
  ann_options.nprobe = ServingNprobe(bundle->manifest(), absl::GetFlag(FLAGS_nprobe));
  ann_options.num_threads = 1;
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<AnnIndex> index,
                          AnnIndex::Load(bundle->Path(bundle->manifest().ann().file()), ann_options));
  RECSYS_ASSIGN_OR_RETURN(std::vector<UserContext> contexts, Contexts(*bundle, *candidate));

  const int k = absl::GetFlag(FLAGS_num_candidates);
  const int rounds = absl::GetFlag(FLAGS_rounds);
  // The user vectors, and the ANN candidates of each (as the Rank requests).
  std::vector<std::vector<float>> queries;
  std::vector<RankRequest> rank_requests(contexts.size());
  std::vector<RecommendRequest> recommend_requests(contexts.size());
  std::vector<GenerateCandidatesRequest> generate_requests(contexts.size());
  for (size_t i = 0; i < contexts.size(); ++i) {
    queries.push_back(candidate->AnnQuery(contexts[i]));
    RECSYS_ASSIGN_OR_RETURN(std::vector<Neighbor> found, index->Search(queries[i].data(), k));
    RankRequest& r = rank_requests[i];
    *r.mutable_context() = contexts[i];
    r.mutable_context()->clear_searches();  // ranking does not read them
    for (const Neighbor& n : found) {
      Candidate* c = r.add_candidates();
      c->set_video_id(candidate->videos().value(static_cast<int32_t>(n.row)));
      c->set_retrieval_score(n.score);
      c->set_source(SOURCE_DNN);
    }
    r.set_num_results(absl::GetFlag(FLAGS_num_results));
    *recommend_requests[i].mutable_context() = contexts[i];
    recommend_requests[i].set_num_results(absl::GetFlag(FLAGS_num_results));
    recommend_requests[i].set_num_candidates(k);
    *generate_requests[i].mutable_context() = contexts[i];
    generate_requests[i].set_num_candidates(k);
  }

  // Times `fn(i)` over every request, `rounds` times after one warm pass;
  // per-call microseconds, sorted.
  auto time_each = [&](auto fn) {
    std::vector<double> us;
    for (int round = -1; round < rounds; ++round) {
      for (size_t i = 0; i < contexts.size(); ++i) {
        const Clock::time_point t0 = Clock::now();
        fn(i);
        if (round >= 0) us.push_back(Seconds(Clock::now() - t0) * 1e6);
      }
    }
    std::sort(us.begin(), us.end());
    return us;
  };
  const std::vector<double> ann_us = time_each([&](size_t i) {
    auto found = index->Search(queries[i].data(), k);
    if (!found.ok() || found->empty()) std::abort();
  });
  const std::vector<double> tower_us = time_each([&](size_t i) {
    if (candidate->AnnQuery(contexts[i]).empty()) std::abort();
  });
  std::vector<std::vector<Candidate>> candidates(contexts.size());
  for (size_t i = 0; i < contexts.size(); ++i) {
    candidates[i].assign(rank_requests[i].candidates().begin(), rank_requests[i].candidates().end());
  }
  // The served ranking pass, and its split into feature building and the
  // tower (the model's own stage marks).
  double features_us = 0, tower_stage_us = 0;
  size_t rank_calls = 0;  // the first round warms up and is not counted
  const std::vector<double> rank_us = time_each([&](size_t i) {
    StageClock clock;
    if (ranking->Logits(rank_requests[i].context(), candidates[i],
                        rank_requests[i].context().request_time_s(), &clock)
            .empty()) {
      std::abort();
    }
    if (rank_calls++ < contexts.size()) return;
    for (int s = 0; s < clock.times().size(); ++s) {
      const absl::string_view stage = clock.times()[s].first;
      const double us = absl::ToDoubleMicroseconds(clock.times()[s].second);
      if (stage == "features") features_us += us;
      if (stage == "tower") tower_stage_us += us;
    }
  });
  const double gflops = SgemmGflops(1);

  const bundle::RankingModelSpec& spec = bundle->manifest().ranking();
  const int user_columns = 2 * spec.video_embedding_dim() + spec.language_embedding_dim();
  double mean_candidates = 0;
  for (const auto& c : candidates) mean_candidates += c.size();
  mean_candidates /= candidates.size();
  const double user_flops = MlpFlops(user_tower, 1, 0);
  const double rank_flops =
      MlpFlops(ranking_tower, static_cast<int>(mean_candidates + 0.5), user_columns);

  std::printf("bundle %s\n", bundle->dir().c_str());
  std::printf("videos %lld\n", static_cast<long long>(index->size()));
  std::printf("index %s\n", index->factory().c_str());
  std::printf("nprobe %d\n", ann_options.nprobe);
  std::printf("requests %zu\n", contexts.size());
  std::printf("candidates %.1f\n", mean_candidates);
  std::printf("sgemm_gflops %.1f\n", gflops);
  std::printf("user_tower_mflop %.3f\n", user_flops / 1e6);
  std::printf("ranking_tower_mflop %.3f\n", rank_flops / 1e6);
  std::printf("bound_user_tower_us %.1f\n", user_flops / (gflops * 1e3));
  std::printf("bound_ranking_us %.1f\n", rank_flops / (gflops * 1e3));
  std::printf("ann_mean_us %.1f\n", Mean(ann_us));
  std::printf("ann_p50_us %.1f\n", Percentile(ann_us, 0.5));
  std::printf("ann_p99_us %.1f\n", Percentile(ann_us, 0.99));
  std::printf("served_user_tower_mean_us %.1f\n", Mean(tower_us));
  std::printf("served_ranking_mean_us %.1f\n", Mean(rank_us));
  std::printf("served_ranking_features_mean_us %.1f\n", features_us / rank_us.size());
  std::printf("served_ranking_tower_mean_us %.1f\n", tower_stage_us / rank_us.size());

  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  if (!out_dir.empty()) {
    std::vector<const google::protobuf::Message*> recommend, generate, rank;
    for (const auto& r : recommend_requests) recommend.push_back(&r);
    for (const auto& r : generate_requests) generate.push_back(&r);
    for (const auto& r : rank_requests) rank.push_back(&r);
    RECSYS_RETURN_IF_ERROR(WriteJsonArray(out_dir + "/recommend.json", recommend));
    RECSYS_RETURN_IF_ERROR(WriteJsonArray(out_dir + "/generate.json", generate));
    RECSYS_RETURN_IF_ERROR(WriteJsonArray(out_dir + "/rank.json", rank));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  recsys::ReexecWithTunedCpuEnvironment(argv);
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "The raw-parts bound of a bundle's serving path on one thread: this machine's "
      "sgemm rate, the user and ranking towers' FLOPs per request at that rate, the "
      "ANN search of the bundle's own index; the serving code's own times next to "
      "them; and the requests of benchmarks/serving_benchmark.sh as ghz data files.\n\n"
      "  serving_bound --bundles=bundles --logs=data/world --out_dir=/tmp/sb\n"
      "  serving_bound --bundles=/tmp/synth/heavy --num_candidates=500 --nprobe=32");
  if (absl::GetFlag(FLAGS_requests) <= 0 || absl::GetFlag(FLAGS_num_candidates) <= 0 ||
      absl::GetFlag(FLAGS_num_results) <= 0 || absl::GetFlag(FLAGS_nprobe) < 0 ||
      absl::GetFlag(FLAGS_rounds) <= 0 || absl::GetFlag(FLAGS_watches) <= 0) {
    spdlog::error(
        "serving_bound: --requests, --num_candidates, --num_results, --rounds and --watches "
        "must be > 0, --nprobe >= 0");
    return 2;
  }
  const absl::Status status = recsys::Run();
  if (!status.ok()) {
    spdlog::error("serving_bound: {}", std::string(status.ToString()));
    return 1;
  }
  return 0;
}
