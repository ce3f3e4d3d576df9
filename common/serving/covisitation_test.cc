#include "common/serving/covisitation.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/serving/bundle.h"
#include "common/serving/testing/tiny_bundle.h"
#include "proto/bundle.pb.h"

namespace recsys {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Neighbour = CovisitationTable::Neighbour;

MATCHER_P2(Is, row, score, "") { return arg.row == row && arg.score == score; }

// A file in the format of covisitation.h, written by hand (not by `Save`),
// so that the reader is held to the documented layout.
std::string FileBytes(int64_t videos, int64_t entries, const std::vector<int64_t>& offsets,
                      const std::vector<int32_t>& rows, const std::vector<float>& scores) {
  std::string b = "RCOVIS01";
  auto put = [&b](const void* p, size_t n) { b.append(static_cast<const char*>(p), n); };
  put(&videos, 8);
  put(&entries, 8);
  for (int64_t o : offsets) put(&o, 8);
  for (int32_t r : rows) put(&r, 4);
  for (float s : scores) put(&s, 4);
  return b;
}

bundle::CovisitSpec Spec(int64_t videos, int64_t entries, int neighbours) {
  bundle::CovisitSpec spec;
  spec.set_file(kCovisitFile);
  spec.set_num_videos(videos);
  spec.set_num_entries(entries);
  spec.set_neighbours(neighbours);
  spec.set_window(5);
  return spec;
}

// Writes `bytes` to a fresh file of test `name` and loads it with `spec`.
absl::StatusOr<CovisitationTable> LoadBytes(const std::string& name, const std::string& bytes,
                                            const bundle::CovisitSpec& spec,
                                            std::string* path = nullptr) {
  const std::string file = absl::StrCat(FreshTestDir(absl::StrCat("covisit_", name)), "/",
                                        kCovisitFile);
  EXPECT_TRUE(OverwriteFile(file, bytes).ok());
  if (path != nullptr) *path = file;
  return CovisitationTable::Load(file, spec);
}

// Three videos: 0 -> {1: 0.5, 2: 0.25}, 1 -> {}, 2 -> {0: 1}.
std::string ThreeVideos() {
  return FileBytes(3, 3, {0, 2, 2, 3}, {1, 2, 0}, {0.5f, 0.25f, 1.0f});
}

TEST(CovisitationTableTest, ReadsTheDocumentedLayout) {
  absl::StatusOr<CovisitationTable> t = LoadBytes("layout", ThreeVideos(), Spec(3, 3, 2));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->num_videos(), 3);
  EXPECT_EQ(t->num_entries(), 3);
  EXPECT_EQ(t->max_neighbours(), 2);
  EXPECT_THAT(t->neighbours(0), ElementsAre(Is(1, 0.5f), Is(2, 0.25f)));
  EXPECT_THAT(t->neighbours(1), ElementsAre());
  EXPECT_THAT(t->neighbours(2), ElementsAre(Is(0, 1.0f)));
}

TEST(CovisitationTableTest, SaveWritesTheDocumentedLayoutAndLoadReadsItBack) {
  absl::StatusOr<CovisitationTable> t = CovisitationTable::FromLists(
      {{{2, 0.25f}, {1, 0.5f}}, {}, {{0, 1.0f}}});  // row 0 given worst first
  ASSERT_TRUE(t.ok()) << t.status();
  const std::string path = absl::StrCat(FreshTestDir("covisit_save"), "/", kCovisitFile);
  ASSERT_TRUE(t->Save(path).ok());
  absl::StatusOr<std::string> bytes = ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, ThreeVideos());
  absl::StatusOr<CovisitationTable> back = CovisitationTable::Load(path, Spec(3, 3, 2));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_THAT(back->neighbours(0), ElementsAre(Is(1, 0.5f), Is(2, 0.25f)));
}

TEST(CovisitationTableTest, FromListsSortsBestFirstTiesByRow) {
  absl::StatusOr<CovisitationTable> t =
      CovisitationTable::FromLists({{{3, 0.5f}, {1, 0.5f}, {2, 0.75f}}, {}, {}, {}});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->neighbours(0), ElementsAre(Is(2, 0.75f), Is(1, 0.5f), Is(3, 0.5f)));
}

