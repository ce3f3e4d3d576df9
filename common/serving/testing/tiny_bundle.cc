#include "common/serving/testing/tiny_bundle.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/time_units.h"
#include "common/features/features.h"
#include "common/logs/logs.h"
#include "common/features/quantiles.h"
#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/serving/covisitation.h"
#include "common/serving/models.h"
#include "common/base/status_macros.h"
#include "common/features/vocabulary.h"

namespace recsys {
namespace {

namespace fs = std::filesystem;

constexpr int kRegionDim = 2;
constexpr int kDeviceDim = 2;
constexpr int kRankingVideoDim = 3;
constexpr int kChannelDim = 2;
constexpr int kLanguageDim = 2;
constexpr int kNumChannels = 3;
constexpr int64_t kWindowEnd = kTinyTrainingWindowEndS;

// `n` values uniform in [-scale, scale].
std::vector<float> Random(std::mt19937& gen, int64_t n, float scale) {
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> out(n);
  for (float& x : out) x = dist(gen);
  return out;
}

Vocabulary Values(std::vector<std::string> values) {
  return *Vocabulary::FromValues(std::move(values));
}

absl::Status AddLayer(BundleWriter& writer, const std::string& prefix, int layer,
                      int out, int in, std::mt19937& gen) {
  const float scale = 1.0f / std::sqrt(static_cast<float>(in));
  std::vector<float> w = Random(gen, static_cast<int64_t>(out) * in, scale);
  std::vector<float> b = Random(gen, out, 0.1f);
  RECSYS_RETURN_IF_ERROR(
      writer.AddTensor(LayerTensorName(prefix, layer, "weight"), {out, in}, w.data()));
  return writer.AddTensor(LayerTensorName(prefix, layer, "bias"), {out}, b.data());
}

absl::Status AddTable(BundleWriter& writer, const std::string& name, int rows, int dim,
                      std::mt19937& gen) {
  std::vector<float> t = Random(gen, static_cast<int64_t>(rows) * dim, 1.0f);
  return writer.AddTensor(name, {rows, dim}, t.data());
}

// The candidate side: vocabularies, embeddings, the user tower, the output
// embeddings and the ANN index over [v_j, b_j].
absl::Status WriteCandidateModel(BundleWriter& writer, const Vocabulary& videos,
                                 std::mt19937& gen) {
  const Vocabulary tokens = Values({"cat", "dog", "music", "news", "cat dog"});
  const Vocabulary regions = Values({"US", "DE"});
  const Vocabulary devices = Values({"mobile", "desktop"});
  bundle::CandidateModelSpec* spec = writer.manifest()->mutable_candidate();
  spec->set_embedding_dim(kTinyEmbeddingDim);
  spec->set_output_dim(kTinyOutputDim);
  spec->add_hidden_layers(kTinyCandidateHidden);
  spec->set_region_dim(kRegionDim);
  spec->set_device_dim(kDeviceDim);
  spec->set_max_watches(50);
  spec->set_max_searches(10);
  spec->set_serving_example_age_days(0);
  spec->set_example_age_scale_days(30);
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kVideoVocab, videos));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kTokenVocab, tokens));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kRegionVocab, regions));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kDeviceVocab, devices));
  RECSYS_RETURN_IF_ERROR(
      AddTable(writer, kWatchEmbedding, videos.size(), kTinyEmbeddingDim, gen));
  RECSYS_RETURN_IF_ERROR(
      AddTable(writer, kTokenEmbedding, tokens.size(), kTinyEmbeddingDim, gen));
  RECSYS_RETURN_IF_ERROR(AddTable(writer, kRegionEmbedding, regions.size(), kRegionDim, gen));
  RECSYS_RETURN_IF_ERROR(AddTable(writer, kDeviceEmbedding, devices.size(), kDeviceDim, gen));
  const int tower_in =
      2 * kTinyEmbeddingDim + kRegionDim + kDeviceDim + kNumCandidateDense;
  RECSYS_RETURN_IF_ERROR(
      AddLayer(writer, kCandidateTower, 0, kTinyCandidateHidden, tower_in, gen));
  RECSYS_RETURN_IF_ERROR(
      AddLayer(writer, kCandidateTower, 1, kTinyOutputDim, kTinyCandidateHidden, gen));

  const int n = videos.size();
  std::vector<float> embedding = Random(gen, static_cast<int64_t>(n) * kTinyOutputDim, 1.0f);
  std::vector<float> bias = Random(gen, n, 0.5f);
  RECSYS_RETURN_IF_ERROR(
      writer.AddTensor(kVideoOutputEmbedding, {n, kTinyOutputDim}, embedding.data()));
  RECSYS_RETURN_IF_ERROR(writer.AddTensor(kVideoOutputBias, {n}, bias.data()));

  // The layout `CandidateModel::AnnVectors` documents: row j is [v_j, b_j].
  const int dim = kTinyOutputDim + 1;
  std::vector<float> vectors(static_cast<size_t>(n) * dim);
  for (int j = 0; j < n; ++j) {
    std::copy_n(&embedding[static_cast<size_t>(j) * kTinyOutputDim], kTinyOutputDim,
                &vectors[static_cast<size_t>(j) * dim]);
    vectors[static_cast<size_t>(j) * dim + kTinyOutputDim] = bias[j];
  }
  AnnIndex::Options ann_options;
  ann_options.factory = "Flat";
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<AnnIndex> ann,
                          AnnIndex::Build(vectors.data(), n, dim, ann_options));
  RECSYS_RETURN_IF_ERROR(ann->Save(absl::StrCat(writer.dir(), "/", kTinyAnnFile)));
  bundle::AnnSpec* ann_spec = writer.manifest()->mutable_ann();
  ann_spec->set_factory(ann->factory());
  ann_spec->set_file(kTinyAnnFile);
  ann_spec->set_num_vectors(ann->size());
  ann_spec->set_dimension(ann->dimension());
  ann_spec->set_recall(1.0f);
  ann_spec->set_recall_at(10);
  return absl::OkStatus();
}

