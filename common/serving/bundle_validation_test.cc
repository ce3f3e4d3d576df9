// Every way a bundle version can arrive broken is rejected at load, with an
// error that names the file and the problem (a rejected hot reload is
// diagnosed from its log line alone). Each test damages a fresh tiny bundle
// (common/serving/testing/tiny_bundle.h) the way a broken export or copy
// would, then loads it through the loaders the servers use.

#include <cmath>
#include <cstring>
#include <functional>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/serving/covisitation.h"
#include "common/serving/models.h"
#include "common/serving/retriever.h"
#include "common/serving/testing/tiny_bundle.h"
#include "common/base/status_macros.h"

namespace recsys {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

// A fresh tiny bundle version of its own for test `name`.
std::string FreshVersion(const std::string& name) {
  const std::string root = FreshTestDir(absl::StrCat("validation_", name));
  absl::StatusOr<std::string> dir = WriteTinyBundle(root);
  EXPECT_TRUE(dir.ok()) << dir.status();
  return dir.ok() ? *dir : std::string();
}

// What the candidate server runs on a new version.
absl::Status LoadRetriever(const std::string& dir) {
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<Bundle> bundle, Bundle::Open(dir));
  return Retriever::Load(*bundle, AnnIndex::Options()).status();
}

// What the ranking server runs on a new version.
absl::Status LoadRanking(const std::string& dir) {
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<Bundle> bundle, Bundle::Open(dir));
  return RankingModel::Load(*bundle).status();
}

int64_t FileSize(const std::string& path) {
  return static_cast<int64_t>(fs::file_size(path));
}

TEST(BundleValidationTest, TheUndamagedTinyBundleLoadsEverywhere) {
  const std::string dir = FreshVersion("undamaged");
  EXPECT_TRUE(LoadRetriever(dir).ok()) << LoadRetriever(dir);
  EXPECT_TRUE(LoadRanking(dir).ok()) << LoadRanking(dir);
  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  absl::StatusOr<std::unique_ptr<CandidateModel>> model = CandidateModel::Load(**bundle);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->output_dim(), kTinyOutputDim);
  absl::StatusOr<std::unique_ptr<Retriever>> retriever =
      Retriever::Load(**bundle, AnnIndex::Options());
  ASSERT_TRUE(retriever.ok()) << retriever.status();
  absl::StatusOr<std::vector<Candidate>> got = (*retriever)->Retrieve(UserContext(), 5);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->size(), 5u);
}

TEST(BundleValidationTest, TruncatedWeightsAreRejectedNamingTheTensorAndTheBytes) {
  const std::string dir = FreshVersion("truncated_weights");
  const std::string weights = dir + "/weights.bin";
  ASSERT_TRUE(TruncateFile(weights, FileSize(weights) / 2).ok());
  for (const absl::Status& s : {LoadRetriever(dir), LoadRanking(dir)}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(s.message(),
                AllOf(HasSubstr(weights + " is truncated: tensor "), HasSubstr("needs bytes ["),
                      HasSubstr(absl::StrCat("but the file has ", FileSize(weights),
                                             " bytes"))));
  }
}

TEST(BundleValidationTest, ADamagedLastLayerIsReportedNotTakenForTheEndOfTheTower) {
  // The ranking tower's last weight is the last tensor written: cutting the
  // file inside it damages that layer alone. A loader that read "cannot read
  // layer 1" as "no layer 1" would report a mis-shaped tower instead.
  const std::string dir = FreshVersion("damaged_last_layer");
  const std::string weights = dir + "/weights.bin";
  ASSERT_TRUE(TruncateFile(weights, FileSize(weights) - 3 * sizeof(float)).ok());
  EXPECT_TRUE(LoadRetriever(dir).ok()) << LoadRetriever(dir);
  const absl::Status s = LoadRanking(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr(weights + " is truncated"),
                    HasSubstr(LayerTensorName(kRankingTower, 1, "weight"))));
}

TEST(BundleValidationTest, TruncatedAnnIndexIsRejected) {
  const std::string dir = FreshVersion("truncated_ann");
  const std::string ann = absl::StrCat(dir, "/", kTinyAnnFile);
  ASSERT_TRUE(TruncateFile(ann, FileSize(ann) / 2).ok());
  const absl::Status s = LoadRetriever(dir);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(ann));
  // The ranking model does not read the index.
  EXPECT_TRUE(LoadRanking(dir).ok()) << LoadRanking(dir);
}

