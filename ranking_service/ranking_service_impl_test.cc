#include "ranking_service/ranking_service_impl.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/serving/bundle.h"
#include "common/features/features.h"
#include "common/logs/logs.h"
#include "common/serving/models.h"
#include "common/features/quantiles.h"
#include "common/base/status_macros.h"
#include "common/features/vocabulary.h"
#include "proto/bundle.pb.h"
#include "proto/recsys.pb.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kDay = kSecondsPerDay;
constexpr int64_t kRequestTime = 1000 * kDay;
constexpr int kNumCatalogVideos = 8;  // v0..v7; v6 and v7 have no embedding.
constexpr int kVideoDim = 4;
constexpr int kChannelDim = 3;
constexpr int kLanguageDim = 2;
constexpr int kHidden = 6;
constexpr char kVersion[] = "test-version";

std::vector<float> RandomValues(std::mt19937& gen, int64_t n, float scale) {
  std::vector<float> out(n);
  for (float& x : out) {
    x = scale * (static_cast<float>(gen()) / 4294967296.0f * 2.0f - 1.0f);
  }
  return out;
}

// A tiny ranking bundle written directly, tensor by tensor, with the names
// and shapes `RankingModel::Load` reads (common/models.h): no libtorch.
absl::StatusOr<std::unique_ptr<RankingModel>> BuildTinyRankingModel() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string root =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/ranking_service_bundles");
  std::filesystem::remove_all(root);
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<BundleWriter> writer_ptr,
                          BundleWriter::Create(root));
  BundleWriter& writer = *writer_ptr;

  Vocabulary videos =
      *Vocabulary::FromValues({"v0", "v1", "v2", "v3", "v4", "v5"});
  Vocabulary channels = *Vocabulary::FromValues({"c0", "c1"});
  std::vector<VideoRecord> catalog;
  std::vector<float> popularity;
  for (int i = 0; i < kNumCatalogVideos; ++i) {
    VideoRecord v;
    v.video_id = absl::StrCat("v", i);
    v.title = absl::StrCat("Title ", i);
    v.channel_id = absl::StrCat("c", i % 3);  // c2 is out of vocabulary.
    v.topics = i % 2 == 0 ? "music" : "sports|news";
    v.upload_time_s = kRequestTime - (i + 1) * 30 * kDay;
    v.duration_s = 60.0f * (i + 1);
    catalog.push_back(v);
    popularity.push_back(static_cast<float>(i * i * 10));
  }

  bundle::RankingModelSpec* spec = writer.manifest()->mutable_ranking();
  spec->set_video_embedding_dim(kVideoDim);
  spec->set_channel_embedding_dim(kChannelDim);
  spec->set_language_embedding_dim(kLanguageDim);
  spec->add_hidden_layers(kHidden);
  spec->set_max_watches(50);
  spec->set_use_powers(true);
  spec->set_objective("watch_time");
  for (int f = 0; f < kNumRankingContinuous; ++f) {
    // Spread enough that every feature of the test requests lands inside.
    std::vector<float> values;
    for (int i = 0; i <= 400; ++i) values.push_back(i * 0.5f - 5.0f);
    QuantileNormalizer q = QuantileNormalizer::Fit(values, 20);
    bundle::QuantileSpec* qs = spec->add_quantiles();
    qs->set_feature(RankingContinuousName(f));
    for (float b : q.boundaries()) qs->add_boundaries(b);
  }

  std::mt19937 gen(20160915);
  const Vocabulary languages = *Vocabulary::FromValues({"en", "de"});
  const int input_dim = 3 * kVideoDim + kChannelDim + 2 * kLanguageDim +
                        NormalizedWidth(/*use_powers=*/true);
  std::vector<float> video_embedding =
      RandomValues(gen, videos.size() * kVideoDim, 1.0f);
  std::vector<float> channel_embedding =
      RandomValues(gen, channels.size() * kChannelDim, 1.0f);
  std::vector<float> language_embedding =
      RandomValues(gen, languages.size() * kLanguageDim, 1.0f);
  std::vector<float> w0 = RandomValues(gen, kHidden * input_dim, 0.5f);
  std::vector<float> b0 = RandomValues(gen, kHidden, 0.5f);
  std::vector<float> w1 = RandomValues(gen, kHidden, 1.0f);
  std::vector<float> b1 = {3.0f};  // exp(3) ~ 20 s: a plausible watch time.

  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kRankingVideoVocab, videos));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kChannelVocab, channels));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kLanguageVocab, languages));
  RECSYS_RETURN_IF_ERROR(writer.AddVideos(catalog));
  RECSYS_RETURN_IF_ERROR(writer.AddTensor(
      kCatalogPopularity, {kNumCatalogVideos}, popularity.data()));
  RECSYS_RETURN_IF_ERROR(writer.AddTensor(kRankingVideoEmbedding,
                                          {videos.size(), kVideoDim},
                                          video_embedding.data()));
  RECSYS_RETURN_IF_ERROR(writer.AddTensor(kRankingChannelEmbedding,
                                          {channels.size(), kChannelDim},
                                          channel_embedding.data()));
  RECSYS_RETURN_IF_ERROR(writer.AddTensor(kRankingLanguageEmbedding,
                                          {languages.size(), kLanguageDim},
                                          language_embedding.data()));
  RECSYS_RETURN_IF_ERROR(
      writer.AddTensor(LayerTensorName(kRankingTower, 0, "weight"),
                       {kHidden, input_dim}, w0.data()));
  RECSYS_RETURN_IF_ERROR(writer.AddTensor(
      LayerTensorName(kRankingTower, 0, "bias"), {kHidden}, b0.data()));
  RECSYS_RETURN_IF_ERROR(
      writer.AddTensor(LayerTensorName(kRankingTower, 1, "weight"),
                       {1, kHidden}, w1.data()));
  RECSYS_RETURN_IF_ERROR(writer.AddTensor(
      LayerTensorName(kRankingTower, 1, "bias"), {1}, b1.data()));
  RECSYS_ASSIGN_OR_RETURN(std::string dir, writer.Commit());
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<Bundle> bundle, Bundle::Open(dir));
  return RankingModel::Load(*bundle);
}