// The co-visitation table `TinyBundleOptions::covisitation` describes.
absl::Status WriteCovisitation(BundleWriter& writer, int num_videos) {
  std::vector<std::vector<CovisitationTable::Neighbour>> lists(num_videos);
  for (int i = 0; i < num_videos; ++i) {
    for (int d = 1; d <= kTinyCovisitNeighbours && d < num_videos; ++d) {
      lists[i].push_back({(i + d) % num_videos, TinyCovisitScore(d)});
    }
  }
  RECSYS_ASSIGN_OR_RETURN(CovisitationTable table,
                          CovisitationTable::FromLists(std::move(lists)));
  return AddCovisitation(table, kTinyCovisitWindow, /*share=*/0.3, /*seeds=*/5, writer);
}

// The ranking side: vocabularies, quantiles of every continuous feature,
// embeddings and the tower.
absl::Status WriteRankingModel(BundleWriter& writer, const Vocabulary& videos,
                               std::mt19937& gen) {
  std::vector<std::string> channels;
  for (int c = 0; c < kNumChannels; ++c) channels.push_back(absl::StrCat("c", c));
  const Vocabulary channel_vocab = Values(channels);
  const Vocabulary languages = Values({"en", "de"});
  bundle::RankingModelSpec* spec = writer.manifest()->mutable_ranking();
  spec->set_video_embedding_dim(kRankingVideoDim);
  spec->set_channel_embedding_dim(kChannelDim);
  spec->set_language_embedding_dim(kLanguageDim);
  spec->add_hidden_layers(kTinyRankingHidden);
  spec->set_max_watches(50);
  spec->set_use_powers(true);
  spec->set_objective("watch_time");
  for (int f = 0; f < kNumRankingContinuous; ++f) {
    std::vector<float> values;
    for (int i = 0; i <= 100; ++i) values.push_back(i * 0.5f);
    QuantileNormalizer q = QuantileNormalizer::Fit(std::move(values), 10);
    bundle::QuantileSpec* qs = spec->add_quantiles();
    qs->set_feature(RankingContinuousName(f));
    for (float b : q.boundaries()) qs->add_boundaries(b);
  }
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kRankingVideoVocab, videos));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kChannelVocab, channel_vocab));
  RECSYS_RETURN_IF_ERROR(writer.AddVocabulary(kLanguageVocab, languages));
  RECSYS_RETURN_IF_ERROR(
      AddTable(writer, kRankingVideoEmbedding, videos.size(), kRankingVideoDim, gen));
  RECSYS_RETURN_IF_ERROR(
      AddTable(writer, kRankingChannelEmbedding, channel_vocab.size(), kChannelDim, gen));
  RECSYS_RETURN_IF_ERROR(
      AddTable(writer, kRankingLanguageEmbedding, languages.size(), kLanguageDim, gen));
  const int tower_in = 3 * kRankingVideoDim + kChannelDim + 2 * kLanguageDim +
                       NormalizedWidth(/*use_powers=*/true);
  RECSYS_RETURN_IF_ERROR(
      AddLayer(writer, kRankingTower, 0, kTinyRankingHidden, tower_in, gen));
  return AddLayer(writer, kRankingTower, 1, 1, kTinyRankingHidden, gen);
}

