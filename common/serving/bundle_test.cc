#include "common/serving/bundle.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/logs/logs.h"
#include "common/features/vocabulary.h"

namespace recsys {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// A fresh, empty bundle root for one test.
std::string Root(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string root = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/bundles_",
                                  name);
  fs::remove_all(root);
  return root;
}

std::set<std::string> ListDir(const std::string& dir) {
  std::set<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& e : fs::directory_iterator(dir)) {
    names.insert(e.path().filename().string());
  }
  return names;
}

// The second every writer of these tests is created in (unless a test
// passes another), so that version names never depend on when a test runs.
constexpr int64_t kSecond = 1767225600;  // 2026-01-01 00:00:00 UTC
constexpr char kSecondVersion[] = "20260101-000000";

std::unique_ptr<BundleWriter> NewWriter(const std::string& root,
                                        int64_t now_unix_s = kSecond) {
  absl::StatusOr<std::unique_ptr<BundleWriter>> w =
      BundleWriter::Create(root, now_unix_s);
  EXPECT_TRUE(w.ok()) << w.status();
  return w.ok() ? std::move(*w) : nullptr;
}

// Floats that a lossy writer would change: signed zero, a denormal, the
// extremes, infinities and a NaN payload.
std::vector<float> AwkwardFloats() {
  std::vector<float> v = {0.0f,
                          -0.0f,
                          1.0f / 3.0f,
                          -2.5e-3f,
                          std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::lowest(),
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          std::nanf("123"),
                          3.14159265f,
                          1e-30f};
  return v;
}

std::vector<VideoRecord> SomeVideos() {
  VideoRecord a;
  a.video_id = "v1";
  a.title = "Cats, \"the\" movie\nline two";  // CSV quoting.
  a.channel_id = "c1";
  a.topics = "music|live";
  a.language = "en";
  a.upload_time_s = 1'600'000'000;
  a.duration_s = 123.456f;
  VideoRecord b;
  b.video_id = "v2";
  b.title = "日本";
  b.channel_id = "";
  b.topics = "";
  b.language = "";
  b.upload_time_s = 0;
  b.duration_s = 1e-3f;
  return {a, b};
}

void ExpectBitEqual(const std::vector<float>& a, const std::vector<float>& b) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
}

TEST(BundleTest, NothingIsVisibleUntilCommit) {
  const std::string root = Root("visibility");
  std::unique_ptr<BundleWriter> w = NewWriter(root);
  ASSERT_NE(w, nullptr);
  EXPECT_THAT(w->dir(), StartsWith(root + "/.tmp-" + w->version()));
  EXPECT_THAT(ListDir(root), ElementsAre(fs::path(w->dir()).filename().string()));
  EXPECT_EQ(Bundle::FindNewest(root).status().code(),
            absl::StatusCode::kNotFound);

  std::vector<float> t = {1, 2, 3, 4, 5, 6};
  ASSERT_TRUE(w->AddTensor("t", {2, 3}, t.data()).ok());
  ASSERT_TRUE(w->AddVocabulary("video", *Vocabulary::FromValues({"a"})).ok());
  ASSERT_TRUE(w->AddVideos(SomeVideos()).ok());
  // Flush writes a manifest into the temporary directory: still invisible.
  ASSERT_TRUE(w->Flush().ok());
  EXPECT_TRUE(fs::exists(w->dir() + "/manifest.pb"));
  EXPECT_EQ(Bundle::FindNewest(root).status().code(),
            absl::StatusCode::kNotFound);
  // But the writer's own directory reads back (the trainer evaluates it).
  absl::StatusOr<std::unique_ptr<Bundle>> flushed = Bundle::Open(w->dir());
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  ASSERT_TRUE((*flushed)->ReadTensor("t").ok());
  EXPECT_EQ((*flushed)->ReadTensor("t")->data, t);

  const std::string version = w->version();
  absl::StatusOr<std::string> committed = w->Commit();
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ(*committed, root + "/" + version);
  EXPECT_THAT(ListDir(root), ElementsAre(version));  // The .tmp- dir is gone.
  absl::StatusOr<std::string> newest = Bundle::FindNewest(root);
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_EQ(*newest, *committed);
  // The writer is spent, and destroying it keeps the committed bundle.
  EXPECT_FALSE(w->Commit().ok());
  w.reset();
  EXPECT_THAT(ListDir(root), ElementsAre(version));
  EXPECT_TRUE(Bundle::Open(*committed).ok());
}

