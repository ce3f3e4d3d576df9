#include "common/features/features.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "common/features/tokenizer.h"

namespace recsys {
namespace {

constexpr float kNeverDays = 365.0f;

// Indices of the context's events sorted by (time, key), most recent last.
template <typename T, typename Key>
std::vector<int> ByTime(const google::protobuf::RepeatedPtrField<T>& events,
                        Key key) {
  std::vector<int> order(events.size());
  for (int i = 0; i < events.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (events[a].time_s() != events[b].time_s()) {
      return events[a].time_s() < events[b].time_s();
    }
    return key(events[a]) < key(events[b]);
  });
  return order;
}

std::vector<int> WatchesByTime(const UserContext& context) {
  return ByTime(context.watches(),
                [](const Watch& w) -> const std::string& { return w.video_id(); });
}

}  // namespace

int64_t RequestTime(const UserContext& context, int64_t now_s) {
  return context.request_time_s() != 0 ? context.request_time_s() : now_s;
}

absl::StatusOr<bundle::FeatureGroup> ParseFeatureGroup(absl::string_view name) {
  for (bundle::FeatureGroup group :
       {bundle::FEATURE_GROUP_WATCHES, bundle::FEATURE_GROUP_SEARCHES,
        bundle::FEATURE_GROUP_EXAMPLE_AGE, bundle::FEATURE_GROUP_DEMOGRAPHICS,
        bundle::FEATURE_GROUP_RECENT}) {
    if (name == FeatureGroupName(group)) return group;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown feature group '", name,
                   "': use watches, searches, example_age, demographics or recent"));
}

const char* FeatureGroupName(bundle::FeatureGroup group) {
  switch (group) {
    case bundle::FEATURE_GROUP_WATCHES:
      return "watches";
    case bundle::FEATURE_GROUP_SEARCHES:
      return "searches";
    case bundle::FEATURE_GROUP_EXAMPLE_AGE:
      return "example_age";
    case bundle::FEATURE_GROUP_DEMOGRAPHICS:
      return "demographics";
    case bundle::FEATURE_GROUP_RECENT:
      return "recent";
    default:
      return "unspecified";
  }
}

absl::Status DisableFeatureGroup(bundle::FeatureGroup group,
                                 CandidateFeatureOptions* options) {
  switch (group) {
    case bundle::FEATURE_GROUP_SEARCHES:
      options->use_searches = false;
      return absl::OkStatus();
    case bundle::FEATURE_GROUP_EXAMPLE_AGE:
      options->use_example_age = false;
      return absl::OkStatus();
    case bundle::FEATURE_GROUP_DEMOGRAPHICS:
      options->use_demographics = false;
      return absl::OkStatus();
    case bundle::FEATURE_GROUP_RECENT:
      options->recent_watches = 0;
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "feature group '", FeatureGroupName(group),
          "' cannot be disabled: use searches, example_age, demographics or recent"));
  }
}

float ScaledExampleAge(float age_days, float scale_days) {
  return scale_days > 0 ? age_days / scale_days : 0.0f;
}

float ScaledExampleAgeAt(int64_t window_end_s, int64_t time_s, float scale_days) {
  return ScaledExampleAge(static_cast<float>(window_end_s - time_s) / kSecondsPerDay,
                          scale_days);
}

CandidateTowerBlocks<int> CandidateTowerWidths(int embedding_dim, int region_dim,
                                               int device_dim, bool with_recent) {
  return {embedding_dim, with_recent ? embedding_dim : 0, embedding_dim, region_dim,
          device_dim, kNumCandidateDense};
}

int CandidateTowerInputDim(CandidateTowerBlocks<int> widths) {
  int sum = 0;
  ForEachCandidateTowerBlock(widths, [&](int width) { sum += width; });
  return sum;
}

CandidateTowerBlocks<float*> CandidateTowerBlockStarts(CandidateTowerBlocks<int> widths,
                                                       float* row) {
  // Offsets in input order, written over the widths.
  int offset = 0;
  ForEachCandidateTowerBlock(widths, [&](int& width) {
    const int start = offset;
    offset += width;
    width = start;
  });
  return {row + widths.watch_bag, row + widths.recent_bag, row + widths.token_bag,
          row + widths.region, row + widths.device, row + widths.dense};
}