Candidate MakeCandidate(const std::string& id, float score,
                        CandidateSource source) {
  Candidate c;
  c.set_video_id(id);
  c.set_retrieval_score(score);
  c.set_source(source);
  return c;
}

class RankCandidatesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<RankingModel>> model =
        BuildTinyRankingModel();
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = model->release();
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(model_, nullptr);
    UserContext* c = request_.mutable_context();
    c->set_request_time_s(kRequestTime);
    for (int i : {1, 2, 4}) {
      Watch* w = c->add_watches();
      w->set_video_id(absl::StrCat("v", i));
      w->set_time_s(kRequestTime - (10 - i) * kDay);
    }
    Impression* imp = c->add_impressions();
    imp->set_video_id("v3");
    imp->set_time_s(kRequestTime - 2 * kDay);
    c->mutable_demographics()->set_region("US");
    const CandidateSource sources[] = {SOURCE_DNN, SOURCE_POPULAR,
                                       SOURCE_EXTERNAL};
    for (int i = 0; i < kNumCatalogVideos; ++i) {
      *request_.add_candidates() =
          MakeCandidate(absl::StrCat("v", i), 2.0f * i - 5.0f, sources[i % 3]);
    }
    // Unknown to the embedding table and to the catalogue.
    *request_.add_candidates() =
        MakeCandidate("brand-new-video", 1.0f, SOURCE_EXTERNAL);
  }

  std::vector<Candidate> Candidates() const {
    return {request_.candidates().begin(), request_.candidates().end()};
  }

  // exp(logit) per video ID, straight from the model.
  absl::flat_hash_map<std::string, float> Expected() const {
    std::vector<Candidate> candidates = Candidates();
    std::vector<float> logits =
        model_->Logits(request_.context(), candidates, /*now_s=*/0);
    absl::flat_hash_map<std::string, float> out;
    for (size_t i = 0; i < candidates.size(); ++i) {
      out[candidates[i].video_id()] = std::exp(logits[i]);
    }
    return out;
  }

  absl::StatusOr<RankResponse> Rank() const {
    return RankCandidates(*model_, kVersion, request_, /*now_s=*/0);
  }

  static RankingModel* model_;
  RankRequest request_;
};

RankingModel* RankCandidatesTest::model_ = nullptr;

TEST_F(RankCandidatesTest, OrderedByPredictedWatchTimeWhichIsExpOfTheLogit) {
  absl::flat_hash_map<std::string, float> expected = Expected();
  // The model must tell the candidates apart for the order to mean anything.
  float lo = 1e30f, hi = 0;
  for (const auto& [id, p] : expected) {
    lo = std::min(lo, p);
    hi = std::max(hi, p);
  }
  ASSERT_GT(hi / lo, 1.05f);

  absl::StatusOr<RankResponse> response = Rank();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->model_version(), kVersion);
  ASSERT_EQ(response->videos_size(), request_.candidates_size());
  absl::flat_hash_map<std::string, const Candidate*> by_id;
  for (const Candidate& c : request_.candidates()) by_id[c.video_id()] = &c;
  for (int i = 0; i < response->videos_size(); ++i) {
    const RankedVideo& v = response->videos(i);
    ASSERT_TRUE(expected.contains(v.video_id())) << v.video_id();
    EXPECT_NEAR(v.predicted_watch_seconds(), expected[v.video_id()],
                1e-5f * expected[v.video_id()])
        << v.video_id();
    EXPECT_EQ(v.retrieval_score(), by_id[v.video_id()]->retrieval_score());
    EXPECT_EQ(v.source(), by_id[v.video_id()]->source());
    expected.erase(v.video_id());  // Each candidate exactly once.
    if (i > 0) {
      EXPECT_GE(response->videos(i - 1).predicted_watch_seconds(),
                v.predicted_watch_seconds())
          << "position " << i;
    }
  }
  EXPECT_TRUE(expected.empty());
}

