#include "common/serving/version_manager.h"

#include <filesystem>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/serving/bundle.h"
#include "common/serving/models.h"
#include "common/serving/testing/tiny_bundle.h"
#include "proto/recsys.pb.h"

namespace recsys {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Key;
using ::testing::UnorderedElementsAre;

// Versions in the order the trainer would write them.
constexpr char kV1[] = "20260101-000001";
constexpr char kV2[] = "20260101-000002";
constexpr char kV3[] = "20260101-000003";
constexpr char kV4[] = "20260101-000004";

// The tensor the tests damage: the ranking tower's first weight.
const std::string& DamagedTensor() {
  static const std::string* name =
      new std::string(LayerTensorName(kRankingTower, 0, "weight"));
  return *name;
}

// One version's ranking model, as the ranking server serves it.
class RankingServable : public Servable {
 public:
  RankingServable(std::string version, std::unique_ptr<RankingModel> model)
      : Servable(std::move(version)), model_(std::move(model)) {}
  const RankingModel& model() const { return *model_; }

 private:
  std::unique_ptr<RankingModel> model_;
};

// A `VersionManager::Loader` over `RankingModel::Load` that counts its calls
// per version. Thread-safe: the polling thread calls it.
class CountingLoader {
 public:
  VersionManager::Loader loader() {
    return [this](const Bundle& bundle) -> absl::StatusOr<std::shared_ptr<const Servable>> {
      const std::string version = fs::path(bundle.dir()).filename().string();
      {
        absl::MutexLock lock(&mu_);
        ++calls_[version];
      }
      absl::StatusOr<std::unique_ptr<RankingModel>> model = RankingModel::Load(bundle);
      if (!model.ok()) return model.status();
      return std::make_shared<RankingServable>(version, *std::move(model));
    };
  }

  int calls(const std::string& version) const {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(version);
    return it == calls_.end() ? 0 : it->second;
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> calls_ ABSL_GUARDED_BY(mu_);
};

class VersionManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = FreshTestDir(absl::StrCat(
        "version_manager_",
        ::testing::UnitTest::GetInstance()->current_test_info()->name()));
  }

  // Writes a valid version named `version` under the root.
  std::string Write(const std::string& version) {
    TinyBundleOptions options;
    options.version = version;
    options.seed = static_cast<uint32_t>(std::hash<std::string>()(version));
    absl::StatusOr<std::string> dir = WriteTinyBundle(root_, options);
    EXPECT_TRUE(dir.ok()) << dir.status();
    return dir.ok() ? *dir : std::string();
  }

  // Writes `version` with a NaN in a ranking weight: `RankingModel::Load`
  // rejects it.
  std::string WriteCorrupt(const std::string& version) {
    const std::string dir = Write(version);
    EXPECT_TRUE(
        SetTensorValue(dir, DamagedTensor(), 0, std::numeric_limits<float>::quiet_NaN())
            .ok());
    return dir;
  }

  std::unique_ptr<VersionManager> Create(VersionManager::Options options = {}) {
    options.root = root_;
    options.name = "test";
    absl::StatusOr<std::unique_ptr<VersionManager>> manager =
        VersionManager::Create(options, loader_.loader());
    EXPECT_TRUE(manager.ok()) << manager.status();
    return manager.ok() ? *std::move(manager) : nullptr;
  }

  static std::string NewestVersion(const VersionManager& manager) {
    std::shared_ptr<const Servable> newest = manager.Newest();
    return newest == nullptr ? "(none)" : newest->version();
  }

  std::string root_;
  CountingLoader loader_;
};