TEST(BundleTest, CommittedBundleRoundTripsExactly) {
  const std::string root = Root("round_trip");
  std::unique_ptr<BundleWriter> w = NewWriter(root);
  ASSERT_NE(w, nullptr);
  std::vector<float> awkward = AwkwardFloats();
  std::vector<float> matrix(6 * 7);
  for (size_t i = 0; i < matrix.size(); ++i) matrix[i] = std::sin(i + 0.5f);
  std::vector<float> bias = {-1.5f, 0.25f};
  ASSERT_TRUE(w->AddTensor("awkward", {static_cast<int64_t>(awkward.size())},
                           awkward.data()).ok());
  ASSERT_TRUE(w->AddTensor("empty/middle", {0, 8}, nullptr).ok());
  ASSERT_TRUE(w->AddTensor("tower/0/weight", {6, 7}, matrix.data()).ok());
  ASSERT_TRUE(w->AddTensor("tower/0/bias", {2}, bias.data()).ok());
  ASSERT_TRUE(w->AddTensor("empty/last", {0, 4}, nullptr).ok());
  Vocabulary videos = *Vocabulary::FromValues({"v2", "v1", "v 3", "日本"});
  Vocabulary empty;
  ASSERT_TRUE(w->AddVocabulary("video", videos).ok());
  ASSERT_TRUE(w->AddVocabulary("region", empty).ok());
  ASSERT_TRUE(w->AddVideos(SomeVideos()).ok());
  w->manifest()->mutable_ranking()->set_max_watches(17);
  w->manifest()->set_training_data("/data/logs");
  const std::string version = w->version();
  absl::StatusOr<std::string> dir = w->Commit();
  ASSERT_TRUE(dir.ok()) << dir.status();

  absl::StatusOr<std::unique_ptr<Bundle>> opened = Bundle::Open(*dir);
  ASSERT_TRUE(opened.ok()) << opened.status();
  const Bundle& b = **opened;
  EXPECT_EQ(b.dir(), *dir);
  EXPECT_EQ(b.manifest().version(), version);
  EXPECT_EQ(b.manifest().ranking().max_watches(), 17);
  EXPECT_EQ(b.manifest().training_data(), "/data/logs");
  EXPECT_GT(b.manifest().created_unix_s(), 0);

  absl::StatusOr<Tensor> t = b.ReadTensor("awkward");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->shape, ElementsAre(static_cast<int64_t>(awkward.size())));
  ExpectBitEqual(t->data, awkward);
  t = b.ReadTensor("tower/0/weight");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->shape, ElementsAre(6, 7));
  EXPECT_EQ(t->rows(), 6);
  EXPECT_EQ(t->cols(), 7);
  ExpectBitEqual(t->data, matrix);
  t = b.ReadTensor("tower/0/bias");
  ASSERT_TRUE(t.ok()) << t.status();
  ExpectBitEqual(t->data, bias);
  for (const char* name : {"empty/middle", "empty/last"}) {
    t = b.ReadTensor(name);
    ASSERT_TRUE(t.ok()) << name << ": " << t.status();
    EXPECT_EQ(t->rows(), 0) << name;
    EXPECT_THAT(t->data, IsEmpty()) << name;
  }

  absl::StatusOr<Vocabulary> v = b.ReadVocabulary("video");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->values(), videos.values());
  v = b.ReadVocabulary("region");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->size(), 0);
  EXPECT_EQ(b.ReadVocabulary("token").status().code(),
            absl::StatusCode::kNotFound);

  absl::StatusOr<std::vector<VideoRecord>> read = b.ReadVideos();
  ASSERT_TRUE(read.ok()) << read.status();
  std::vector<VideoRecord> expected = SomeVideos();
  ASSERT_EQ(read->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const VideoRecord &r = (*read)[i], &e = expected[i];
    EXPECT_EQ(r.video_id, e.video_id);
    EXPECT_EQ(r.title, e.title);
    EXPECT_EQ(r.channel_id, e.channel_id);
    EXPECT_EQ(r.topics, e.topics);
    EXPECT_EQ(r.language, e.language);
    EXPECT_EQ(r.upload_time_s, e.upload_time_s);
    EXPECT_EQ(r.duration_s, e.duration_s);
  }
}

