#include "ranking_service/ranking_service_impl.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/base/time_units.h"
#include "common/features/vocabulary.h"
#include "common/serving/bundle.h"
#include "common/serving/models.h"
#include "common/serving/testing/ranking_reference.h"
#include "common/serving/testing/tiny_bundle.h"
#include "proto/recsys.pb.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kDay = kSecondsPerDay;
constexpr int64_t kRequestTime = kTinyTrainingWindowEndS + 3 * kDay;
// v00..v07 in the catalogue; v06 and v07 have no ranking embedding.
constexpr int kNumCatalogVideos = 8;
constexpr int kNumRankingVideos = 6;
constexpr char kVersion[] = "test-version";

// The ranking tower's layers as stored in the bundle.
struct StoredLayer {
  Tensor weight;  // [out, in]
  Tensor bias;    // [out]
};

absl::StatusOr<std::vector<StoredLayer>> ReadTower(const Bundle& bundle) {
  std::vector<StoredLayer> layers;
  for (int i = 0; bundle.FindTensor(LayerTensorName(kRankingTower, i, "weight")) != nullptr;
       ++i) {
    absl::StatusOr<Tensor> weight =
        bundle.ReadTensor(LayerTensorName(kRankingTower, i, "weight"));
    if (!weight.ok()) return weight.status();
    absl::StatusOr<Tensor> bias = bundle.ReadTensor(LayerTensorName(kRankingTower, i, "bias"));
    if (!bias.ok()) return bias.status();
    layers.push_back({*std::move(weight), *std::move(bias)});
  }
  return layers;
}

// The logit of one input row through `layers`, written out here as the
// definition reads (y = W x + b, ReLU after every layer but the last), in
// double precision: the reference the service's batched, split-first-layer
// BLAS path is held to.
double ReferenceLogit(const std::vector<StoredLayer>& layers, const float* row) {
  std::vector<double> x(row, row + layers.front().weight.cols());
  for (size_t l = 0; l < layers.size(); ++l) {
    const Tensor& w = layers[l].weight;
    std::vector<double> y(w.rows());
    for (int64_t o = 0; o < w.rows(); ++o) {
      double sum = layers[l].bias.data[o];
      for (int64_t i = 0; i < w.cols(); ++i) sum += w.data[o * w.cols() + i] * x[i];
      y[o] = l + 1 < layers.size() ? std::max(sum, 0.0) : sum;
    }
    x = std::move(y);
  }
  return x[0];
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
    TinyBundleOptions options;
    options.num_videos = kNumCatalogVideos;
    options.num_ranking_videos = kNumRankingVideos;
    absl::StatusOr<std::string> dir =
        WriteTinyBundle(FreshTestDir("ranking_service_bundles"), options);
    ASSERT_TRUE(dir.ok()) << dir.status();
    absl::StatusOr<std::unique_ptr<Bundle>> bundle = Bundle::Open(*dir);
    ASSERT_TRUE(bundle.ok()) << bundle.status();
    absl::StatusOr<std::unique_ptr<RankingModel>> model = RankingModel::Load(**bundle);
    ASSERT_TRUE(model.ok()) << model.status();
    absl::StatusOr<std::vector<StoredLayer>> tower = ReadTower(**bundle);
    ASSERT_TRUE(tower.ok()) << tower.status();
    absl::StatusOr<Tensor> videos = (*bundle)->ReadTensor(kRankingVideoEmbedding);
    ASSERT_TRUE(videos.ok()) << videos.status();
    absl::StatusOr<Vocabulary> vocabulary = (*bundle)->ReadVocabulary(kRankingVideoVocab);
    ASSERT_TRUE(vocabulary.ok()) << vocabulary.status();
    absl::StatusOr<std::unique_ptr<RankingReference>> reference =
        RankingReference::Load(**bundle);
    ASSERT_TRUE(reference.ok()) << reference.status();
    reference_ = reference->release();
    model_ = model->release();
    tower_ = new std::vector<StoredLayer>(*std::move(tower));
    video_embedding_ = new Tensor(*std::move(videos));
    video_vocabulary_ = new Vocabulary(*std::move(vocabulary));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tower_;
    delete video_embedding_;
    delete video_vocabulary_;
    delete reference_;
    reference_ = nullptr;
    model_ = nullptr;
    tower_ = nullptr;
    video_embedding_ = nullptr;
    video_vocabulary_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(model_, nullptr);
    UserContext* c = request_.mutable_context();
    c->set_request_time_s(kRequestTime);
    for (int i : {1, 2, 4}) {
      Watch* w = c->add_watches();
      w->set_video_id(TinyVideoId(i));
      w->set_time_s(kRequestTime - (10 - i) * kDay);
    }
    Impression* imp = c->add_impressions();
    imp->set_video_id(TinyVideoId(3));
    imp->set_time_s(kRequestTime - 2 * kDay);
    c->mutable_demographics()->set_region("US");
    const CandidateSource sources[] = {SOURCE_DNN, SOURCE_POPULAR,
                                       SOURCE_EXTERNAL};
    for (int i = 0; i < kNumCatalogVideos; ++i) {
      *request_.add_candidates() =
          MakeCandidate(TinyVideoId(i), 2.0f * i - 5.0f, sources[i % 3]);
    }
    // Unknown to the embedding table and to the catalogue.
    *request_.add_candidates() =
        MakeCandidate("brand-new-video", 1.0f, SOURCE_EXTERNAL);
  }

  std::vector<Candidate> Candidates() const {
    return {request_.candidates().begin(), request_.candidates().end()};
  }

  // The expected prediction per video ID, computed without the code under
  // test: exp of `ReferenceLogit` over the stored tower tensors, for the
  // feature rows `BuildInputs` assembles (the layout the tower was trained
  // on, checked against the stored embeddings by
  // `InputRowsStartWithTheCandidatesStoredEmbedding`).
  absl::flat_hash_map<std::string, float> Expected() const {
    std::vector<Candidate> candidates = Candidates();
    std::vector<float> rows =
        model_->BuildInputs(request_.context(), candidates, /*now_s=*/0);
    const int width = model_->input_dim();
    absl::flat_hash_map<std::string, float> out;
    for (size_t i = 0; i < candidates.size(); ++i) {
      out[candidates[i].video_id()] =
          static_cast<float>(std::exp(ReferenceLogit(*tower_, &rows[i * width])));
    }
    return out;
  }

  absl::StatusOr<RankResponse> Rank() const {
    return RankCandidates(*model_, kVersion, request_, /*now_s=*/0);
  }

  static RankingModel* model_;
  static std::vector<StoredLayer>* tower_;
  static Tensor* video_embedding_;
  static Vocabulary* video_vocabulary_;
  static RankingReference* reference_;
  RankRequest request_;
};

