#include "benchmarks/synthetic_bundle.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <memory>
#include <utility>

#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/progress.h"
#include "common/base/status_macros.h"
#include "common/base/time_units.h"
#include "common/features/features.h"
#include "common/features/quantiles.h"
#include "common/features/vocabulary.h"
#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/serving/covisitation.h"
#include "common/serving/dense.h"
#include "common/serving/models.h"
#include "common/serving/retriever.h"
#include "trainer/ann_export.h"

namespace recsys {
namespace {

// What the trainer writes where it has no flag: the CandidateNet's region
// and device embedding widths, the co-visitation window and serving mix
// (trainer defaults), the ranking embedding rule (3 x log2 of the
// cardinality), and the training window the example age is scaled by.
constexpr int kRegionDim = 8;
constexpr int kDeviceDim = 4;
constexpr int kCovisitWindow = 5;
constexpr double kCovisitShare = 0.3;
constexpr int kCovisitSeeds = 5;
constexpr double kRankingDimPerLog2 = 3;
constexpr int kWindowDays = 28;
// The ranking tower's last bias: exp(logit) starts near two minutes of
// expected watch time per impression.
const float kRankingLogitBias = std::log(120.0f);
// Watches of the most popular video in the window; row i gets
// kTopWatches / (i + 1)^0.8 (at least 1).
constexpr double kTopWatches = 1e6;
// Channels per video when `channels` is 0.
constexpr int64_t kVideosPerChannel = 20;
// Lines in a progress bar's step (rows per update).
constexpr int64_t kProgressStep = 4096;

// Real labels first, most frequent first; "<prefix><i>" beyond them.
constexpr const char* kRegionCodes[] = {
    "US", "IN", "BR", "ID", "MX", "JP", "RU", "DE", "GB", "FR", "TR", "PH", "VN",
    "TH", "KR", "IT", "ES", "EG", "PK", "NG", "CA", "AR", "CO", "PL", "SA", "UA",
    "MY", "BD", "AU", "NL", "TW", "PE", "CL", "ZA", "RO", "MA", "DZ", "KE", "SE",
    "BE", "CZ", "PT", "GR", "HU", "AT", "CH", "IL", "AE", "SG", "NZ"};
constexpr const char* kDeviceNames[] = {"mobile", "desktop", "tv",      "tablet",
                                        "console", "car",    "speaker", "watch"};
constexpr const char* kLanguageCodes[] = {
    "en", "es", "hi", "pt", "ru", "ja", "de", "fr", "ar", "id", "tr", "ko", "it", "vi",
    "th", "pl", "nl", "uk", "fa", "bn", "ur", "ms", "ro", "el", "cs", "hu", "sv", "he",
    "ta", "te", "mr", "fil", "sw", "da", "fi", "no", "sk", "bg", "hr", "sr"};
// Word syllables: consonant then vowel, all two letters (so a word's
// syllables are its base-80 digits and distinct numbers give distinct words).
constexpr char kConsonants[] = "bdfghjklmnprstvz";
constexpr char kVowels[] = "aeiou";

template <size_t N>
std::vector<std::string> Labels(const char* const (&known)[N], const std::string& prefix,
                                int64_t n) {
  std::vector<std::string> out;
  out.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    out.push_back(i < static_cast<int64_t>(N) ? std::string(known[i]) : absl::StrCat(prefix, i));
  }
  return out;
}

// Word `i`: a lower-case string of at least two syllables, distinct for
// distinct `i`.
std::string Word(int64_t i) {
  constexpr int64_t kSyllables = 16 * 5;
  std::string word;
  for (int64_t x = i + kSyllables; x > 0; x /= kSyllables) {
    const int s = static_cast<int>(x % kSyllables);
    word.insert(word.begin(), {kConsonants[s / 5], kVowels[s % 5]});
  }
  return word;
}

// `n` distinct search tokens as `QueryTokens` makes them: unigrams (words),
// then bigrams "a b" of distinct words. Returns the unigram count too.
std::vector<std::string> SearchTokens(int64_t n, int64_t* num_words) {
  // Enough words that the bigrams fit: n - w <= w (w - 1) when w^2 >= n.
  const int64_t w = std::min<int64_t>(
      n, std::max<int64_t>(n / 4, static_cast<int64_t>(std::ceil(std::sqrt(n))) + 1));
  std::vector<std::string> tokens;
  tokens.reserve(n);
  for (int64_t i = 0; i < w; ++i) tokens.push_back(Word(i));
  for (int64_t k = 0; k < n - w; ++k) {
    const int64_t a = k % w, b = (a + 1 + k / w) % w;
    tokens.push_back(absl::StrCat(tokens[a], " ", tokens[b]));
  }
  *num_words = w;
  return tokens;
}

Vocabulary MakeVocabulary(std::vector<std::string> values) {
  return *Vocabulary::FromValues(std::move(values));  // distinct by construction
}

// Index in [0, n) skewed to the front (the most frequent values):
// floor(n * u^power).
int64_t Skewed(int64_t n, double power, std::mt19937_64& rng) {
  const double u = std::uniform_real_distribution<double>(0, 1)(rng);
  return std::min<int64_t>(n - 1, static_cast<int64_t>(n * std::pow(u, power)));
}

int64_t Uniform(int64_t lo, int64_t hi, std::mt19937_64& rng) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The options with every "0: derived" value resolved.
SyntheticBundleOptions Resolved(SyntheticBundleOptions o) {
  if (o.output_dim == 0) o.output_dim = o.embedding_dim;
  if (o.channels == 0) o.channels = std::max<int64_t>(1, o.videos / kVideosPerChannel);
  if (o.clusters == 0) {
    o.clusters = static_cast<int>(std::max<int64_t>(1, std::llround(std::sqrt(o.videos))));
  }
  o.clusters = static_cast<int>(std::min<int64_t>(o.clusters, o.videos));
  if (o.window_end_s == 0) o.window_end_s = static_cast<int64_t>(std::time(nullptr));
  return o;
}

// The world the weights, the catalogue and the synthetic users share.
struct World {
  SyntheticBundleOptions options;  // resolved
  // Per video row: its cluster; per cluster: its video rows, most popular
  // first (rows are in popularity order).
  std::vector<int32_t> cluster_of;
  std::vector<std::vector<int32_t>> members;
  // Per channel: its language (index into `languages`).
  std::vector<int32_t> channel_language;
  Vocabulary videos, tokens, regions, devices, channels, languages;
  int64_t num_words = 0;  // the first `num_words` tokens are words
};

World MakeWorld(const SyntheticBundleOptions& options, std::mt19937_64& rng) {
  World w;
  w.options = options;
  const int64_t n = options.videos;
  {
    std::vector<std::string> ids;
    ids.reserve(n);
    for (int64_t i = 0; i < n; ++i) ids.push_back(SyntheticVideoId(i, n));
    w.videos = MakeVocabulary(std::move(ids));
  }
  w.tokens = MakeVocabulary(SearchTokens(options.search_tokens, &w.num_words));
  w.regions = MakeVocabulary(Labels(kRegionCodes, "region", options.regions));
  w.devices = MakeVocabulary(Labels(kDeviceNames, "device", options.devices));
  w.languages = MakeVocabulary(Labels(kLanguageCodes, "lang", options.languages));
  {
    const int digits = static_cast<int>(std::to_string(options.channels - 1).size());
    std::vector<std::string> ids;
    ids.reserve(options.channels);
    for (int64_t c = 0; c < options.channels; ++c) {
      ids.push_back(absl::StrFormat("ch%0*d", digits, c));
    }
    w.channels = MakeVocabulary(std::move(ids));
  }
  w.channel_language.resize(options.channels);
  for (int32_t& l : w.channel_language) l = static_cast<int32_t>(Skewed(options.languages, 3, rng));
  // Clusters: every cluster gets a video, the rest at random.
  w.cluster_of.resize(n);
  w.members.resize(options.clusters);
  std::vector<int32_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = static_cast<int32_t>(i);
  std::shuffle(order.begin(), order.end(), rng);
  for (int64_t i = 0; i < n; ++i) {
    w.cluster_of[order[i]] =
        static_cast<int32_t>(i < options.clusters ? i : Uniform(0, options.clusters - 1, rng));
  }
  for (int64_t i = 0; i < n; ++i) w.members[w.cluster_of[i]].push_back(static_cast<int32_t>(i));
  return w;
}

// Video row `row`'s channel: one of its cluster's channels (channel c
// belongs to cluster c % clusters).
int64_t ChannelOf(const World& w, int64_t row, std::mt19937_64& rng) {
  const int64_t clusters = w.options.clusters, channels = w.options.channels;
  const int64_t cluster = w.cluster_of[row];
  if (channels <= cluster) return cluster % channels;
  const int64_t count = (channels - cluster + clusters - 1) / clusters;
  return cluster + clusters * Uniform(0, count - 1, rng);
}

float PopularityOf(int64_t row) {
  return std::max(1.0f, std::floor(static_cast<float>(kTopWatches * std::pow(row + 1.0, -0.8))));
}

// videos.csv and `catalog/popularity`.
absl::Status WriteCatalogue(const World& w, std::mt19937_64& rng, BundleWriter& writer) {
  const SyntheticBundleOptions& o = w.options;
  std::vector<VideoRecord> records(o.videos);
  std::vector<float> popularity(o.videos);
  std::exponential_distribution<double> age_days(1.0 / 400);
  std::lognormal_distribution<double> duration_s(std::log(300.0), 0.9);
  ProgressBar bar("videos.csv", o.videos, "videos", o.progress);
  for (int64_t i = 0; i < o.videos; ++i) {
    VideoRecord& v = records[i];
    v.video_id = w.videos.value(static_cast<int32_t>(i));
    const int64_t channel = ChannelOf(w, i, rng);
    v.channel_id = w.channels.value(static_cast<int32_t>(channel));
    v.language = w.languages.value(w.channel_language[channel]);
    v.topics = Word(w.cluster_of[i]);
    const int words = static_cast<int>(Uniform(3, 7, rng));
    for (int k = 0; k < words; ++k) {
      if (k > 0) v.title.push_back(' ');
      v.title += w.tokens.value(static_cast<int32_t>(Skewed(w.num_words, 2, rng)));
    }
    v.title[0] = absl::ascii_toupper(v.title[0]);
    v.upload_time_s =
        o.window_end_s - 60 -
        static_cast<int64_t>(std::min(age_days(rng), 15.0 * 365) * kSecondsPerDay);
    v.duration_s = static_cast<float>(std::clamp(duration_s(rng), 5.0, 4.0 * 3600));
    popularity[i] = PopularityOf(i);
    if (i % kProgressStep == 0) bar.Update(i);
  }
  bar.Finish();
  RECSYS_RETURN_IF_ERROR(writer.AddVideos(records));
  return writer.AddTensor(kCatalogPopularity, {o.videos}, popularity.data());
}

// A [rows, dim] table, `row_fn(row, out)` filling each row; with a bar.
template <typename RowFn>
absl::Status AddTable(const std::string& name, int64_t rows, int dim, bool progress,
                      RowFn row_fn, BundleWriter& writer) {
  std::vector<float> table(static_cast<size_t>(rows) * dim);
  ProgressBar bar(name, rows, "rows", progress && rows >= kProgressStep);
  for (int64_t r = 0; r < rows; ++r) {
    row_fn(r, &table[static_cast<size_t>(r) * dim]);
    if (r % kProgressStep == 0) bar.Update(r);
  }
  bar.Finish();
  return writer.AddTensor(name, {rows, dim}, table.data());
}

// A table of independent N(0, stddev^2) entries.
absl::Status AddGaussianTable(const std::string& name, int64_t rows, int dim, float stddev,
                              std::mt19937_64& rng, BundleWriter& writer) {
  std::normal_distribution<float> gauss(0.0f, stddev);
  return AddTable(
      name, rows, dim, /*progress=*/false,
      [&](int64_t, float* out) {
        for (int j = 0; j < dim; ++j) out[j] = gauss(rng);
      },
      writer);
}

// Layers `widths[i] -> widths[i + 1]`: He-uniform weights before a ReLU,
// Glorot-uniform for the last (linear) layer, so that activations keep
// their scale through the tower; small biases, the last one `last_bias`
// plus noise.
std::vector<DenseLayer> RandomTower(const std::vector<int>& widths, float last_bias,
                                    std::mt19937_64& rng) {
  std::vector<DenseLayer> layers;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    DenseLayer& layer = layers.emplace_back();
    layer.in = widths[i];
    layer.out = widths[i + 1];
    const bool last = i + 2 == widths.size();
    const float limit =
        last ? std::sqrt(6.0f / (layer.in + layer.out)) : std::sqrt(6.0f / layer.in);
    std::uniform_real_distribution<float> weight(-limit, limit), bias(-0.01f, 0.01f);
    layer.weight.resize(static_cast<size_t>(layer.in) * layer.out);
    for (float& x : layer.weight) x = weight(rng);
    layer.bias.resize(layer.out);
    for (float& x : layer.bias) x = (last ? last_bias : 0.0f) + bias(rng);
  }
  return layers;
}