TEST(BundleTest, WriterDestroyedWithoutCommitLeavesNothingBehind) {
  const std::string root = Root("abandoned");
  {
    std::unique_ptr<BundleWriter> w = NewWriter(root);
    ASSERT_NE(w, nullptr);
    std::vector<float> t = {1, 2};
    ASSERT_TRUE(w->AddTensor("t", {2}, t.data()).ok());
    ASSERT_TRUE(w->AddVocabulary("video", *Vocabulary::FromValues({"a"})).ok());
    ASSERT_TRUE(w->AddVideos(SomeVideos()).ok());
    std::ofstream(w->dir() + "/ann.faiss") << "index bytes";  // Like the ANN.
    ASSERT_TRUE(w->Flush().ok());
    EXPECT_THAT(ListDir(root), ElementsAre(StartsWith(".tmp-")));
  }
  EXPECT_THAT(ListDir(root), IsEmpty());
  EXPECT_EQ(Bundle::FindNewest(root).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(BundleTest, TheVersionIsTheUtcSecondOfTheClock) {
  const std::string root = Root("clock");
  std::unique_ptr<BundleWriter> fixed = NewWriter(root, kSecond + 3661);
  ASSERT_NE(fixed, nullptr);
  EXPECT_EQ(fixed->version(), "20260101-010101");
  EXPECT_EQ(fixed->manifest()->version(), "20260101-010101");
  EXPECT_EQ(fixed->manifest()->created_unix_s(), kSecond + 3661);

  // Without a clock, the current one: whichever second this runs in, the
  // version names the second the manifest records, and that second is now
  // (within a minute: the check must not race the clock's tick, nor fail
  // when the system clock is stepped meanwhile).
  absl::StatusOr<std::unique_ptr<BundleWriter>> now = BundleWriter::Create(root);
  ASSERT_TRUE(now.ok()) << now.status();
  const int64_t created_s = (*now)->manifest()->created_unix_s();
  EXPECT_LE(std::abs(created_s - static_cast<int64_t>(std::time(nullptr))), 60);
  EXPECT_EQ((*now)->version(),
            absl::FormatTime("%Y%m%d-%H%M%S", absl::FromUnixSeconds(created_s),
                             absl::UTCTimeZone()));
}

TEST(BundleTest, BundlesCommittedInTheSameSecondGetDistinctVersions) {
  const std::string root = Root("same_second");
  std::vector<std::string> dirs;
  for (int i = 0; i < 3; ++i) {
    std::unique_ptr<BundleWriter> w = NewWriter(root);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->version(), i == 0 ? std::string(kSecondVersion)
                                   : absl::StrFormat("%s.%03d", kSecondVersion, i));
    float x = i;
    ASSERT_TRUE(w->AddTensor("which", {1}, &x).ok());
    absl::StatusOr<std::string> dir = w->Commit();
    ASSERT_TRUE(dir.ok()) << dir.status();
    dirs.push_back(*dir);
    absl::StatusOr<std::string> newest = Bundle::FindNewest(root);
    ASSERT_TRUE(newest.ok()) << newest.status();
    EXPECT_EQ(*newest, *dir) << "after commit " << i;
  }
  EXPECT_EQ(std::set<std::string>(dirs.begin(), dirs.end()).size(), 3u);
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::unique_ptr<Bundle>> b = Bundle::Open(dirs[i]);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_THAT((*b)->ReadTensor("which")->data, ElementsAre(i));
  }
}