TEST(BundleValidationTest, EmptyManifestIsRejected) {
  const std::string dir = FreshVersion("empty_manifest");
  const std::string manifest = dir + "/manifest.pb";
  ASSERT_TRUE(OverwriteFile(manifest, "").ok());
  for (const absl::Status& s : {LoadRetriever(dir), LoadRanking(dir)}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(s.message(), HasSubstr(manifest + " is empty"));
  }
  // A manifest that parses to nothing a bundle needs is empty too.
  bundle::BundleManifest almost_nothing;
  almost_nothing.set_created_unix_s(1);
  ASSERT_TRUE(OverwriteFile(manifest, almost_nothing.SerializeAsString()).ok());
  const absl::Status s = LoadRetriever(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr(manifest + " is empty"));
}

TEST(BundleValidationTest, GarbageManifestIsRejected) {
  const std::string dir = FreshVersion("garbage_manifest");
  const std::string manifest = dir + "/manifest.pb";
  // Bytes that do not parse, and bytes that parse as nothing but an unknown
  // field (tag 1000, varint 1): neither is a manifest.
  for (absl::string_view garbage :
       {absl::string_view("\xff\xff\xff\xff garbage"), absl::string_view("\xc0\x3e\x01")}) {
    ASSERT_TRUE(OverwriteFile(manifest, garbage).ok());
    for (const absl::Status& s : {LoadRetriever(dir), LoadRanking(dir)}) {
      EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
      EXPECT_THAT(s.message(), HasSubstr(manifest + " is corrupt (not a BundleManifest)"));
    }
  }
}

TEST(BundleValidationTest, ManifestEntriesWithoutNameOrFileAreRejected) {
  const std::string dir = FreshVersion("manifest_entries");
  const std::string manifest = dir + "/manifest.pb";
  ASSERT_TRUE(
      EditManifest(dir, [](bundle::BundleManifest& m) { m.mutable_tensors(2)->clear_file(); })
          .ok());
  absl::Status s = LoadRetriever(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), AllOf(HasSubstr(manifest + " is corrupt: tensor 2"),
                                 HasSubstr("has no file")));
  ASSERT_TRUE(EditManifest(dir, [](bundle::BundleManifest& m) {
                m.mutable_tensors(2)->set_file("weights.bin");
                m.mutable_vocabularies(0)->clear_name();
              }).ok());
  s = LoadRanking(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), AllOf(HasSubstr(manifest + " is corrupt: vocabulary 0"),
                                 HasSubstr("has no name")));
}

TEST(BundleValidationTest, ShortVocabularyIsRejectedWithBothCounts) {
  const std::string dir = FreshVersion("short_vocabulary");
  const std::string video_vocab = dir + "/vocab_video.txt";
  ASSERT_TRUE(DropLastLines(video_vocab, 3).ok());
  absl::Status s = LoadRetriever(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr(video_vocab + " has 17 lines"), HasSubstr("20 entries")));
  EXPECT_TRUE(LoadRanking(dir).ok()) << LoadRanking(dir);

  const std::string ranking_vocab = dir + "/vocab_ranking_video.txt";
  ASSERT_TRUE(DropLastLines(ranking_vocab, 1).ok());
  s = LoadRanking(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr(ranking_vocab + " has 15 lines"), HasSubstr("16 entries")));
}

TEST(BundleValidationTest, ManifestAnnDimensionThatDiffersFromTheIndexIsRejected) {
  const std::string dir = FreshVersion("ann_dimension");
  ASSERT_TRUE(EditManifest(dir, [](bundle::BundleManifest& m) {
                m.mutable_ann()->set_dimension(m.ann().dimension() + 1);
              }).ok());
  const absl::Status s = LoadRetriever(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), AllOf(HasSubstr(dir + "/manifest.pb"),
                                 HasSubstr(absl::StrCat(dir, "/", kTinyAnnFile))));
  EXPECT_TRUE(LoadRanking(dir).ok()) << LoadRanking(dir);
}