// `layers` as "<prefix>/<i>/weight" [out, in] and ".../bias" [out].
absl::Status AddTower(const std::string& prefix, const std::vector<DenseLayer>& layers,
                      BundleWriter& writer) {
  for (size_t i = 0; i < layers.size(); ++i) {
    const DenseLayer& l = layers[i];
    RECSYS_RETURN_IF_ERROR(
        writer.AddTensor(LayerTensorName(prefix, i, "weight"), {l.out, l.in}, l.weight.data()));
    RECSYS_RETURN_IF_ERROR(
        writer.AddTensor(LayerTensorName(prefix, i, "bias"), {l.out}, l.bias.data()));
  }
  return absl::OkStatus();
}

// Per cluster, a centre of about unit norm (N(0, 1/dim) entries).
std::vector<float> Centres(int clusters, int dim, std::mt19937_64& rng) {
  std::normal_distribution<float> gauss(0.0f, 1.0f / std::sqrt(static_cast<float>(dim)));
  std::vector<float> centres(static_cast<size_t>(clusters) * dim);
  for (float& x : centres) x = gauss(rng);
  return centres;
}

// The candidate model: spec, vocabularies and tensors.
absl::Status WriteCandidateModel(const World& w, std::mt19937_64& rng, BundleWriter& writer) {
  const SyntheticBundleOptions& o = w.options;
  bundle::CandidateModelSpec* spec = writer.manifest()->mutable_candidate();
  spec->set_embedding_dim(o.embedding_dim);
  spec->set_output_dim(o.output_dim);
  for (int h : o.candidate_tower) spec->add_hidden_layers(h);
  spec->set_region_dim(kRegionDim);
  spec->set_device_dim(kDeviceDim);
  spec->set_max_watches(o.max_watches);
  spec->set_max_searches(o.max_searches);
  spec->set_recent_watches(o.recent_watches);
  SetDisabledFeatureGroups({}, spec);
  spec->set_serving_example_age_days(0);
  spec->set_example_age_scale_days(kWindowDays);
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kVideoVocab, w.videos));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kTokenVocab, w.tokens));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kRegionVocab, w.regions));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kDeviceVocab, w.devices));

  // Watch embeddings: the cluster's centre in the input space plus noise,
  // so that a user's watch bag points at the clusters it watches.
  const int d = o.embedding_dim;
  const float unit_in = 1.0f / std::sqrt(static_cast<float>(d));
  const std::vector<float> input_centres = Centres(o.clusters, d, rng);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  RECSYS_RETURN_IF_ERROR(AddTable(
      kWatchEmbedding, o.videos, d, o.progress,
      [&](int64_t row, float* out) {
        const float* centre = &input_centres[static_cast<size_t>(w.cluster_of[row]) * d];
        for (int j = 0; j < d; ++j) out[j] = centre[j] + 0.5f * unit_in * gauss(rng);
      },
      writer));
  RECSYS_RETURN_IF_ERROR(
      AddGaussianTable(kTokenEmbedding, w.tokens.size(), d, unit_in, rng, writer));
  RECSYS_RETURN_IF_ERROR(AddGaussianTable(kRegionEmbedding, w.regions.size(), kRegionDim,
                                          1.0f / std::sqrt(float{kRegionDim}), rng, writer));
  RECSYS_RETURN_IF_ERROR(AddGaussianTable(kDeviceEmbedding, w.devices.size(), kDeviceDim,
                                          1.0f / std::sqrt(float{kDeviceDim}), rng, writer));
  const CandidateTowerBlocks<int> blocks =
      CandidateTowerWidths(d, kRegionDim, kDeviceDim, o.recent_watches > 0);
  std::vector<int> widths = {CandidateTowerInputDim(blocks)};
  widths.insert(widths.end(), o.candidate_tower.begin(), o.candidate_tower.end());
  widths.push_back(o.output_dim);
  std::vector<DenseLayer> tower = RandomTower(widths, 0.0f, rng);
  RECSYS_RETURN_IF_ERROR(AddTower(kCandidateTower, tower, writer));

  // Output embeddings as benchmarks/ann_benchmark draws its vectors: the
  // cluster's centre plus isotropic noise `cluster_spread` times its norm,
  // scaled by a log-normal factor (norms vary with popularity); biases
  // N(0, 0.1^2). A cluster's centre is the direction of the user vector of
  // someone who watched only that cluster (the tower applied to the input
  // centre) less the mean over clusters, so that a user's nearest videos are those of the clusters it
  // watches, as with a trained model.
  const int out_dim = o.output_dim;
  const float unit_out = 1.0f / std::sqrt(static_cast<float>(out_dim));
  const float noise = static_cast<float>(o.cluster_spread) * unit_out;
  std::vector<float> centres = Centres(o.clusters, out_dim, rng);
  {
    const int in = widths.front();
    std::vector<float> rows(static_cast<size_t>(o.clusters) * in, 0.0f);
    for (int c = 0; c < o.clusters; ++c) {
      const CandidateTowerBlocks<float*> at =
          CandidateTowerBlockStarts(blocks, &rows[static_cast<size_t>(c) * in]);
      const float* centre = &input_centres[static_cast<size_t>(c) * d];
      std::copy(centre, centre + d, at.watch_bag);
      if (blocks.recent_bag > 0) std::copy(centre, centre + d, at.recent_bag);
      // The average synthetic user's dense features (`SyntheticUsers`).
      at.dense[kGender] = 0.5f;
      at.dense[kAge] = 0.35f;
      at.dense[kAgeKnown] = 0.75f;
      at.dense[kLoggedIn] = 0.8f;
    }
    RECSYS_ASSIGN_OR_RETURN(Mlp mlp, Mlp::Create(std::move(tower)));
    std::vector<float> users = mlp.Forward(rows.data(), o.clusters);
    // What every user vector shares (the dense features', the biases')
    // comes out: it ranks every video alike.
    std::vector<double> mean(out_dim, 0.0);
    for (int c = 0; c < o.clusters; ++c) {
      for (int j = 0; j < out_dim; ++j) mean[j] += users[static_cast<size_t>(c) * out_dim + j];
    }
    for (int c = 0; o.clusters > 1 && c < o.clusters; ++c) {
      float* u = &users[static_cast<size_t>(c) * out_dim];
      double norm = 0;
      for (int j = 0; j < out_dim; ++j) {
        u[j] -= static_cast<float>(mean[j] / o.clusters);
        norm += double{u[j]} * u[j];
      }
      if (!(norm > 1e-12) || !std::isfinite(norm)) continue;  // keep the random centre
      const float inv = static_cast<float>(1.0 / std::sqrt(norm));
      for (int j = 0; j < out_dim; ++j) centres[static_cast<size_t>(c) * out_dim + j] = u[j] * inv;
    }
  }
  std::lognormal_distribution<float> norm_scale(0.0f, 0.25f);
  RECSYS_RETURN_IF_ERROR(AddTable(
      kVideoOutputEmbedding, o.videos, out_dim, o.progress,
      [&](int64_t row, float* out) {
        const float* centre = &centres[static_cast<size_t>(w.cluster_of[row]) * out_dim];
        const float scale = norm_scale(rng);
        for (int j = 0; j < out_dim; ++j) out[j] = scale * (centre[j] + noise * gauss(rng));
      },
      writer));
  std::vector<float> bias(o.videos);
  for (float& b : bias) b = 0.1f * gauss(rng);
  RECSYS_RETURN_IF_ERROR(writer.AddTensor(kVideoOutputBias, {o.videos}, bias.data()));
  return writer.Flush();
}