CandidateFeatures ExtractCandidateFeatures(const UserContext& context,
                                           const CandidateVocabularies& vocabs,
                                           const CandidateFeatureOptions& options,
                                           float example_age, CandidateFeatureTrace* trace) {
  CandidateFeatures f;
  std::vector<int> watches = WatchesByTime(context);
  size_t begin = watches.size() > static_cast<size_t>(options.max_watches)
                     ? watches.size() - options.max_watches
                     : 0;
  if (trace != nullptr) {
    for (size_t i = 0; i < begin; ++i) {
      trace->dropped_watches.push_back({watches[i], INPUT_DROP_BEYOND_HISTORY_LIMIT});
    }
  }
  for (size_t i = begin; i < watches.size(); ++i) {
    int32_t id = vocabs.videos->Lookup(context.watches(watches[i]).video_id());
    if (id != Vocabulary::kOov) f.watch_ids.push_back(id);
    if (trace != nullptr) {
      if (id != Vocabulary::kOov) {
        trace->kept_watches.push_back(watches[i]);
      } else {
        trace->dropped_watches.push_back({watches[i], INPUT_DROP_OUT_OF_VOCABULARY});
      }
    }
  }
  if (options.recent_watches > 0) {
    const size_t recent = std::min(f.watch_ids.size(),
                                   static_cast<size_t>(options.recent_watches));
    f.recent_ids.assign(f.watch_ids.end() - recent, f.watch_ids.end());
  }

  std::vector<int> searches = ByTime(
      context.searches(),
      [](const SearchQuery& s) -> const std::string& { return s.query(); });
  begin = searches.size() > static_cast<size_t>(options.max_searches)
              ? searches.size() - options.max_searches
              : 0;
  const size_t history_begin = begin;
  if (!options.use_searches) begin = searches.size();
  // Most recent searches first, so the token cap drops the oldest.
  for (size_t i = searches.size(); i > begin; --i) {
    for (const std::string& token :
         QueryTokens(context.searches(searches[i - 1]).query())) {
      if (static_cast<int>(f.token_ids.size()) >= options.max_tokens) {
        if (trace == nullptr) break;
        trace->tokens.push_back({token, Vocabulary::kOov, INPUT_DROP_BEYOND_TOKEN_LIMIT});
        continue;
      }
      int32_t id = vocabs.tokens->Lookup(token);
      if (id != Vocabulary::kOov) f.token_ids.push_back(id);
      if (trace != nullptr) {
        trace->tokens.push_back(
            {token, id, id != Vocabulary::kOov ? INPUT_DROP_UNKNOWN : INPUT_DROP_OUT_OF_VOCABULARY});
      }
    }
  }
  if (trace != nullptr) {
    // The searches the model did not read at all.
    for (size_t i = begin; i > 0; --i) {
      const InputDropReason why =
          i > history_begin ? INPUT_DROP_GROUP_DISABLED : INPUT_DROP_BEYOND_HISTORY_LIMIT;
      for (const std::string& token : QueryTokens(context.searches(searches[i - 1]).query())) {
        trace->tokens.push_back({token, Vocabulary::kOov, why});
      }
    }
  }
  // An unordered bag: order carries no information the model may use.
  std::sort(f.token_ids.begin(), f.token_ids.end());

  f.dense[kExampleAge] = options.use_example_age ? example_age : 0.0f;
  if (!options.use_demographics) return f;
  const Demographics& d = context.demographics();
  f.region = vocabs.regions->Lookup(d.region());
  f.device = vocabs.devices->Lookup(d.device());
  f.dense[kGender] = d.gender() == GENDER_FEMALE ? 0.0f
                     : d.gender() == GENDER_MALE ? 1.0f
                                                 : 0.5f;
  f.dense[kAge] = std::clamp(d.age() / 100.0f, 0.0f, 1.0f);
  f.dense[kAgeKnown] = d.age() > 0 ? 1.0f : 0.0f;
  f.dense[kLoggedIn] = d.logged_in() ? 1.0f : 0.0f;
  return f;
}

