// The ranking service's model as served: one request (a user with its
// watches and `--candidates` candidates to score) at a time on one thread,
// through `RankingModel::Logits` (the service's `PredictWatchSeconds` is its
// exp: query and candidate features, embedding look-ups, quantile
// normalisation, the tower). The model has random weights of the paper's
// size (32-d video and 8-d channel embeddings, a 1024-512-256 ReLU tower to
// one logit), written as a bundle under --tmp_dir and loaded by the serving
// code; the bundle is removed when the model is loaded.
//
//   bazel build //benchmarks:ranking_benchmark
//   bazel-bin/benchmarks/ranking_benchmark --requests=300
//
// It prints p50 / p99 / mean milliseconds of four steps, run in turn on each
// request (interleaved, so that load from other processes on these shared
// 2-core machines falls on all of them alike):
//  - the whole request (`Logits`);
//  - its feature rows alone (`BuildInputs`);
//  - the unsplit tower alone: `LoadMlp` of the same bundle run over the rows
//    `BuildInputs` returned (it multiplies the request's columns of the first
//    layer once per candidate, which `Logits` does once per request);
//  - single-thread cblas_sgemm 512x1024x1024, the compute ceiling.
// Each step's dense FLOPs per request (2 * in * out per layer and candidate;
// bias, ReLU and look-ups not counted) divided by its mean latency are its
// GFLOP/s, also given as a share of sgemm's.

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "benchmarks/benchmark_util.h"
#include "common/serving/bundle.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"
#include "common/serving/dense.h"
#include "common/features/features.h"
#include "common/serving/models.h"
#include "common/base/status_macros.h"
#include "common/features/vocabulary.h"
#include "proto/recsys.pb.h"

ABSL_FLAG(int, requests, 300, "Timed requests per step, one at a time.");
ABSL_FLAG(int, warmup_requests, 30, "Untimed requests per step first.");
ABSL_FLAG(int, candidates, 500, "Candidates scored per request.");
ABSL_FLAG(std::vector<std::string>, hidden,
          std::vector<std::string>({"1024", "512", "256"}),
          "Hidden ReLU layers of the tower, input side first.");
ABSL_FLAG(int, watches, 50, "Watches per request.");
ABSL_FLAG(uint64_t, seed, 42, "Seed of the weights and requests.");
ABSL_FLAG(std::string, tmp_dir, "/tmp",
          "Where the random bundle is written (removed after loading).");