TEST_F(RankCandidatesTest, ReordersARequestSentWorstFirst) {
  absl::flat_hash_map<std::string, float> expected = Expected();
  std::vector<Candidate> candidates = Candidates();
  std::sort(candidates.begin(), candidates.end(),
            [&](const Candidate& a, const Candidate& b) {
              return expected[a.video_id()] < expected[b.video_id()];
            });
  request_.clear_candidates();
  for (const Candidate& c : candidates) *request_.add_candidates() = c;
  absl::StatusOr<RankResponse> response = Rank();
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->videos_size(), static_cast<int>(candidates.size()));
  for (size_t i = 0; i < candidates.size(); ++i) {
    EXPECT_EQ(response->videos(i).video_id(),
              candidates[candidates.size() - 1 - i].video_id());
  }
}

TEST_F(RankCandidatesTest, NumResultsTruncatesTheRankedList) {
  absl::StatusOr<RankResponse> all = Rank();
  ASSERT_TRUE(all.ok()) << all.status();
  request_.set_num_results(3);
  absl::StatusOr<RankResponse> top = Rank();
  ASSERT_TRUE(top.ok()) << top.status();
  ASSERT_EQ(top->videos_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(top->videos(i).video_id(), all->videos(i).video_id());
  }
  request_.set_num_results(1000);  // More than there are: all of them.
  absl::StatusOr<RankResponse> more = Rank();
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_EQ(more->videos_size(), request_.candidates_size());
}

TEST_F(RankCandidatesTest, AttachesTitlesAndChannelsFromTheBundle) {
  absl::StatusOr<RankResponse> response = Rank();
  ASSERT_TRUE(response.ok()) << response.status();
  int with_title = 0;
  for (const RankedVideo& v : response->videos()) {
    if (v.video_id() == "brand-new-video") {
      EXPECT_EQ(v.title(), "");
      EXPECT_EQ(v.channel_id(), "");
      continue;
    }
    const int i = std::stoi(v.video_id().substr(1));
    EXPECT_EQ(v.title(), absl::StrCat("Title ", i));
    EXPECT_EQ(v.channel_id(), absl::StrCat("c", i % 3));
    ++with_title;
  }
  // v6 and v7 have metadata but no embedding: they get titles too.
  EXPECT_EQ(with_title, kNumCatalogVideos);
}

TEST_F(RankCandidatesTest, UnknownVideosAreScoredNotRejected) {
  request_.clear_candidates();
  *request_.add_candidates() = MakeCandidate("never-heard-of", 0.5f, SOURCE_EXTERNAL);
  *request_.add_candidates() = MakeCandidate("v2", 0.5f, SOURCE_EXTERNAL);
  absl::StatusOr<RankResponse> response = Rank();
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->videos_size(), 2);
  absl::flat_hash_map<std::string, float> expected = Expected();
  for (const RankedVideo& v : response->videos()) {
    EXPECT_GT(v.predicted_watch_seconds(), 0.0f) << v.video_id();
    EXPECT_TRUE(std::isfinite(v.predicted_watch_seconds())) << v.video_id();
    EXPECT_NEAR(v.predicted_watch_seconds(), expected[v.video_id()],
                1e-5f * expected[v.video_id()]);
  }
}

TEST_F(RankCandidatesTest, TiesAreOrderedByVideoId) {
  // Two unknown videos with the same score and source get the same
  // features, hence the same prediction.
  request_.clear_candidates();
  *request_.add_candidates() = MakeCandidate("zz-new", 0.5f, SOURCE_DNN);
  *request_.add_candidates() = MakeCandidate("aa-new", 0.5f, SOURCE_DNN);
  absl::StatusOr<RankResponse> response = Rank();
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->videos_size(), 2);
  ASSERT_EQ(response->videos(0).predicted_watch_seconds(),
            response->videos(1).predicted_watch_seconds());
  EXPECT_EQ(response->videos(0).video_id(), "aa-new");
  EXPECT_EQ(response->videos(1).video_id(), "zz-new");
}

TEST_F(RankCandidatesTest, RequestTimeZeroMeansNow) {
  // Features such as days since upload depend on the clock, so "now" must
  // reach the model when the context leaves the time 0.
  request_.mutable_context()->set_request_time_s(0);
  absl::StatusOr<RankResponse> response =
      RankCandidates(*model_, kVersion, request_, kRequestTime);
  ASSERT_TRUE(response.ok()) << response.status();
  request_.mutable_context()->set_request_time_s(kRequestTime);
  absl::flat_hash_map<std::string, float> expected = Expected();
  for (const RankedVideo& v : response->videos()) {
    EXPECT_NEAR(v.predicted_watch_seconds(), expected[v.video_id()],
                1e-5f * expected[v.video_id()])
        << v.video_id();
  }
}

TEST_F(RankCandidatesTest, EmptyCandidateListIsInvalidArgument) {
  request_.clear_candidates();
  absl::StatusOr<RankResponse> response = Rank();
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), HasSubstr("candidates"));
}

TEST_F(RankCandidatesTest, MalformedCandidateIsInvalidArgumentNamingIt) {
  request_.mutable_candidates(2)->set_video_id("");
  absl::StatusOr<RankResponse> response = Rank();
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), HasSubstr("candidates[2].video_id"));
}

}  // namespace
}  // namespace recsys
