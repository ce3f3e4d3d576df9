#ifndef RECSYS_COMMON_FEATURES_FEATURES_H_
#define RECSYS_COMMON_FEATURES_FEATURES_H_

// Feature extraction, written once and used by the trainer (to build its
// examples) and by both services (to answer requests): a request's
// `UserContext` becomes model inputs here and nowhere else.
//
// Categorical features become vocabulary indices (`Vocabulary::kOov` for
// unknown values, which the models embed as zero); continuous features
// become floats.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/base/time_units.h"
#include "common/logs/logs.h"
#include "common/features/quantiles.h"
#include "common/features/vocabulary.h"
#include "proto/bundle.pb.h"
#include "proto/recsys.pb.h"

namespace recsys {

// The request time of `context`, or `now_s` when the context leaves it 0.
int64_t RequestTime(const UserContext& context, int64_t now_s);

// ---------------------------------------------------------------------------
// Candidate generation (paper section 3.2).

struct CandidateVocabularies {
  const Vocabulary* videos = nullptr;
  const Vocabulary* tokens = nullptr;
  const Vocabulary* regions = nullptr;
  const Vocabulary* devices = nullptr;
};

struct CandidateFeatureOptions {
  // The most recent watches and searches read (the paper: 50 each).
  int max_watches = 50;
  int max_searches = 50;
  // Cap on search tokens (unigrams and bigrams of those searches).
  int max_tokens = 200;
  // Feature groups beyond the watch history (the paper's figure 6 adds them
  // one by one). A disabled group reads as empty / zero, in training and at
  // serving alike (the bundle records which groups a model uses).
  bool use_searches = true;
  bool use_example_age = true;
  bool use_demographics = true;
  // The `recent` group, beyond the paper: the mean embedding of the last
  // `recent_watches` watches enters the tower as a block of its own (the
  // watch bag's average cannot tell which watch was last). 0: off, and the
  // tower has no such block (the paper's tower; bundles written before the
  // group).
  int recent_watches = 0;
};

// The feature group's name as flags and old bundles spell it: "watches",
// "searches", "example_age", "demographics" or "recent". The one parser of
// those names; InvalidArgument for any other.
absl::StatusOr<bundle::FeatureGroup> ParseFeatureGroup(absl::string_view name);
// The inverse of `ParseFeatureGroup` ("unspecified" for the zero value).
const char* FeatureGroupName(bundle::FeatureGroup group);
// Turns `group` off in `options` (it then reads as empty / zero; `recent`
// then has no block at all). InvalidArgument for watches, which every model
// reads, and for the zero value.
absl::Status DisableFeatureGroup(bundle::FeatureGroup group,
                                 CandidateFeatureOptions* options);

// The example-age feature (paper section 3.3): an age in days divided by
// the model's scale (`CandidateModelSpec.example_age_scale_days`); 0 when
// the scale is not positive. The one definition, used for training
// examples, the serving constant and offline tools alike.
float ScaledExampleAge(float age_days, float scale_days);
// The same for an event at `time_s`, aged from the end of the training
// window `window_end_s` (both Unix seconds).
float ScaledExampleAgeAt(int64_t window_end_s, int64_t time_s, float scale_days);

// Dense inputs of the candidate tower, in this order.
enum CandidateDense : int {
  kGender = 0,      // female 0, male 1, unknown 0.5
  kAge,             // years / 100, clipped to [0, 1]; 0 when unknown
  kAgeKnown,        // 1 when the age is known
  kLoggedIn,        // 0 or 1
  kExampleAge,      // example age, days / scale (see CandidateModelSpec)
  kNumCandidateDense,
};

// "gender", "age", "age_known", "logged_in", "example_age": the dense
// inputs' names (explain mode).
const char* CandidateDenseName(int feature);

struct CandidateFeatures {
  // In-vocabulary IDs of the most recent watches, oldest first; OOV IDs are
  // dropped (a zero embedding in a bag average would only shrink it).
  std::vector<int32_t> watch_ids;
  // The `recent` group: the last `recent_watches` entries of `watch_ids`
  // (all of them when there are fewer), oldest first; empty when the group
  // is off.
  std::vector<int32_t> recent_ids;
  // In-vocabulary unigram and bigram IDs of the most recent searches: an
  // unordered bag.
  std::vector<int32_t> token_ids;
  int32_t region = Vocabulary::kOov;
  int32_t device = Vocabulary::kOov;
  float dense[kNumCandidateDense] = {};
};

// What `ExtractCandidateFeatures` read of a context and what it left out,
// with why (explain mode, `RecommendRequest.explain`).
struct CandidateFeatureTrace {
  // Indices in `context.watches` of the watches behind
  // `CandidateFeatures::watch_ids`, in the same order (oldest first).
  std::vector<int> kept_watches;
  // The other watches (indices in `context.watches`), oldest first.
  std::vector<std::pair<int, InputDropReason>> dropped_watches;
  // Every token of the searches the model could read, most recent search
  // first: kept ones with their row, dropped ones with `Vocabulary::kOov`
  // and the reason (INPUT_DROP_UNKNOWN when kept). Searches beyond the
  // history limit, or all of them when the group is off, appear as one
  // entry per token too.
  struct Token {
    std::string token;
    int32_t id = Vocabulary::kOov;
    InputDropReason dropped = INPUT_DROP_UNKNOWN;
  };
  std::vector<Token> tokens;
};

// `example_age` is already scaled (training: age of the example relative to
// the end of the training window; serving: the configured constant).
// `trace`, when given, receives what was read and dropped (the features are
// the same with or without it).
CandidateFeatures ExtractCandidateFeatures(const UserContext& context,
                                           const CandidateVocabularies& vocabs,
                                           const CandidateFeatureOptions& options,
                                           float example_age,
                                           CandidateFeatureTrace* trace = nullptr);

// The candidate tower's input row: these six blocks side by side. `Block`
// is whatever a caller holds a block in (serving: a float pointer into the
// row; the trainer: a [B, width] tensor; widths: an int).
template <typename Block>
struct CandidateTowerBlocks {
  Block watch_bag;  // mean watch embedding, `embedding_dim` wide
  // Mean embedding of `CandidateFeatures::recent_ids` (the watch table):
  // `embedding_dim` wide with the `recent` group, 0 wide without.
  Block recent_bag;
  Block token_bag;  // mean search-token embedding, `embedding_dim` wide
  Block region;     // region embedding, `region_dim` wide
  Block device;     // device embedding, `device_dim` wide
  Block dense;      // `CandidateFeatures::dense`, `kNumCandidateDense` wide
};

// Calls `visit(block)` on each block of `blocks` in the tower's input order.
// The one definition of that order: serving (`CandidateModel::BuildInput`),
// the libtorch net and the trainer's optimizer all assemble the row through
// it, and a parity test holds them equal.
template <typename Block, typename Visit>
void ForEachCandidateTowerBlock(CandidateTowerBlocks<Block>& blocks, Visit&& visit) {
  visit(blocks.watch_bag);
  visit(blocks.recent_bag);
  visit(blocks.token_bag);
  visit(blocks.region);
  visit(blocks.device);
  visit(blocks.dense);
}

// The widths of the candidate tower's input blocks; `with_recent`: the
// `recent` group is on (`CandidateFeatureOptions::recent_watches` > 0).
CandidateTowerBlocks<int> CandidateTowerWidths(int embedding_dim, int region_dim,
                                               int device_dim, bool with_recent);
// Their sum: the tower's input width.
int CandidateTowerInputDim(CandidateTowerBlocks<int> widths);
// Where each block starts in a row of `CandidateTowerInputDim(widths)`
// floats at `row`.
CandidateTowerBlocks<float*> CandidateTowerBlockStarts(CandidateTowerBlocks<int> widths,
                                                       float* row);

// ---------------------------------------------------------------------------
// Ranking (paper section 4.1).

// What ranking needs to know about each video besides its ID: from the
// bundle's video metadata and the training window's watch counts.
struct VideoInfo {
  // The video's row in the ranking video vocabulary the catalogue was made
  // with (`Vocabulary::kOov` when truncated away), or `kNoVideoRow` when it
  // was made without one: ranking then looks the ID up. One hash lookup
  // per candidate instead of two.
  static constexpr int32_t kNoVideoRow = -2;
  int32_t video = kNoVideoRow;
  // Embedding indices: in the channel and language vocabularies (which may
  // be truncated: `Vocabulary::kOov` then).
  int32_t channel = Vocabulary::kOov;
  int32_t language = Vocabulary::kOov;
  // The channel numbered by the catalogue, whether or not it has an
  // embedding, so that the user's watches per channel count every channel;
  // -1 when the video has none.
  int32_t channel_key = -1;
  // The main topic (first label of `topics`), numbered by the catalogue;
  // -1 when the video has none.
  int32_t topic = -1;
  int64_t upload_time_s = 0;
  float duration_s = 0;
  // Watches in the training window, and log(1 + that): a ranking input.
  float popularity = 0;
  float log_popularity = 0;
};

// Video ID -> `VideoInfo`. Immutable after construction.
class VideoCatalog {
 public:
  // `ranking_videos`, when given, must be the video vocabulary that ranking
  // features are then extracted with (`RankingVocabularies::videos`).
  VideoCatalog(const std::vector<VideoRecord>& videos,
               const absl::flat_hash_map<std::string, int64_t>& watch_counts,
               const Vocabulary& channels, const Vocabulary& languages,
               const Vocabulary* ranking_videos = nullptr);
  VideoCatalog() = default;