TEST_F(VersionManagerTest, CreateRejectsBadOptions) {
  VersionManager::Options options;
  EXPECT_EQ(VersionManager::Create(options, loader_.loader()).status().code(),
            absl::StatusCode::kInvalidArgument);  // No root.
  options.root = root_;
  options.poll_interval = absl::ZeroDuration();
  EXPECT_EQ(VersionManager::Create(options, loader_.loader()).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.poll_interval = absl::Seconds(1);
  options.max_loaded_versions = 0;
  EXPECT_EQ(VersionManager::Create(options, loader_.loader()).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.max_loaded_versions = 1;
  EXPECT_EQ(VersionManager::Create(options, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(VersionManagerTest, ServesTheNewestValidVersion) {
  Write(kV1);
  Write(kV3);
  Write(kV2);
  // Hidden directories (a trainer's ".tmp-*", a copy in progress) are not
  // versions, however they sort.
  fs::create_directories(root_ + "/.tmp-99999999-999999");
  std::unique_ptr<VersionManager> manager = Create();
  ASSERT_NE(manager, nullptr);
  EXPECT_EQ(manager->snapshot(), nullptr);
  EXPECT_EQ(manager->Newest(), nullptr);
  ASSERT_TRUE(manager->LoadInitial().ok());
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV3));
  EXPECT_EQ(loader_.calls(kV3), 1);
  EXPECT_EQ(loader_.calls(kV2), 0);
  EXPECT_EQ(loader_.calls(kV1), 0);
  std::shared_ptr<const RankingServable> servable =
      VersionManager::Get<RankingServable>(manager->Newest());
  ASSERT_NE(servable, nullptr);
  EXPECT_EQ(servable->version(), kV3);
  EXPECT_EQ(manager->Find(kV3), manager->Newest());
  EXPECT_EQ(manager->Find(kV1), nullptr);
  EXPECT_THAT(manager->Rejected(), IsEmpty());

  // Nothing changed: a scan loads nothing and publishes nothing.
  std::shared_ptr<const VersionManager::Snapshot> before = manager->snapshot();
  manager->ScanOnce();
  EXPECT_EQ(manager->snapshot(), before);
  EXPECT_EQ(loader_.calls(kV3), 1);
}

TEST_F(VersionManagerTest, LoadInitialFallsBackToAnOlderValidVersion) {
  Write(kV1);
  WriteCorrupt(kV2);
  std::unique_ptr<VersionManager> manager = Create();
  ASSERT_NE(manager, nullptr);
  ASSERT_TRUE(manager->LoadInitial().ok());
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV1));
  EXPECT_EQ(loader_.calls(kV2), 1);
  absl::flat_hash_map<std::string, std::string> rejected = manager->Rejected();
  ASSERT_TRUE(rejected.contains(kV2));
  EXPECT_THAT(rejected[kV2], AllOf(HasSubstr(DamagedTensor()),
                                   HasSubstr("has a non-finite value (nan)")));
}

TEST_F(VersionManagerTest, LoadInitialWithoutAValidVersionListsEveryRejection) {
  const std::string v1 = Write(kV1);
  ASSERT_TRUE(TruncateFile(v1 + "/weights.bin", 100).ok());
  const std::string v2 = Write(kV2);
  ASSERT_TRUE(OverwriteFile(v2 + "/manifest.pb", "").ok());
  const std::string v3 = WriteCorrupt(kV3);
  std::unique_ptr<VersionManager> manager = Create();
  ASSERT_NE(manager, nullptr);
  const absl::Status s = manager->LoadInitial();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr(root_), HasSubstr(absl::StrCat(kV1, ": ")),
                    HasSubstr(v1 + "/weights.bin is truncated"), HasSubstr(absl::StrCat(kV2, ": ")),
                    HasSubstr(v2 + "/manifest.pb is empty"), HasSubstr(absl::StrCat(kV3, ": ")),
                    HasSubstr(v3 + "/weights.bin has a non-finite value")));
  EXPECT_EQ(manager->snapshot(), nullptr);
  EXPECT_THAT(manager->Rejected(), UnorderedElementsAre(Key(kV1), Key(kV2), Key(kV3)));

  // Asked again, it lists them again, without loading them again.
  const absl::Status again = manager->LoadInitial();
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition) << again;
  EXPECT_THAT(again.message(), AllOf(HasSubstr(kV1), HasSubstr(kV2), HasSubstr(kV3)));
  EXPECT_EQ(loader_.calls(kV1), 1);
  EXPECT_EQ(loader_.calls(kV3), 1);
}

TEST_F(VersionManagerTest, LoadInitialWithoutVersionsSaysToRunTheTrainer) {
  std::unique_ptr<VersionManager> manager = Create();
  ASSERT_NE(manager, nullptr);
  absl::Status s = manager->LoadInitial();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(s.message(), AllOf(HasSubstr(root_), HasSubstr("run the trainer")));

  fs::remove_all(root_);
  s = manager->LoadInitial();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(s.message(), HasSubstr(root_));
}