TEST(BundleTest, WritersOpenAtTheSameTimeGetDistinctVersions) {
  const std::string root = Root("overlapping");
  std::unique_ptr<BundleWriter> first = NewWriter(root);
  std::unique_ptr<BundleWriter> second = NewWriter(root);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first->version(), second->version());
  EXPECT_NE(first->dir(), second->dir());
  float one = 1, two = 2;
  ASSERT_TRUE(first->AddTensor("which", {1}, &one).ok());
  ASSERT_TRUE(second->AddTensor("which", {1}, &two).ok());
  absl::StatusOr<std::string> first_dir = first->Commit();
  ASSERT_TRUE(first_dir.ok()) << first_dir.status();
  absl::StatusOr<std::string> second_dir = second->Commit();
  ASSERT_TRUE(second_dir.ok()) << second_dir.status();
  absl::StatusOr<std::unique_ptr<Bundle>> a = Bundle::Open(*first_dir);
  absl::StatusOr<std::unique_ptr<Bundle>> b = Bundle::Open(*second_dir);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_THAT((*a)->ReadTensor("which")->data, ElementsAre(1));
  EXPECT_THAT((*b)->ReadTensor("which")->data, ElementsAre(2));
}

TEST(BundleTest, FindNewestPicksTheLatestOfManyInOneSecond) {
  // Ten earlier bundles this second ("<v>" and "<v>.001" to "<v>.009") make
  // the next one "<v>.010", which must still be the newest.
  const std::string root = Root("eleven");
  for (int n = 0; n < 10; ++n) {
    std::string dir =
        root + "/" + kSecondVersion + (n == 0 ? "" : absl::StrFormat(".%03d", n));
    fs::create_directories(dir);
    std::ofstream(dir + "/manifest.pb");  // An empty manifest parses.
  }
  std::unique_ptr<BundleWriter> w = NewWriter(root);
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->version(), absl::StrCat(kSecondVersion, ".010"));
  absl::StatusOr<std::string> dir = w->Commit();
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<std::string> newest = Bundle::FindNewest(root);
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_EQ(*newest, *dir);
}

TEST(BundleTest, ALaterSecondIsNewerThanEverySuffixOfAnEarlierOne) {
  const std::string root = Root("later_second");
  for (int n = 0; n < 3; ++n) {
    std::unique_ptr<BundleWriter> w = NewWriter(root);
    ASSERT_NE(w, nullptr);
    ASSERT_TRUE(w->Commit().ok());
  }
  std::unique_ptr<BundleWriter> later = NewWriter(root, kSecond + 1);
  ASSERT_NE(later, nullptr);
  EXPECT_EQ(later->version(), "20260101-000001");
  absl::StatusOr<std::string> dir = later->Commit();
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<std::string> newest = Bundle::FindNewest(root);
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_EQ(*newest, *dir);
}

TEST(BundleTest, FindNewestIgnoresIncompleteDirectories) {
  const std::string root = Root("incomplete");
  std::unique_ptr<BundleWriter> w = NewWriter(root);
  ASSERT_NE(w, nullptr);
  absl::StatusOr<std::string> dir = w->Commit();
  ASSERT_TRUE(dir.ok()) << dir.status();
  // A later-sorting directory without a manifest (a half-done copy) and a
  // later-sorting temporary directory.
  fs::create_directories(root + "/99999999-999999");
  fs::create_directories(root + "/.tmp-99999999-999999-1");
  std::ofstream(root + "/.tmp-99999999-999999-1/manifest.pb");
  absl::StatusOr<std::string> newest = Bundle::FindNewest(root);
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_EQ(*newest, *dir);
}

TEST(BundleTest, OpenVersionOrNewestTakesAVersionOrARoot) {
  const std::string root = Root("version_or_root");
  std::unique_ptr<BundleWriter> first = NewWriter(root);
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::string> older = first->Commit();
  ASSERT_TRUE(older.ok()) << older.status();
  std::unique_ptr<BundleWriter> second = NewWriter(root);
  ASSERT_NE(second, nullptr);
  absl::StatusOr<std::string> newer = second->Commit();
  ASSERT_TRUE(newer.ok()) << newer.status();
  auto by_root = Bundle::OpenVersionOrNewest(root);
  ASSERT_TRUE(by_root.ok()) << by_root.status();
  EXPECT_EQ((*by_root)->dir(), *newer);
  auto by_version = Bundle::OpenVersionOrNewest(*older);
  ASSERT_TRUE(by_version.ok()) << by_version.status();
  EXPECT_EQ((*by_version)->dir(), *older);
  auto missing = Bundle::OpenVersionOrNewest(Root("no_such_bundles"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("run the trainer"));
}

TEST(BundleTest, FindNewestWithoutBundlesTellsTheUserToRunTheTrainer) {
  const std::string missing = Root("missing");
  absl::StatusOr<std::string> s = Bundle::FindNewest(missing);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.status().message(), HasSubstr(missing));
  EXPECT_THAT(s.status().message(), HasSubstr("run the trainer"));

  const std::string empty = Root("empty");
  fs::create_directories(empty);
  s = Bundle::FindNewest(empty);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.status().message(), HasSubstr(empty));
  EXPECT_THAT(s.status().message(), HasSubstr("run the trainer"));
}

