#ifndef RECSYS_COMMON_SERVING_MODELS_H_
#define RECSYS_COMMON_SERVING_MODELS_H_

// The serving side of both models: their forward passes over OpenBLAS,
// loaded from a bundle. No libtorch here; `trainer/` writes the same tensors
// these read (names below) and a parity test holds the two forwards equal.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/serving/bundle.h"
#include "common/serving/stage_clock.h"
#include "common/serving/dense.h"
#include "common/features/features.h"
#include "common/features/quantiles.h"
#include "common/features/vocabulary.h"
#include "proto/bundle.pb.h"
#include "proto/recsys.pb.h"

namespace recsys {

// Vocabulary names in the bundle.
inline constexpr char kVideoVocab[] = "video";
inline constexpr char kTokenVocab[] = "token";
inline constexpr char kRegionVocab[] = "region";
inline constexpr char kDeviceVocab[] = "device";
inline constexpr char kChannelVocab[] = "channel";
inline constexpr char kRankingVideoVocab[] = "ranking_video";
inline constexpr char kLanguageVocab[] = "language";

// Tensor names in the bundle.
inline constexpr char kWatchEmbedding[] = "candidate/watch_embedding";
inline constexpr char kTokenEmbedding[] = "candidate/token_embedding";
inline constexpr char kRegionEmbedding[] = "candidate/region_embedding";
inline constexpr char kDeviceEmbedding[] = "candidate/device_embedding";
inline constexpr char kCandidateTower[] = "candidate/tower";
inline constexpr char kVideoOutputEmbedding[] = "candidate/video_embedding";
inline constexpr char kVideoOutputBias[] = "candidate/video_bias";
inline constexpr char kCatalogPopularity[] = "catalog/popularity";
inline constexpr char kRankingVideoEmbedding[] = "ranking/video_embedding";
inline constexpr char kRankingChannelEmbedding[] = "ranking/channel_embedding";
inline constexpr char kRankingLanguageEmbedding[] = "ranking/language_embedding";
inline constexpr char kRankingTower[] = "ranking/tower";

// "<prefix>/<layer>/weight" and "<prefix>/<layer>/bias".
std::string LayerTensorName(const std::string& prefix, int layer,
                            const std::string& part);

// Appends the mean of `table`'s rows `ids` (width `dim`) to `out`; zeros
// for an empty bag.
void AppendMeanEmbedding(const std::vector<float>& table, int dim,
                         const std::vector<int32_t>& ids, float* out);
// Appends row `id` of `table`, or zeros for `Vocabulary::kOov`.
void AppendEmbedding(const std::vector<float>& table, int dim, int32_t id,
                     float* out);

// The configuration enums of the manifest, read and written in one place
// each. Bundles written before the enum fields hold names only; these read
// either, and write both (so that older servers read new bundles right).

// The candidate model's disabled feature groups: `disabled_groups`, or the
// names in `disabled_feature_groups` when that is empty. DataLoss for an
// unknown name.
absl::StatusOr<std::vector<bundle::FeatureGroup>> DisabledFeatureGroupsOf(
    const bundle::CandidateModelSpec& spec);
// Writes `groups` to both fields of `spec`, but for `FEATURE_GROUP_RECENT`,
// which `spec.recent_watches` records (0: off) so that servers that predate
// the group read bundles trained without it.
void SetDisabledFeatureGroups(const std::vector<bundle::FeatureGroup>& groups,
                              bundle::CandidateModelSpec* spec);

// "watch_time" or "ctr" (flags and old bundles); InvalidArgument otherwise.
absl::StatusOr<bundle::RankingObjective> ParseRankingObjective(absl::string_view name);
// The inverse of `ParseRankingObjective` ("unspecified" for the zero value).
const char* RankingObjectiveName(bundle::RankingObjective objective);
// The ranking model's objective: `training_objective`, or the name in
// `objective` when that is unset. DataLoss for an unknown name.
absl::StatusOr<bundle::RankingObjective> RankingObjectiveOf(
    const bundle::RankingModelSpec& spec);
// Writes `objective` to both fields of `spec`.
void SetRankingObjective(bundle::RankingObjective objective, bundle::RankingModelSpec* spec);

// The candidate-generation network: user tower and video output embeddings.
// Immutable after `Load`; thread-safe.
class CandidateModel {
 public:
  static absl::StatusOr<std::unique_ptr<CandidateModel>> Load(
      const Bundle& bundle);

