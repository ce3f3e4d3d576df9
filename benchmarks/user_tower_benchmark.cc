// The candidate service's user tower as served: one request (batch of 1) at
// a time on one thread, through `CandidateModel::AnnQuery` (what
// common/serving/retriever.cc calls: feature extraction, embedding bag
// means, the tower's dense layers). The model has random weights, written
// as a bundle under --tmp_dir and loaded by the serving code; the bundle is
// removed when the model is loaded. Two shapes: "small" (the trainer's
// defaults) and "paper" (the paper's 256-d embeddings and 1024-512-256
// ReLU tower).
//
//   bazel build -c opt //benchmarks:user_tower_benchmark
//   bazel-bin/benchmarks/user_tower_benchmark --requests=2000
//
// For each shape it prints p50 / p99 / mean microseconds of the whole
// request and of its two halves (`Features`, `UserVector`), and the tower's
// dense FLOPs per request (2 * in * out per layer; bag means, bias and ReLU
// not counted) divided by the mean latency. The machines are shared and
// noisy, so the same run measures single-thread sgemm 512x1024x1024 GFLOP/s
// as the compute ceiling to compare against.

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "benchmarks/benchmark_util.h"
#include "common/serving/bundle.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"
#include "common/serving/dense.h"
#include "common/serving/models.h"
#include "common/base/status_macros.h"
#include "common/features/vocabulary.h"
#include "proto/recsys.pb.h"

ABSL_FLAG(int, requests, 2000, "Timed requests per shape, one at a time.");
ABSL_FLAG(int, warmup_requests, 200, "Untimed requests per shape first.");
ABSL_FLAG(int, num_videos, 100000, "Videos in the vocabulary.");
ABSL_FLAG(int, num_tokens, 20000, "Search tokens in the vocabulary.");
ABSL_FLAG(int, watches, 50, "Watches per request.");
ABSL_FLAG(int, searches, 20, "Search queries (of 3 words) per request.");
ABSL_FLAG(uint64_t, seed, 42, "Seed of the weights and requests.");
ABSL_FLAG(std::string, tmp_dir, "/tmp",
          "Where the random bundles are written (removed after loading).");

namespace recsys {
namespace {

// The trainer's defaults for the small categorical features.
constexpr int kRegions = 50, kRegionDim = 8, kDevices = 5, kDeviceDim = 4;
constexpr int kWordsPerQuery = 3;

struct TowerShape {
  std::string name;
  int embedding_dim = 0;
  std::vector<int> hidden;
  int output_dim = 0;
};

struct BenchmarkOptions {
  int requests = 0;
  int warmup_requests = 0;
  int num_videos = 0;
  int num_tokens = 0;
  int watches = 0;
  int searches = 0;
  uint64_t seed = 0;
  std::string tmp_dir;
};

// Layer widths of the tower, input first.
std::vector<int> TowerWidths(const TowerShape& shape) {
  std::vector<int> widths = {2 * shape.embedding_dim + kRegionDim + kDeviceDim +
                             kNumCandidateDense};
  widths.insert(widths.end(), shape.hidden.begin(), shape.hidden.end());
  widths.push_back(shape.output_dim);
  return widths;
}

// Writes a bundle of random weights for `shape` and loads it as served.
absl::StatusOr<std::unique_ptr<CandidateModel>> RandomModel(
    const TowerShape& shape, const BenchmarkOptions& options,
    std::mt19937_64* rng) {
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<BundleWriter> writer,
                          BundleWriter::Create(options.tmp_dir));
  bundle::CandidateModelSpec* spec = writer->manifest()->mutable_candidate();
  spec->set_max_watches(50);
  spec->set_max_searches(50);
  spec->set_example_age_scale_days(30);
  spec->set_serving_example_age_days(0);
  RECSYS_RETURN_IF_ERROR(
      writer->AddVocabulary(kVideoVocab, NumberedVocabulary("v", options.num_videos)));
  RECSYS_RETURN_IF_ERROR(
      writer->AddVocabulary(kTokenVocab, NumberedVocabulary("w", options.num_tokens)));
  RECSYS_RETURN_IF_ERROR(
      writer->AddVocabulary(kRegionVocab, NumberedVocabulary("r", kRegions)));
  RECSYS_RETURN_IF_ERROR(
      writer->AddVocabulary(kDeviceVocab, NumberedVocabulary("d", kDevices)));
  auto add = [&](const std::string& name, std::vector<int64_t> tensor_shape,
                 float scale) {
    int64_t n = 1;
    for (int64_t d : tensor_shape) n *= d;
    return writer->AddTensor(name, tensor_shape,
                             RandomFloats(n, scale, rng).data());
  };
  const int d = shape.embedding_dim;
  RECSYS_RETURN_IF_ERROR(add(kWatchEmbedding, {options.num_videos, d}, 0.1f));
  RECSYS_RETURN_IF_ERROR(add(kTokenEmbedding, {options.num_tokens, d}, 0.1f));
  RECSYS_RETURN_IF_ERROR(add(kRegionEmbedding, {kRegions, kRegionDim}, 0.1f));
  RECSYS_RETURN_IF_ERROR(add(kDeviceEmbedding, {kDevices, kDeviceDim}, 0.1f));
  const std::vector<int> widths = TowerWidths(shape);
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(widths[i]));
    RECSYS_RETURN_IF_ERROR(add(LayerTensorName(kCandidateTower, i, "weight"),
                               {widths[i + 1], widths[i]}, scale));
    RECSYS_RETURN_IF_ERROR(add(LayerTensorName(kCandidateTower, i, "bias"),
                               {widths[i + 1]}, scale));
  }
  RECSYS_RETURN_IF_ERROR(
      add(kVideoOutputEmbedding, {options.num_videos, shape.output_dim}, 0.1f));
  RECSYS_RETURN_IF_ERROR(add(kVideoOutputBias, {options.num_videos}, 0.1f));
  RECSYS_RETURN_IF_ERROR(writer->Flush());
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<Bundle> bundle,
                          Bundle::Open(writer->dir()));
  return CandidateModel::Load(*bundle);
}  // `writer` removes the uncommitted bundle here.