TEST(BundleValidationTest, ManifestAnnSizeThatDiffersFromTheIndexIsRejected) {
  const std::string dir = FreshVersion("ann_size");
  ASSERT_TRUE(EditManifest(dir, [](bundle::BundleManifest& m) {
                m.mutable_ann()->set_num_vectors(m.ann().num_vectors() - 1);
              }).ok());
  const absl::Status s = LoadRetriever(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr(dir + "/manifest.pb"));
}

TEST(BundleValidationTest, NonFiniteWeightsAreRejectedNamingTensorAndIndex) {
  const std::string dir = FreshVersion("nan_weights");
  const std::string weights = dir + "/weights.bin";
  const std::string tower0 = LayerTensorName(kCandidateTower, 0, "weight");
  ASSERT_TRUE(SetTensorValue(dir, tower0, 3, std::numeric_limits<float>::quiet_NaN()).ok());
  absl::Status s = LoadRetriever(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("tensor ", tower0, " in ", weights,
                                                  " has a non-finite value (nan) at index 3")));
  EXPECT_TRUE(LoadRanking(dir).ok()) << LoadRanking(dir);

  ASSERT_TRUE(SetTensorValue(dir, kRankingVideoEmbedding, 5,
                             std::numeric_limits<float>::infinity())
                  .ok());
  s = LoadRanking(dir);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(),
              HasSubstr(absl::StrCat("tensor ", kRankingVideoEmbedding, " in ", weights,
                                     " has a non-finite value (inf) at index 5")));
}

TEST(BundleValidationTest, NonFiniteValuesAreRejectedInEveryKindOfTensor) {
  // An embedding table, a bias, the last layer of a tower, the output
  // biases and the catalogue's popularity: each read path checks.
  struct Case {
    std::string tensor;
    bool candidate_side;
    bool ranking_side;
  };
  const Case cases[] = {
      {kTokenEmbedding, true, false},
      {LayerTensorName(kCandidateTower, 1, "bias"), true, false},
      {kVideoOutputBias, true, false},
      {LayerTensorName(kRankingTower, 1, "weight"), false, true},
      {kCatalogPopularity, true, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.tensor);
    const std::string dir = FreshVersion("nan_everywhere");
    ASSERT_TRUE(
        SetTensorValue(dir, c.tensor, 0, -std::numeric_limits<float>::infinity()).ok());
    const absl::Status candidate = LoadRetriever(dir), ranking = LoadRanking(dir);
    const std::string expected =
        absl::StrCat("tensor ", c.tensor, " in ", dir, "/weights.bin has a non-finite value");
    EXPECT_EQ(!candidate.ok(), c.candidate_side) << candidate;
    EXPECT_EQ(!ranking.ok(), c.ranking_side) << ranking;
    if (c.candidate_side) {
      EXPECT_THAT(candidate.message(), HasSubstr(expected));
    }
    if (c.ranking_side) {
      EXPECT_THAT(ranking.message(), HasSubstr(expected));
    }
  }
}

TEST(BundleValidationTest, MissingVideosCsvIsRejectedNamingThePath) {
  const std::string dir = FreshVersion("missing_videos");
  const std::string videos = dir + "/videos.csv";
  ASSERT_TRUE(fs::remove(videos));
  for (const absl::Status& s : {LoadRetriever(dir), LoadRanking(dir)}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
    EXPECT_THAT(s.message(), HasSubstr(videos + ": cannot open"));
  }
}

TEST(BundleValidationTest, MissingWeightsFileIsRejectedNamingThePath) {
  const std::string dir = FreshVersion("missing_weights");
  const std::string weights = dir + "/weights.bin";
  ASSERT_TRUE(fs::remove(weights));
  for (const absl::Status& s : {LoadRetriever(dir), LoadRanking(dir)}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(s.message(), HasSubstr(weights + ": cannot open"));
  }
}

// A fresh tiny bundle version with a co-visitation table.
std::string FreshVersionWithCovisitation(const std::string& name) {
  const std::string root = FreshTestDir(absl::StrCat("validation_", name));
  TinyBundleOptions options;
  options.covisitation = true;
  absl::StatusOr<std::string> dir = WriteTinyBundle(root, options);
  EXPECT_TRUE(dir.ok()) << dir.status();
  return dir.ok() ? *dir : std::string();
}

