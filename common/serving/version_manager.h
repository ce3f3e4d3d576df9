#ifndef RECSYS_COMMON_SERVING_VERSION_MANAGER_H_
#define RECSYS_COMMON_SERVING_VERSION_MANAGER_H_

// Serves model bundle versions the way TensorFlow Serving's
// AspiredVersionsManager does with its availability-preserving policy: a new
// version is loaded and validated completely, off the request path, before
// it replaces the old one, and a version that fails to load never replaces
// anything.
//
// The manager watches a bundles root (`<root>/<version>/`, docs/bundle.md).
// A version is a directory whose name does not start with '.'; versions
// order by name (the trainer names them by UTC time). On every scan (each
// `poll_interval`, and at once after `RequestRescan`, which the servers call
// on SIGHUP) it aims to serve the newest `max_loaded_versions` valid
// versions, or only `pinned_version` when one is pinned:
//   - a version it has not seen is loaded through the `Loader` (which reads
//     and validates everything, then runs a smoke request); on success it is
//     published, on failure it is rejected: logged once with the reason and
//     not retried until its directory changes (a file added, removed,
//     resized or rewritten);
//   - publishing swaps one immutable `Snapshot` atomically. A request holds
//     the snapshot (or servable) it started with; an unloaded version is
//     freed when its last request drops it;
//   - a loaded version whose directory disappears is unloaded, unless it is
//     the last one loaded: a manager never goes from serving to not serving.
//
// Thread-safety: every public method may be called from any thread.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/serving/bundle.h"

namespace recsys {

// What one bundle version loads into: immutable once loaded, shared by every
// request that uses it. Services derive their own (a retriever, a ranking
// model) and downcast with `VersionManager::Get<T>`.
class Servable {
 public:
  explicit Servable(std::string version) : version_(std::move(version)) {}
  virtual ~Servable() = default;
  // The bundle version: its directory name under the bundles root.
  const std::string& version() const { return version_; }

 private:
  std::string version_;
};

class VersionManager {
 public:
  // Loads, validates and smoke-tests one version. Errors name the file and
  // the problem. Called on the manager's thread (or the caller of
  // `LoadInitial` / `ScanOnce`), never on a request path.
  using Loader =
      std::function<absl::StatusOr<std::shared_ptr<const Servable>>(const Bundle&)>;

  struct Options {
    // The bundles root.
    std::string root;
    // How often the root is scanned for new versions. > 0.
    absl::Duration poll_interval = absl::Seconds(5);
    // Serve exactly this version (a directory name) when not empty.
    std::string pinned_version;
    // The newest valid versions kept loaded (ranking keeps 2, so it can rank
    // with the candidate stage's version while both roll). >= 1.
    int max_loaded_versions = 1;
    // For logs, e.g. "ranking_server".
    std::string name = "server";
    // Optional observers (metrics), called on the scanning thread: each load
    // attempt's outcome, and the versions loaded after each change.
    std::function<void(bool accepted)> on_load;
    std::function<void(const std::vector<std::shared_ptr<const Servable>>& loaded)>
        on_published;
  };

  // The versions loaded at one moment, newest first (never empty once
  // published).
  struct Snapshot {
    std::vector<std::shared_ptr<const Servable>> versions;
  };

  // InvalidArgument for bad options.
  static absl::StatusOr<std::unique_ptr<VersionManager>> Create(
      const Options& options, Loader loader);
  // Stops the polling thread. Servables still held by requests live on.
  ~VersionManager();

  // Scans once, synchronously, until at least one version is served: the
  // newest valid one, falling back to older ones. NotFound / FailedPrecondition
  // (listing every rejected version and why) when none is valid.
  absl::Status LoadInitial();
  // Starts the polling thread (after `LoadInitial`). Later calls do
  // nothing.
  void Start();
  // Makes the polling thread scan now (SIGHUP). Returns at once.
  void RequestRescan();
  // One synchronous scan (what the polling thread runs).
  void ScanOnce();

  // The current snapshot; nullptr before anything is loaded.
  std::shared_ptr<const Snapshot> snapshot() const;
  // The newest loaded version, nullptr when none.
  std::shared_ptr<const Servable> Newest() const;
  // The loaded `version`, nullptr when it is not loaded.
  std::shared_ptr<const Servable> Find(const std::string& version) const;
  std::vector<std::string> LoadedVersions() const;

  template <typename T>
  static std::shared_ptr<const T> Get(std::shared_ptr<const Servable> servable) {
    return std::static_pointer_cast<const T>(std::move(servable));
  }

  // Versions rejected and not loaded since (directory name -> reason), for
  // tests and status pages. A directory that disappears is forgotten at the
  // next scan.
  absl::flat_hash_map<std::string, std::string> Rejected() const;

 private:
  VersionManager(Options options, Loader loader)
      : options_(std::move(options)), loader_(std::move(loader)) {}

  // A directory's identity for "has it changed since it was rejected": its
  // inode and modification time, and the names, inodes, sizes, modification
  // and change times of its files. Content is not read: a file rewritten in
  // place with the same size within one tick of the file-system clock goes
  // unnoticed (writers replace files, or write a new version).
  static std::string Fingerprint(const std::string& dir);

  // Loads what the desired set lacks, then publishes. Serialised by
  // `scan_mu_`. Returns the rejections of this scan.
  std::vector<std::string> Scan();
  // Opens `dir` and runs the loader on it; an error for anything but a
  // servable of version `name` (a thrown exception included).
  absl::StatusOr<std::shared_ptr<const Servable>> Load(const std::string& dir,
                                                       const std::string& name) const;
  void Publish(std::vector<std::shared_ptr<const Servable>> versions);
  // Logs `warning` unless it is the same as the last one (a condition that
  // lasts would otherwise be logged at every poll).
  void WarnOnce(const std::string& warning) ABSL_EXCLUSIVE_LOCKS_REQUIRED(scan_mu_);
  void PollLoop();

  const Options options_;
  const Loader loader_;

  // Held for a whole scan: scans never overlap.
  absl::Mutex scan_mu_;
  // Rejected directory -> (fingerprint, reason).
  absl::flat_hash_map<std::string, std::pair<std::string, std::string>> rejected_
      ABSL_GUARDED_BY(mu_);
  // Loaded directory -> its fingerprint when loaded (a change is warned of).
  absl::flat_hash_map<std::string, std::string> loaded_fingerprints_
      ABSL_GUARDED_BY(scan_mu_);

  std::string last_warning_ ABSL_GUARDED_BY(scan_mu_);

  mutable absl::Mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  bool rescan_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_VERSION_MANAGER_H_