// videos.csv and the popularity of each of its rows (all > 0, decreasing).
absl::Status WriteCatalog(BundleWriter& writer, int num_videos) {
  std::vector<VideoRecord> records;
  std::vector<float> popularity;
  for (int i = 0; i < num_videos; ++i) {
    VideoRecord v;
    v.video_id = TinyVideoId(i);
    v.title = TinyVideoTitle(i);
    v.channel_id = TinyChannelId(i);
    v.topics = i % 2 == 0 ? "music" : "news|sports";
    v.language = i % 3 == 0 ? "de" : "en";
    v.upload_time_s = kWindowEnd - (i + 1) * 7 * kSecondsPerDay;
    v.duration_s = 60.0f * (i + 1);
    records.push_back(std::move(v));
    popularity.push_back(static_cast<float>(10 * (num_videos - i)));
  }
  RECSYS_RETURN_IF_ERROR(writer.AddVideos(records));
  return writer.AddTensor(kCatalogPopularity, {num_videos}, popularity.data());
}

// A sibling of `path` that no reader takes for a bundle file.
std::string TempSibling(const std::string& path) {
  static std::atomic<int> counter{0};
  const fs::path p(path);
  return (p.parent_path() /
          absl::StrCat(".", p.filename().string(), ".tmp", getpid(), "-", counter++))
      .string();
}

// Writes `bytes` beside `path` and renames it over `path`.
absl::Status ReplaceFile(const std::string& path, absl::string_view bytes) {
  const std::string tmp = TempSibling(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", tmp, " to ", path, ": ",
                                            std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Byte offset of element `index` of `tensor` and the file holding it.
absl::StatusOr<std::pair<std::string, int64_t>> ElementLocation(
    const std::string& version_dir, const std::string& tensor, int64_t index) {
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<Bundle> bundle, Bundle::Open(version_dir));
  const bundle::TensorSpec* spec = bundle->FindTensor(tensor);
  if (spec == nullptr) {
    return absl::NotFoundError(absl::StrCat("no tensor ", tensor, " in ", version_dir));
  }
  int64_t n = 1;
  for (int64_t d : spec->shape()) n *= d;
  if (index < 0 || index >= n) {
    return absl::OutOfRangeError(
        absl::StrCat("tensor ", tensor, " has ", n, " elements, not ", index + 1));
  }
  return std::make_pair(bundle->Path(spec->file()),
                        spec->offset_bytes() + index * static_cast<int64_t>(sizeof(float)));
}

}  // namespace

std::string TinyVideoId(int i) { return absl::StrFormat("v%02d", i); }

std::string TinyVideoTitle(int i) { return absl::StrCat("Tiny video ", i); }

std::string TinyChannelId(int i) { return absl::StrCat("c", i % kNumChannels); }

std::string FreshTestDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  return dir;
}