namespace recsys {
namespace {

// The paper's ranking sizes (section 4) over a catalogue of 100,000 videos
// (as in user_tower_benchmark) with one main topic each; embedding sizes by
// the trainer's default rule (3 x log2 of the cardinality).
constexpr int kVideos = 100000, kChannels = 5000, kTopics = 100, kLanguages = 8;
constexpr int kQuantileBoundaries = 100;
constexpr double kDimPerLog2 = 3;
const int kVideoDim = EmbeddingDimForCardinality(kVideos, kDimPerLog2);
const int kChannelDim = EmbeddingDimForCardinality(kChannels, kDimPerLog2);
const int kLanguageDim = EmbeddingDimForCardinality(kLanguages, kDimPerLog2);
constexpr int64_t kNow = 1'700'000'000;

struct BenchmarkOptions {
  int requests = 0;
  int warmup_requests = 0;
  int candidates = 0;
  std::vector<int> hidden;
  int watches = 0;
  uint64_t seed = 0;
  std::string tmp_dir;
};

struct Request {
  UserContext context;
  std::vector<Candidate> candidates;
};

// Layer widths of the tower, input first.
std::vector<int> TowerWidths(const BenchmarkOptions& options) {
  std::vector<int> widths = {3 * kVideoDim + kChannelDim + 2 * kLanguageDim +
                             NormalizedWidth(/*use_powers=*/true)};
  widths.insert(widths.end(), options.hidden.begin(), options.hidden.end());
  widths.push_back(1);
  return widths;
}

// Writes a bundle of random weights, catalogue and quantiles to `*writer`.
absl::Status WriteRandomBundle(const BenchmarkOptions& options,
                               std::mt19937_64* rng, BundleWriter* writer) {
  bundle::RankingModelSpec* spec = writer->manifest()->mutable_ranking();
  spec->set_video_embedding_dim(kVideoDim);
  spec->set_channel_embedding_dim(kChannelDim);
  spec->set_language_embedding_dim(kLanguageDim);
  for (int h : options.hidden) spec->add_hidden_layers(h);
  spec->set_max_watches(50);
  spec->set_use_powers(true);
  spec->set_objective("watch_time");
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (int f = 0; f < kNumRankingContinuous; ++f) {
    std::vector<float> boundaries(kQuantileBoundaries);
    for (float& b : boundaries) b = 400.0f * uniform(*rng);
    std::sort(boundaries.begin(), boundaries.end());
    bundle::QuantileSpec* q = spec->add_quantiles();
    q->set_feature(RankingContinuousName(f));
    for (float b : boundaries) q->add_boundaries(b);
  }
  std::vector<VideoRecord> videos(kVideos);
  std::vector<float> popularity(kVideos);
  for (int i = 0; i < kVideos; ++i) {
    videos[i].video_id = absl::StrCat("v", i);
    videos[i].channel_id = absl::StrCat("c", (*rng)() % kChannels);
    videos[i].language = absl::StrCat("l", (*rng)() % kLanguages);
    videos[i].topics = absl::StrCat("t", (*rng)() % kTopics);
    videos[i].upload_time_s = kNow - (*rng)() % (1000 * kSecondsPerDay);
    videos[i].duration_s = 30 + (*rng)() % 3600;
    popularity[i] = (*rng)() % 10000;
  }
  RECSYS_RETURN_IF_ERROR(
      writer->AddVocabulary(kRankingVideoVocab, NumberedVocabulary("v", kVideos)));
  RECSYS_RETURN_IF_ERROR(
      writer->AddVocabulary(kChannelVocab, NumberedVocabulary("c", kChannels)));
  RECSYS_RETURN_IF_ERROR(
      writer->AddVocabulary(kLanguageVocab, NumberedVocabulary("l", kLanguages)));
  RECSYS_RETURN_IF_ERROR(writer->AddVideos(videos));
  RECSYS_RETURN_IF_ERROR(
      writer->AddTensor(kCatalogPopularity, {kVideos}, popularity.data()));
  auto add = [&](const std::string& name, std::vector<int64_t> shape,
                 float scale) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return writer->AddTensor(name, shape, RandomFloats(n, scale, rng).data());
  };
  RECSYS_RETURN_IF_ERROR(
      add(kRankingVideoEmbedding, {kVideos, kVideoDim}, 0.1f));
  RECSYS_RETURN_IF_ERROR(
      add(kRankingChannelEmbedding, {kChannels, kChannelDim}, 0.1f));
  RECSYS_RETURN_IF_ERROR(
      add(kRankingLanguageEmbedding, {kLanguages, kLanguageDim}, 0.1f));
  const std::vector<int> widths = TowerWidths(options);
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(widths[i]));
    RECSYS_RETURN_IF_ERROR(add(LayerTensorName(kRankingTower, i, "weight"),
                               {widths[i + 1], widths[i]}, scale));
    RECSYS_RETURN_IF_ERROR(add(LayerTensorName(kRankingTower, i, "bias"),
                               {widths[i + 1]}, scale));
  }
  return writer->Flush();
}

// Requests of `options.watches` watches and `options.candidates` distinct
// candidates, all random in-vocabulary videos; candidates carry a retrieval
// score, three in four from the DNN and the rest from the popular source.
std::vector<Request> RandomRequests(const BenchmarkOptions& options,
                                    std::mt19937_64* rng) {
  std::uniform_int_distribution<int> video(0, kVideos - 1);
  std::normal_distribution<float> score(0.0f, 3.0f);
  std::vector<Request> out(options.requests);
  for (Request& r : out) {
    r.context.set_request_time_s(kNow);
    r.context.mutable_demographics()->set_language(
        absl::StrCat("l", (*rng)() % kLanguages));
    for (int i = 0; i < options.watches; ++i) {
      Watch* w = r.context.add_watches();
      w->set_video_id(absl::StrCat("v", video(*rng)));
      w->set_time_s(kNow - (options.watches - i) * 3600);
    }
    const int first = video(*rng);  // consecutive IDs: distinct
    for (int i = 0; i < options.candidates; ++i) {
      Candidate& c = r.candidates.emplace_back();
      c.set_video_id(absl::StrCat("v", (first + i) % kVideos));
      c.set_retrieval_score(score(*rng));
      c.set_source(i % 4 == 3 ? SOURCE_POPULAR : SOURCE_DNN);
    }
  }
  return out;
}

