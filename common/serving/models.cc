#include "common/serving/models.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "common/serving/simd_scan.h"

namespace recsys {
namespace {

// "nan", "inf" or "-inf".
std::string NonFiniteName(float x) {
  if (std::isnan(x)) return "nan";
  return x > 0 ? "inf" : "-inf";
}

// `Bundle::ReadTensor`, and DataLoss unless every value is finite: one NaN
// in a weight turns every score it reaches into NaN, so a bundle holding
// one is rejected at load rather than served.
absl::StatusOr<Tensor> ReadFiniteTensor(const Bundle& bundle, const std::string& name) {
  absl::StatusOr<Tensor> t = bundle.ReadTensor(name);
  if (!t.ok()) return t.status();
  for (size_t i = 0; i < t->data.size(); ++i) {
    if (!std::isfinite(t->data[i])) {
      const bundle::TensorSpec* spec = bundle.FindTensor(name);
      return absl::DataLossError(absl::StrCat(
          "tensor ", name, " in ", bundle.Path(spec->file()),
          " has a non-finite value (", NonFiniteName(t->data[i]), ") at index ", i));
    }
  }
  return t;
}

// Loads a [rows, dim] tensor, checking its width; `dim` is set from it.
absl::Status LoadTable(const Bundle& bundle, const std::string& name,
                       int expected_rows, std::vector<float>* data, int* dim) {
  absl::StatusOr<Tensor> t = ReadFiniteTensor(bundle, name);
  if (!t.ok()) return t.status();
  if (t->shape.size() != 2 || t->rows() != expected_rows) {
    return absl::DataLossError(absl::StrCat(
        "tensor ", name, " has ", t->rows(), " rows, expected ", expected_rows,
        " (one per vocabulary entry)"));
  }
  *dim = static_cast<int>(t->cols());
  *data = std::move(t->data);
  return absl::OkStatus();
}

}  // namespace

std::string LayerTensorName(const std::string& prefix, int layer,
                            const std::string& part) {
  return absl::StrCat(prefix, "/", layer, "/", part);
}

void AppendMeanEmbedding(const std::vector<float>& table, int dim,
                         const std::vector<int32_t>& ids, float* out) {
  std::memset(out, 0, sizeof(float) * dim);
  if (ids.empty()) return;
  for (int32_t id : ids) {
    const float* row = table.data() + static_cast<int64_t>(id) * dim;
    for (int j = 0; j < dim; ++j) out[j] += row[j];
  }
  const float inv = 1.0f / ids.size();
  for (int j = 0; j < dim; ++j) out[j] *= inv;
}

void AppendEmbedding(const std::vector<float>& table, int dim, int32_t id,
                     float* out) {
  if (id == Vocabulary::kOov) {
    std::memset(out, 0, sizeof(float) * dim);
    return;
  }
  std::memcpy(out, table.data() + static_cast<int64_t>(id) * dim,
              sizeof(float) * dim);
}

absl::StatusOr<Mlp> LoadMlp(const Bundle& bundle, const std::string& prefix) {
  std::vector<DenseLayer> layers;
  for (int i = 0;; ++i) {
    const std::string weight = LayerTensorName(prefix, i, "weight");
    // Only an absent tensor ends the stack; a damaged one is an error.
    if (bundle.FindTensor(weight) == nullptr) break;
    absl::StatusOr<Tensor> w = ReadFiniteTensor(bundle, weight);
    if (!w.ok()) return w.status();
    const std::string bias = LayerTensorName(prefix, i, "bias");
    absl::StatusOr<Tensor> b = ReadFiniteTensor(bundle, bias);
    if (!b.ok()) return b.status();
    if (w->shape.size() != 2 || b->shape.size() != 1 || b->rows() != w->rows()) {
      return absl::DataLossError(absl::StrCat(
          "tensors ", weight, " [", absl::StrJoin(w->shape, ", "), "] and ", bias,
          " [", absl::StrJoin(b->shape, ", "), "] are not a layer ([out, in] and [out])"));
    }
    DenseLayer layer;
    layer.out = static_cast<int>(w->rows());
    layer.in = static_cast<int>(w->cols());
    layer.weight = std::move(w->data);
    layer.bias = std::move(b->data);
    layers.push_back(std::move(layer));
  }
  if (layers.empty()) {
    return absl::NotFoundError(absl::StrCat("bundle ", bundle.dir(),
                                            " has no layers under ", prefix));
  }
  absl::StatusOr<Mlp> mlp = Mlp::Create(std::move(layers));
  if (!mlp.ok()) {
    return absl::DataLossError(
        absl::StrCat("the layers under ", prefix, " do not stack: ", mlp.status().message()));
  }
  return mlp;
}

absl::StatusOr<VideoCatalog> LoadCatalog(const Bundle& bundle,
                                         const Vocabulary& channels,
                                         const Vocabulary& languages,
                                         const Vocabulary* ranking_videos) {
  absl::StatusOr<std::vector<VideoRecord>> videos = bundle.ReadVideos();
  if (!videos.ok()) return videos.status();
  absl::StatusOr<Tensor> popularity = ReadFiniteTensor(bundle, kCatalogPopularity);
  if (!popularity.ok()) return popularity.status();
  if (popularity->data.size() != videos->size()) {
    return absl::DataLossError(absl::StrCat(
        "tensor ", kCatalogPopularity, " has ", popularity->data.size(), " entries but ",
        bundle.Path(bundle.manifest().video_metadata_file()), " has ", videos->size(),
        " videos"));
  }
  absl::flat_hash_map<std::string, int64_t> counts;
  for (size_t i = 0; i < videos->size(); ++i) {
    counts[(*videos)[i].video_id] = static_cast<int64_t>(popularity->data[i]);
  }
  return VideoCatalog(*videos, counts, channels, languages, ranking_videos);
}

absl::StatusOr<std::vector<bundle::FeatureGroup>> DisabledFeatureGroupsOf(
    const bundle::CandidateModelSpec& spec) {
  if (spec.disabled_groups_size() > 0) {
    std::vector<bundle::FeatureGroup> groups;
    for (int g : spec.disabled_groups()) {
      groups.push_back(static_cast<bundle::FeatureGroup>(g));
    }
    return groups;
  }
  std::vector<bundle::FeatureGroup> groups;
  for (const std::string& name : spec.disabled_feature_groups()) {
    absl::StatusOr<bundle::FeatureGroup> group = ParseFeatureGroup(name);
    if (!group.ok()) {
      return absl::DataLossError(absl::StrCat("the candidate model spec: ",
                                              group.status().message()));
    }
    groups.push_back(*group);
  }
  return groups;
}

absl::StatusOr<bundle::RankingObjective> ParseRankingObjective(absl::string_view name) {
  for (bundle::RankingObjective objective :
       {bundle::RANKING_OBJECTIVE_WATCH_TIME, bundle::RANKING_OBJECTIVE_CTR}) {
    if (name == RankingObjectiveName(objective)) return objective;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("objective must be 'watch_time' or 'ctr', got '", name, "'"));
}

const char* RankingObjectiveName(bundle::RankingObjective objective) {
  switch (objective) {
    case bundle::RANKING_OBJECTIVE_WATCH_TIME:
      return "watch_time";
    case bundle::RANKING_OBJECTIVE_CTR:
      return "ctr";
    default:
      return "unspecified";
  }
}

absl::StatusOr<bundle::RankingObjective> RankingObjectiveOf(
    const bundle::RankingModelSpec& spec) {
  if (spec.training_objective() != bundle::RANKING_OBJECTIVE_UNSPECIFIED) {
    return spec.training_objective();
  }
  absl::StatusOr<bundle::RankingObjective> objective = ParseRankingObjective(spec.objective());
  if (!objective.ok()) {
    return absl::DataLossError(
        absl::StrCat("the ranking model spec: ", objective.status().message()));
  }
  return objective;
}

void SetRankingObjective(bundle::RankingObjective objective, bundle::RankingModelSpec* spec) {
  spec->set_training_objective(objective);
  spec->set_objective(RankingObjectiveName(objective));
}

void SetDisabledFeatureGroups(const std::vector<bundle::FeatureGroup>& groups,
                              bundle::CandidateModelSpec* spec) {
  spec->clear_disabled_groups();
  spec->clear_disabled_feature_groups();
  for (bundle::FeatureGroup group : groups) {
    // Servers that predate the group would reject a bundle naming it; its
    // state is `recent_watches` (0: off).
    if (group == bundle::FEATURE_GROUP_RECENT) continue;
    spec->add_disabled_groups(group);
    spec->add_disabled_feature_groups(FeatureGroupName(group));
  }
}

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<CandidateModel>> CandidateModel::Load(
    const Bundle& bundle) {
  const bundle::CandidateModelSpec& spec = bundle.manifest().candidate();
  auto m = std::unique_ptr<CandidateModel>(new CandidateModel());
  RECSYS_ASSIGN_OR_RETURN(m->videos_, bundle.ReadVocabulary(kVideoVocab));
  RECSYS_ASSIGN_OR_RETURN(m->tokens_, bundle.ReadVocabulary(kTokenVocab));
  RECSYS_ASSIGN_OR_RETURN(m->regions_, bundle.ReadVocabulary(kRegionVocab));
  RECSYS_ASSIGN_OR_RETURN(m->devices_, bundle.ReadVocabulary(kDeviceVocab));
  m->options_.max_watches = spec.max_watches();
  m->options_.max_searches = spec.max_searches();
  if (spec.recent_watches() < 0) {
    return absl::DataLossError(absl::StrCat(
        "the candidate model spec: recent_watches is ", spec.recent_watches(),
        ", expected >= 0 (0: no recent group)"));
  }
  m->options_.recent_watches = spec.recent_watches();
  RECSYS_ASSIGN_OR_RETURN(std::vector<bundle::FeatureGroup> disabled,
                          DisabledFeatureGroupsOf(spec));
  for (bundle::FeatureGroup group : disabled) {
    absl::Status s = DisableFeatureGroup(group, &m->options_);
    if (!s.ok()) {
      return absl::DataLossError(
          absl::StrCat("the candidate model spec: ", s.message()));
    }
  }
  m->serving_example_age_ = ScaledExampleAge(spec.serving_example_age_days(),
                                             spec.example_age_scale_days());
  RECSYS_RETURN_IF_ERROR(LoadTable(bundle, kWatchEmbedding, m->videos_.size(),
                                   &m->watch_embedding_, &m->embedding_dim_));
  int token_dim = 0;
  RECSYS_RETURN_IF_ERROR(LoadTable(bundle, kTokenEmbedding, m->tokens_.size(),
                                   &m->token_embedding_, &token_dim));
  if (token_dim != m->embedding_dim_) {
    return absl::DataLossError("token and watch embeddings differ in width");
  }
  RECSYS_RETURN_IF_ERROR(LoadTable(bundle, kRegionEmbedding, m->regions_.size(),
                                   &m->region_embedding_, &m->region_dim_));
  RECSYS_RETURN_IF_ERROR(LoadTable(bundle, kDeviceEmbedding, m->devices_.size(),
                                   &m->device_embedding_, &m->device_dim_));
  RECSYS_RETURN_IF_ERROR(LoadTable(bundle, kVideoOutputEmbedding,
                                   m->videos_.size(), &m->video_embedding_,
                                   &m->output_dim_));
  RECSYS_ASSIGN_OR_RETURN(Tensor bias, ReadFiniteTensor(bundle, kVideoOutputBias));
  if (bias.data.size() != static_cast<size_t>(m->videos_.size())) {
    return absl::DataLossError("video bias size differs from the vocabulary");
  }
  m->video_bias_ = std::move(bias.data);
  RECSYS_ASSIGN_OR_RETURN(m->tower_, LoadMlp(bundle, kCandidateTower));
  m->widths_ = CandidateTowerWidths(m->embedding_dim_, m->region_dim_, m->device_dim_,
                                    m->options_.recent_watches > 0);
  const int expected_in = CandidateTowerInputDim(m->widths_);
  if (m->tower_.input_dim() != expected_in ||
      m->tower_.output_dim() != m->output_dim_) {
    return absl::DataLossError(absl::StrCat(
        "candidate tower is ", m->tower_.input_dim(), " -> ",
        m->tower_.output_dim(), ", expected ", expected_in, " -> ",
        m->output_dim_));
  }
  return m;
}

void CandidateModel::BuildInput(const CandidateFeatures& f, float* out) const {
  const CandidateTowerBlocks<float*> at = CandidateTowerBlockStarts(widths_, out);
  AppendMeanEmbedding(watch_embedding_, embedding_dim_, f.watch_ids, at.watch_bag);
  if (widths_.recent_bag > 0) {
    AppendMeanEmbedding(watch_embedding_, embedding_dim_, f.recent_ids, at.recent_bag);
  }
  AppendMeanEmbedding(token_embedding_, embedding_dim_, f.token_ids, at.token_bag);
  AppendEmbedding(region_embedding_, region_dim_, f.region, at.region);
  AppendEmbedding(device_embedding_, device_dim_, f.device, at.device);
  std::memcpy(at.dense, f.dense, sizeof(f.dense));
}

CandidateFeatures CandidateModel::Features(const UserContext& context,
                                           CandidateFeatureTrace* trace) const {
  CandidateVocabularies vocabs{&videos_, &tokens_, &regions_, &devices_};
  return ExtractCandidateFeatures(context, vocabs, options_, serving_example_age_, trace);
}

namespace {

void SetCategorical(const char* name, const std::string& value, int32_t row,
                    CategoricalFeature* out) {
  out->set_name(name);
  out->set_value(value);
  out->set_vocabulary_row(row);
}

void SetWatch(const Watch& watch, int32_t row, InputDropReason dropped, WatchReading* out) {
  out->set_video_id(watch.video_id());
  out->set_time_s(watch.time_s());
  out->set_vocabulary_row(row);
  out->set_dropped(dropped);
}

}  // namespace

void CandidateModel::DescribeUserTower(const UserContext& context,
                                       const CandidateFeatures& features,
                                       const CandidateFeatureTrace& trace,
                                       UserTowerReading* out) const {
  for (size_t i = 0; i < trace.kept_watches.size(); ++i) {
    SetWatch(context.watches(trace.kept_watches[i]), features.watch_ids[i], INPUT_DROP_UNKNOWN,
             out->add_watches_kept());
  }
  for (const auto& [index, why] : trace.dropped_watches) {
    SetWatch(context.watches(index), Vocabulary::kOov, why, out->add_watches_dropped());
  }
  // The `recent` block averages the last kept watches.
  for (size_t i = features.watch_ids.size() - features.recent_ids.size();
       i < features.watch_ids.size(); ++i) {
    *out->add_recent_watches() = out->watches_kept(static_cast<int>(i));
  }
  for (const CandidateFeatureTrace::Token& t : trace.tokens) {
    TokenReading* token =
        t.dropped == INPUT_DROP_UNKNOWN ? out->add_tokens_kept() : out->add_tokens_dropped();
    token->set_token(t.token);
    token->set_vocabulary_row(t.id);
    token->set_dropped(t.dropped);
  }
  out->set_example_age(features.dense[kExampleAge]);
  const Demographics& d = context.demographics();
  SetCategorical(kRegionVocab, d.region(), features.region, out->add_demographics_categorical());
  SetCategorical(kDeviceVocab, d.device(), features.device, out->add_demographics_categorical());
  // The request's value of each dense input (example age: the tower's, as
  // requests carry none).
  float raw[kNumCandidateDense] = {};
  raw[kGender] = static_cast<float>(d.gender());
  raw[kAge] = static_cast<float>(d.age());
  raw[kAgeKnown] = d.age() > 0 ? 1.0f : 0.0f;
  raw[kLoggedIn] = d.logged_in() ? 1.0f : 0.0f;
  raw[kExampleAge] = features.dense[kExampleAge];
  for (int i = 0; i < kNumCandidateDense; ++i) {
    ContinuousFeature* dense = out->add_dense();
    dense->set_name(CandidateDenseName(i));
    dense->set_raw_value(raw[i]);
    dense->set_normalized_value(features.dense[i]);
  }
}

std::vector<float> CandidateModel::UserVector(
    const CandidateFeatures& features) const {
  std::vector<float> input(input_dim());
  BuildInput(features, input.data());
  return tower_.Forward(input.data(), 1);
}

std::vector<float> CandidateModel::AnnQuery(const UserContext& context) const {
  std::vector<float> u = UserVector(Features(context));
  u.push_back(1.0f);
  return u;
}

std::vector<float> CandidateModel::AnnVectors() const {
  const int64_t n = videos_.size();
  std::vector<float> out(n * (output_dim_ + 1));
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(&out[i * (output_dim_ + 1)], &video_embedding_[i * output_dim_],
                sizeof(float) * output_dim_);
    out[i * (output_dim_ + 1) + output_dim_] = video_bias_[i];
  }
  return out;
}