RankingModel* RankCandidatesTest::model_ = nullptr;
std::vector<StoredLayer>* RankCandidatesTest::tower_ = nullptr;
Tensor* RankCandidatesTest::video_embedding_ = nullptr;
Vocabulary* RankCandidatesTest::video_vocabulary_ = nullptr;
RankingReference* RankCandidatesTest::reference_ = nullptr;

TEST_F(RankCandidatesTest, InputRowsStartWithTheCandidatesStoredEmbedding) {
  // The reference reads `BuildInputs`' rows; their first columns are the
  // candidate's row of the stored embedding table (zeros out of
  // vocabulary), and the rows are as wide as the stored first layer.
  std::vector<Candidate> candidates = Candidates();
  std::vector<float> rows = model_->BuildInputs(request_.context(), candidates, 0);
  const int width = model_->input_dim();
  ASSERT_EQ(width, tower_->front().weight.cols());
  ASSERT_EQ(rows.size(), candidates.size() * width);
  const int64_t dim = video_embedding_->cols();
  int known = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const int32_t id = video_vocabulary_->Lookup(candidates[i].video_id());
    for (int64_t j = 0; j < dim; ++j) {
      const float stored = id == Vocabulary::kOov ? 0.0f : video_embedding_->data[id * dim + j];
      EXPECT_EQ(rows[i * width + j], stored) << candidates[i].video_id() << " column " << j;
    }
    known += id != Vocabulary::kOov;
  }
  EXPECT_EQ(known, kNumRankingVideos);
}

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

TEST_F(RankCandidatesTest, WithoutExplainThereIsNoExplanation) {
  absl::StatusOr<RankResponse> response = Rank();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_FALSE(response->has_explanation());
}

