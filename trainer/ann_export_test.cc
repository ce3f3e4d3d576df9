#include "trainer/ann_export.h"

#include <memory>
#include <string>
#include <vector>

#include "common/serving/bundle.h"
#include "common/serving/models.h"
#include "common/serving/testing/tiny_bundle.h"
#include "gtest/gtest.h"
#include "proto/recsys.pb.h"

namespace recsys {
namespace {

// A tiny bundle's candidate model over many videos, and users who each
// watched a few of them.
struct Fixture {
  std::unique_ptr<Bundle> bundle;
  std::unique_ptr<CandidateModel> model;
  std::vector<UserContext> users;
};

Fixture MakeFixture(const std::string& name) {
  Fixture f;
  TinyBundleOptions options;
  options.num_videos = 2000;
  absl::StatusOr<std::string> dir = WriteTinyBundle(FreshTestDir(name), options);
  EXPECT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(*dir);
  EXPECT_TRUE(bundle.ok()) << bundle.status();
  f.bundle = std::move(*bundle);
  absl::StatusOr<std::unique_ptr<CandidateModel>> model = CandidateModel::Load(*f.bundle);
  EXPECT_TRUE(model.ok()) << model.status();
  f.model = std::move(*model);
  for (int u = 0; u < 100; ++u) {
    UserContext context;
    for (int w = 0; w < 3; ++w) {
      Watch* watch = context.add_watches();
      watch->set_video_id(TinyVideoId((u * 37 + w * 101) % options.num_videos));
      watch->set_time_s(kTinyTrainingWindowEndS - 3600 * (w + 1));
    }
    f.users.push_back(std::move(context));
  }
  return f;
}

absl::StatusOr<ExportedAnnIndex> Export(const Fixture& f, const std::string& name,
                                        int nprobe, float target, BundleWriter** writer_out,
                                        std::unique_ptr<BundleWriter>* writer) {
  absl::StatusOr<std::unique_ptr<BundleWriter>> w = BundleWriter::Create(FreshTestDir(name));
  if (!w.ok()) return w.status();
  *writer = std::move(*w);
  *writer_out = writer->get();
  AnnIndex::Options options;
  options.factory = "IVF32,Flat";
  options.nprobe = nprobe;
  return ExportAnnIndex(*f.model, f.users, 100, options, target, **writer);
}

// The export widens nprobe, doubling, until the recall reaches the target,
// and the manifest records the nprobe and the recall reached there.
TEST(ExportAnnIndexTest, WidensNprobeUntilTheRecallReachesTheTarget) {
  const Fixture f = MakeFixture("ann_export_widen");
  std::unique_ptr<BundleWriter> writer;
  BundleWriter* w = nullptr;

  absl::StatusOr<ExportedAnnIndex> narrow = Export(f, "narrow", 1, 0, &w, &writer);
  ASSERT_TRUE(narrow.ok()) << narrow.status();
  EXPECT_EQ(narrow->nprobe, 1);  // target 0: nprobe kept
  EXPECT_LT(narrow->recall, 0.9f) << "one list of 32 should miss rows";
  EXPECT_EQ(w->manifest()->ann().nprobe(), 1);

  absl::StatusOr<ExportedAnnIndex> wide = Export(f, "wide", 1, 0.99f, &w, &writer);
  ASSERT_TRUE(wide.ok()) << wide.status();
  EXPECT_GE(wide->recall, 0.99f);
  EXPECT_GT(wide->nprobe, 1);
  EXPECT_LE(wide->nprobe, 32);
  EXPECT_EQ(wide->nprobe & (wide->nprobe - 1), 0) << "a power-of-two multiple of 1";
  EXPECT_EQ(w->manifest()->ann().nprobe(), wide->nprobe);
  EXPECT_FLOAT_EQ(w->manifest()->ann().recall(), wide->recall);

  // The target needs no more than every list: exact at nprobe = nlist.
  absl::StatusOr<ExportedAnnIndex> all = Export(f, "all", 16, 1.0f, &w, &writer);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_LE(all->nprobe, 32);
  EXPECT_GE(all->recall, all->nprobe == 32 ? 0.999f : 1.0f);
}

}  // namespace
}  // namespace recsys