float CandidateModel::Logit(const std::vector<float>& user_vector,
                            int32_t video) const {
  // The SIMD kernel of the ANN scan (a plain loop here stays scalar: GCC may
  // not reorder a float sum), so a co-visited or popular candidate's score
  // is summed as a retrieved one's.
  float dot = 0;
  InnerProducts(BestSimdLevel(), user_vector.data(),
                &video_embedding_[static_cast<int64_t>(video) * output_dim_], 1, output_dim_,
                &dot);
  return video_bias_[video] + dot;
}

// ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<RankingModel>> RankingModel::Load(
    const Bundle& bundle) {
  if (!bundle.manifest().has_ranking()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "bundle ", bundle.dir(),
        " has no ranking model (it was trained on logs without impressions)"));
  }
  const bundle::RankingModelSpec& spec = bundle.manifest().ranking();
  auto m = std::unique_ptr<RankingModel>(new RankingModel());
  RECSYS_ASSIGN_OR_RETURN(m->videos_, bundle.ReadVocabulary(kRankingVideoVocab));
  RECSYS_ASSIGN_OR_RETURN(m->channels_, bundle.ReadVocabulary(kChannelVocab));
  RECSYS_ASSIGN_OR_RETURN(m->languages_, bundle.ReadVocabulary(kLanguageVocab));
  RECSYS_ASSIGN_OR_RETURN(m->catalog_,
                          LoadCatalog(bundle, m->channels_, m->languages_, &m->videos_));
  m->use_powers_ = spec.use_powers();
  m->max_watches_ = spec.max_watches();
  if (spec.quantiles_size() != kNumRankingContinuous) {
    return absl::DataLossError(absl::StrCat(
        "ranking model has ", spec.quantiles_size(), " quantile tables, expected ",
        kNumRankingContinuous));
  }
  for (int i = 0; i < kNumRankingContinuous; ++i) {
    const bundle::QuantileSpec& q = spec.quantiles(i);
    if (q.feature() != RankingContinuousName(i)) {
      return absl::DataLossError(absl::StrCat("quantile table ", i, " is for '",
                                              q.feature(), "', expected '",
                                              RankingContinuousName(i), "'"));
    }
    std::vector<float> boundaries(q.boundaries().begin(), q.boundaries().end());
    for (size_t j = 0; j < boundaries.size(); ++j) {
      if (!std::isfinite(boundaries[j]) || (j > 0 && boundaries[j] < boundaries[j - 1])) {
        return absl::DataLossError(absl::StrCat(
            bundle.Path("manifest.pb"), ": the quantile boundaries of ", q.feature(),
            " are not finite and sorted (", boundaries[j], " at index ", j, ")"));
      }
    }
    m->normalizers_.emplace_back(std::move(boundaries));
  }
  RECSYS_RETURN_IF_ERROR(LoadTable(bundle, kRankingVideoEmbedding,
                                   m->videos_.size(), &m->video_embedding_,
                                   &m->video_dim_));
  RECSYS_RETURN_IF_ERROR(LoadTable(bundle, kRankingChannelEmbedding,
                                   m->channels_.size(), &m->channel_embedding_,
                                   &m->channel_dim_));
  RECSYS_RETURN_IF_ERROR(LoadTable(bundle, kRankingLanguageEmbedding,
                                   m->languages_.size(), &m->language_embedding_,
                                   &m->language_dim_));
  RECSYS_ASSIGN_OR_RETURN(m->tower_, LoadMlp(bundle, kRankingTower));
  const int expected_in = 3 * m->video_dim_ + 2 * m->language_dim_ +
                          m->channel_dim_ + NormalizedWidth(m->use_powers_);
  if (m->tower_.input_dim() != expected_in || m->tower_.output_dim() != 1) {
    return absl::DataLossError(absl::StrCat(
        "ranking tower is ", m->tower_.input_dim(), " -> ", m->tower_.output_dim(),
        ", expected ", expected_in, " -> 1"));
  }
  // Split the first layer: columns [d, d + user_width) see only the request.
  std::vector<DenseLayer> layers = m->tower_.layers();
  DenseLayer& first = layers.front();
  const int d = m->video_dim_, user_width = m->user_width(),
            rest = first.in - user_width;
  std::vector<float> candidate_weight(static_cast<size_t>(first.out) * rest);
  m->user_weight_.resize(static_cast<size_t>(first.out) * user_width);
  for (int o = 0; o < first.out; ++o) {
    const float* row = &first.weight[static_cast<size_t>(o) * first.in];
    float* c = &candidate_weight[static_cast<size_t>(o) * rest];
    std::copy(row, row + d, c);
    std::copy(row + d + user_width, row + first.in, c + d);
    std::copy(row + d, row + d + user_width,
              &m->user_weight_[static_cast<size_t>(o) * user_width]);
  }
  first.weight = std::move(candidate_weight);
  first.in = rest;
  RECSYS_ASSIGN_OR_RETURN(m->candidate_tower_, Mlp::Create(std::move(layers)));
  return m;
}

