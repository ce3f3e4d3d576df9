#include "common/serving/version_manager.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace recsys {
namespace {

// Version directories under `root`, newest (largest name) first. Names
// starting with '.' (the trainer's ".tmp-*", a copy in progress) are not
// versions.
absl::StatusOr<std::vector<std::string>> ListVersions(const std::string& root) {
  DIR* d = opendir(root.c_str());
  if (d == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read the bundles root ", root, ": ",
                                            std::strerror(errno),
                                            " (run the trainer first, see README.md)"));
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    struct stat st;
    if (stat(absl::StrCat(root, "/", name).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      names.push_back(std::move(name));
    }
  }
  closedir(d);
  std::sort(names.begin(), names.end(), std::greater<>());
  return names;
}

std::string Join(const std::vector<std::shared_ptr<const Servable>>& versions) {
  return absl::StrJoin(versions, ", ", [](std::string* out, const auto& s) {
    absl::StrAppend(out, s->version());
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<VersionManager>> VersionManager::Create(
    const Options& options, Loader loader) {
  if (options.root.empty()) return absl::InvalidArgumentError("empty bundles root");
  if (options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the poll interval must be positive");
  }
  if (options.max_loaded_versions < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_loaded_versions must be >= 1, got ", options.max_loaded_versions));
  }
  if (loader == nullptr) return absl::InvalidArgumentError("no loader");
  return std::unique_ptr<VersionManager>(new VersionManager(options, std::move(loader)));
}

VersionManager::~VersionManager() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

std::string VersionManager::Fingerprint(const std::string& dir) {
  std::string fp;
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    absl::StrAppend(&fp, st.st_ino, ":", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ";");
  }
  std::vector<std::string> entries;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      if (stat(absl::StrCat(dir, "/", name).c_str(), &st) != 0) continue;
      // The inode catches a file replaced by rename within one tick of the
      // file-system clock (same size and mtime); ctime catches a chmod or
      // an in-place write that restored the mtime.
      entries.push_back(absl::StrCat(name, ":", st.st_ino, ":", st.st_size, ":",
                                     st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec, ":",
                                     st.st_ctim.tv_sec, ".", st.st_ctim.tv_nsec));
    }
    closedir(d);
  }
  std::sort(entries.begin(), entries.end());
  absl::StrAppend(&fp, absl::StrJoin(entries, ";"));
  return fp;
}

absl::Status VersionManager::LoadInitial() {
  std::vector<std::string> rejections = Scan();
  if (snapshot() != nullptr) return absl::OkStatus();
  absl::StatusOr<std::vector<std::string>> names = ListVersions(options_.root);
  if (!names.ok()) return names.status();
  if (!options_.pinned_version.empty() &&
      std::find(names->begin(), names->end(), options_.pinned_version) == names->end()) {
    return absl::NotFoundError(absl::StrCat("the pinned version ", options_.pinned_version,
                                            " is not under ", options_.root));
  }
  if (rejections.empty()) {
    return absl::NotFoundError(absl::StrCat("no model bundle under ", options_.root,
                                            ": run the trainer first (see README.md)"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("no valid model bundle under ", options_.root, "; rejected: ",
                   absl::StrJoin(rejections, "; ")));
}

void VersionManager::Start() {
  absl::MutexLock lock(&mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { PollLoop(); });
}

void VersionManager::RequestRescan() {
  absl::MutexLock lock(&mu_);
  rescan_requested_ = true;
}

void VersionManager::ScanOnce() { Scan(); }

void VersionManager::PollLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return rescan_requested_ || stopping_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&wake), options_.poll_interval);
      if (stopping_) return;
      if (rescan_requested_) spdlog::info("{}: rescanning {}", options_.name, options_.root);
      rescan_requested_ = false;
    }
    Scan();
  }
}