  // nullptr for a video not in the catalogue.
  const VideoInfo* Find(absl::string_view video_id) const;
  const VideoRecord* FindRecord(absl::string_view video_id) const;
  size_t size() const { return info_.size(); }
  // Up to `n` video IDs with the most training-window watches (more than
  // none), most first, ties by ID.
  std::vector<std::string> MostPopular(size_t n) const;

 private:
  absl::flat_hash_map<std::string, VideoInfo> info_;
  absl::flat_hash_map<std::string, VideoRecord> records_;
  absl::flat_hash_map<std::string, int32_t> topics_, channel_keys_;
};

// Continuous ranking features, raw (before normalisation), in this order.
enum RankingContinuous : int {
  kChannelWatches = 0,       // user's watches from this video's channel
  kDaysSinceChannelWatch,    // since the last one; 365 when never
  kPreviousImpressions,      // times this video was shown to the user
  kDaysSinceImpression,      // since the last time; 365 when never
  kRetrievalScore,           // candidate generation's score
  kDaysSinceUpload,
  kDurationMinutes,
  kLogPopularity,            // log(1 + watches in the training window)
  kTopicWatchShare,          // share of the user's watches in this topic
  kDaysSinceTopicWatch,      // since the user's last watch in this topic
  kNumRankingContinuous,
};

const char* RankingContinuousName(int feature);

// The request-level ("query") features, computed once per request.
struct RankingQuery {
  // The shared video vocabulary: most recent watches, oldest first, OOV
  // dropped.
  std::vector<int32_t> last_watched;
  // The video that seeded the recommendation: the most recent watch, and
  // its index in `UserContext.watches` (-1 without watches).
  int32_t seed_video = Vocabulary::kOov;
  int seed_watch = -1;
  int64_t request_time_s = 0;
  // The user's language (`Demographics.language`) in the language
  // vocabulary, which video languages share.
  int32_t user_language = Vocabulary::kOov;
  // Per channel (`VideoInfo::channel_key`): number of watches and time of
  // the latest.
  absl::flat_hash_map<int32_t, std::pair<int32_t, int64_t>> channel_watches;
  // Per topic: the same.
  absl::flat_hash_map<int32_t, std::pair<int32_t, int64_t>> topic_watches;
  int32_t num_watches = 0;
  // Per video ID: number of impressions and time of the latest.
  absl::flat_hash_map<std::string, std::pair<int32_t, int64_t>> impressions;
};

// Per-candidate ("impression") features.
struct RankingCandidateFeatures {
  int32_t video = Vocabulary::kOov;
  int32_t channel = Vocabulary::kOov;
  int32_t language = Vocabulary::kOov;  // the video's
  float raw[kNumRankingContinuous] = {};
  // One-hot of the candidate's source (DNN, popular, other).
  float source[3] = {};
};

struct RankingVocabularies {
  const Vocabulary* videos = nullptr;     // shared by three features
  const Vocabulary* channels = nullptr;
  const Vocabulary* languages = nullptr;  // shared by user and video language
};

RankingQuery ExtractRankingQuery(const UserContext& context,
                                 const RankingVocabularies& vocabs,
                                 const VideoCatalog& catalog, int max_watches,
                                 int64_t now_s);

RankingCandidateFeatures ExtractRankingCandidate(
    const RankingQuery& query, const Candidate& candidate,
    const RankingVocabularies& vocabs, const VideoCatalog& catalog);

// The paper's rule for embedding sizes: "the dimension increases
// approximately proportional to the logarithm of the number of unique
// values": round(per_log2 * log2(cardinality + 1)), at least 1.
int EmbeddingDimForCardinality(int64_t cardinality, double per_log2);

// Width of the normalised continuous block: each feature's x~, then (when
// `use_powers`) x~^2 and sqrt(x~), then the 3 source indicators.
int NormalizedWidth(bool use_powers);

// Writes `NormalizedWidth(use_powers)` floats to `out`.
void NormalizeRankingContinuous(
    const RankingCandidateFeatures& features,
    const std::vector<QuantileNormalizer>& normalizers, bool use_powers,
    float* out);

}  // namespace recsys

#endif  // RECSYS_COMMON_FEATURES_FEATURES_H_