// Users of the world: 1 to 3 favourite clusters, 5 to 2 * max_watches
// watches of their videos (popular ones more often) over the training
// window, a few searches and impressions, demographics.
std::vector<UserContext> SyntheticUsers(const World& w, int n, std::mt19937_64& rng) {
  const SyntheticBundleOptions& o = w.options;
  const int64_t end = o.window_end_s, window = int64_t{kWindowDays} * kSecondsPerDay;
  std::vector<UserContext> users(n);
  for (int u = 0; u < n; ++u) {
    UserContext& c = users[u];
    c.set_user_id(absl::StrCat("synthetic", u));
    c.set_request_time_s(end);
    std::vector<int32_t> clusters;
    const int favourites = static_cast<int>(Uniform(1, 3, rng));
    for (int k = 0; k < favourites; ++k) {
      clusters.push_back(w.cluster_of[Uniform(0, o.videos - 1, rng)]);
    }
    auto video = [&]() {
      const std::vector<int32_t>& m = w.members[clusters[Uniform(0, favourites - 1, rng)]];
      return w.videos.value(m[Skewed(static_cast<int64_t>(m.size()), 2, rng)]);
    };
    const int watches = static_cast<int>(Uniform(5, 2 * o.max_watches, rng));
    for (int i = 0; i < watches; ++i) {
      Watch* watch = c.add_watches();
      watch->set_video_id(video());
      watch->set_time_s(end - window + (window * (i + 1)) / (watches + 1));
      watch->set_watch_seconds(static_cast<float>(Uniform(10, 1200, rng)));
    }
    const int searches = static_cast<int>(Uniform(0, 5, rng));
    for (int i = 0; i < searches; ++i) {
      SearchQuery* q = c.add_searches();
      const int words = static_cast<int>(Uniform(1, 3, rng));
      std::string query;
      for (int k = 0; k < words; ++k) {
        absl::StrAppend(&query, k > 0 ? " " : "",
                        w.tokens.value(static_cast<int32_t>(Skewed(w.num_words, 2, rng))));
      }
      q->set_query(query);
      q->set_time_s(end - Uniform(60, window, rng));
    }
    const int impressions = static_cast<int>(Uniform(0, 30, rng));
    for (int i = 0; i < impressions; ++i) {
      Impression* imp = c.add_impressions();
      imp->set_video_id(video());
      imp->set_time_s(end - Uniform(60, window, rng));
    }
    Demographics* d = c.mutable_demographics();
    d->set_region(w.regions.value(static_cast<int32_t>(Skewed(o.regions, 2, rng))));
    d->set_device(w.devices.value(static_cast<int32_t>(Skewed(o.devices, 2, rng))));
    d->set_language(w.languages.value(static_cast<int32_t>(Skewed(o.languages, 3, rng))));
    d->set_gender(static_cast<Gender>(Uniform(0, 2, rng)));
    d->set_age(Uniform(0, 3, rng) == 0 ? 0 : static_cast<int32_t>(Uniform(13, 80, rng)));
    d->set_logged_in(Uniform(0, 4, rng) != 0);
  }
  return users;
}