VideoCatalog::VideoCatalog(
    const std::vector<VideoRecord>& videos,
    const absl::flat_hash_map<std::string, int64_t>& watch_counts,
    const Vocabulary& channels, const Vocabulary& languages,
    const Vocabulary* ranking_videos) {
  info_.reserve(videos.size());
  records_.reserve(videos.size());
  for (const VideoRecord& v : videos) {
    VideoInfo info;
    if (ranking_videos != nullptr) info.video = ranking_videos->Lookup(v.video_id);
    info.channel = channels.Lookup(v.channel_id);
    info.language = languages.Lookup(v.language);
    if (!v.channel_id.empty()) {
      info.channel_key =
          channel_keys_
              .try_emplace(v.channel_id, static_cast<int32_t>(channel_keys_.size()))
              .first->second;
    }
    std::string topic = v.topics.substr(0, v.topics.find('|'));
    if (!topic.empty()) {
      info.topic = topics_.try_emplace(topic, static_cast<int32_t>(topics_.size()))
                       .first->second;
    }
    info.upload_time_s = v.upload_time_s;
    info.duration_s = v.duration_s;
    auto it = watch_counts.find(v.video_id);
    info.popularity = it == watch_counts.end() ? 0.0f : it->second;
    info.log_popularity = std::log1p(info.popularity);
    info_[v.video_id] = info;
    records_[v.video_id] = v;
  }
}

std::vector<std::string> VideoCatalog::MostPopular(size_t n) const {
  std::vector<std::pair<float, const std::string*>> by_count;
  for (const auto& [id, info] : info_) {
    if (info.popularity > 0) by_count.push_back({info.popularity, &id});
  }
  const auto more_popular = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : *a.second < *b.second;
  };
  n = std::min(n, by_count.size());
  std::partial_sort(by_count.begin(), by_count.begin() + n, by_count.end(), more_popular);
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.push_back(*by_count[i].second);
  return out;
}

const VideoInfo* VideoCatalog::Find(absl::string_view video_id) const {
  auto it = info_.find(video_id);
  return it == info_.end() ? nullptr : &it->second;
}

const VideoRecord* VideoCatalog::FindRecord(absl::string_view video_id) const {
  auto it = records_.find(video_id);
  return it == records_.end() ? nullptr : &it->second;
}

const char* CandidateDenseName(int feature) {
  static const char* const kNames[kNumCandidateDense] = {
      "gender", "age", "age_known", "logged_in", "example_age",
  };
  return kNames[feature];
}

const char* RankingContinuousName(int feature) {
  static const char* const kNames[kNumRankingContinuous] = {
      "channel_watches",      "days_since_channel_watch",
      "previous_impressions", "days_since_impression",
      "retrieval_score",      "days_since_upload",
      "duration_minutes",     "log_popularity",
      "topic_watch_share",    "days_since_topic_watch",
  };
  return kNames[feature];
}

RankingQuery ExtractRankingQuery(const UserContext& context,
                                 const RankingVocabularies& vocabs,
                                 const VideoCatalog& catalog, int max_watches,
                                 int64_t now_s) {
  RankingQuery q;
  q.request_time_s = RequestTime(context, now_s);
  q.user_language = vocabs.languages->Lookup(context.demographics().language());
  std::vector<int> watches = WatchesByTime(context);
  size_t begin = watches.size() > static_cast<size_t>(max_watches)
                     ? watches.size() - max_watches
                     : 0;
  for (size_t i = 0; i < watches.size(); ++i) {
    const Watch& w = context.watches(watches[i]);
    if (i >= begin) {
      int32_t id = vocabs.videos->Lookup(w.video_id());
      if (id != Vocabulary::kOov) q.last_watched.push_back(id);
    }
    ++q.num_watches;
    const VideoInfo* info = catalog.Find(w.video_id());
    if (info != nullptr && info->channel_key >= 0) {
      auto& [count, latest] = q.channel_watches[info->channel_key];
      ++count;
      latest = std::max(latest, w.time_s());
    }
    if (info != nullptr && info->topic >= 0) {
      auto& [count, latest] = q.topic_watches[info->topic];
      ++count;
      latest = std::max(latest, w.time_s());
    }
  }
  if (!watches.empty()) {
    q.seed_watch = watches.back();
    q.seed_video = vocabs.videos->Lookup(context.watches(q.seed_watch).video_id());
  }
  for (const Impression& imp : context.impressions()) {
    auto& [count, latest] = q.impressions[imp.video_id()];
    ++count;
    latest = std::max(latest, imp.time_s());
  }
  return q;
}