absl::StatusOr<std::string> WriteTinyBundle(const std::string& root,
                                            const TinyBundleOptions& options) {
  if (options.num_videos < 1 || options.num_ranking_videos < 1 ||
      options.num_ranking_videos > options.num_videos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "need 1 <= num_ranking_videos (", options.num_ranking_videos,
        ") <= num_videos (", options.num_videos, ")"));
  }
  static std::atomic<int> staging_counter{0};
  const std::string staging =
      options.version.empty()
          ? root
          : absl::StrCat(root, "/.tiny-staging-", getpid(), "-", staging_counter++);
  if (!options.version.empty() && fs::exists(absl::StrCat(root, "/", options.version))) {
    return absl::AlreadyExistsError(
        absl::StrCat(root, "/", options.version, " already exists"));
  }
  RECSYS_ASSIGN_OR_RETURN(std::unique_ptr<BundleWriter> writer,
                          BundleWriter::Create(staging));
  writer->manifest()->set_training_data("tiny_bundle");
  writer->manifest()->set_training_window_end_s(kWindowEnd);
  if (!options.version.empty()) writer->manifest()->set_version(options.version);

  std::vector<std::string> ids;
  for (int i = 0; i < options.num_videos; ++i) ids.push_back(TinyVideoId(i));
  const Vocabulary videos = Values(ids);
  const Vocabulary ranking_videos =
      Values(std::vector<std::string>(ids.begin(), ids.begin() + options.num_ranking_videos));
  std::mt19937 gen(options.seed);
  RECSYS_RETURN_IF_ERROR(WriteCatalog(*writer, options.num_videos));
  RECSYS_RETURN_IF_ERROR(WriteCandidateModel(*writer, videos, gen));
  RECSYS_RETURN_IF_ERROR(WriteRankingModel(*writer, ranking_videos, gen));
  if (options.covisitation) {
    RECSYS_RETURN_IF_ERROR(WriteCovisitation(*writer, options.num_videos));
  }
  RECSYS_ASSIGN_OR_RETURN(std::string committed, writer->Commit());
  if (options.version.empty()) return committed;

  const std::string dir = absl::StrCat(root, "/", options.version);
  if (std::rename(committed.c_str(), dir.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename ", committed, " to ", dir,
                                            ": ", std::strerror(errno)));
  }
  std::error_code ec;
  fs::remove(staging, ec);
  return dir;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::Status TruncateFile(const std::string& path, int64_t size_bytes) {
  RECSYS_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  if (size_bytes < 0 || size_bytes > static_cast<int64_t>(bytes.size())) {
    return absl::OutOfRangeError(absl::StrCat(path, " has ", bytes.size(),
                                              " bytes, cannot truncate to ", size_bytes));
  }
  bytes.resize(size_bytes);
  return ReplaceFile(path, bytes);
}

absl::Status OverwriteFile(const std::string& path, absl::string_view bytes) {
  return ReplaceFile(path, bytes);
}

absl::Status DropLastLines(const std::string& path, int num_lines) {
  RECSYS_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  for (int i = 0; i < num_lines; ++i) {
    if (bytes.empty()) {
      return absl::OutOfRangeError(absl::StrCat(path, " has fewer than ", num_lines, " lines"));
    }
    // Drop the trailing newline, then the line before it.
    bytes.pop_back();
    const size_t newline = bytes.rfind('\n');
    bytes.resize(newline == std::string::npos ? 0 : newline + 1);
  }
  return ReplaceFile(path, bytes);
}

absl::Status SetTensorValue(const std::string& version_dir, const std::string& tensor,
                            int64_t index, float value) {
  RECSYS_ASSIGN_OR_RETURN(auto location, ElementLocation(version_dir, tensor, index));
  RECSYS_ASSIGN_OR_RETURN(std::string bytes, ReadFile(location.first));
  if (location.second + static_cast<int64_t>(sizeof(float)) >
      static_cast<int64_t>(bytes.size())) {
    return absl::OutOfRangeError(absl::StrCat(location.first, " is too short"));
  }
  std::memcpy(&bytes[location.second], &value, sizeof(float));
  return ReplaceFile(location.first, bytes);
}

absl::StatusOr<float> GetTensorValue(const std::string& version_dir,
                                     const std::string& tensor, int64_t index) {
  RECSYS_ASSIGN_OR_RETURN(auto location, ElementLocation(version_dir, tensor, index));
  RECSYS_ASSIGN_OR_RETURN(std::string bytes, ReadFile(location.first));
  if (location.second + static_cast<int64_t>(sizeof(float)) >
      static_cast<int64_t>(bytes.size())) {
    return absl::OutOfRangeError(absl::StrCat(location.first, " is too short"));
  }
  float value;
  std::memcpy(&value, &bytes[location.second], sizeof(float));
  return value;
}

absl::Status EditManifest(const std::string& version_dir,
                          const std::function<void(bundle::BundleManifest&)>& edit) {
  const std::string path = absl::StrCat(version_dir, "/manifest.pb");
  RECSYS_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  bundle::BundleManifest manifest;
  if (!manifest.ParseFromString(bytes)) {
    return absl::DataLossError(absl::StrCat(path, " is not a BundleManifest"));
  }
  edit(manifest);
  return ReplaceFile(path, manifest.SerializeAsString());
}

}  // namespace recsys