// The co-visitation table: each video's neighbours are up to
// `covisit_neighbours` other videos of its cluster, scores in (0, 1].
absl::Status WriteCovisitation(const World& w, std::mt19937_64& rng, BundleWriter& writer) {
  const SyntheticBundleOptions& o = w.options;
  if (o.covisit_neighbours == 0) return absl::OkStatus();
  const auto start = std::chrono::steady_clock::now();
  std::uniform_real_distribution<float> score(0.01f, 1.0f);
  std::vector<std::vector<CovisitationTable::Neighbour>> lists(o.videos);
  ProgressBar bar("co-visitation", o.videos, "videos", o.progress);
  for (int64_t v = 0; v < o.videos; ++v) {
    const std::vector<int32_t>& m = w.members[w.cluster_of[v]];
    const int64_t k = std::min<int64_t>(o.covisit_neighbours, static_cast<int64_t>(m.size()) - 1);
    std::vector<CovisitationTable::Neighbour>& list = lists[v];
    list.reserve(k);
    if (k == static_cast<int64_t>(m.size()) - 1) {  // the whole cluster
      for (int32_t row : m) {
        if (row != v) list.push_back({row, score(rng)});
      }
    } else {
      absl::flat_hash_set<int32_t> taken = {static_cast<int32_t>(v)};
      while (static_cast<int64_t>(list.size()) < k) {
        const int32_t row = m[Skewed(static_cast<int64_t>(m.size()), 2, rng)];
        if (taken.insert(row).second) list.push_back({row, score(rng)});
      }
    }
    if (v % kProgressStep == 0) bar.Update(v);
  }
  bar.Finish();
  RECSYS_ASSIGN_OR_RETURN(CovisitationTable table, CovisitationTable::FromLists(std::move(lists)));
  RECSYS_RETURN_IF_ERROR(
      AddCovisitation(table, kCovisitWindow, kCovisitShare, kCovisitSeeds, writer));
  spdlog::info("co-visitation table: {} videos, {} neighbours in all, built and written in "
               "{:.2f} s",
               table.num_videos(), table.num_entries(), SecondsSince(start));
  return absl::OkStatus();
}

