// Candidate-generation training throughput, measured through the trainer's
// own step (CandidateOptimizer + NegativeSampler) on synthetic examples, next
// to this machine's sgemm rate measured in the same run:
//
//   bazel build -c opt //trainer:train_benchmark && bazel-bin/trainer/train_benchmark
//
// Model GFLOP/s counts the matrix products by shape (tower forward, sampled
// logits, and twice each for the backward pass); embedding bags, the softmax
// and the optimizer are not counted, so the ratio to sgemm is how much of the
// step is spent on useful dense math.

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "benchmarks/benchmark_util.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"
#include "common/serving/dense.h"
#include "common/features/features.h"
#include "trainer/nets/candidate_net.h"
#include "trainer/candidate_optimizer.h"
#include "trainer/sampler.h"

ABSL_FLAG(std::string, configs, "small,paper",
          "Comma-separated: small (64-d, 256-64 tower, 256 negatives, 1 thread), "
          "paper (256-d, depth 3: 1024-512-256 ReLU then 256 linear, 2000 negatives, 2 threads).");
ABSL_FLAG(int, videos, 100000, "Videos in the corpus (watch and output tables).");
ABSL_FLAG(int, tokens, 20000, "Search tokens in the vocabulary.");
ABSL_FLAG(int, batch_size, 256, "Examples per step.");
ABSL_FLAG(double, seconds, 10, "Measured time per configuration (after warm-up).");
ABSL_FLAG(int, threads, 0, "Override every configuration's thread count (0: keep).");

namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  std::string name;
  int dim;
  std::vector<int> hidden;
  int output_dim;
  int negatives;
  int threads;
};

// Shape-counted FLOPs of one example's step: forward matrix products, and
// twice as many for the backward pass (gradients of inputs and weights).
double FlopsPerExample(const Config& c, int input_dim) {
  double forward = 0;
  int in = input_dim;
  for (int w : c.hidden) {
    forward += 2.0 * in * w;
    in = w;
  }
  forward += 2.0 * in * c.output_dim;
  forward += 2.0 * c.output_dim * (c.negatives + 1);  // sampled logits
  return 3 * forward;
}

struct World {
  std::vector<recsys::CandidateFeatures> features;
  std::vector<int64_t> labels;
};

// Synthetic examples with power-law popularity: watch bags of 1-50 videos,
// 0-20 search tokens, 50 regions, 4 devices.
World MakeWorld(int videos, int tokens, int n, uint64_t seed) {
  std::vector<double> popularity(videos), token_weights(tokens);
  for (int i = 0; i < videos; ++i) popularity[i] = 1.0 / std::pow(i + 1.0, 0.8);
  for (int i = 0; i < tokens; ++i) token_weights[i] = 1.0 / (i + 1.0);
  recsys::NegativeSampler video_draw(popularity, 50, seed);
  recsys::NegativeSampler token_draw(token_weights, 20, seed + 1);
  std::mt19937_64 rng(seed);
  World w;
  std::vector<int64_t> ids;
  for (int i = 0; i < n; ++i) {
    recsys::CandidateFeatures f;
    video_draw.Sample(&ids);
    f.watch_ids.assign(ids.begin(), ids.begin() + 1 + rng() % 50);
    token_draw.Sample(&ids);
    f.token_ids.assign(ids.begin(), ids.begin() + rng() % 21);
    f.region = rng() % 50;
    f.device = rng() % 4;
    for (float& d : f.dense) d = (rng() % 1000) / 1000.0f;
    w.features.push_back(std::move(f));
    video_draw.Sample(&ids);
    w.labels.push_back(ids[0]);
  }
  return w;
}

}  // namespace