TEST_F(VersionManagerTest, ARejectedVersionIsRetriedOnlyAfterItsDirectoryChanges) {
  Write(kV1);
  const std::string v2 = Write(kV2);
  absl::StatusOr<float> good = GetTensorValue(v2, DamagedTensor(), 0);
  ASSERT_TRUE(good.ok()) << good.status();
  ASSERT_TRUE(
      SetTensorValue(v2, DamagedTensor(), 0, std::numeric_limits<float>::quiet_NaN()).ok());
  std::unique_ptr<VersionManager> manager = Create();
  ASSERT_NE(manager, nullptr);
  ASSERT_TRUE(manager->LoadInitial().ok());
  EXPECT_EQ(loader_.calls(kV2), 1);
  for (int i = 0; i < 3; ++i) manager->ScanOnce();
  EXPECT_EQ(loader_.calls(kV2), 1);
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV1));

  // Fixed: the weights file is replaced with the good one (same size, and
  // likely the same modification time to the file-system clock's tick).
  ASSERT_TRUE(SetTensorValue(v2, DamagedTensor(), 0, *good).ok());
  manager->ScanOnce();
  EXPECT_EQ(loader_.calls(kV2), 2);
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV2));
  EXPECT_THAT(manager->Rejected(), IsEmpty());
  manager->ScanOnce();
  EXPECT_EQ(loader_.calls(kV2), 2);
}

TEST_F(VersionManagerTest, AVersionBrokenAnotherWayAfterRejectionIsRetriedAndRejectedAgain) {
  Write(kV1);
  const std::string v2 = WriteCorrupt(kV2);
  std::unique_ptr<VersionManager> manager = Create();
  ASSERT_NE(manager, nullptr);
  ASSERT_TRUE(manager->LoadInitial().ok());
  ASSERT_TRUE(DropLastLines(v2 + "/vocab_channel.txt", 1).ok());
  manager->ScanOnce();
  EXPECT_EQ(loader_.calls(kV2), 2);
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV1));
  EXPECT_THAT(manager->Rejected()[kV2], HasSubstr(v2 + "/vocab_channel.txt"));
  // A rejected directory that is deleted is forgotten.
  fs::remove_all(v2);
  manager->ScanOnce();
  EXPECT_THAT(manager->Rejected(), IsEmpty());
}

TEST_F(VersionManagerTest, ANewVersionIsServedAtTheNextScanAndTheOldLivesWhileHeld) {
  Write(kV1);
  std::unique_ptr<VersionManager> manager = Create();
  ASSERT_NE(manager, nullptr);
  ASSERT_TRUE(manager->LoadInitial().ok());
  // A request in flight holds the version it started with.
  std::shared_ptr<const RankingServable> held =
      VersionManager::Get<RankingServable>(manager->Newest());
  ASSERT_NE(held, nullptr);
  std::weak_ptr<const RankingServable> watch = held;

  Write(kV2);
  manager->ScanOnce();
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV2));
  EXPECT_EQ(NewestVersion(*manager), kV2);
  EXPECT_EQ(manager->Find(kV1), nullptr);
  // The unloaded version still answers the request that holds it ...
  ASSERT_FALSE(watch.expired());
  EXPECT_EQ(held->version(), kV1);
  Candidate candidate;
  candidate.set_video_id(TinyVideoId(0));
  candidate.set_source(SOURCE_DNN);
  std::vector<float> seconds =
      held->model().PredictWatchSeconds(UserContext(), {candidate}, 1767225600);
  ASSERT_EQ(seconds.size(), 1u);
  EXPECT_GT(seconds[0], 0.0f);
  // ... and is freed when that request drops it.
  held.reset();
  EXPECT_TRUE(watch.expired());
}

TEST_F(VersionManagerTest, MaxLoadedVersionsKeepsTheNewest) {
  Write(kV1);
  Write(kV2);
  Write(kV3);
  VersionManager::Options options;
  options.max_loaded_versions = 2;
  std::unique_ptr<VersionManager> manager = Create(options);
  ASSERT_NE(manager, nullptr);
  ASSERT_TRUE(manager->LoadInitial().ok());
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV3, kV2));
  EXPECT_EQ(loader_.calls(kV1), 0);
  std::weak_ptr<const Servable> v2 = manager->Find(kV2);

  Write(kV4);
  manager->ScanOnce();
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV4, kV3));
  EXPECT_EQ(manager->Find(kV2), nullptr);
  EXPECT_TRUE(v2.expired());  // Nothing held it.
  EXPECT_EQ(loader_.calls(kV3), 1);  // Kept, not reloaded.
  EXPECT_EQ(loader_.calls(kV1), 0);
}

TEST_F(VersionManagerTest, MaxLoadedVersionsSkipsRejectedVersions) {
  Write(kV1);
  Write(kV2);
  WriteCorrupt(kV3);
  VersionManager::Options options;
  options.max_loaded_versions = 2;
  std::unique_ptr<VersionManager> manager = Create(options);
  ASSERT_NE(manager, nullptr);
  ASSERT_TRUE(manager->LoadInitial().ok());
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV2, kV1));
}