namespace {

// Pointers to `candidates`' elements, for the functions that read candidates
// wherever they are held.
std::vector<const Candidate*> PointersTo(const std::vector<Candidate>& candidates) {
  std::vector<const Candidate*> pointers;
  pointers.reserve(candidates.size());
  for (const Candidate& c : candidates) pointers.push_back(&c);
  return pointers;
}

absl::Span<const Candidate* const> SpanOf(
    const google::protobuf::RepeatedPtrField<Candidate>& candidates) {
  return absl::Span<const Candidate* const>(candidates.data(), candidates.size());
}

// exp(logit) in place: predicted watch seconds (or click odds) per impression.
std::vector<float> ExpOf(std::vector<float> logits) {
  for (float& x : logits) x = std::exp(x);
  return logits;
}

}  // namespace

std::vector<float> RankingModel::CandidateRows(const UserContext& context,
                                               absl::Span<const Candidate* const> candidates,
                                               int64_t now_s, bool with_user_part,
                                               std::vector<float>* user_part,
                                               RankingTrace* trace) const {
  RankingVocabularies vocabs{&videos_, &channels_, &languages_};
  RankingQuery query =
      ExtractRankingQuery(context, vocabs, catalog_, max_watches_, now_s);
  // The user's part of the row is the same for every candidate.
  user_part->assign(user_width(), 0.0f);
  AppendEmbedding(video_embedding_, video_dim_, query.seed_video, user_part->data());
  AppendMeanEmbedding(video_embedding_, video_dim_, query.last_watched,
                      user_part->data() + video_dim_);
  AppendEmbedding(language_embedding_, language_dim_, query.user_language,
                  user_part->data() + 2 * video_dim_);
  const int width = input_dim() - (with_user_part ? 0 : user_width());
  std::vector<float> rows(candidates.size() * static_cast<size_t>(width));
  for (size_t i = 0; i < candidates.size(); ++i) {
    RankingCandidateFeatures f =
        ExtractRankingCandidate(query, *candidates[i], vocabs, catalog_);
    float* row = &rows[i * width];
    AppendEmbedding(video_embedding_, video_dim_, f.video, row);
    row += video_dim_;
    if (with_user_part) {
      std::memcpy(row, user_part->data(), sizeof(float) * user_part->size());
      row += user_part->size();
    }
    AppendEmbedding(channel_embedding_, channel_dim_, f.channel, row);
    row += channel_dim_;
    AppendEmbedding(language_embedding_, language_dim_, f.language, row);
    row += language_dim_;
    NormalizeRankingContinuous(f, normalizers_, use_powers_, row);
    if (trace != nullptr) {
      trace->candidates.push_back(f);
      trace->normalized.insert(trace->normalized.end(), row,
                               row + NormalizedWidth(use_powers_));
    }
  }
  if (trace != nullptr) trace->query = std::move(query);
  return rows;
}