struct Latency {
  double p50_ms = 0, p99_ms = 0, mean_ms = 0;
};

// Runs every step on request `i` in turn, then on request `i + 1`, ...:
// first the warm-up rounds, then the timed ones. Interleaved so that load
// from other processes on a shared machine falls on all steps alike.
std::vector<Latency> TimeSteps(
    const BenchmarkOptions& options,
    const std::vector<std::function<void(int)>>& steps) {
  for (int i = 0; i < options.warmup_requests; ++i) {
    for (const auto& step : steps) step(i % options.requests);
  }
  std::vector<std::vector<double>> ms(steps.size(),
                                      std::vector<double>(options.requests));
  for (int i = 0; i < options.requests; ++i) {
    for (size_t s = 0; s < steps.size(); ++s) {
      const auto start = std::chrono::steady_clock::now();
      steps[s](i);
      ms[s][i] = 1e3 * Seconds(std::chrono::steady_clock::now() - start);
    }
  }
  std::vector<Latency> out(steps.size());
  for (size_t s = 0; s < steps.size(); ++s) {
    for (double x : ms[s]) out[s].mean_ms += x / ms[s].size();
    std::sort(ms[s].begin(), ms[s].end());
    out[s].p50_ms = Percentile(ms[s], 0.50);
    out[s].p99_ms = Percentile(ms[s], 0.99);
  }
  return out;
}

// One table row; `flops` <= 0 leaves the rate columns empty.
void PrintRow(const std::string& step, const Latency& l, double flops,
              double sgemm_gflops) {
  std::string rate = " | | ";
  if (flops > 0) {
    const double gflops = flops * 1e-6 / l.mean_ms;
    rate = absl::StrFormat("%.1f | %.1f | %.0f%%", flops * 1e-6, gflops,
                           100 * gflops / sgemm_gflops);
  }
  std::printf("| %s | %.3f | %.3f | %.3f | %s |\n", step.c_str(), l.p50_ms,
              l.p99_ms, l.mean_ms, rate.c_str());
}