TEST(CovisitationTableTest, FromListsRejectsBadNeighbours) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const auto& [lists, message] :
       std::vector<std::pair<std::vector<std::vector<Neighbour>>, std::string>>{
           {{{{2, 1.0f}}, {}}, "neighbour 2 is out of range [0, 2)"},
           {{{{0, 1.0f}}, {}}, "neighbour 0 is the row itself"},
           {{{{1, 1.0f}, {1, 0.5f}}, {}}, "neighbour 1 is listed twice"},
           {{{{1, nan}}, {}}, "scores must be finite and > 0"},
           {{{{1, 0.0f}}, {}}, "scores must be finite and > 0"},
       }) {
    absl::StatusOr<CovisitationTable> t = CovisitationTable::FromLists(lists);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_THAT(t.status().message(), HasSubstr(message));
  }
}

TEST(CovisitationTableTest, EveryDamageIsDataLossNamingTheFile) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::string good = ThreeVideos();
  struct Case {
    std::string name;
    std::string bytes;
    bundle::CovisitSpec spec;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"truncated", good.substr(0, good.size() - 3), Spec(3, 3, 2),
       "is truncated: 3 rows and 3 entries need 80 bytes but the file has 77"},
      {"header", good.substr(0, 10), Spec(3, 3, 2), "is truncated: 10 bytes"},
      {"empty", "", Spec(3, 3, 2), "is truncated: 0 bytes"},
      {"trailing", good + "xx", Spec(3, 3, 2), "has 82 bytes, 2 more than"},
      {"magic", "XCOVIS01" + good.substr(8), Spec(3, 3, 2), "is not a co-visitation table"},
      {"rows_differ", good, Spec(4, 3, 2),
       "holds 3 rows and 3 entries, but the manifest's covisit spec says 4 and 3"},
      {"entries_differ", good, Spec(3, 2, 2), "holds 3 rows and 3 entries"},
      {"too_many", good, Spec(3, 3, 1), "row 0 has 2 neighbours, more than the 1"},
      {"offsets_end", FileBytes(3, 3, {0, 2, 2, 2}, {1, 2, 0}, {0.5f, 0.25f, 1.0f}),
       Spec(3, 3, 2), "offsets run from 0 to 2, not from 0 to 3"},
      {"offsets_order", FileBytes(3, 3, {0, 2, 1, 3}, {1, 2, 0}, {0.5f, 0.25f, 1.0f}),
       Spec(3, 3, 2), "row 1's entries [2, 1) are out of order"},
      {"row_range", FileBytes(3, 3, {0, 2, 2, 3}, {1, 7, 0}, {0.5f, 0.25f, 1.0f}),
       Spec(3, 3, 2), "row 0 has neighbour 7 (rows are [0, 3))"},
      {"negative_row", FileBytes(3, 3, {0, 2, 2, 3}, {1, -1, 0}, {0.5f, 0.25f, 1.0f}),
       Spec(3, 3, 2), "row 0 has neighbour -1"},
      {"itself", FileBytes(3, 3, {0, 2, 2, 3}, {1, 2, 2}, {0.5f, 0.25f, 1.0f}),
       Spec(3, 3, 2), "row 2 has neighbour 2 (itself)"},
      {"infinite", FileBytes(3, 3, {0, 2, 2, 3}, {1, 2, 0}, {0.5f, 0.25f, inf}), Spec(3, 3, 2),
       "row 2's neighbour 0 has score inf"},
      {"nan", FileBytes(3, 3, {0, 2, 2, 3}, {1, 2, 0}, {std::nanf(""), 0.25f, 1.0f}),
       Spec(3, 3, 2), "row 0's neighbour 1 has score nan"},
      {"negative", FileBytes(3, 3, {0, 2, 2, 3}, {1, 2, 0}, {0.5f, -0.25f, 1.0f}),
       Spec(3, 3, 2), "has score -0.25"},
      {"unsorted", FileBytes(3, 3, {0, 2, 2, 3}, {1, 2, 0}, {0.25f, 0.5f, 1.0f}),
       Spec(3, 3, 2), "row 0's scores are not best first"},
  };
  for (const Case& c : cases) {
    std::string path;
    absl::StatusOr<CovisitationTable> t = LoadBytes(c.name, c.bytes, c.spec, &path);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kDataLoss) << c.name << ": " << t.status();
    EXPECT_THAT(t.status().message(), AllOf(HasSubstr(path), HasSubstr(c.message))) << c.name;
  }
  const std::string missing = absl::StrCat(FreshTestDir("covisit_missing"), "/", kCovisitFile);
  absl::StatusOr<CovisitationTable> t = CovisitationTable::Load(missing, Spec(3, 3, 2));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(t.status().message(), AllOf(HasSubstr(missing), HasSubstr("cannot open")));
}