// The ranking model: vocabularies, the quantile tables of the continuous
// features (fitted, as the trainer fits them, on the features of `users`
// and their retrieved candidates: what the ranking server will see),
// embeddings and the tower.
absl::Status WriteRankingModel(const World& w, const Bundle& interim, const CandidateModel& model,
                               const AnnIndex& ann, const std::vector<UserContext>& users,
                               std::mt19937_64& rng, BundleWriter& writer) {
  const SyntheticBundleOptions& o = w.options;
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kRankingVideoVocab, w.videos));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kChannelVocab, w.channels));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kLanguageVocab, w.languages));
  bundle::RankingModelSpec* spec = writer.manifest()->mutable_ranking();
  spec->set_max_watches(o.max_watches);
  spec->set_use_powers(true);
  SetRankingObjective(bundle::RANKING_OBJECTIVE_WATCH_TIME, spec);

  RECSYS_ASSIGN_OR_RETURN(VideoCatalog catalog, LoadCatalog(interim, w.channels, w.languages));
  const RankingVocabularies vocabs{&w.videos, &w.channels, &w.languages};
  std::vector<float> queries;
  for (const UserContext& user : users) {
    const std::vector<float> q = model.AnnQuery(user);
    queries.insert(queries.end(), q.begin(), q.end());
  }
  RECSYS_ASSIGN_OR_RETURN(
      std::vector<std::vector<Neighbor>> retrieved,
      ann.SearchBatch(queries.data(), static_cast<int64_t>(users.size()), o.recall_at));
  std::vector<std::vector<float>> values(kNumRankingContinuous);
  for (size_t u = 0; u < users.size(); ++u) {
    const RankingQuery query =
        ExtractRankingQuery(users[u], vocabs, catalog, o.max_watches, o.window_end_s);
    for (const Neighbor& nb : retrieved[u]) {
      Candidate c;
      c.set_video_id(w.videos.value(static_cast<int32_t>(nb.row)));
      c.set_retrieval_score(nb.score);
      c.set_source(SOURCE_DNN);
      const RankingCandidateFeatures f = ExtractRankingCandidate(query, c, vocabs, catalog);
      for (int i = 0; i < kNumRankingContinuous; ++i) values[i].push_back(f.raw[i]);
    }
  }
  for (int i = 0; i < kNumRankingContinuous; ++i) {
    const QuantileNormalizer normalizer = QuantileNormalizer::Fit(values[i], o.num_quantiles);
    bundle::QuantileSpec* q = spec->add_quantiles();
    q->set_feature(RankingContinuousName(i));
    for (float b : normalizer.boundaries()) q->add_boundaries(b);
  }

  const int video_dim = EmbeddingDimForCardinality(w.videos.size(), kRankingDimPerLog2);
  const int channel_dim = EmbeddingDimForCardinality(w.channels.size(), kRankingDimPerLog2);
  const int language_dim = EmbeddingDimForCardinality(w.languages.size(), kRankingDimPerLog2);
  spec->set_video_embedding_dim(video_dim);
  spec->set_channel_embedding_dim(channel_dim);
  spec->set_language_embedding_dim(language_dim);
  for (int h : o.ranking_tower) spec->add_hidden_layers(h);
  const float scale = 0.1f;
  std::normal_distribution<float> gauss(0.0f, scale);
  RECSYS_RETURN_IF_ERROR(AddTable(
      kRankingVideoEmbedding, w.videos.size(), video_dim, o.progress,
      [&](int64_t, float* out) {
        for (int j = 0; j < video_dim; ++j) out[j] = gauss(rng);
      },
      writer));
  RECSYS_RETURN_IF_ERROR(AddGaussianTable(kRankingChannelEmbedding, w.channels.size(),
                                          channel_dim, scale, rng, writer));
  RECSYS_RETURN_IF_ERROR(AddGaussianTable(kRankingLanguageEmbedding, w.languages.size(),
                                          language_dim, scale, rng, writer));
  std::vector<int> widths = {3 * video_dim + channel_dim + 2 * language_dim +
                             NormalizedWidth(/*use_powers=*/true)};
  widths.insert(widths.end(), o.ranking_tower.begin(), o.ranking_tower.end());
  widths.push_back(1);
  return AddTower(kRankingTower, RandomTower(widths, kRankingLogitBias, rng), writer);
}