TEST_F(VersionManagerTest, APinnedVersionIsServedEvenWhenNewerExist) {
  Write(kV1);
  Write(kV2);
  Write(kV3);
  VersionManager::Options options;
  options.pinned_version = kV2;
  std::unique_ptr<VersionManager> manager = Create(options);
  ASSERT_NE(manager, nullptr);
  ASSERT_TRUE(manager->LoadInitial().ok());
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV2));
  Write(kV4);
  manager->ScanOnce();
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV2));
  EXPECT_EQ(loader_.calls(kV3), 0);
  EXPECT_EQ(loader_.calls(kV4), 0);
}

TEST_F(VersionManagerTest, APinnedVersionThatIsMissingOrInvalidFailsLoadInitial) {
  Write(kV1);
  WriteCorrupt(kV2);
  VersionManager::Options options;
  options.pinned_version = "20991231-000000";
  std::unique_ptr<VersionManager> manager = Create(options);
  ASSERT_NE(manager, nullptr);
  absl::Status s = manager->LoadInitial();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_THAT(s.message(), HasSubstr("20991231-000000"));

  options.pinned_version = kV2;  // Never falls back to another version.
  manager = Create(options);
  ASSERT_NE(manager, nullptr);
  s = manager->LoadInitial();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), HasSubstr(kV2));
  EXPECT_EQ(manager->snapshot(), nullptr);
  EXPECT_EQ(loader_.calls(kV1), 0);
}

TEST_F(VersionManagerTest, ADeletedVersionIsUnloadedUnlessItIsTheOnlyOne) {
  const std::string v1 = Write(kV1);
  const std::string v2 = Write(kV2);
  VersionManager::Options options;
  options.max_loaded_versions = 2;
  std::unique_ptr<VersionManager> manager = Create(options);
  ASSERT_NE(manager, nullptr);
  ASSERT_TRUE(manager->LoadInitial().ok());
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV2, kV1));

  fs::remove_all(v2);
  manager->ScanOnce();
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV1));
  // The last one is kept: a manager never goes from serving to not serving.
  fs::remove_all(v1);
  manager->ScanOnce();
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV1));
  EXPECT_EQ(NewestVersion(*manager), kV1);
  // Even with the whole root gone.
  fs::remove_all(root_);
  manager->ScanOnce();
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV1));
  // A new version replaces it.
  Write(kV3);
  manager->ScanOnce();
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV3));
}

TEST_F(VersionManagerTest, ADeletedVersionFallsBackToTheNewestValidOlderOne) {
  Write(kV1);
  const std::string v2 = Write(kV2);
  std::unique_ptr<VersionManager> manager = Create();
  ASSERT_NE(manager, nullptr);
  ASSERT_TRUE(manager->LoadInitial().ok());
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV2));
  fs::remove_all(v2);
  manager->ScanOnce();
  EXPECT_THAT(manager->LoadedVersions(), ElementsAre(kV1));
}

TEST_F(VersionManagerTest, ALoaderThatThrowsOrMislabelsRejectsTheVersion) {
  Write(kV1);
  Write(kV2);
  VersionManager::Options options;
  options.root = root_;
  absl::StatusOr<std::unique_ptr<VersionManager>> manager = VersionManager::Create(
      options, [](const Bundle& bundle) -> absl::StatusOr<std::shared_ptr<const Servable>> {
        if (fs::path(bundle.dir()).filename() == kV2) throw std::runtime_error("boom");
        return std::make_shared<Servable>("not-a-version");
      });
  ASSERT_TRUE(manager.ok()) << manager.status();
  const absl::Status s = (*manager)->LoadInitial();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_THAT(s.message(), AllOf(HasSubstr("the loader threw: boom"),
                                 HasSubstr("'not-a-version', expected '20260101-000001'")));
}

TEST_F(VersionManagerTest, RequestRescanWakesThePollingThread) {
  Write(kV1);
  VersionManager::Options options;
  options.poll_interval = absl::Hours(1);  // Only a rescan request scans.
  std::unique_ptr<VersionManager> manager = Create(options);
  ASSERT_NE(manager, nullptr);
  ASSERT_TRUE(manager->LoadInitial().ok());
  manager->Start();
  manager->Start();  // Harmless.
  Write(kV2);
  manager->RequestRescan();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (NewestVersion(*manager) != kV2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(NewestVersion(*manager), kV2);
  // The destructor stops the thread without waiting for the hour.
}

}  // namespace
}  // namespace recsys
