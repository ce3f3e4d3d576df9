// The paper's figure 4: for videos uploaded during the training window, the
// share of watches they get on each day after upload (empirical), next to
// the share the candidate model predicts for those days.
//
// For every day of the window, a sample of that day's watch events is
// replayed: each event's context is the user's history strictly before it,
// its example age is the event's age relative to the end of the window (as
// in training), and the model's softmax over the whole corpus gives each
// video's predicted probability of being that watch. Averaged over the day's
// events, that is the model's predicted share of the day's watches; the
// empirical share is the fraction of the day's watches that were the video.
// Both are then aligned by days since each video's upload and averaged over
// the videos uploaded in the window.
//
//   example_age_curve --logs=data/world --bundle=bundles/<version> --out=curve.tsv

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "common/serving/bundle.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"
#include "common/serving/dense.h"
#include "common/features/features.h"
#include "common/logs/logs.h"
#include "common/serving/models.h"
#include "common/logs/user_context.h"

ABSL_FLAG(std::string, logs, "", "Directory of canonical CSV logs the bundle was trained on.");
ABSL_FLAG(std::string, bundle, "", "A bundle version directory (or a bundles root: newest).");
ABSL_FLAG(std::string, out, "", "Output TSV: days since upload, empirical share, "
                                "model share, videos averaged.");
ABSL_FLAG(int, events_per_day, 300, "Watch events replayed per day of the window.");
ABSL_FLAG(uint64_t, seed, 1, "Seed for the event sample.");

namespace recsys {
namespace {

int Run() {
  const std::string logs_dir = absl::GetFlag(FLAGS_logs);
  const std::string out_path = absl::GetFlag(FLAGS_out);
  if (logs_dir.empty() || absl::GetFlag(FLAGS_bundle).empty() || out_path.empty()) {
    spdlog::error("example_age_curve: --logs, --bundle and --out are required "
                  "(see --help)");
    return 2;
  }
  absl::StatusOr<Logs> logs = ReadLogs(logs_dir);
  if (!logs.ok()) {
    spdlog::error("example_age_curve: {}", std::string(logs.status().message()));
    return 1;
  }
  absl::StatusOr<std::unique_ptr<Bundle>> bundle =
      Bundle::OpenVersionOrNewest(absl::GetFlag(FLAGS_bundle));
  if (!bundle.ok()) {
    spdlog::error("example_age_curve: {}", std::string(bundle.status().message()));
    return 1;
  }
  absl::StatusOr<std::unique_ptr<CandidateModel>> model = CandidateModel::Load(**bundle);
  if (!model.ok()) {
    spdlog::error("example_age_curve: {}", std::string(model.status().message()));
    return 1;
  }
  const bundle::BundleManifest& manifest = (*bundle)->manifest();
  const int64_t window_end = manifest.training_window_end_s();
  const float scale_days = manifest.candidate().example_age_scale_days();
  int64_t window_start = window_end;
  for (const WatchRecord& w : logs->watches) window_start = std::min(window_start, w.time_s);
  const int days = static_cast<int>((window_end - window_start) / kSecondsPerDay) + 1;
  auto day_of = [&](int64_t t) { return static_cast<int>((t - window_start) / kSecondsPerDay); };

  const Vocabulary& videos = (*model)->videos();
  const int64_t num_videos = videos.size();
  const int dim = (*model)->output_dim() + 1;
  const std::vector<float> ann = (*model)->AnnVectors();

  // Empirical: watches per (day, video) and per day.
  std::vector<std::vector<double>> count(days, std::vector<double>(num_videos, 0));
  std::vector<double> day_total(days, 0);
  std::vector<std::vector<const WatchRecord*>> by_day(days);
  for (const WatchRecord& w : logs->watches) {
    const int d = day_of(w.time_s);
    if (d < 0 || d >= days) continue;
    day_total[d] += 1;
    by_day[d].push_back(&w);
    const int64_t v = videos.Lookup(w.video_id);
    if (v >= 0) count[d][v] += 1;
  }

  // Model: the mean softmax over the corpus of a sample of each day's events.
  UserHistories histories = UserHistories::Build(*logs);
  std::mt19937_64 rng(absl::GetFlag(FLAGS_seed));
  const bool reads_age = (*model)->feature_options().use_example_age;
  std::vector<std::vector<double>> predicted(days, std::vector<double>(num_videos, 0));
  std::vector<float> logits(num_videos);
  for (int d = 0; d < days; ++d) {
    std::vector<const WatchRecord*>& events = by_day[d];
    std::shuffle(events.begin(), events.end(), rng);
    const size_t n = std::min<size_t>(events.size(), absl::GetFlag(FLAGS_events_per_day));
    for (size_t e = 0; e < n; ++e) {
      absl::StatusOr<UserContext> context = histories.ContextAt(events[e]->user_id,
                                                                events[e]->time_s);
      if (!context.ok()) continue;
      CandidateFeatures f = (*model)->Features(*context);
      if (reads_age) {
        // As the trainer fed it: the same function, so the same float.
        f.dense[kExampleAge] = ScaledExampleAgeAt(window_end, events[e]->time_s, scale_days);
      }
      std::vector<float> q = (*model)->UserVector(f);
      q.push_back(1.0f);
      GemmNT(q.data(), ann.data(), logits.data(), 1, num_videos, dim);
      const float top = *std::max_element(logits.begin(), logits.end());
      double z = 0;
      for (float& l : logits) z += (l = std::exp(l - top));
      for (int64_t v = 0; v < num_videos; ++v) predicted[d][v] += logits[v] / z / n;
    }
  }

  // Aligned by days since upload, averaged over videos uploaded in the window.
  std::vector<double> empirical(days, 0), model_share(days, 0);
  std::vector<int> videos_at(days, 0);
  for (const VideoRecord& video : logs->videos) {
    const int64_t v = videos.Lookup(video.video_id);
    if (v < 0 || video.upload_time_s < window_start) continue;
    for (int d = day_of(video.upload_time_s), age = 0; d < days; ++d, ++age) {
      if (day_total[d] == 0) continue;
      empirical[age] += count[d][v] / day_total[d];
      model_share[age] += predicted[d][v];
      ++videos_at[age];
    }
  }
  std::FILE* out = std::fopen(out_path.c_str(), "w");
  if (out == nullptr) {
    spdlog::error("example_age_curve: cannot write {}", out_path);
    return 1;
  }
  std::fprintf(out, "days_since_upload\tempirical_share\tmodel_share\tvideos\n");
  for (int age = 0; age < days; ++age) {
    if (videos_at[age] == 0) continue;
    std::fprintf(out, "%d\t%.6g\t%.6g\t%d\n", age, empirical[age] / videos_at[age],
                 model_share[age] / videos_at[age], videos_at[age]);
  }
  std::fclose(out);
  spdlog::info("example_age_curve: {} days, {} videos uploaded in the window, "
               "model {} example age; wrote {}",
               days, videos_at[0], reads_age ? "reads" : "does not read", out_path);
  return 0;
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  recsys::ReexecWithTunedCpuEnvironment(argv);
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Paper figure 4: empirical and predicted watch share of videos uploaded during "
      "the training window, by days since upload.\n\n"
      "  example_age_curve --logs=data/world --bundle=bundles --out=curve.tsv");
  return recsys::Run();
}