// Sets score `entry` of the co-visitation table at `path` (its layout:
// common/serving/covisitation.h) to `value`.
absl::Status SetCovisitScore(const std::string& path, int64_t entry, float value) {
  RECSYS_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  int64_t videos = 0, entries = 0;
  std::memcpy(&videos, bytes.data() + 8, 8);
  std::memcpy(&entries, bytes.data() + 16, 8);
  const int64_t at = 24 + 8 * (videos + 1) + 4 * entries + 4 * entry;
  std::memcpy(&bytes[at], &value, sizeof(float));
  return OverwriteFile(path, bytes);
}

TEST(BundleValidationTest, AVersionWithOrWithoutACovisitationTableLoads) {
  const std::string dir = FreshVersionWithCovisitation("covisit_undamaged");
  EXPECT_TRUE(LoadRetriever(dir).ok()) << LoadRetriever(dir);
  // A version written before the source (no `covisit` spec, no file)
  // serves the network's candidates alone.
  ASSERT_TRUE(EditManifest(dir, [](bundle::BundleManifest& m) { m.clear_covisit(); }).ok());
  ASSERT_TRUE(fs::remove(absl::StrCat(dir, "/", kCovisitFile)));
  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  absl::StatusOr<std::unique_ptr<Retriever>> retriever =
      Retriever::Load(**bundle, AnnIndex::Options());
  ASSERT_TRUE(retriever.ok()) << retriever.status();
  EXPECT_FALSE((*retriever)->has_covisitation());
}

TEST(BundleValidationTest, ADamagedCovisitationTableIsRejectedNamingTheFile) {
  // Each damage is rejected by the candidate server; the ranking server
  // does not read the table.
  struct Case {
    std::string name;
    std::function<absl::Status(const std::string& dir, const std::string& file)> damage;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"truncated",
       [](const std::string&, const std::string& file) {
         return TruncateFile(file, FileSize(file) - 5);
       },
       "is truncated: 20 rows and 60 entries need"},
      {"missing",
       [](const std::string&, const std::string& file) {
         return fs::remove(file) ? absl::OkStatus() : absl::InternalError("remove");
       },
       ": cannot open"},
      {"nan_score",
       [](const std::string&, const std::string& file) {
         return SetCovisitScore(file, 4, std::numeric_limits<float>::quiet_NaN());
       },
       "is corrupt: row 1's neighbour 3 has score nan"},
      {"manifest_rows",
       [](const std::string& dir, const std::string&) {
         return EditManifest(dir, [](bundle::BundleManifest& m) {
           m.mutable_covisit()->set_num_videos(21);
         });
       },
       "holds 20 rows and 60 entries, but the manifest's covisit spec says 21 and 60"},
      {"rows_out_of_range",
       [](const std::string& dir, const std::string& file) {
         // A well-formed table of 25 rows, as the manifest says, for a model
         // of 20 videos.
         std::vector<std::vector<CovisitationTable::Neighbour>> lists(25);
         for (int v = 0; v < 25; ++v) lists[v] = {{(v + 1) % 25, 1.0f}};
         absl::StatusOr<CovisitationTable> t = CovisitationTable::FromLists(std::move(lists));
         if (!t.ok()) return t.status();
         RECSYS_RETURN_IF_ERROR(t->Save(file));
         return EditManifest(dir, [](bundle::BundleManifest& m) {
           m.mutable_covisit()->set_num_videos(25);
           m.mutable_covisit()->set_num_entries(25);
         });
       },
       "has 25 rows, but the model has 20 videos"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string dir = FreshVersionWithCovisitation(absl::StrCat("covisit_", c.name));
    const std::string file = absl::StrCat(dir, "/", kCovisitFile);
    ASSERT_TRUE(c.damage(dir, file).ok());
    const absl::Status s = LoadRetriever(dir);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(s.message(), AllOf(HasSubstr(file), HasSubstr(c.message)));
    EXPECT_TRUE(LoadRanking(dir).ok()) << LoadRanking(dir);
  }
}

}  // namespace
}  // namespace recsys