// Requests with `options.watches` watches and `options.searches` searches of
// random in-vocabulary videos and words (their bigrams are out of the
// vocabulary: looked up, then dropped), and full demographics.
std::vector<UserContext> RandomRequests(int n, const BenchmarkOptions& options,
                                        std::mt19937_64* rng) {
  constexpr int64_t kNow = 1'700'000'000;
  std::uniform_int_distribution<int> video(0, options.num_videos - 1);
  std::uniform_int_distribution<int> word(0, options.num_tokens - 1);
  std::vector<UserContext> out(n);
  for (UserContext& c : out) {
    c.set_request_time_s(kNow);
    for (int i = 0; i < options.watches; ++i) {
      Watch* w = c.add_watches();
      w->set_video_id(absl::StrCat("v", video(*rng)));
      w->set_time_s(kNow - (options.watches - i) * 600);
    }
    for (int i = 0; i < options.searches; ++i) {
      SearchQuery* s = c.add_searches();
      std::vector<std::string> words;
      for (int j = 0; j < kWordsPerQuery; ++j) {
        words.push_back(absl::StrCat("w", word(*rng)));
      }
      s->set_query(absl::StrJoin(words, " "));
      s->set_time_s(kNow - (options.searches - i) * 900);
    }
    Demographics* d = c.mutable_demographics();
    d->set_region(absl::StrCat("r", video(*rng) % kRegions));
    d->set_device(absl::StrCat("d", video(*rng) % kDevices));
    d->set_age(18 + video(*rng) % 60);
    d->set_gender(video(*rng) % 2 ? GENDER_MALE : GENDER_FEMALE);
    d->set_logged_in(true);
  }
  return out;
}

struct Latency {
  double p50_us = 0, p99_us = 0, mean_us = 0;
};

// Nearest-rank percentile of sorted values, `p` in (0, 1].
// Runs `request(i)` for the warm-up and then the timed requests, one at a
// time.
template <typename Request>
Latency TimeRequests(const BenchmarkOptions& options, Request request) {
  for (int i = 0; i < options.warmup_requests; ++i) {
    request(i % options.requests);
  }
  std::vector<double> us(options.requests);
  for (int i = 0; i < options.requests; ++i) {
    const auto start = std::chrono::steady_clock::now();
    request(i);
    us[i] = 1e6 * Seconds(std::chrono::steady_clock::now() - start);
  }
  Latency latency;
  for (double x : us) latency.mean_us += x / us.size();
  std::sort(us.begin(), us.end());
  latency.p50_us = Percentile(us, 0.50);
  latency.p99_us = Percentile(us, 0.99);
  return latency;
}

// One table row; `flops` <= 0 leaves the GFLOP/s column empty.
void PrintRow(const std::string& shape_columns, const std::string& step,
              const Latency& l, double flops) {
  std::printf("| %s | %s | %.1f | %.1f | %.1f | %s |\n", shape_columns.c_str(),
              step.c_str(), l.p50_us, l.p99_us, l.mean_us,
              flops > 0
                  ? absl::StrFormat("%.2f", flops * 1e-3 / l.mean_us).c_str()
                  : "");
}

