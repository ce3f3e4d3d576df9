#include "benchmarks/synthetic_bundle.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/container/flat_hash_set.h"
#include "common/features/vocabulary.h"
#include "common/serving/bundle.h"
#include "common/serving/covisitation.h"
#include "common/serving/models.h"
#include "common/serving/retriever.h"
#include "proto/bundle.pb.h"
#include "proto/recsys.pb.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kWindowEnd = 1'800'000'000;

std::string TempRoot(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

// A small world: 2,000 videos, small towers.
SyntheticBundleOptions Small(const std::string& name) {
  SyntheticBundleOptions o;
  o.out = TempRoot(name);
  o.videos = 2000;
  o.embedding_dim = 16;
  o.output_dim = 24;
  o.candidate_tower = {64, 32};
  o.ranking_tower = {64, 32};
  o.search_tokens = 500;
  o.regions = 60;  // past the list of real codes
  o.devices = 5;
  o.languages = 10;
  o.recall_users = 50;
  o.window_end_s = kWindowEnd;
  o.progress = false;
  return o;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Loads the version as both servers do and recommends for a user who
// watched two videos of the catalogue: every candidate a known video, none
// watched, each ranked with a finite, positive watch time.
void ExpectServable(const std::string& dir, int nprobe) {
  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  AnnIndex::Options ann;
  ann.nprobe = nprobe;
  absl::StatusOr<std::unique_ptr<Retriever>> retriever = Retriever::Load(**bundle, ann);
  ASSERT_TRUE(retriever.ok()) << retriever.status();
  absl::StatusOr<std::unique_ptr<RankingModel>> ranking = RankingModel::Load(**bundle);
  ASSERT_TRUE(ranking.ok()) << ranking.status();
  EXPECT_TRUE((*retriever)->has_covisitation());

  UserContext user;
  user.add_watches()->set_video_id(SyntheticVideoId(3, 2000));
  user.add_watches()->set_video_id(SyntheticVideoId(700, 2000));
  user.add_searches()->set_query("bebe");
  user.mutable_demographics()->set_region("US");
  absl::StatusOr<std::vector<Candidate>> candidates = (*retriever)->Candidates(user, 100);
  ASSERT_TRUE(candidates.ok()) << candidates.status();
  ASSERT_EQ(candidates->size(), 100u);
  absl::flat_hash_set<std::string> ids;
  int dnn = 0;
  for (const Candidate& c : *candidates) {
    EXPECT_NE((*retriever)->FindVideo(c.video_id()), nullptr) << c.video_id();
    EXPECT_NE(c.video_id(), SyntheticVideoId(3, 2000));
    EXPECT_TRUE(ids.insert(c.video_id()).second) << c.video_id();
    dnn += c.source() == SOURCE_DNN;
  }
  EXPECT_GT(dnn, 0);
  const std::vector<float> seconds =
      (*ranking)->PredictWatchSeconds(user, *candidates, kWindowEnd);
  ASSERT_EQ(seconds.size(), candidates->size());
  for (float s : seconds) {
    EXPECT_TRUE(std::isfinite(s));
    EXPECT_GT(s, 0);
  }
}

TEST(SyntheticBundleTest, FlatBundleOpensAndLoadsAsTheServersLoadIt) {
  SyntheticBundleOptions o = Small("flat");
  o.index = "Flat";
  absl::StatusOr<SyntheticBundleReport> report = WriteSyntheticBundle(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->dir, o.out + "/" + report->version);
  EXPECT_EQ(report->ann_factory, "Flat");
  EXPECT_FLOAT_EQ(report->ann_recall, 1.0f);
  EXPECT_GT(report->file_bytes.at("weights.bin"), 0);
  EXPECT_GT(report->file_bytes.at("covisit.bin"), 0);
  EXPECT_GT(report->bytes, report->file_bytes.at("weights.bin"));

  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::OpenVersionOrNewest(o.out);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  const bundle::BundleManifest& m = (*bundle)->manifest();
  EXPECT_EQ(m.training_window_end_s(), kWindowEnd);
  EXPECT_EQ(m.candidate().embedding_dim(), 16);
  EXPECT_EQ(m.candidate().output_dim(), 24);
  EXPECT_THAT(m.candidate().hidden_layers(), ::testing::ElementsAre(64, 32));
  EXPECT_THAT(m.ranking().hidden_layers(), ::testing::ElementsAre(64, 32));
  EXPECT_EQ(m.ranking().training_objective(), bundle::RANKING_OBJECTIVE_WATCH_TIME);
  EXPECT_EQ(m.ranking().objective(), "watch_time");
  EXPECT_EQ(m.ann().num_vectors(), 2000);
  EXPECT_EQ(m.ann().dimension(), 25);
  EXPECT_EQ(m.ann().recall_at(), 200);
  EXPECT_EQ(m.covisit().num_videos(), 2000);
  EXPECT_EQ(m.covisit().neighbours(), 50);
  ASSERT_EQ(m.metrics_size(), 1);
  EXPECT_EQ(m.metrics(0).name(), "candidate/ann_recall");
  for (const bundle::QuantileSpec& q : m.ranking().quantiles()) {
    EXPECT_EQ(q.boundaries_size(), 101) << q.feature();
  }
  // Every vocabulary the servers read, at the sizes asked for.
  const std::vector<std::pair<std::string, int>> sizes = {
      {kVideoVocab, 2000},      {kRankingVideoVocab, 2000}, {kTokenVocab, 500},
      {kRegionVocab, 60},       {kDeviceVocab, 5},          {kLanguageVocab, 10},
      {kChannelVocab, 2000 / 20}};
  for (const auto& [name, size] : sizes) {
    absl::StatusOr<Vocabulary> vocab = (*bundle)->ReadVocabulary(name);
    ASSERT_TRUE(vocab.ok()) << name << ": " << vocab.status();
    EXPECT_EQ(vocab->size(), size) << name;
  }
  EXPECT_EQ((*bundle)->ReadVocabulary(kRegionVocab)->value(0), "US");
  EXPECT_EQ((*bundle)->ReadVocabulary(kDeviceVocab)->value(0), "mobile");
  // Flags as given land in the manifest.
  EXPECT_TRUE(m.hyperparameters().empty());
  ExpectServable(report->dir, 16);
}

TEST(SyntheticBundleTest, IvfBundleRecordsTheMeasuredRecallAndServes) {
  SyntheticBundleOptions o = Small("ivf");
  o.index = "IVF16,Flat";
  o.nprobe = 4;
  o.hyperparameters["index"] = "IVF16,Flat";
  absl::StatusOr<SyntheticBundleReport> report = WriteSyntheticBundle(o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->ann_factory, "IVF16,Flat");
  EXPECT_GT(report->ann_recall, 0.2f);
  EXPECT_LT(report->ann_recall, 1.0f);
  absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(report->dir);
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  EXPECT_FLOAT_EQ((*bundle)->manifest().ann().recall(), report->ann_recall);
  EXPECT_FLOAT_EQ((*bundle)->manifest().metrics(0).value(), report->ann_recall);
  EXPECT_EQ((*bundle)->manifest().hyperparameters().at("index"), "IVF16,Flat");
  ExpectServable(report->dir, 4);
}

TEST(SyntheticBundleTest, TheSameSeedWritesTheSameBundle) {
  SyntheticBundleOptions o = Small("seeded");
  o.videos = 300;
  o.covisit_neighbours = 0;
  o.verify = false;
  absl::StatusOr<SyntheticBundleReport> a = WriteSyntheticBundle(o);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<SyntheticBundleReport> b = WriteSyntheticBundle(o);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_NE(a->dir, b->dir);
  for (const char* file : {"weights.bin", "videos.csv", "vocab_token.txt", "ann.faiss"}) {
    EXPECT_EQ(ReadFile(a->dir + "/" + file), ReadFile(b->dir + "/" + file)) << file;
  }
  EXPECT_EQ(a->file_bytes.count("covisit.bin"), 0u);  // --covisit_neighbours=0: no table
  o.seed = 7;
  absl::StatusOr<SyntheticBundleReport> c = WriteSyntheticBundle(o);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NE(ReadFile(a->dir + "/weights.bin"), ReadFile(c->dir + "/weights.bin"));
}

TEST(SyntheticBundleTest, VideoIdsArePaddedToTheCatalogue) {
  EXPECT_EQ(SyntheticVideoId(42, 1000000), "v000042");
  EXPECT_EQ(SyntheticVideoId(0, 2000), "v0000");
  EXPECT_EQ(SyntheticVideoId(9, 10), "v9");
}

TEST(SyntheticBundleTest, OptionsOutOfRangeAreNamed) {
  struct Case {
    void (*mutate)(SyntheticBundleOptions*);
    const char* expected;
  };
  const std::vector<Case> cases = {
      {[](SyntheticBundleOptions* o) { o->videos = 0; }, "videos must be in [2, 10000000], got 0"},
      {[](SyntheticBundleOptions* o) { o->out = ""; }, "out"},
      {[](SyntheticBundleOptions* o) { o->embedding_dim = 0; }, "embedding_dim"},
      {[](SyntheticBundleOptions* o) { o->output_dim = -1; }, "output_dim"},
      {[](SyntheticBundleOptions* o) { o->candidate_tower = {64, 0}; }, "candidate_tower"},
      {[](SyntheticBundleOptions* o) { o->ranking_tower = {-1}; }, "ranking_tower"},
      {[](SyntheticBundleOptions* o) { o->nprobe = 0; }, "nprobe"},
      {[](SyntheticBundleOptions* o) { o->search_tokens = 0; }, "search_tokens"},
      {[](SyntheticBundleOptions* o) { o->covisit_neighbours = -1; }, "covisit_neighbours"},
      {[](SyntheticBundleOptions* o) { o->cluster_spread = -1; }, "cluster_spread"},
  };
  for (const Case& c : cases) {
    SyntheticBundleOptions o = Small("invalid");
    c.mutate(&o);
    absl::Status s = o.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.expected;
    EXPECT_THAT(s.message(), HasSubstr(c.expected));
    EXPECT_EQ(WriteSyntheticBundle(o).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(Small("valid").Validate().ok());
}

TEST(SyntheticBundleTest, AnUnknownFactoryStringFailsAndCommitsNothing) {
  SyntheticBundleOptions o = Small("bad_index");
  o.videos = 300;
  o.index = "NotAnIndex";
  absl::StatusOr<SyntheticBundleReport> report = WriteSyntheticBundle(o);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument) << report.status();
  EXPECT_EQ(Bundle::FindNewest(o.out).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace recsys
