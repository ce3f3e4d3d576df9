#ifndef RECSYS_BENCHMARKS_SYNTHETIC_BUNDLE_H_
#define RECSYS_BENCHMARKS_SYNTHETIC_BUNDLE_H_

// A complete, servable bundle version (docs/bundle.md) with random weights
// at any shape, so that a paper-sized configuration can be served and
// load-tested without training: both models, every vocabulary, videos.csv,
// the ANN index with its measured recall, the co-visitation table and the
// ranking features' quantile tables, all consistent with each other and
// with what the servers check at load.
//
// The world is clustered, so that retrieval behaves as on learned
// embeddings rather than on uniform noise: every video belongs to one of
// `clusters` clusters (its topic; its channel's cluster), its output
// embedding is its cluster's centre plus noise (as benchmarks/ann_benchmark
// draws its vectors), its watch embedding likewise in the input space, and
// its co-visited videos are from its cluster. Synthetic users watch videos
// of one to three clusters.

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/recsys.pb.h"

namespace recsys {

struct SyntheticBundleOptions {
  // The bundle root: the version is written under it as the trainer writes
  // one (`BundleWriter`: a `.tmp-` directory, renamed when complete).
  std::string out;
  // Videos: the candidate and the ranking video vocabularies, videos.csv,
  // the ANN index and the co-visitation table's rows. 2 to `kMaxVideos`.
  int64_t videos = 100000;
  // Width of the watch and search-token embeddings.
  int embedding_dim = 64;
  // Width of the user vector and the video output embeddings; 0: as
  // `embedding_dim`.
  int output_dim = 0;
  // Hidden ReLU layers of the user tower and of the ranking tower, input
  // side first (the trainer's --candidate_hidden and --ranking_hidden): the
  // user tower ends in a linear layer to `output_dim`, the ranking tower in
  // one to the logit.
  std::vector<int> candidate_tower = {256};
  std::vector<int> ranking_tower = {256};
  // The ANN index's FAISS factory string ("auto": `AnnIndex::ResolveFactory`),
  // and the inverted lists visited per query when its recall is measured
  // (run candidate_server with the same --nprobe).
  std::string index = "auto";
  int nprobe = 16;
  // Recall of the exact top `recall_at` (the trainer's --num_candidates),
  // over this many synthetic users (the trainer: 200 held-out users).
  int recall_at = 200;
  int recall_users = 200;
  // Vocabulary sizes: search unigrams and bigrams, regions, devices,
  // languages (user and video), channels (0: one per 20 videos, at least 1).
  int search_tokens = 100000;
  int regions = 50;
  int devices = 4;
  int languages = 20;
  int64_t channels = 0;
  // Clusters of the world (0: about sqrt(videos)) and each output
  // embedding's noise relative to its centre.
  int clusters = 0;
  double cluster_spread = 1.0;
  // Co-visited videos per video (0: no table, as trainer
  // --covisit_neighbours=0).
  int covisit_neighbours = 50;
  // The candidate model's inputs (the trainer's flags of the same names).
  int max_watches = 50;
  int max_searches = 50;
  int recent_watches = 0;
  // Quantile boundaries per continuous ranking feature is this + 1.
  int num_quantiles = 100;
  // The end of the "training window", Unix seconds (upload times, example
  // age); 0: now.
  int64_t window_end_s = 0;
  uint64_t seed = 42;
  // Progress bars on stderr for the slow parts.
  bool progress = true;
  // Load the version as both servers do before committing it.
  bool verify = true;
  // Recorded as the manifest's `hyperparameters` (the flags as given).
  std::map<std::string, std::string> hyperparameters;

  static constexpr int64_t kMaxVideos = 10'000'000;

  // InvalidArgument naming the first option out of range (e.g. "videos
  // must be in [1, 10000000], got 0").
  absl::Status Validate() const;
};

struct SyntheticBundleReport {
  // The committed version's directory and name.
  std::string dir;
  std::string version;
  // The index's resolved factory string and its recall of the exact top
  // `recall_at`.
  std::string ann_factory;
  float ann_recall = 0;
  int recall_at = 0;
  // Bytes of the version's files, and per file name.
  int64_t bytes = 0;
  std::map<std::string, int64_t> file_bytes;
  // Wall-clock seconds of the whole export.
  double seconds = 0;
};

// Writes and commits one version under `options.out` (after `Validate`).
absl::StatusOr<SyntheticBundleReport> WriteSyntheticBundle(const SyntheticBundleOptions& options);

// The video ID of row `row` among `videos` ("v" and a zero-padded row
// number: "v0000042" for 1M videos), the IDs videos.csv and both video
// vocabularies hold (row order is popularity order).
std::string SyntheticVideoId(int64_t row, int64_t videos);

}  // namespace recsys

#endif  // RECSYS_BENCHMARKS_SYNTHETIC_BUNDLE_H_
