#ifndef RECSYS_COMMON_SERVING_BUNDLE_H_
#define RECSYS_COMMON_SERVING_BUNDLE_H_

// The versioned model bundle (docs/bundle.md): a directory
// `<root>/<version>/` holding manifest.pb (a `recsys.bundle.BundleManifest`),
// manifest.txt (the same, as text for humans), weights.bin (float32 tensors),
// one vocabulary file per categorical feature, videos.csv and the ANN index.
//
// Writers build the bundle in `<root>/.tmp-<version>/` and rename it
// into place as the last step, so a reader never sees half a bundle.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/logs/logs.h"
#include "common/features/vocabulary.h"
#include "proto/bundle.pb.h"

namespace recsys {

// A dense float32 tensor, row-major.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  int64_t rows() const { return shape.empty() ? 0 : shape[0]; }
  // Elements per row (1 for a vector).
  int64_t cols() const;
};

// Writes one bundle version. Not thread-safe.
// The IVF lists a server searches a version's index with: `requested` when
// > 0 (a server's --nprobe), else the nprobe the trainer's export chose for
// its recall target (the manifest's `ann.nprobe`), else `kDefaultNprobe`.
inline constexpr int kDefaultNprobe = 16;
int ServingNprobe(const bundle::BundleManifest& manifest, int requested);

class BundleWriter {
 public:
  // Starts a new version under `root` (created if missing), named after
  // the current UTC second (see `Create(root, now_unix_s)`).
  static absl::StatusOr<std::unique_ptr<BundleWriter>> Create(
      const std::string& root);
  // The same with the clock read by the caller: the version is the UTC
  // second `now_unix_s` as "YYYYMMDD-HHMMSS", with a ".NNN" suffix (001 to
  // 999) when that name is taken, and the manifest's `created_unix_s` is
  // `now_unix_s`. Tests pass a fixed second to get names that do not depend
  // on when they run.
  static absl::StatusOr<std::unique_ptr<BundleWriter>> Create(
      const std::string& root, int64_t now_unix_s);
  ~BundleWriter();

  // The temporary directory: other files (the ANN index) go here, named in
  // the manifest relative to it.
  const std::string& dir() const { return tmp_dir_; }
  const std::string& version() const { return version_; }
  bundle::BundleManifest* manifest() { return &manifest_; }

  absl::Status AddTensor(const std::string& name,
                         const std::vector<int64_t>& shape, const float* data);
  absl::Status AddVocabulary(const std::string& name, const Vocabulary& vocab);
  absl::Status AddVideos(const std::vector<VideoRecord>& videos);

  // Writes the manifest as it stands and flushes the weights, so that
  // `Bundle::Open(dir())` can read what was added so far (the trainer
  // evaluates through the serving code before it commits).
  absl::Status Flush();

  // Writes the manifest, flushes everything and renames the directory to
  // `<root>/<version>`. Returns that path. The writer is spent afterwards.
  absl::StatusOr<std::string> Commit();

 private:
  BundleWriter(std::string root, std::string version, std::string tmp_dir,
               std::FILE* weights)
      : root_(std::move(root)),
        version_(std::move(version)),
        tmp_dir_(std::move(tmp_dir)),
        weights_(weights) {}

  // Writes manifest.pb into the temporary directory.
  absl::Status WriteManifest() const;

  std::string root_;
  std::string version_;
  std::string tmp_dir_;
  std::FILE* weights_ = nullptr;
  int64_t weights_bytes_ = 0;
  bool committed_ = false;
  bundle::BundleManifest manifest_;
};

// A committed bundle, opened for reading. Immutable; thread-safe.
//
// Every error names the file it is about and the problem, e.g.
// "<dir>/weights.bin is truncated: tensor candidate/tower/0/weight needs
// bytes [1024, 2048) but the file has 1500 bytes": a rejected hot reload is
// diagnosed from the log line alone. The reader checks structure (sizes,
// counts, that files exist and parse), not values: `ReadTensor` returns
// non-finite floats as stored; the model loaders reject them.
class Bundle {
 public:
  // The newest complete version under `root` (temporary directories are
  // ignored). NotFound when there is none.
  static absl::StatusOr<std::string> FindNewest(const std::string& root);
  // Reads and checks `<dir>/manifest.pb`. NotFound when it is missing;
  // DataLoss when it is empty (0 bytes, or no version, tensors or
  // vocabularies), not a `BundleManifest`, or has a tensor or vocabulary
  // entry without a name or file, with a negative shape, offset or size, or
  // named twice. A manifest with a version and no tensors is valid here (the
  // model loaders ask for the tensors they need).
  static absl::StatusOr<std::unique_ptr<Bundle>> Open(const std::string& dir);
  // `path` as a version directory when it holds a manifest, else as a root
  // whose newest version is opened (what the offline tools accept).
  static absl::StatusOr<std::unique_ptr<Bundle>> OpenVersionOrNewest(const std::string& path);

  const std::string& dir() const { return dir_; }
  // The version: the directory's name (what servers report and match on).
  std::string version() const;
  const bundle::BundleManifest& manifest() const { return manifest_; }

  // The manifest's entry for tensor `name`, nullptr when there is none.
  const bundle::TensorSpec* FindTensor(const std::string& name) const;
  // Tensor `name` as stored. NotFound when the manifest has no such tensor;
  // DataLoss when its file is missing or too short for it.
  absl::StatusOr<Tensor> ReadTensor(const std::string& name) const;
  // NotFound when the manifest has no such vocabulary or its file is
  // missing; DataLoss when the file's line count differs from the
  // manifest's size.
  absl::StatusOr<Vocabulary> ReadVocabulary(const std::string& name) const;
  // videos.csv. DataLoss when the manifest names no file; NotFound when it
  // is missing.
  absl::StatusOr<std::vector<VideoRecord>> ReadVideos() const;
  // Absolute path of a file named in the manifest.
  std::string Path(const std::string& file) const;

 private:
  Bundle(std::string dir, bundle::BundleManifest manifest)
      : dir_(std::move(dir)), manifest_(std::move(manifest)) {}
  std::string dir_;
  bundle::BundleManifest manifest_;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_BUNDLE_H_