TEST(CovisitationTableTest, HugeCountsInTheManifestDoNotAllocate) {
  absl::StatusOr<CovisitationTable> t =
      LoadBytes("huge", FileBytes(int64_t{1} << 60, 3, {0}, {}, {}),
                Spec(int64_t{1} << 60, 3, 2));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(t.status().message(), HasSubstr("is truncated"));
}

// Five videos in a chain: i -> {i + 1: 1, i + 2: 0.5} (mod 5).
CovisitationTable Chain() {
  std::vector<std::vector<Neighbour>> lists(5);
  for (int i = 0; i < 5; ++i) lists[i] = {{(i + 1) % 5, 1.0f}, {(i + 2) % 5, 0.5f}};
  return *CovisitationTable::FromLists(std::move(lists));
}

TEST(CovisitationTableTest, ScoreSumsNeighboursWeightedByTheSeedsRecency) {
  const CovisitationTable t = Chain();
  // Seeds 2 (most recent, weight 1) and 0 (weight 1/2): 3 <- 1 (from 2),
  // 4 <- 0.5 (from 2), 1 <- 0.5 (from 0), 2 <- 0.25 (from 0, but excluded).
  EXPECT_THAT(t.Score({2, 0}, {2, 0}, 10),
              ElementsAre(Is(3, 1.0f), Is(1, 0.5f), Is(4, 0.5f)));
  // The order of the seeds matters: 0 most recent.
  EXPECT_THAT(t.Score({0, 2}, {2, 0}, 10),
              ElementsAre(Is(1, 1.0f), Is(3, 0.5f), Is(4, 0.25f)));
  // At most k; ties by row.
  EXPECT_THAT(t.Score({2, 0}, {2, 0}, 2), ElementsAre(Is(3, 1.0f), Is(1, 0.5f)));
  EXPECT_THAT(t.Score({2, 0}, {}, 0), ElementsAre());
  EXPECT_THAT(t.Score({}, {}, 5), ElementsAre());
  // Seeds out of range are skipped.
  EXPECT_THAT(t.Score({-1, 9, 4}, {}, 5), ElementsAre(Is(0, 1.0f / 3), Is(1, 0.5f / 3)));
}

TEST(CovisitationTableTest, TheTableTravelsInTheBundleNamedByTheManifest) {
  const std::string root = FreshTestDir("covisit_bundle");
  absl::StatusOr<std::unique_ptr<BundleWriter>> writer = BundleWriter::Create(root, 1767225600);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE(AddCovisitation(Chain(), 5, 0.3, 5, **writer).ok());
  absl::StatusOr<std::string> dir = (*writer)->Commit();
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(*dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  const bundle::CovisitSpec& spec = (*bundle)->manifest().covisit();
  EXPECT_EQ(spec.file(), kCovisitFile);
  EXPECT_EQ(spec.num_videos(), 5);
  EXPECT_EQ(spec.num_entries(), 10);
  EXPECT_EQ(spec.neighbours(), 2);
  EXPECT_EQ(spec.window(), 5);
  absl::StatusOr<std::unique_ptr<const CovisitationTable>> t = LoadCovisitation(**bundle);
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_NE(*t, nullptr);
  EXPECT_THAT((*t)->neighbours(4), ElementsAre(Is(0, 1.0f), Is(1, 0.5f)));

  // A spec without a file is damage; no spec at all is a version without
  // the source.
  ASSERT_TRUE(EditManifest(*dir, [](bundle::BundleManifest& m) {
                m.mutable_covisit()->clear_file();
              }).ok());
  bundle = Bundle::Open(*dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  t = LoadCovisitation(**bundle);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(t.status().message(), HasSubstr("names no co-visitation file"));
  ASSERT_TRUE(EditManifest(*dir, [](bundle::BundleManifest& m) { m.clear_covisit(); }).ok());
  bundle = Bundle::Open(*dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  t = LoadCovisitation(**bundle);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, nullptr);
}

}  // namespace
}  // namespace recsys