TEST(BundleTest, TruncatedWeightsAreDataLossAndMissingTensorsNotFound) {
  const std::string root = Root("truncated");
  std::unique_ptr<BundleWriter> w = NewWriter(root);
  ASSERT_NE(w, nullptr);
  std::vector<float> first = {1, 2, 3, 4}, second = {5, 6, 7, 8, 9, 10};
  ASSERT_TRUE(w->AddTensor("first", {4}, first.data()).ok());
  ASSERT_TRUE(w->AddTensor("second", {2, 3}, second.data()).ok());
  absl::StatusOr<std::string> dir = w->Commit();
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string weights = *dir + "/weights.bin";
  ASSERT_EQ(fs::file_size(weights), 10 * sizeof(float));
  fs::resize_file(weights, 6 * sizeof(float));  // Half of "second" is lost.

  absl::StatusOr<std::unique_ptr<Bundle>> b = Bundle::Open(*dir);
  ASSERT_TRUE(b.ok()) << b.status();
  absl::StatusOr<Tensor> ok = (*b)->ReadTensor("first");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->data, first);
  absl::StatusOr<Tensor> lost = (*b)->ReadTensor("second");
  EXPECT_EQ(lost.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(lost.status().message(), HasSubstr("second"));
  absl::StatusOr<Tensor> missing = (*b)->ReadTensor("third");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("third"));

  fs::remove(weights);
  EXPECT_EQ((*b)->ReadTensor("first").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(BundleTest, VocabularyWithTheWrongSizeIsDataLoss) {
  const std::string root = Root("vocab_size");
  std::unique_ptr<BundleWriter> w = NewWriter(root);
  ASSERT_NE(w, nullptr);
  ASSERT_TRUE(w->AddVocabulary("video", *Vocabulary::FromValues({"a", "b"})).ok());
  absl::StatusOr<std::string> dir = w->Commit();
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::ofstream(*dir + "/vocab_video.txt", std::ios::app) << "c\n";
  absl::StatusOr<std::unique_ptr<Bundle>> b = Bundle::Open(*dir);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ((*b)->ReadVocabulary("video").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(BundleTest, OpenWithoutOrWithACorruptManifestFails) {
  const std::string root = Root("bad_manifest");
  fs::create_directories(root + "/none");
  EXPECT_EQ(Bundle::Open(root + "/none").status().code(),
            absl::StatusCode::kNotFound);
  fs::create_directories(root + "/corrupt");
  std::ofstream(root + "/corrupt/manifest.pb", std::ios::binary)
      << "\xff\xff\xff\xff garbage";
  EXPECT_EQ(Bundle::Open(root + "/corrupt").status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace recsys

namespace recsys {
namespace {

// A server's --nprobe wins; 0 takes the nprobe the export chose for the
// bundle's recall target, and a bundle that does not say gets 16.
TEST(ServingNprobeTest, TheServersFlagThenTheBundlesChoiceThenSixteen) {
  bundle::BundleManifest manifest;
  EXPECT_EQ(ServingNprobe(manifest, 0), kDefaultNprobe);
  EXPECT_EQ(ServingNprobe(manifest, 32), 32);
  manifest.mutable_ann()->set_nprobe(256);
  EXPECT_EQ(ServingNprobe(manifest, 0), 256);
  EXPECT_EQ(ServingNprobe(manifest, 8), 8);
}

}  // namespace
}  // namespace recsys
