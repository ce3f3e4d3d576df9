// Writes a complete, servable bundle version with random weights at any
// shape (benchmarks/synthetic_bundle.h), so that a paper-sized configuration
// can be served and load-tested without training:
//
//   bazel build -c opt //benchmarks:make_synthetic_bundle
//   bazel-bin/benchmarks/make_synthetic_bundle --out=/tmp/synth/heavy
//       --videos=100000 --embedding_dim=256 --candidate_tower=1024,512,256
//       --ranking_tower=1024,512,256 --index=IVF1024,Flat    (one line)
//
// then start ranking_server and candidate_server with --bundles=/tmp/synth/heavy
// (candidate_server with the same --nprobe). Ends with one summary line:
// the version's directory, its size, the seconds it took and the index's
// measured recall.

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "benchmarks/synthetic_bundle.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"
#include "common/base/status_macros.h"
#include "trainer/trainer_options.h"

ABSL_FLAG(std::string, out, "", "The bundle root the version is written under (required).");
ABSL_FLAG(int64_t, videos, 100000, "Videos (2 to 10,000,000).");
ABSL_FLAG(int, embedding_dim, 64, "Width of the watch and search-token embeddings.");
ABSL_FLAG(int, output_dim, 0,
          "Width of the user vector and the video output embeddings (0: --embedding_dim).");
ABSL_FLAG(std::string, candidate_tower, "256",
          "Hidden ReLU layers of the user tower, comma-separated, input side first ('' = "
          "none); a linear layer to --output_dim follows (the trainer's --candidate_hidden).");
ABSL_FLAG(std::string, ranking_tower, "256",
          "Hidden ReLU layers of the ranking tower, comma-separated; a linear layer to the "
          "logit follows (the trainer's --ranking_hidden).");
ABSL_FLAG(std::string, index, "auto",
          "FAISS factory string of the ANN index: Flat, IVF<nlist>,Flat, HNSW<M>, or auto "
          "(Flat below 100,000 videos, else IVF with about 4 sqrt(videos) lists).");
ABSL_FLAG(int, nprobe, 16,
          "IVF lists visited per query when the index's recall is measured (start "
          "candidate_server with the same --nprobe).");
ABSL_FLAG(int, recall_at, 200,
          "The index's recall of the exact top-N is measured at this N (the trainer's "
          "--num_candidates).");
ABSL_FLAG(int, recall_users, 200, "Synthetic users the recall is measured on.");
ABSL_FLAG(int, search_tokens, 100000, "Search-token vocabulary: unigrams and bigrams.");
ABSL_FLAG(int, regions, 50, "Region vocabulary (ISO country codes first).");
ABSL_FLAG(int, devices, 4, "Device vocabulary (mobile, desktop, tv, tablet, ...).");
ABSL_FLAG(int, languages, 20, "Language vocabulary (ISO 639-1 codes first).");
ABSL_FLAG(int64_t, channels, 0, "Channels (0: one per 20 videos).");
ABSL_FLAG(int, clusters, 0, "Clusters (topics) of the synthetic world (0: about sqrt(videos)).");
ABSL_FLAG(double, cluster_spread, 1.0,
          "Noise of a video's output embedding relative to its cluster centre's norm.");
ABSL_FLAG(int, covisit_neighbours, 50,
          "Co-visited videos per video in covisit.bin (0: no co-visitation table).");
ABSL_FLAG(int, max_watches, 50, "Watches the candidate and ranking models read.");
ABSL_FLAG(int, max_searches, 50, "Searches the candidate model reads.");
ABSL_FLAG(int, recent_watches, 0,
          "The candidate model's `recent` group: the last N watches as a block of their own "
          "(0: off, the trainer's default).");
ABSL_FLAG(int, num_quantiles, 100, "Quantiles per continuous ranking feature.");
ABSL_FLAG(int64_t, window_end_s, 0,
          "End of the synthetic training window, Unix seconds (0: now).");
ABSL_FLAG(uint64_t, seed, 42, "Seed of the world, the weights and the users.");
ABSL_FLAG(bool, progress, true, "Progress bars on stderr for the slow parts.");
ABSL_FLAG(bool, verify, true,
          "Load the version as both servers do (and rank a request) before committing it.");

