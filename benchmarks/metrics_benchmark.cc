// The cost of the servers' Prometheus metrics per call: what one finished
// Recommend adds (a request count, a duration observation with its clock
// read, the in-flight gauge up and down, and its six stage durations with
// their clock reads), on one thread and on two.
//
//   bazel run -c opt //benchmarks:metrics_benchmark

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "common/base/command_line.h"
#include "common/grpc/server_metrics.h"
#include "common/serving/model_server.h"
#include "common/serving/stage_clock.h"

ABSL_FLAG(int, calls, 1000000, "Calls recorded per thread.");

namespace {

double NanosPerCall(recsys::ServerMetrics* metrics, int calls, int threads) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([metrics, calls] {
      for (int i = 0; i < calls; ++i) {
        const absl::Time start = absl::Now();
        metrics->AddInFlight(1);
        recsys::StageClock clock(start);
        for (const char* stage :
             {"validate", "features", "user_tower", "ann", "ranking_call", "respond"}) {
          clock.Mark(stage);
        }
        recsys::RecordStages(metrics, "Recommend", clock);
        metrics->RecordRequest("Recommend", absl::StatusCode::kOk, start);
        metrics->AddInFlight(-1);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return seconds * 1e9 / (static_cast<double>(calls) * threads);
}

}  // namespace

int main(int argc, char** argv) {
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Nanoseconds of Prometheus metrics per finished Recommend (count, duration, in-flight, "
      "six stage durations), on 1 and 2 threads.\n\n  metrics_benchmark --calls=1000000");
  auto metrics = recsys::ServerMetrics::Create("benchmark", "");
  if (!metrics.ok()) return 1;
  const int calls = absl::GetFlag(FLAGS_calls);
  NanosPerCall(metrics->get(), calls / 10, 1);  // warm-up
  std::printf("metrics per call, 1 thread:  %.0f ns\n", NanosPerCall(metrics->get(), calls, 1));
  std::printf("metrics per call, 2 threads: %.0f ns (each)\n",
              NanosPerCall(metrics->get(), calls, 2));
  return 0;
}