absl::Status MeasureShape(const TowerShape& shape,
                          const BenchmarkOptions& options,
                          const std::vector<UserContext>& requests,
                          std::mt19937_64* rng) {
  spdlog::info("writing and loading the {} model ...", shape.name);
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<CandidateModel> model,
                          RandomModel(shape, options, rng));
  const std::vector<int> widths = TowerWidths(shape);
  double flops = 0;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    flops += 2.0 * widths[i] * widths[i + 1];
  }
  // The calls cross into other translation units, so none is optimised
  // away although their results are dropped.
  const Latency request =
      TimeRequests(options, [&](int i) { model->AnnQuery(requests[i]); });
  std::vector<CandidateFeatures> features(requests.size());
  const Latency extract = TimeRequests(
      options, [&](int i) { features[i] = model->Features(requests[i]); });
  const Latency tower =
      TimeRequests(options, [&](int i) { model->UserVector(features[i]); });
  PrintRow(absl::StrFormat("%s | %s | %.3f", shape.name,
                           absl::StrJoin(widths, "-"), flops * 1e-6),
           "request (`AnnQuery`)", request, flops);
  PrintRow(" | | ", "features only (`Features`)", extract, 0);
  PrintRow(" | | ", "user vector only (`UserVector`)", tower, flops);
  std::fflush(stdout);
  return absl::OkStatus();
}

absl::Status Run(const BenchmarkOptions& options) {
  std::printf(
      "# user tower, one request (batch 1) at a time on one thread: %d "
      "videos, %d tokens; %d watches and %d searches of %d words per request; "
      "%d timed requests after %d warm-up\n",
      options.num_videos, options.num_tokens, options.watches, options.searches,
      kWordsPerQuery, options.requests, options.warmup_requests);
  std::printf("# sgemm 512x1024x1024, 1 thread: %.1f GFLOP/s (OpenBLAS %s)\n\n",
              SgemmGflops(), openblas_get_corename());
  std::printf(
      "| shape | tower widths | tower MFLOP/request | step | p50 us | p99 us | "
      "mean us | GFLOP/s (tower FLOPs / mean) |\n"
      "|---|---|---|---|---|---|---|---|\n");
  std::fflush(stdout);
  std::mt19937_64 rng(options.seed);
  const std::vector<UserContext> requests =
      RandomRequests(options.requests, options, &rng);
  const TowerShape shapes[] = {{"small", 64, {256}, 64},
                               {"paper", 256, {1024, 512, 256}, 256}};
  for (const TowerShape& shape : shapes) {
    RECSYS_RETURN_IF_ERROR(MeasureShape(shape, options, requests, &rng));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  // OpenBLAS reads its kernel choice once, when it loads: re-exec first.
  recsys::ReexecWithTunedCpuEnvironment(argv);
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Measures the candidate service's user tower for one request at a time "
      "on one thread (CandidateModel::AnnQuery: features, embedding bags, "
      "dense tower) with random weights of two shapes, small (64-d, 256 "
      "hidden, 64 out) and paper-sized (256-d, 1024-512-256, 256 out): "
      "p50/p99/mean microseconds and GFLOP/s, next to single-thread sgemm "
      "GFLOP/s measured in the same run.\n\n"
      "  user_tower_benchmark --requests=2000");
  recsys::SetBlasThreads(1);

  recsys::BenchmarkOptions options;
  options.requests = absl::GetFlag(FLAGS_requests);
  options.warmup_requests = absl::GetFlag(FLAGS_warmup_requests);
  options.num_videos = absl::GetFlag(FLAGS_num_videos);
  options.num_tokens = absl::GetFlag(FLAGS_num_tokens);
  options.watches = absl::GetFlag(FLAGS_watches);
  options.searches = absl::GetFlag(FLAGS_searches);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.tmp_dir = absl::GetFlag(FLAGS_tmp_dir);
  if (options.requests <= 0 || options.warmup_requests < 0 ||
      options.num_videos <= 0 || options.num_tokens <= 0 ||
      options.watches < 0 || options.searches < 0) {
    spdlog::error(
        "user_tower_benchmark: --requests, --num_videos and "
        "--num_tokens must be > 0; --warmup_requests, --watches and "
        "--searches >= 0");
    return 2;
  }
  if (absl::Status s = recsys::Run(options); !s.ok()) {
    spdlog::error("user_tower_benchmark: {}", s.ToString());
    return 1;
  }
  return 0;
}