std::vector<float> RankingModel::BuildInputs(
    const UserContext& context, const std::vector<Candidate>& candidates,
    int64_t now_s) const {
  std::vector<float> user_part;
  return CandidateRows(context, PointersTo(candidates), now_s, /*with_user_part=*/true,
                       &user_part);
}

std::vector<float> RankingModel::Logits(const UserContext& context,
                                        const std::vector<Candidate>& candidates,
                                        int64_t now_s, StageClock* clock) const {
  return LogitsOf(context, PointersTo(candidates), now_s, clock);
}

std::vector<float> RankingModel::LogitsOf(const UserContext& context,
                                          absl::Span<const Candidate* const> candidates,
                                          int64_t now_s, StageClock* clock,
                                          RankingTrace* trace) const {
  if (candidates.empty()) return {};
  std::vector<float> user_part;
  std::vector<float> rows = CandidateRows(context, candidates, now_s,
                                          /*with_user_part=*/false, &user_part, trace);
  MarkStage(clock, "features");
  // First-layer bias for this request: b + W_user . user_part.
  const DenseLayer& first = tower_.layers().front();
  std::vector<float> bias = first.bias;
  GemmNT(user_part.data(), user_weight_.data(), bias.data(), 1, first.out,
         static_cast<int>(user_part.size()), /*accumulate=*/true);
  std::vector<float> logits = candidate_tower_.Forward(
      rows.data(), static_cast<int>(candidates.size()), bias.data());
  MarkStage(clock, "tower");
  if (trace != nullptr) trace->logits = logits;
  return logits;
}