int main(int argc, char** argv) {
  recsys::ReexecWithTunedCpuEnvironment(argv);
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Measures candidate-model training throughput (examples/s) with the "
      "trainer's own step on synthetic examples, and sgemm GFLOP/s in the same "
      "run for reference.\n\n"
      "  bazel build -c opt //trainer:train_benchmark && "
      "bazel-bin/trainer/train_benchmark --configs=small,paper");
  const int videos = absl::GetFlag(FLAGS_videos);
  const int tokens = absl::GetFlag(FLAGS_tokens);
  const int batch_size = absl::GetFlag(FLAGS_batch_size);
  if (videos < 2 || tokens < 1 || batch_size < 1) {
    spdlog::error("train_benchmark: --videos must be >= 2, --tokens and --batch_size >= 1");
    return 2;
  }
  std::vector<Config> configs;
  for (absl::string_view name : absl::StrSplit(absl::GetFlag(FLAGS_configs), ',')) {
    if (name == "small") {
      configs.push_back({"small", 64, {256}, 64, 256, 1});
    } else if (name == "paper") {
      configs.push_back({"paper", 256, {1024, 512, 256}, 256, 2000, 2});
    } else {
      spdlog::error("train_benchmark: unknown config '{}' (small or paper)", std::string(name));
      return 2;
    }
    if (absl::GetFlag(FLAGS_threads) > 0) configs.back().threads = absl::GetFlag(FLAGS_threads);
  }
  const char* core = std::getenv("OPENBLAS_CORETYPE");
  std::printf("corpus %d videos, %d tokens; batch %d; OpenBLAS kernels %s\n", videos,
              tokens, batch_size, core ? core : "(OpenBLAS's choice)");
  World world = MakeWorld(videos, tokens, 20000, 1);
  std::printf("%-6s %4s %-16s %5s %9s %12s %8s %10s %12s %9s\n", "config", "dim",
              "tower", "negs", "threads", "examples/s", "ms/step", "loss", "model GF/s",
              "sgemm GF/s");
  for (const Config& c : configs) {
    const double sgemm = recsys::SgemmGflops(c.threads);  // leaves OpenBLAS at c.threads
    torch::set_num_threads(c.threads);
    torch::manual_seed(1);
    recsys::CandidateNetOptions o;
    o.num_videos = videos;
    o.num_tokens = tokens;
    o.num_regions = 50;
    o.num_devices = 4;
    o.embedding_dim = c.dim;
    o.hidden_layers = c.hidden;
    o.output_dim = c.output_dim;
    recsys::CandidateNet net(o);
    recsys::CandidateOptimizer optimizer(net, 0.05f);
    std::vector<double> weights(videos, 1.0);
    recsys::NegativeSampler sampler(weights, c.negatives, 2);
    const int input_dim = 2 * c.dim + o.region_dim + o.device_dim + recsys::kNumCandidateDense;
    std::vector<const recsys::CandidateFeatures*> rows;
    std::vector<int64_t> labels, sampled;
    size_t next = 0;
    float loss = 0;
    auto step = [&] {
      rows.clear();
      labels.clear();
      for (int i = 0; i < batch_size; ++i, next = (next + 1) % world.features.size()) {
        rows.push_back(&world.features[next]);
        labels.push_back(world.labels[next]);
      }
      sampler.Sample(&sampled);
      loss = optimizer.Step(rows, labels, sampled, sampler.log_q(), true);
    };
    for (int i = 0; i < 5; ++i) step();  // warm-up
    int64_t steps = 0;
    auto start = Clock::now();
    while (recsys::Seconds(Clock::now() - start) < absl::GetFlag(FLAGS_seconds)) {
      step();
      ++steps;
    }
    const double elapsed = recsys::Seconds(Clock::now() - start);
    const double examples_per_s = steps * batch_size / elapsed;
    const double gflops = examples_per_s * FlopsPerExample(c, input_dim) / 1e9;
    std::vector<std::string> widths;
    for (int w : c.hidden) widths.push_back(std::to_string(w));
    widths.push_back(std::to_string(c.output_dim));
    std::printf("%-6s %4d %-16s %5d %9d %12.0f %8.2f %10.4f %12.1f %9.1f  (%.0f%% of sgemm)\n",
                c.name.c_str(), c.dim, absl::StrJoin(widths, "-").c_str(), c.negatives,
                c.threads, examples_per_s, 1000 * elapsed / steps, loss, gflops, sgemm,
                100 * gflops / sgemm);
  }
  return 0;
}