absl::Status Run(const BenchmarkOptions& options) {
  std::mt19937_64 rng(options.seed);
  spdlog::info("writing and loading the model ...");
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<BundleWriter> writer,
                          BundleWriter::Create(options.tmp_dir));
  RECSYS_RETURN_IF_ERROR(WriteRandomBundle(options, &rng, writer.get()));
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<Bundle> bundle,
                          Bundle::Open(writer->dir()));
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<RankingModel> model,
                          RankingModel::Load(*bundle));
  RECSYS_ASSIGN_OR_RETURN(Mlp tower, LoadMlp(*bundle, kRankingTower));
  writer.reset();  // Removes the uncommitted bundle.
  const std::vector<Request> requests = RandomRequests(options, &rng);

  // Dense FLOPs per request: unsplit, and as `Logits` splits the first
  // layer (its request-only columns once per request).
  const std::vector<int> widths = TowerWidths(options);
  double unsplit_flops = 0;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    unsplit_flops += 2.0 * widths[i] * widths[i + 1] * options.candidates;
  }
  const double request_only = 2.0 * (2 * kVideoDim + kLanguageDim) * widths[1];
  const double split_flops =
      unsplit_flops - request_only * options.candidates + request_only;

  // The compute ceiling: single-thread sgemm C[512, 1024] = A[512, 1024] *
  // B[1024, 1024], as benchmarks/user_tower_benchmark.cc measures it.
  constexpr int kM = 512, kK = 1024, kN = 1024;
  const double sgemm_flops = 2.0 * kM * kN * kK;
  const std::vector<float> a = RandomFloats(int64_t{kM} * kK, 1.0f, &rng);
  const std::vector<float> b = RandomFloats(int64_t{kK} * kN, 1.0f, &rng);
  std::vector<float> c(size_t{kM} * kN);

  // The calls cross into other translation units, so none is optimised
  // away although their results are dropped.
  std::vector<std::vector<float>> rows(requests.size());
  const std::vector<Latency> latency = TimeSteps(
      options,
      {[&](int i) {
         model->Logits(requests[i].context, requests[i].candidates, kNow);
       },
       [&](int i) {
         rows[i] = model->BuildInputs(requests[i].context,
                                      requests[i].candidates, kNow);
       },
       [&](int i) { tower.Forward(rows[i].data(), options.candidates); },
       [&](int) {
         cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kM, kN, kK,
                     1.0f, a.data(), kK, b.data(), kN, 0.0f, c.data(), kN);
       }});
  const double sgemm_gflops = sgemm_flops * 1e-6 / latency[3].mean_ms;

  std::printf(
      "# ranking, one request at a time on one thread: %d candidates, %d "
      "watches; tower %s; %d videos, %d channels, %d languages, %d-d video, "
      "%d-d channel and %d-d language embeddings, %d quantile tables of %d "
      "boundaries; %d timed rounds of "
      "the steps below, interleaved, after %d warm-up\n",
      options.candidates, options.watches, absl::StrJoin(widths, "-").c_str(),
      kVideos, kChannels, kLanguages, kVideoDim, kChannelDim, kLanguageDim,
      kNumRankingContinuous,
      kQuantileBoundaries, options.requests, options.warmup_requests);
  std::printf("# sgemm 512x1024x1024, 1 thread: %.1f GFLOP/s (OpenBLAS %s)\n\n",
              sgemm_gflops, openblas_get_corename());
  std::printf(
      "| step | p50 ms | p99 ms | mean ms | MFLOP/request | GFLOP/s (FLOPs / "
      "mean) | %% of sgemm |\n|---|---|---|---|---|---|---|\n");
  PrintRow("request (`Logits`)", latency[0], split_flops, sgemm_gflops);
  PrintRow("features only (`BuildInputs`)", latency[1], 0, sgemm_gflops);
  PrintRow("unsplit tower only (`Mlp::Forward` on those rows)", latency[2],
           unsplit_flops, sgemm_gflops);
  PrintRow("sgemm 512x1024x1024 (reference)", latency[3], sgemm_flops,
           sgemm_gflops);
  return absl::OkStatus();
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  // OpenBLAS reads its kernel choice once, when it loads: re-exec first.
  recsys::ReexecWithTunedCpuEnvironment(argv);
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Measures the ranking model for one request at a time on one thread "
      "(RankingModel::Logits: features, embeddings, quantile normalisation, "
      "dense tower) with random weights of the paper's size (100,000 videos, "
      "5,000 channels and 8 languages with embedding widths by the trainer's "
      "3 x log2(cardinality) rule, 1024-512-256 tower): p50/p99/mean "
      "milliseconds of the "
      "request, of its feature rows alone and of the tower alone, and the "
      "tower's GFLOP/s next to single-thread sgemm GFLOP/s measured in the "
      "same run.\n\n"
      "  ranking_benchmark --requests=300 --candidates=500 "
      "--hidden=1024,512,256");
  recsys::SetBlasThreads(1);

  recsys::BenchmarkOptions options;
  options.requests = absl::GetFlag(FLAGS_requests);
  options.warmup_requests = absl::GetFlag(FLAGS_warmup_requests);
  options.candidates = absl::GetFlag(FLAGS_candidates);
  options.watches = absl::GetFlag(FLAGS_watches);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.tmp_dir = absl::GetFlag(FLAGS_tmp_dir);
  bool hidden_ok = true;
  for (const std::string& h : absl::GetFlag(FLAGS_hidden)) {
    int width = 0;
    hidden_ok &= absl::SimpleAtoi(h, &width) && width > 0;
    options.hidden.push_back(width);
  }
  if (!hidden_ok || options.requests <= 0 || options.warmup_requests < 0 ||
      options.candidates <= 0 || options.candidates > 100000 ||
      options.watches < 0) {
    spdlog::error(
        "ranking_benchmark: --requests > 0, --candidates in [1, "
        "100000], --warmup_requests and --watches >= 0, --hidden "
        "positive integers separated by commas");
    return 2;
  }
  if (absl::Status s = recsys::Run(options); !s.ok()) {
    spdlog::error("ranking_benchmark: {}", s.ToString());
    return 1;
  }
  return 0;
}