std::vector<float> RankingModel::PredictWatchSeconds(
    const UserContext& context, const std::vector<Candidate>& candidates,
    int64_t now_s, StageClock* clock) const {
  return ExpOf(Logits(context, candidates, now_s, clock));
}

std::vector<float> RankingModel::PredictWatchSeconds(
    const UserContext& context, const google::protobuf::RepeatedPtrField<Candidate>& candidates,
    int64_t now_s, StageClock* clock, RankingTrace* trace) const {
  return ExpOf(LogitsOf(context, SpanOf(candidates), now_s, clock, trace));
}

void RankingModel::Explain(const UserContext& context,
                           const google::protobuf::RepeatedPtrField<Candidate>& candidates,
                           const RankingTrace& trace, RankingExplanation* out) const {
  out->set_use_powers(use_powers_);
  const RankingQuery& query = trace.query;
  RankingRequestFeatures* request = out->mutable_request();
  SetCategorical("seed_video",
                 query.seed_watch >= 0 ? context.watches(query.seed_watch).video_id() : "",
                 query.seed_video, request->mutable_seed_video());
  for (int32_t row : query.last_watched) {
    SetCategorical("last_watched", videos_.value(row), row, request->add_last_watched());
  }
  SetCategorical("user_language", context.demographics().language(), query.user_language,
                 request->mutable_user_language());
  request->set_request_time_s(query.request_time_s);
  const int width = NormalizedWidth(use_powers_);
  const int stride = use_powers_ ? 3 : 1;  // x~, then x~^2 and sqrt(x~)
  for (size_t i = 0; i < trace.candidates.size(); ++i) {
    const Candidate& candidate = candidates[static_cast<int>(i)];
    const RankingCandidateFeatures& f = trace.candidates[i];
    const float* normalized = &trace.normalized[i * width];
    RankingCandidateExplanation* c = out->add_candidates();
    c->set_video_id(candidate.video_id());
    const VideoRecord* record = catalog_.FindRecord(candidate.video_id());
    SetCategorical("video", candidate.video_id(), f.video, c->add_categorical());
    SetCategorical(kChannelVocab, record != nullptr ? record->channel_id : "", f.channel,
                   c->add_categorical());
    SetCategorical(kLanguageVocab, record != nullptr ? record->language : "", f.language,
                   c->add_categorical());
    const int source = static_cast<int>(std::find(f.source, f.source + 3, 1.0f) - f.source);
    SetCategorical("source", CandidateSource_Name(candidate.source()), source,
                   c->add_categorical());
    for (int k = 0; k < kNumRankingContinuous; ++k) {
      ContinuousFeature* x = c->add_continuous();
      x->set_name(RankingContinuousName(k));
      x->set_raw_value(f.raw[k]);
      x->set_normalized_value(normalized[k * stride]);
    }
    c->set_logit(trace.logits[i]);
    c->set_predicted_watch_seconds(std::exp(trace.logits[i]));
  }
}

}  // namespace recsys