std::vector<std::string> VersionManager::Scan() {
  absl::MutexLock scan_lock(&scan_mu_);
  std::vector<std::string> rejections;
  absl::StatusOr<std::vector<std::string>> names = ListVersions(options_.root);
  if (!names.ok()) {
    // An unreadable root (a volume remounting) changes nothing being served.
    WarnOnce(names.status().ToString());
    return rejections;
  }
  {
    // Forget rejections of directories that are gone (`Rejected` reports
    // what is on disk now).
    absl::flat_hash_set<std::string> present(names->begin(), names->end());
    absl::MutexLock lock(&mu_);
    absl::erase_if(rejected_, [&](const auto& r) { return !present.contains(r.first); });
  }
  std::shared_ptr<const Snapshot> current = snapshot();
  absl::flat_hash_map<std::string, std::shared_ptr<const Servable>> loaded;
  if (current != nullptr) {
    for (const auto& s : current->versions) loaded[s->version()] = s;
  }

  std::vector<std::shared_ptr<const Servable>> next;
  for (const std::string& name : *names) {
    if (static_cast<int>(next.size()) >= options_.max_loaded_versions) break;
    if (!options_.pinned_version.empty() && name != options_.pinned_version) continue;
    const std::string dir = absl::StrCat(options_.root, "/", name);
    const std::string fingerprint = Fingerprint(dir);
    if (auto it = loaded.find(name); it != loaded.end()) {
      std::string& seen = loaded_fingerprints_[name];
      if (seen.empty()) {
        seen = fingerprint;
      } else if (seen != fingerprint) {
        seen = fingerprint;
        spdlog::warn("{}: version {} changed on disk while loaded; the loaded copy keeps "
                     "serving (write a new version instead of editing one)",
                     options_.name, name);
      }
      next.push_back(it->second);
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      auto r = rejected_.find(name);
      if (r != rejected_.end() && r->second.first == fingerprint) {
        rejections.push_back(absl::StrCat(name, ": ", r->second.second));
        continue;
      }
    }
    const absl::Time start = absl::Now();
    absl::StatusOr<std::shared_ptr<const Servable>> servable = Load(dir, name);
    if (!servable.ok()) {
      const std::string reason(servable.status().message());
      if (options_.on_load) options_.on_load(false);
      spdlog::error("{}: rejected bundle version {} ({}): {}", options_.name, name, dir,
                    reason);
      rejections.push_back(absl::StrCat(name, ": ", reason));
      absl::MutexLock lock(&mu_);
      rejected_[name] = {fingerprint, reason};
      continue;
    }
    if (options_.on_load) options_.on_load(true);
    spdlog::info("{}: loaded bundle version {} in {:.2f} s", options_.name, name,
                 absl::ToDoubleSeconds(absl::Now() - start));
    {
      absl::MutexLock lock(&mu_);
      rejected_.erase(name);
    }
    loaded_fingerprints_[name] = fingerprint;
    next.push_back(*std::move(servable));
  }

  if (next.empty()) {
    if (current != nullptr) {
      WarnOnce(absl::StrCat("no valid version under ", options_.root, " now; keeping ",
                            Join(current->versions)));
    }
    return rejections;
  }
  last_warning_.clear();
  if (current == nullptr || Join(current->versions) != Join(next)) {
    spdlog::info("{}: serving version {}{}", options_.name, next.front()->version(),
                 next.size() > 1 ? absl::StrCat(" (also loaded: ",
                                                Join({next.begin() + 1, next.end()}), ")")
                                 : std::string());
    for (const auto& [name, unused] : loaded) {
      if (std::none_of(next.begin(), next.end(),
                       [&](const auto& s) { return s->version() == name; })) {
        loaded_fingerprints_.erase(name);
        spdlog::info("{}: unloading version {} (freed after its last request)",
                     options_.name, name);
      }
    }
    Publish(std::move(next));
  }
  return rejections;
}

void VersionManager::WarnOnce(const std::string& warning) {
  if (warning == last_warning_) return;
  last_warning_ = warning;
  spdlog::warn("{}: {} (logged again when it changes)", options_.name, warning);
}

void VersionManager::Publish(std::vector<std::shared_ptr<const Servable>> versions) {
  if (options_.on_published) options_.on_published(versions);
  std::shared_ptr<const Snapshot> snapshot = std::make_shared<Snapshot>(
      Snapshot{std::move(versions)});
  {
    absl::MutexLock lock(&mu_);
    snapshot_.swap(snapshot);
  }
  // `snapshot` now holds the old one: if this was its last reference, its
  // servables are freed here, not under `mu_` (which requests take).
}

absl::StatusOr<std::shared_ptr<const Servable>> VersionManager::Load(
    const std::string& dir, const std::string& name) const {
  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(dir);
  if (!bundle.ok()) return bundle.status();
  absl::StatusOr<std::shared_ptr<const Servable>> servable;
  // A loader must not throw, but a hot reload must never take the server
  // down: whatever escapes it rejects this version.
  try {
    servable = loader_(**bundle);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("the loader threw: ", e.what()));
  } catch (...) {
    return absl::InternalError("the loader threw a non-standard exception");
  }
  if (!servable.ok()) return servable.status();
  if (*servable == nullptr) {
    return absl::InternalError("the loader returned no servable");
  }
  if ((*servable)->version() != name) {
    return absl::InternalError(absl::StrCat("the loader returned a servable for version '",
                                            (*servable)->version(), "', expected '", name,
                                            "' (the directory's name)"));
  }
  return servable;
}

std::shared_ptr<const VersionManager::Snapshot> VersionManager::snapshot() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

std::shared_ptr<const Servable> VersionManager::Newest() const {
  std::shared_ptr<const Snapshot> s = snapshot();
  if (s == nullptr || s->versions.empty()) return nullptr;
  return s->versions.front();
}

std::shared_ptr<const Servable> VersionManager::Find(const std::string& version) const {
  std::shared_ptr<const Snapshot> s = snapshot();
  if (s == nullptr) return nullptr;
  for (const auto& v : s->versions) {
    if (v->version() == version) return v;
  }
  return nullptr;
}

std::vector<std::string> VersionManager::LoadedVersions() const {
  std::vector<std::string> out;
  if (std::shared_ptr<const Snapshot> s = snapshot()) {
    for (const auto& v : s->versions) out.push_back(v->version());
  }
  return out;
}

absl::flat_hash_map<std::string, std::string> VersionManager::Rejected() const {
  absl::MutexLock lock(&mu_);
  absl::flat_hash_map<std::string, std::string> out;
  for (const auto& [name, r] : rejected_) out[name] = r.second;
  return out;
}

}  // namespace recsys