RankingCandidateFeatures ExtractRankingCandidate(
    const RankingQuery& query, const Candidate& candidate,
    const RankingVocabularies& vocabs, const VideoCatalog& catalog) {
  RankingCandidateFeatures f;
  const VideoInfo* info = catalog.Find(candidate.video_id());
  f.video = info != nullptr && info->video != VideoInfo::kNoVideoRow
                ? info->video
                : vocabs.videos->Lookup(candidate.video_id());
  const double now = static_cast<double>(query.request_time_s);
  float* raw = f.raw;
  raw[kDaysSinceChannelWatch] = kNeverDays;
  raw[kDaysSinceImpression] = kNeverDays;
  raw[kDaysSinceTopicWatch] = kNeverDays;
  if (info != nullptr) {
    if (auto t = query.topic_watches.find(info->topic);
        info->topic >= 0 && t != query.topic_watches.end()) {
      raw[kTopicWatchShare] =
          static_cast<float>(t->second.first) / std::max(query.num_watches, 1);
      raw[kDaysSinceTopicWatch] = std::clamp<float>(
          (now - t->second.second) / kSecondsPerDay, 0.0f, kNeverDays);
    }
    f.channel = info->channel;
    f.language = info->language;
    auto it = query.channel_watches.find(info->channel_key);
    if (info->channel_key >= 0 && it != query.channel_watches.end()) {
      raw[kChannelWatches] = it->second.first;
      raw[kDaysSinceChannelWatch] = std::clamp<float>(
          (now - it->second.second) / kSecondsPerDay, 0.0f, kNeverDays);
    }
    raw[kDaysSinceUpload] =
        std::max<float>((now - info->upload_time_s) / kSecondsPerDay, 0.0f);
    raw[kDurationMinutes] = info->duration_s / 60.0f;
    raw[kLogPopularity] = info->log_popularity;
  }
  if (auto it = query.impressions.empty() ? query.impressions.end()
                                          : query.impressions.find(candidate.video_id());
      it != query.impressions.end()) {
    raw[kPreviousImpressions] = it->second.first;
    raw[kDaysSinceImpression] = std::clamp<float>(
        (now - it->second.second) / kSecondsPerDay, 0.0f, kNeverDays);
  }
  raw[kRetrievalScore] = candidate.retrieval_score();
  int source = candidate.source() == SOURCE_DNN       ? 0
               : candidate.source() == SOURCE_POPULAR ? 1
                                                      : 2;
  f.source[source] = 1.0f;
  return f;
}

int EmbeddingDimForCardinality(int64_t cardinality, double per_log2) {
  const double n = static_cast<double>(std::max<int64_t>(cardinality, 0));
  return std::max(1, static_cast<int>(std::lround(per_log2 * std::log2(n + 1))));
}

int NormalizedWidth(bool use_powers) {
  return kNumRankingContinuous * (use_powers ? 3 : 1) + 3;
}

void NormalizeRankingContinuous(
    const RankingCandidateFeatures& features,
    const std::vector<QuantileNormalizer>& normalizers, bool use_powers,
    float* out) {
  int k = 0;
  for (int i = 0; i < kNumRankingContinuous; ++i) {
    float x = normalizers[i].Normalize(features.raw[i]);
    out[k++] = x;
    if (use_powers) {
      out[k++] = x * x;
      out[k++] = std::sqrt(x);
    }
  }
  for (float s : features.source) out[k++] = s;
}

}  // namespace recsys