// What both servers load, from the version being written: the candidate
// server's `Retriever` (model, index, co-visitation table, catalogue, smoke
// requests) and the ranking server's model with a request of the users'.
absl::Status Verify(const std::string& dir, const SyntheticBundleOptions& o,
                    const std::vector<UserContext>& users) {
  const auto start = std::chrono::steady_clock::now();
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<Bundle> bundle, Bundle::Open(dir));
  AnnIndex::Options ann_options;
  ann_options.nprobe = o.nprobe;
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<Retriever> retriever,
                          Retriever::Load(*bundle, ann_options));
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<RankingModel> ranking, RankingModel::Load(*bundle));
  if (!users.empty()) {
    RECSYS_ASSIGN_OR_RETURN(std::vector<Candidate> candidates,
                            retriever->Candidates(users.front(), 100));
    for (float s : ranking->PredictWatchSeconds(users.front(), candidates, o.window_end_s)) {
      if (!std::isfinite(s)) {
        return absl::InternalError("the ranking model predicted a non-finite watch time");
      }
    }
  }
  spdlog::info("verified: the version loads as both servers load it ({:.2f} s)",
               SecondsSince(start));
  return absl::OkStatus();
}

}  // namespace

absl::Status SyntheticBundleOptions::Validate() const {
  auto bad = [](const std::string& what) { return absl::InvalidArgumentError(what); };
  if (out.empty()) return bad("out (the bundle root) must be set");
  if (videos < 2 || videos > kMaxVideos) {
    return bad(absl::StrCat("videos must be in [2, ", kMaxVideos, "], got ", videos));
  }
  if (embedding_dim <= 0) return bad(absl::StrCat("embedding_dim must be > 0, got ", embedding_dim));
  if (output_dim < 0) {
    return bad(absl::StrCat("output_dim must be > 0 (0: embedding_dim), got ", output_dim));
  }
  for (const auto& [name, tower] :
       {std::make_pair("candidate_tower", &candidate_tower),
        std::make_pair("ranking_tower", &ranking_tower)}) {
    for (int width : *tower) {
      if (width <= 0) return bad(absl::StrCat(name, " widths must be > 0, got ", width));
    }
  }
  if (index.empty()) return bad("index must be a FAISS factory string or auto");
  if (nprobe <= 0) return bad(absl::StrCat("nprobe must be > 0, got ", nprobe));
  if (recall_at <= 0) return bad(absl::StrCat("recall_at must be > 0, got ", recall_at));
  if (recall_users <= 0) return bad(absl::StrCat("recall_users must be > 0, got ", recall_users));
  if (search_tokens <= 0 || regions <= 0 || devices <= 0 || languages <= 0) {
    return bad(absl::StrCat("search_tokens, regions, devices and languages must be > 0, got ",
                            search_tokens, ", ", regions, ", ", devices, ", ", languages));
  }
  if (channels < 0) return bad(absl::StrCat("channels must be >= 0 (0: videos / 20), got ", channels));
  if (clusters < 0) return bad(absl::StrCat("clusters must be >= 0 (0: sqrt(videos)), got ", clusters));
  if (!(cluster_spread >= 0)) {
    return bad(absl::StrCat("cluster_spread must be >= 0, got ", cluster_spread));
  }
  if (covisit_neighbours < 0) {
    return bad(absl::StrCat("covisit_neighbours must be >= 0, got ", covisit_neighbours));
  }
  if (max_watches <= 0 || max_searches <= 0 || recent_watches < 0) {
    return bad(absl::StrCat("max_watches and max_searches must be > 0 and recent_watches >= 0, "
                            "got ", max_watches, ", ", max_searches, ", ", recent_watches));
  }
  if (num_quantiles <= 0) return bad(absl::StrCat("num_quantiles must be > 0, got ", num_quantiles));
  if (window_end_s < 0) return bad(absl::StrCat("window_end_s must be >= 0, got ", window_end_s));
  return absl::OkStatus();
}