  // The tower's input row for `features` (width `input_dim()`): watch bag
  // mean, mean of the recent watches (when the bundle's `recent_watches` is
  // positive), token bag mean, region, device, dense features.
  void BuildInput(const CandidateFeatures& features, float* out) const;
  int input_dim() const { return tower_.input_dim(); }

  // Features of a serving request (example age at its serving value);
  // `trace`, when given, receives what was read and dropped.
  CandidateFeatures Features(const UserContext& context,
                             CandidateFeatureTrace* trace = nullptr) const;
  // What the user tower read of `context` (explain mode): `features` and
  // `trace` from one `Features(context, &trace)` call. `knows_anything` is
  // left to the caller.
  void DescribeUserTower(const UserContext& context, const CandidateFeatures& features,
                         const CandidateFeatureTrace& trace, UserTowerReading* out) const;
  // The user vector `u` (width `output_dim()`).
  std::vector<float> UserVector(const CandidateFeatures& features) const;
  // `u` with a trailing 1: its inner product with `AnnVector(v)` is the
  // logit u.v + b_v.
  std::vector<float> AnnQuery(const UserContext& context) const;

  // Row-major [num_videos, output_dim + 1]: each video's output embedding
  // followed by its bias (the vectors the ANN index holds).
  std::vector<float> AnnVectors() const;
  // The model's logit for `video` (an index in `videos()`).
  float Logit(const std::vector<float>& user_vector, int32_t video) const;

  const Vocabulary& videos() const { return videos_; }
  int output_dim() const { return output_dim_; }
  // Which feature groups the model reads (from the bundle).
  const CandidateFeatureOptions& feature_options() const { return options_; }

 private:
  CandidateModel() = default;

  Vocabulary videos_, tokens_, regions_, devices_;
  CandidateFeatureOptions options_;
  float serving_example_age_ = 0;
  int embedding_dim_ = 0, region_dim_ = 0, device_dim_ = 0, output_dim_ = 0;
  CandidateTowerBlocks<int> widths_ = {};
  std::vector<float> watch_embedding_, token_embedding_, region_embedding_,
      device_embedding_, video_embedding_, video_bias_;
  Mlp tower_;
};

// What the ranking network read and computed for one request (explain
// mode): filled by the scoring pass itself, so it holds exactly the inputs
// the tower consumed.
struct RankingTrace {
  RankingQuery query;
  // One per candidate, in the request's order.
  std::vector<RankingCandidateFeatures> candidates;
  // Row-major [candidates, NormalizedWidth(use_powers)]: the normalised
  // continuous block of each candidate's input row, as the tower read it.
  std::vector<float> normalized;
  std::vector<float> logits;
};

// The ranking network: scores each candidate with the user's and the
// impression's features. Immutable after `Load`; thread-safe.
class RankingModel {
 public:
  static absl::StatusOr<std::unique_ptr<RankingModel>> Load(
      const Bundle& bundle);

  // Feature rows for `candidates` as the network reads them, row-major
  // [n, input_dim()]: impressed video, seed video and last-watched bag (all
  // one shared table), user language, channel, video language (one table
  // with the user's), normalised continuous features.
  std::vector<float> BuildInputs(const UserContext& context,
                                 const std::vector<Candidate>& candidates,
                                 int64_t now_s) const;
  int input_dim() const { return tower_.input_dim(); }

