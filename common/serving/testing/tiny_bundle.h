#ifndef RECSYS_COMMON_SERVING_TESTING_TINY_BUNDLE_H_
#define RECSYS_COMMON_SERVING_TESTING_TINY_BUNDLE_H_

// Test helpers: a complete, tiny bundle version written through
// `BundleWriter` (docs/bundle.md) that `CandidateModel::Load`,
// `RankingModel::Load` and `Retriever::Load` accept, and helpers that damage
// a written version the ways a broken export or copy does.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/bundle.pb.h"

namespace recsys {

struct TinyBundleOptions {
  // The version directory's name under the root (and the manifest's
  // `version`), e.g. "20260101-000001". Empty: the writer's own (UTC time).
  std::string version;
  // Seeds every weight: bundles with different seeds differ in every
  // tensor. All weights are finite.
  uint32_t seed = 1;
  // Videos in videos.csv and in the candidate vocabulary ("v00", "v01", ...,
  // see `TinyVideoId`); the first `num_ranking_videos` of them are in the
  // ranking vocabulary. 1 <= num_ranking_videos <= num_videos.
  int num_videos = 20;
  int num_ranking_videos = 16;
  // Whether the version has a co-visitation table (`kCovisitFile`): video
  // i's neighbours are videos i + 1, i + 2, ..., i + kTinyCovisitNeighbours
  // (mod num_videos, itself left out) with scores `TinyCovisitScore(1)`,
  // `TinyCovisitScore(2)`, ... Without it the version is as bundles
  // written before the source were.
  bool covisitation = false;
};

// What a tiny bundle holds, for tests that assert on it.
inline constexpr int kTinyEmbeddingDim = 4;    // watch and token embeddings
inline constexpr int kTinyOutputDim = 3;       // the ANN holds width 3 + 1
inline constexpr int kTinyCandidateHidden = 5; // one hidden layer
inline constexpr int kTinyRankingHidden = 4;   // one hidden layer
inline constexpr char kTinyAnnFile[] = "ann.faiss";
// The manifest's `training_window_end_s`: 2026-01-01 00:00:00 UTC. Video `i`
// was uploaded (i + 1) weeks before it.
inline constexpr int64_t kTinyTrainingWindowEndS = 1767225600;

inline constexpr int kTinyCovisitNeighbours = 3;
inline constexpr int kTinyCovisitWindow = 4;
// The co-visitation score of video i + `distance` as video i's neighbour:
// 1 / distance.
inline float TinyCovisitScore(int distance) { return 1.0f / static_cast<float>(distance); }

// "v00", "v01", ...: the ID of video `i` of a tiny bundle.
std::string TinyVideoId(int i);
// videos.csv's title and channel of video `i` ("Tiny video 3", "c0"); every
// channel is in the ranking model's channel vocabulary.
std::string TinyVideoTitle(int i);
std::string TinyChannelId(int i);

// Writes one complete version under `root` (created if missing) and returns
// its directory `<root>/<version>`. The version appears atomically: it is
// built and committed in a hidden staging directory under `root` and
// renamed into place, so a `VersionManager` scanning `root` meanwhile never
// sees it half written. AlreadyExists when the version directory exists.
absl::StatusOr<std::string> WriteTinyBundle(const std::string& root,
                                            const TinyBundleOptions& options = {});

// A fresh, empty directory `$TEST_TMPDIR/<name>` (under /tmp outside Bazel);
// whatever was there is removed.
std::string FreshTestDir(const std::string& name);

// Damage. Each helper replaces the file with a new one (written beside it,
// then renamed over it), as a deployment tool would: the file gets a new
// inode, so a change is visible to `VersionManager`'s fingerprint even
// within one tick of the file-system clock.

// Keeps the first `size_bytes` bytes of `path`.
absl::Status TruncateFile(const std::string& path, int64_t size_bytes);
// Replaces the contents of `path` with `bytes` (creating it if missing).
absl::Status OverwriteFile(const std::string& path, absl::string_view bytes);
// Drops the last `num_lines` lines of `path` (a vocabulary).
absl::Status DropLastLines(const std::string& path, int num_lines);
// Sets element `index` of tensor `tensor` in the version's weights file to
// `value` (e.g. a NaN), leaving the manifest as it is.
absl::Status SetTensorValue(const std::string& version_dir, const std::string& tensor,
                            int64_t index, float value);
// The value of element `index` of `tensor` as stored (to undo
// `SetTensorValue`).
absl::StatusOr<float> GetTensorValue(const std::string& version_dir,
                                     const std::string& tensor, int64_t index);
// Reads the version's manifest.pb, applies `edit` and writes it back.
absl::Status EditManifest(const std::string& version_dir,
                          const std::function<void(bundle::BundleManifest&)>& edit);
// Reads a whole file.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_TESTING_TINY_BUNDLE_H_