std::string SyntheticVideoId(int64_t row, int64_t videos) {
  const int digits = static_cast<int>(std::to_string(std::max<int64_t>(videos - 1, 0)).size());
  return absl::StrFormat("v%0*d", digits, row);
}

absl::StatusOr<SyntheticBundleReport> WriteSyntheticBundle(
    const SyntheticBundleOptions& given) {
  RECSYS_RETURN_IF_ERROR(given.Validate());
  const auto start = std::chrono::steady_clock::now();
  const SyntheticBundleOptions o = Resolved(given);
  std::mt19937_64 rng(o.seed);
  const World world = MakeWorld(o, rng);
  spdlog::info("synthetic world: {} videos in {} clusters, {} channels, {} search tokens, "
               "{} regions, {} devices, {} languages",
               o.videos, o.clusters, o.channels, o.search_tokens, o.regions, o.devices,
               o.languages);

  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<BundleWriter> writer, BundleWriter::Create(o.out));
  bundle::BundleManifest& manifest = *writer->manifest();
  manifest.set_training_data(
      absl::StrCat("synthetic: benchmarks/make_synthetic_bundle, random weights, seed ", o.seed));
  manifest.set_training_window_end_s(o.window_end_s);
  for (const auto& [k, v] : o.hyperparameters) (*manifest.mutable_hyperparameters())[k] = v;

  RECSYS_RETURN_IF_ERROR(WriteCatalogue(world, rng, *writer));
  RECSYS_RETURN_IF_ERROR(WriteCandidateModel(world, rng, *writer));
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<Bundle> interim, Bundle::Open(writer->dir()));
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<CandidateModel> model, CandidateModel::Load(*interim));
  const std::vector<UserContext> users = SyntheticUsers(world, o.recall_users, rng);
  AnnIndex::Options ann_options;
  ann_options.factory = o.index;
  ann_options.nprobe = o.nprobe;
  RECSYS_ASSIGN_OR_RETURN(ExportedAnnIndex ann,
                          ExportAnnIndex(*model, users, o.recall_at, ann_options,
                                         /*target_recall=*/0, *writer));
  RECSYS_RETURN_IF_ERROR(WriteCovisitation(world, rng, *writer));
  RECSYS_RETURN_IF_ERROR(
      WriteRankingModel(world, *interim, *model, *ann.index, users, rng, *writer));
  ann.index.reset();
  model.reset();
  interim.reset();
  bundle::Metric* metric = manifest.add_metrics();
  metric->set_name("candidate/ann_recall");
  metric->set_value(ann.recall);
  RECSYS_RETURN_IF_ERROR(writer->Flush());
  if (o.verify) RECSYS_RETURN_IF_ERROR(Verify(writer->dir(), o, users));

  SyntheticBundleReport report;
  report.version = writer->version();
  report.ann_factory = manifest.ann().factory();
  report.ann_recall = ann.recall;
  report.recall_at = o.recall_at;
  RECSYS_ASSIGN_OR_RETURN(report.dir, writer->Commit());
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(report.dir, error)) {
    if (!entry.is_regular_file()) continue;
    const int64_t bytes = static_cast<int64_t>(entry.file_size());
    report.file_bytes[entry.path().filename().string()] = bytes;
    report.bytes += bytes;
  }
  report.seconds = SecondsSince(start);
  return report;
}

}  // namespace recsys