  // The network's logits, one per candidate, in order. The first layer's
  // product with the request's part of the row (seed video, last-watched
  // bag, user language) is computed once per request, not once per
  // candidate.
  // Marks "features" and "tower" on `clock` (common/serving/stage_clock.h)
  // when it is given.
  std::vector<float> Logits(const UserContext& context,
                            const std::vector<Candidate>& candidates,
                            int64_t now_s, StageClock* clock = nullptr) const;
  // exp(logit): predicted expected watch time per impression, seconds (for
  // the "watch_time" objective; a click odds for "ctr").
  std::vector<float> PredictWatchSeconds(const UserContext& context,
                                         const std::vector<Candidate>& candidates,
                                         int64_t now_s, StageClock* clock = nullptr) const;
  // The same over candidates where a `RankRequest` holds them (no copy).
  // `trace`, when given, receives the inputs and logits of this very pass.
  std::vector<float> PredictWatchSeconds(
      const UserContext& context,
      const google::protobuf::RepeatedPtrField<Candidate>& candidates, int64_t now_s,
      StageClock* clock = nullptr, RankingTrace* trace = nullptr) const;

  // `trace` (of `candidates` and `context`) as the explain mode's message:
  // the request-level inputs, and per candidate its categorical inputs
  // (video, channel, language, source), continuous ones (named as in the
  // bundle's quantile tables, raw and normalised), logit and predicted
  // watch seconds, in the request's order. Ranks and the version are left
  // to the caller.
  void Explain(const UserContext& context,
               const google::protobuf::RepeatedPtrField<Candidate>& candidates,
               const RankingTrace& trace, RankingExplanation* out) const;
  bool use_powers() const { return use_powers_; }

  const VideoCatalog& catalog() const { return catalog_; }

 private:
  RankingModel() = default;

  Vocabulary videos_, channels_, languages_;
  VideoCatalog catalog_;
  // Rows of `BuildInputs` with the request's columns [video_dim_,
  // video_dim_ + user_width()) left out (`user_part` receives them, once).
  // `trace`, when given, receives the query and each candidate's features.
  std::vector<float> CandidateRows(const UserContext& context,
                                   absl::Span<const Candidate* const> candidates,
                                   int64_t now_s, bool with_user_part,
                                   std::vector<float>* user_part,
                                   RankingTrace* trace = nullptr) const;
  // `Logits` over candidates wherever they are held.
  std::vector<float> LogitsOf(const UserContext& context,
                              absl::Span<const Candidate* const> candidates, int64_t now_s,
                              StageClock* clock, RankingTrace* trace = nullptr) const;

  std::vector<QuantileNormalizer> normalizers_;
  bool use_powers_ = true;
  int max_watches_ = 50;
  int video_dim_ = 0, channel_dim_ = 0, language_dim_ = 0;
  // Width of the request's columns: seed, last-watched bag, user language.
  int user_width() const { return 2 * video_dim_ + language_dim_; }
  std::vector<float> video_embedding_, channel_embedding_, language_embedding_;
  Mlp tower_;
  // `tower_` with the request's columns of the first layer split off:
  // `user_weight_` [first layer out, user_width()] and `candidate_tower_`
  // (the other columns, then the same layers).
  std::vector<float> user_weight_;
  Mlp candidate_tower_;
};

// The bundle loaders below check what they read: every tensor must be all
// finite (DataLoss "tensor X in <dir>/weights.bin has a non-finite value
// (nan) at index i" otherwise), and shapes must match the vocabularies and
// each other.

// Reads "<prefix>/<i>/weight|bias" for i = 0.. until the manifest has no
// weight for i. NotFound when there is no layer at all; a layer that is
// present but unreadable, non-finite or mis-shaped is DataLoss (it never
// silently ends the stack).
absl::StatusOr<Mlp> LoadMlp(const Bundle& bundle, const std::string& prefix);

// Loads the catalogue (videos.csv and their training-window popularity).
// `channels` and `languages` give the embedding indices (empty
// vocabularies: every one out of vocabulary); `ranking_videos`, when given,
// the ranking video vocabulary (`VideoInfo::video`).
absl::StatusOr<VideoCatalog> LoadCatalog(const Bundle& bundle,
                                         const Vocabulary& channels,
                                         const Vocabulary& languages,
                                         const Vocabulary* ranking_videos = nullptr);

}  // namespace recsys

#endif  // RECSYS_COMMON_SERVING_MODELS_H_