// Explain mode: the reported inputs, fed to the stored tower by a reference
// written apart from the model, give the reported logit, whose exp is the
// answer's prediction; every candidate is there, in the request's order,
// ranked 1..n as the answer orders them.
TEST_F(RankCandidatesTest, ExplainReportsTheInputsTheTowerScored) {
  absl::StatusOr<RankResponse> plain = Rank();
  ASSERT_TRUE(plain.ok()) << plain.status();
  request_.set_explain(true);
  request_.set_num_results(3);
  absl::StatusOr<RankResponse> response = Rank();
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_TRUE(response->has_explanation());
  const RankingExplanation& e = response->explanation();
  EXPECT_EQ(e.model_version(), kVersion);
  // The request-level inputs: the latest watch seeds, the bag is the
  // watches in the ranking vocabulary, oldest first.
  EXPECT_EQ(e.request().seed_video().value(), TinyVideoId(4));
  EXPECT_EQ(e.request().seed_video().vocabulary_row(),
            video_vocabulary_->Lookup(TinyVideoId(4)));
  ASSERT_EQ(e.request().last_watched_size(), 3);
  EXPECT_EQ(e.request().last_watched(0).value(), TinyVideoId(1));
  EXPECT_EQ(e.request().last_watched(2).value(), TinyVideoId(4));
  EXPECT_EQ(e.request().request_time_s(), kRequestTime);

  ASSERT_EQ(e.candidates_size(), request_.candidates_size());
  absl::flat_hash_map<std::string, float> predicted;
  for (const RankedVideo& v : plain->videos()) predicted[v.video_id()] = v.predicted_watch_seconds();
  std::vector<int> ranks;
  for (int i = 0; i < e.candidates_size(); ++i) {
    const RankingCandidateExplanation& c = e.candidates(i);
    const Candidate& sent = request_.candidates(i);
    EXPECT_EQ(c.video_id(), sent.video_id());
    ASSERT_EQ(c.continuous_size(), kNumRankingContinuous);
    for (int k = 0; k < kNumRankingContinuous; ++k) {
      EXPECT_EQ(c.continuous(k).name(), RankingContinuousName(k));
      EXPECT_GE(c.continuous(k).normalized_value(), 0.0f);
      EXPECT_LE(c.continuous(k).normalized_value(), 1.0f);
    }
    EXPECT_EQ(c.continuous(kRetrievalScore).raw_value(), sent.retrieval_score());
    absl::StatusOr<double> logit = reference_->Logit(e.request(), c, e.use_powers());
    ASSERT_TRUE(logit.ok()) << logit.status();
    EXPECT_NEAR(c.logit(), *logit, 1e-4) << c.video_id();
    EXPECT_FLOAT_EQ(c.predicted_watch_seconds(), std::exp(c.logit()));
    EXPECT_FLOAT_EQ(c.predicted_watch_seconds(), predicted[c.video_id()]) << c.video_id();
    ranks.push_back(c.rank());
  }
  // The answer is the first three ranks.
  ASSERT_EQ(response->videos_size(), 3);
  for (int r = 0; r < 3; ++r) {
    for (const RankingCandidateExplanation& c : e.candidates()) {
      if (c.rank() == r + 1) {
        EXPECT_EQ(c.video_id(), response->videos(r).video_id());
      }
    }
  }
  std::sort(ranks.begin(), ranks.end());
  for (size_t i = 0; i < ranks.size(); ++i) EXPECT_EQ(ranks[i], static_cast<int>(i) + 1);
}

TEST_F(RankCandidatesTest, ExplainNamesTheCategoricalInputs) {
  request_.set_explain(true);
  absl::StatusOr<RankResponse> response = Rank();
  ASSERT_TRUE(response.ok()) << response.status();
  for (const RankingCandidateExplanation& c : response->explanation().candidates()) {
    ASSERT_EQ(c.categorical_size(), 4);
    EXPECT_EQ(c.categorical(0).name(), "video");
    EXPECT_EQ(c.categorical(0).vocabulary_row(), video_vocabulary_->Lookup(c.video_id()));
    EXPECT_EQ(c.categorical(1).name(), "channel");
    EXPECT_EQ(c.categorical(2).name(), "language");
    EXPECT_EQ(c.categorical(3).name(), "source");
  }
  // v00 came from the network (one-hot 0), v01 from popular (1), the
  // unknown one from outside (2).
  const RankingExplanation& e = response->explanation();
  EXPECT_EQ(e.candidates(0).categorical(3).vocabulary_row(), 0);
  EXPECT_EQ(e.candidates(1).categorical(3).vocabulary_row(), 1);
  EXPECT_EQ(e.candidates(kNumCatalogVideos).categorical(3).vocabulary_row(), 2);
  EXPECT_EQ(e.candidates(kNumCatalogVideos).categorical(1).vocabulary_row(), -1);
  EXPECT_EQ(e.candidates(0).categorical(1).value(), TinyChannelId(0));
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
    EXPECT_EQ(v.video_id(), TinyVideoId(i));
    EXPECT_EQ(v.title(), TinyVideoTitle(i));
    EXPECT_EQ(v.channel_id(), TinyChannelId(i));
    ++with_title;
  }
  // v06 and v07 have metadata but no embedding: they get titles too.
  EXPECT_EQ(with_title, kNumCatalogVideos);
}

TEST_F(RankCandidatesTest, UnknownVideosAreScoredNotRejected) {
  request_.clear_candidates();
  *request_.add_candidates() = MakeCandidate("never-heard-of", 0.5f, SOURCE_EXTERNAL);
  *request_.add_candidates() = MakeCandidate(TinyVideoId(2), 0.5f, SOURCE_EXTERNAL);
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