namespace {

absl::StatusOr<recsys::SyntheticBundleOptions> OptionsFromFlags() {
  recsys::SyntheticBundleOptions options;
  RECSYS_ASSIGN_OR_RETURN(options.candidate_tower,
                          recsys::ParseLayers("candidate_tower",
                                              absl::GetFlag(FLAGS_candidate_tower)));
  RECSYS_ASSIGN_OR_RETURN(
      options.ranking_tower,
      recsys::ParseLayers("ranking_tower", absl::GetFlag(FLAGS_ranking_tower)));
  options.out = absl::GetFlag(FLAGS_out);
  options.videos = absl::GetFlag(FLAGS_videos);
  options.embedding_dim = absl::GetFlag(FLAGS_embedding_dim);
  options.output_dim = absl::GetFlag(FLAGS_output_dim);
  options.index = absl::GetFlag(FLAGS_index);
  options.nprobe = absl::GetFlag(FLAGS_nprobe);
  options.recall_at = absl::GetFlag(FLAGS_recall_at);
  options.recall_users = absl::GetFlag(FLAGS_recall_users);
  options.search_tokens = absl::GetFlag(FLAGS_search_tokens);
  options.regions = absl::GetFlag(FLAGS_regions);
  options.devices = absl::GetFlag(FLAGS_devices);
  options.languages = absl::GetFlag(FLAGS_languages);
  options.channels = absl::GetFlag(FLAGS_channels);
  options.clusters = absl::GetFlag(FLAGS_clusters);
  options.cluster_spread = absl::GetFlag(FLAGS_cluster_spread);
  options.covisit_neighbours = absl::GetFlag(FLAGS_covisit_neighbours);
  options.max_watches = absl::GetFlag(FLAGS_max_watches);
  options.max_searches = absl::GetFlag(FLAGS_max_searches);
  options.recent_watches = absl::GetFlag(FLAGS_recent_watches);
  options.num_quantiles = absl::GetFlag(FLAGS_num_quantiles);
  options.window_end_s = absl::GetFlag(FLAGS_window_end_s);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.progress = absl::GetFlag(FLAGS_progress);
  options.verify = absl::GetFlag(FLAGS_verify);
  // Every flag of this file, as given, for the manifest.
  options.hyperparameters = recsys::FlagValuesOfFile("make_synthetic_bundle");
  RECSYS_RETURN_IF_ERROR(options.Validate());
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  // FAISS builds with OpenMP and the towers run on OpenBLAS: their settings
  // are read at load, so set them before a re-exec (common/base/cpu_env.h).
  recsys::ReexecWithTunedCpuEnvironment(argv);
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Writes a complete, servable model bundle version with random weights at any shape "
      "(both models, every vocabulary, videos.csv, the ANN index and its measured recall, "
      "the co-visitation table, the ranking quantiles), so that a paper-sized "
      "configuration can be served and load-tested without training.\n\n"
      "  make_synthetic_bundle --out=/tmp/synth/heavy --videos=100000 --embedding_dim=256 "
      "--candidate_tower=1024,512,256 --ranking_tower=1024,512,256 --index=IVF1024,Flat\n\n"
      "Then start ranking_server and candidate_server with --bundles=<out> (and "
      "candidate_server with the same --nprobe).");
  absl::StatusOr<recsys::SyntheticBundleOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    spdlog::error("make_synthetic_bundle: {} (see --help)",
                  std::string(options.status().message()));
    return 2;
  }
  absl::StatusOr<recsys::SyntheticBundleReport> report = recsys::WriteSyntheticBundle(*options);
  if (!report.ok()) {
    spdlog::error("make_synthetic_bundle: {}", report.status().ToString());
    return 1;
  }
  for (const auto& [file, bytes] : report->file_bytes) {
    std::printf("  %-28s %10.1f MB\n", file.c_str(), bytes / 1e6);
  }
  std::printf("wrote %s: version %s, %.1f MB in %.1f s; ANN %s, recall of the exact top %d = "
              "%.4f\n",
              report->dir.c_str(), report->version.c_str(), report->bytes / 1e6,
              report->seconds, report->ann_factory.c_str(), report->recall_at,
              report->ann_recall);
  return 0;
}
