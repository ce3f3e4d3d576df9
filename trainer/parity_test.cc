// Train/serve parity: the trainer's libtorch forward passes (the net's, and
// the optimizer's that really trains) and the services' OpenBLAS forward
// passes (common/serving/models) agree on the same requests, through the
// same feature extraction; the manifest's configuration enums written by the
// trainer read back the same at serving, and old bundles' names still read.

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/features/features.h"
#include "common/serving/models.h"
#include "trainer/nets/candidate_net.h"
#include "trainer/candidate_optimizer.h"
#include "trainer/nets/ranking_net.h"

namespace recsys {
namespace {

std::string TempDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return std::string(t != nullptr ? t : "/tmp") + "/parity_bundles";
}

Vocabulary Vocab(const std::string& prefix, int n) {
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i) values.push_back(prefix + std::to_string(i));
  return *Vocabulary::FromValues(values);
}

std::vector<UserContext> Requests() {
  std::vector<UserContext> out;
  for (int u = 0; u < 6; ++u) {
    UserContext c;
    c.set_request_time_s(1'000'000 + u);
    for (int i = 0; i < u * 3; ++i) {
      Watch* w = c.add_watches();
      w->set_video_id("v" + std::to_string((u * 7 + i * 3) % 40));
      w->set_time_s(900'000 + i * 100);
    }
    c.add_watches()->set_video_id("unknown-video");  // OOV: ignored
    if (u % 2 == 1) {
      // The latest watch, out of vocabulary: not among the recent watches.
      Watch* w = c.add_watches();
      w->set_video_id("unknown-recent");
      w->set_time_s(950'000);
    }
    if (u % 2 == 0) {
      c.add_searches()->set_query("t1 t2 t3");
      c.add_searches()->set_query("t4 nothing");
    }
    c.add_impressions()->set_video_id("v" + std::to_string(u));
    c.mutable_impressions(0)->set_time_s(950'000);
    c.mutable_demographics()->set_region(u % 3 == 0 ? "r1" : "nowhere");
    c.mutable_demographics()->set_device("d0");
    c.mutable_demographics()->set_age(20 + u * 5);
    c.mutable_demographics()->set_gender(static_cast<Gender>(u % 3));
    c.mutable_demographics()->set_logged_in(u % 2 == 1);
    // "xx" is outside the language vocabulary.
    c.mutable_demographics()->set_language(u % 3 == 0 ? "en" : u % 3 == 1 ? "de" : "xx");
    out.push_back(c);
  }
  return out;
}

// The candidate model `net` as serving loads it from a bundle whose spec
// records `recent_watches` (0: the recent group off, as in bundles written
// before it).
std::unique_ptr<CandidateModel> ExportAndLoad(CandidateNet& net, const Vocabulary& videos,
                                              const Vocabulary& tokens,
                                              const Vocabulary& regions,
                                              const Vocabulary& devices,
                                              int recent_watches = 0) {
  auto writer = *BundleWriter::Create(TempDir());
  bundle::CandidateModelSpec* spec = writer->manifest()->mutable_candidate();
  spec->set_max_watches(50);
  spec->set_max_searches(50);
  if (recent_watches > 0) spec->set_recent_watches(recent_watches);
  spec->set_example_age_scale_days(30);
  spec->set_serving_example_age_days(0);
  EXPECT_TRUE(writer->AddVocabulary(kVideoVocab, videos).ok());
  EXPECT_TRUE(writer->AddVocabulary(kTokenVocab, tokens).ok());
  EXPECT_TRUE(writer->AddVocabulary(kRegionVocab, regions).ok());
  EXPECT_TRUE(writer->AddVocabulary(kDeviceVocab, devices).ok());
  EXPECT_TRUE(net->Export(writer.get()).ok());
  EXPECT_TRUE(writer->Flush().ok());
  auto bundle = *Bundle::Open(writer->dir());
  auto model = CandidateModel::Load(*bundle);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(*model) : nullptr;
}

// The optimizer assembles the tower's input its own way (straight from the
// tables, for speed): after real training steps its user vectors must be
// serving's, OOV and empty bags included. `recent_watches` > 0 turns the
// recent group on (0: off).
void CheckOptimizerTrainingPathMatchesServing(int recent_watches) {
  torch::manual_seed(5);
  Vocabulary videos = Vocab("v", 40), tokens = *Vocabulary::FromValues(
      {"t1", "t2", "t3", "t4", "t1 t2", "t2 t3"});
  Vocabulary regions = Vocab("r", 3), devices = Vocab("d", 2);
  CandidateNetOptions o;
  o.num_videos = videos.size();
  o.num_tokens = tokens.size();
  o.num_regions = regions.size();
  o.num_devices = devices.size();
  o.embedding_dim = 16;
  o.region_dim = 5;
  o.device_dim = 3;
  o.hidden_layers = {32, 24};
  o.output_dim = 12;
  o.use_recent = recent_watches > 0;
  CandidateNet net(o);
  CandidateOptimizer optimizer(net, 0.1f);

  // Features as serving extracts them, with a training example age.
  const CandidateVocabularies vocabs{&videos, &tokens, &regions, &devices};
  CandidateFeatureOptions feature_options;
  feature_options.recent_watches = recent_watches;
  std::vector<UserContext> requests = Requests();
  std::vector<CandidateFeatures> features;
  for (size_t i = 0; i < requests.size(); ++i) {
    features.push_back(ExtractCandidateFeatures(requests[i], vocabs, feature_options,
                                                ScaledExampleAge(3.0f * i, 30.0f)));
  }
  std::vector<const CandidateFeatures*> rows;
  for (const auto& f : features) rows.push_back(&f);
  // A few steps, so that every table, the tower and the biases have moved.
  const torch::Tensor log_q = torch::full({o.num_videos}, std::log(4.0f / o.num_videos));
  for (int step = 0; step < 5; ++step) {
    std::vector<int64_t> labels, sampled = {3, 17, 29, 38};
    for (size_t i = 0; i < rows.size(); ++i) labels.push_back((step * 7 + i * 5) % 40);
    optimizer.Step(rows, labels, sampled, log_q, /*logq_correction=*/true);
  }
  net->eval();
  std::unique_ptr<CandidateModel> model =
      ExportAndLoad(net, videos, tokens, regions, devices, recent_watches);
  ASSERT_NE(model, nullptr);

  torch::Tensor u = optimizer.UserVectors(rows);
  ASSERT_GT(u.abs().max().item<float>(), 0.05f);
  torch::NoGradGuard no_grad;
  torch::Tensor u_net = net->UserVectors(MakeCandidateBatch(rows));
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<float> served = model->UserVector(features[i]);
    ASSERT_EQ(served.size(), static_cast<size_t>(o.output_dim));
    for (int j = 0; j < o.output_dim; ++j) {
      EXPECT_NEAR(served[j], u[i][j].item<float>(), 1e-4) << "request " << i;
      EXPECT_NEAR(u_net[i][j].item<float>(), u[i][j].item<float>(), 1e-5) << "request " << i;
    }
  }
  // Computing user vectors is not a step: the weights did not move.
  torch::Tensor again = optimizer.UserVectors(rows);
  EXPECT_TRUE(torch::equal(u, again));
}

TEST(ParityTest, OptimizerTrainingPathMatchesServing) {
  CheckOptimizerTrainingPathMatchesServing(/*recent_watches=*/0);
}

TEST(ParityTest, OptimizerTrainingPathMatchesServingWithTheRecentGroup) {
  CheckOptimizerTrainingPathMatchesServing(/*recent_watches=*/3);
}

// Serving's forward pass (features extracted by the loaded model, as a
// request is) against the libtorch net's, logits and ANN scores included.
void CheckCandidateTowerAndLogitsMatchServing(int recent_watches) {
  torch::manual_seed(7);
  Vocabulary videos = Vocab("v", 40), tokens = *Vocabulary::FromValues(
      {"t1", "t2", "t3", "t4", "t1 t2", "t2 t3"});
  Vocabulary regions = Vocab("r", 3), devices = Vocab("d", 2);
  CandidateNetOptions o;
  o.num_videos = videos.size();
  o.num_tokens = tokens.size();
  o.num_regions = regions.size();
  o.num_devices = devices.size();
  o.embedding_dim = 16;
  o.hidden_layers = {32, 24};
  o.output_dim = 12;
  o.use_recent = recent_watches > 0;
  CandidateNet net(o);
  net->eval();
  std::unique_ptr<CandidateModel> model =
      ExportAndLoad(net, videos, tokens, regions, devices, recent_watches);
  ASSERT_NE(model, nullptr);

  std::vector<UserContext> requests = Requests();
  std::vector<CandidateFeatures> features;
  for (const UserContext& c : requests) features.push_back(model->Features(c));
  if (recent_watches > 0) {
    // The requests with at least that many known watches read exactly that
    // many recent ones.
    ASSERT_EQ(features[5].recent_ids.size(), static_cast<size_t>(recent_watches));
    ASSERT_EQ(features[5].recent_ids.back(), features[5].watch_ids.back());
  }
  std::vector<const CandidateFeatures*> rows;
  for (const auto& f : features) rows.push_back(&f);
  torch::NoGradGuard no_grad;
  torch::Tensor u = net->UserVectors(MakeCandidateBatch(rows));
  torch::Tensor logits = net->AllLogits(u);
  // Values large enough that 1e-4 agreement means something.
  ASSERT_GT(u.abs().max().item<float>(), 0.05f);
  for (size_t i = 0; i < requests.size(); ++i) {
    std::vector<float> served = model->UserVector(features[i]);
    ASSERT_EQ(served.size(), static_cast<size_t>(o.output_dim));
    for (int j = 0; j < o.output_dim; ++j) {
      EXPECT_NEAR(served[j], u[i][j].item<float>(), 1e-4) << "request " << i;
    }
    for (int v = 0; v < videos.size(); ++v) {
      EXPECT_NEAR(model->Logit(served, v), logits[i][v].item<float>(), 1e-4);
    }
  }
  // The ANN index holds [v, b] and is queried with [u, 1]: every score it
  // returns is the model's logit for that video.
  std::vector<float> ann_vectors = model->AnnVectors();
  AnnIndex::Options exact;
  exact.factory = "Flat";
  auto ann = AnnIndex::Build(ann_vectors.data(), videos.size(), o.output_dim + 1, exact);
  ASSERT_TRUE(ann.ok()) << ann.status();
  for (size_t i = 0; i < requests.size(); ++i) {
    std::vector<float> query = model->AnnQuery(requests[i]);
    auto got = (*ann)->Search(query.data(), videos.size());
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_EQ(got->size(), static_cast<size_t>(videos.size()));
    for (const Neighbor& n : *got) {
      EXPECT_NEAR(n.score, logits[i][n.row].item<float>(), 1e-4)
          << "request " << i << ", video row " << n.row;
    }
  }
}

TEST(ParityTest, CandidateTowerAndLogitsMatchServing) {
  CheckCandidateTowerAndLogitsMatchServing(/*recent_watches=*/0);
}

TEST(ParityTest, CandidateTowerAndLogitsMatchServingWithTheRecentGroup) {
  CheckCandidateTowerAndLogitsMatchServing(/*recent_watches=*/3);
}

CandidateNetOptions SmallCandidateNet(const Vocabulary& videos, const Vocabulary& tokens,
                                      const Vocabulary& regions, const Vocabulary& devices) {
  CandidateNetOptions o;
  o.num_videos = videos.size();
  o.num_tokens = tokens.size();
  o.num_regions = regions.size();
  o.num_devices = devices.size();
  o.embedding_dim = 16;
  o.hidden_layers = {32};
  o.output_dim = 12;
  return o;
}

// The recent group and its R, written with the model, are what serving
// reads back: the features it extracts and the tower's width.
TEST(BundleSpecTest, TheRecentGroupRoundTripsThroughTheBundle) {
  torch::manual_seed(13);
  Vocabulary videos = Vocab("v", 40), tokens = Vocab("t", 4), regions = Vocab("r", 3),
             devices = Vocab("d", 2);
  CandidateNetOptions o = SmallCandidateNet(videos, tokens, regions, devices);
  CandidateNet plain(o);
  o.use_recent = true;
  CandidateNet recent(o);

  std::unique_ptr<CandidateModel> with =
      ExportAndLoad(recent, videos, tokens, regions, devices, /*recent_watches=*/4);
  ASSERT_NE(with, nullptr);
  EXPECT_EQ(with->feature_options().recent_watches, 4);
  // A bundle without the field (as every bundle before the group): off.
  std::unique_ptr<CandidateModel> without =
      ExportAndLoad(plain, videos, tokens, regions, devices, /*recent_watches=*/0);
  ASSERT_NE(without, nullptr);
  EXPECT_EQ(without->feature_options().recent_watches, 0);
  EXPECT_EQ(with->input_dim(), without->input_dim() + o.embedding_dim);

  const UserContext request = Requests()[5];  // 15 known watches
  EXPECT_EQ(with->Features(request).recent_ids.size(), 4u);
  EXPECT_TRUE(without->Features(request).recent_ids.empty());
}

TEST(BundleSpecTest, ARecentGroupThatDoesNotFitTheTowerIsRejected) {
  torch::manual_seed(13);
  Vocabulary videos = Vocab("v", 40), tokens = Vocab("t", 4), regions = Vocab("r", 3),
             devices = Vocab("d", 2);
  CandidateNetOptions o = SmallCandidateNet(videos, tokens, regions, devices);
  CandidateNet plain(o);
  // The spec says recent, the tower has no recent block (and the reverse:
  // what a server that predates the group sees in a bundle trained with it).
  for (int recent_watches : {3, -1}) {
    auto writer = *BundleWriter::Create(TempDir());
    bundle::CandidateModelSpec* spec = writer->manifest()->mutable_candidate();
    spec->set_max_watches(50);
    spec->set_max_searches(50);
    spec->set_recent_watches(recent_watches);
    ASSERT_TRUE(writer->AddVocabulary(kVideoVocab, videos).ok());
    ASSERT_TRUE(writer->AddVocabulary(kTokenVocab, tokens).ok());
    ASSERT_TRUE(writer->AddVocabulary(kRegionVocab, regions).ok());
    ASSERT_TRUE(writer->AddVocabulary(kDeviceVocab, devices).ok());
    ASSERT_TRUE(plain->Export(writer.get()).ok());
    ASSERT_TRUE(writer->Flush().ok());
    auto bundle = *Bundle::Open(writer->dir());
    EXPECT_EQ(CandidateModel::Load(*bundle).status().code(), absl::StatusCode::kDataLoss)
        << "recent_watches " << recent_watches;
  }
  o.use_recent = true;
  CandidateNet recent(o);
  auto writer = *BundleWriter::Create(TempDir());
  bundle::CandidateModelSpec* spec = writer->manifest()->mutable_candidate();
  spec->set_max_watches(50);
  spec->set_max_searches(50);
  ASSERT_TRUE(writer->AddVocabulary(kVideoVocab, videos).ok());
  ASSERT_TRUE(writer->AddVocabulary(kTokenVocab, tokens).ok());
  ASSERT_TRUE(writer->AddVocabulary(kRegionVocab, regions).ok());
  ASSERT_TRUE(writer->AddVocabulary(kDeviceVocab, devices).ok());
  ASSERT_TRUE(recent->Export(writer.get()).ok());
  ASSERT_TRUE(writer->Flush().ok());
  auto bundle = *Bundle::Open(writer->dir());
  EXPECT_EQ(CandidateModel::Load(*bundle).status().code(), absl::StatusCode::kDataLoss);
}

TEST(ParityTest, RankingLogitsMatchServing) {
  torch::manual_seed(11);
  Vocabulary videos = Vocab("v", 30), channels = Vocab("c", 5),
             languages = *Vocabulary::FromValues({"en", "de", "ja"});
  std::vector<VideoRecord> catalog_videos;
  std::vector<float> popularity;
  for (int i = 0; i < 40; ++i) {
    VideoRecord v;
    v.video_id = "v" + std::to_string(i);
    v.title = "title " + std::to_string(i);
    v.channel_id = "c" + std::to_string(i % 6);  // c5 is out of vocabulary
    v.language = i % 4 == 0 ? "de" : i % 4 == 1 ? "ja" : i % 4 == 2 ? "en" : "pt";
    v.upload_time_s = 800'000 + i * 1000;
    v.duration_s = 60 + i * 10;
    catalog_videos.push_back(v);
    popularity.push_back(i % 7);
  }
  RankingNetOptions o;
  o.num_videos = videos.size();
  o.num_channels = channels.size();
  o.num_languages = languages.size();
  o.video_dim = 8;
  o.channel_dim = 4;
  o.language_dim = 3;
  o.hidden_layers = {32, 16};
  RankingNet net(o);
  net->eval();

  std::vector<QuantileNormalizer> normalizers;
  auto writer = *BundleWriter::Create(TempDir());
  bundle::RankingModelSpec* spec = writer->manifest()->mutable_ranking();
  spec->set_max_watches(50);
  spec->set_use_powers(true);
  for (int f = 0; f < kNumRankingContinuous; ++f) {
    std::vector<float> values;
    for (int i = 0; i < 100; ++i) values.push_back(std::sin(i * (f + 1)) * 50 + 10);
    normalizers.push_back(QuantileNormalizer::Fit(values, 20));
    bundle::QuantileSpec* q = spec->add_quantiles();
    q->set_feature(RankingContinuousName(f));
    for (float b : normalizers.back().boundaries()) q->add_boundaries(b);
  }
  ASSERT_TRUE(writer->AddVocabulary(kRankingVideoVocab, videos).ok());
  ASSERT_TRUE(writer->AddVocabulary(kChannelVocab, channels).ok());
  ASSERT_TRUE(writer->AddVocabulary(kLanguageVocab, languages).ok());
  ASSERT_TRUE(writer->AddVideos(catalog_videos).ok());
  ASSERT_TRUE(writer->AddTensor(kCatalogPopularity, {40}, popularity.data()).ok());
  ASSERT_TRUE(net->Export(writer.get()).ok());
  ASSERT_TRUE(writer->Flush().ok());
  auto bundle = *Bundle::Open(writer->dir());
  auto model = RankingModel::Load(*bundle);
  ASSERT_TRUE(model.ok()) << model.status();

  RankingVocabularies vocabs{&videos, &channels, &languages};
  torch::NoGradGuard no_grad;
  for (const UserContext& context : Requests()) {
    std::vector<Candidate> candidates;
    for (int i = 0; i < 40; i += 3) {
      Candidate c;
      c.set_video_id("v" + std::to_string(i));
      c.set_retrieval_score(i * 0.37f - 4);
      c.set_source(i % 2 ? SOURCE_DNN : SOURCE_POPULAR);
      candidates.push_back(c);
    }
    std::vector<float> served = (*model)->Logits(context, candidates, 0);
    RankingQuery query = ExtractRankingQuery(context, vocabs, (*model)->catalog(),
                                             bundle->manifest().ranking().max_watches(), 0);
    // The trainer's own example path (`MakeRankingExampleInputs`).
    std::vector<RankingExampleInputs> inputs;
    for (const Candidate& c : candidates) {
      inputs.push_back(MakeRankingExampleInputs(
          &query, ExtractRankingCandidate(query, c, vocabs, (*model)->catalog()), normalizers,
          /*use_powers=*/true));
    }
    std::vector<const RankingExampleInputs*> rows;
    for (const auto& in : inputs) rows.push_back(&in);
    torch::Tensor logits = net->Logits(MakeRankingBatch(rows));
    ASSERT_GT(logits.abs().max().item<float>(), 0.01f);
    ASSERT_EQ(served.size(), candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i) {
      EXPECT_NEAR(served[i], logits[i].item<float>(), 1e-4) << candidates[i].video_id();
    }
  }
}

TEST(BundleSpecTest, FeatureGroupsWrittenByTheTrainerReadBackAtServing) {
  bundle::CandidateModelSpec spec;
  SetDisabledFeatureGroups(
      {bundle::FEATURE_GROUP_SEARCHES, bundle::FEATURE_GROUP_DEMOGRAPHICS}, &spec);
  auto groups = DisabledFeatureGroupsOf(spec);
  ASSERT_TRUE(groups.ok()) << groups.status();
  EXPECT_EQ(*groups, (std::vector<bundle::FeatureGroup>{bundle::FEATURE_GROUP_SEARCHES,
                                                        bundle::FEATURE_GROUP_DEMOGRAPHICS}));
  // Older servers read the names.
  ASSERT_EQ(spec.disabled_feature_groups_size(), 2);
  EXPECT_EQ(spec.disabled_feature_groups(0), "searches");
  EXPECT_EQ(spec.disabled_feature_groups(1), "demographics");
}

TEST(BundleSpecTest, TheRecentGroupIsNeverListedAsDisabled) {
  // `recent_watches` records it (0: off); servers that predate the group
  // would reject a bundle that names it.
  bundle::CandidateModelSpec spec;
  SetDisabledFeatureGroups({bundle::FEATURE_GROUP_RECENT, bundle::FEATURE_GROUP_SEARCHES},
                           &spec);
  EXPECT_EQ(*DisabledFeatureGroupsOf(spec),
            std::vector<bundle::FeatureGroup>{bundle::FEATURE_GROUP_SEARCHES});
  ASSERT_EQ(spec.disabled_feature_groups_size(), 1);
  EXPECT_EQ(spec.disabled_feature_groups(0), "searches");
}

TEST(BundleSpecTest, BundlesWrittenBeforeTheEnumsStillRead) {
  bundle::CandidateModelSpec candidate;
  candidate.add_disabled_feature_groups("example_age");
  auto groups = DisabledFeatureGroupsOf(candidate);
  ASSERT_TRUE(groups.ok()) << groups.status();
  EXPECT_EQ(*groups, std::vector<bundle::FeatureGroup>{bundle::FEATURE_GROUP_EXAMPLE_AGE});
  candidate.add_disabled_feature_groups("colour");
  EXPECT_EQ(DisabledFeatureGroupsOf(candidate).status().code(), absl::StatusCode::kDataLoss);

  bundle::RankingModelSpec ranking;
  ranking.set_objective("ctr");
  EXPECT_EQ(*RankingObjectiveOf(ranking), bundle::RANKING_OBJECTIVE_CTR);
  ranking.set_objective("clicks");
  EXPECT_EQ(RankingObjectiveOf(ranking).status().code(), absl::StatusCode::kDataLoss);
  SetRankingObjective(bundle::RANKING_OBJECTIVE_WATCH_TIME, &ranking);
  EXPECT_EQ(*RankingObjectiveOf(ranking), bundle::RANKING_OBJECTIVE_WATCH_TIME);
  EXPECT_EQ(ranking.objective(), "watch_time");
}

}  // namespace
}  // namespace recsys
