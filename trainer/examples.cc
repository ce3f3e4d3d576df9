#include "trainer/examples.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_map.h"

namespace recsys {

std::vector<CandidateExample> MakeRollbackExamples(
    const UserHistories& histories, const std::vector<const WatchRecord*>& labels,
    const CandidateVocabularies& vocabs, const ExampleOptions& options,
    std::mt19937_64& rng) {
  absl::flat_hash_map<std::string, std::vector<const WatchRecord*>> by_user;
  for (const WatchRecord* w : labels) by_user[w->user_id].push_back(w);
  std::vector<CandidateExample> examples;
  for (const std::string& user : histories.user_ids()) {
    auto it = by_user.find(user);
    if (it == by_user.end()) continue;
    std::vector<const WatchRecord*> chosen = it->second;
    if (options.max_examples_per_user > 0 &&
        static_cast<int>(chosen.size()) > options.max_examples_per_user) {
      std::shuffle(chosen.begin(), chosen.end(), rng);
      chosen.resize(options.max_examples_per_user);
    }
    for (const WatchRecord* w : chosen) {
      int32_t label = vocabs.videos->Lookup(w->video_id);
      if (label == Vocabulary::kOov) continue;
      absl::StatusOr<UserContext> context =
          options.random_holdout
              ? histories.ContextAt(user, std::numeric_limits<int64_t>::max())
              : histories.ContextBefore(*w);
      if (!context.ok()) continue;
      if (options.random_holdout) {
        // Everything but the label itself: the future leaks in.
        auto* watches = context->mutable_watches();
        for (int i = 0; i < watches->size(); ++i) {
          if (watches->Get(i).video_id() == w->video_id &&
              watches->Get(i).time_s() == w->time_s) {
            watches->DeleteSubrange(i, 1);
            break;
          }
        }
      }
      const float age =
          ScaledExampleAgeAt(options.window_end_s, w->time_s, options.age_scale_days);
      examples.push_back(
          {ExtractCandidateFeatures(*context, vocabs, options.features, age), label,
           w->time_s});
    }
  }
  return examples;
}

RankingVocabularySet CountRankingVocabularies(const Logs& logs, int64_t before_s,
                                              int max_videos, int max_channels) {
  absl::flat_hash_map<std::string, const VideoRecord*> videos;
  for (const VideoRecord& v : logs.videos) videos[v.video_id] = &v;
  absl::flat_hash_map<std::string, const UserRecord*> users;
  for (const UserRecord& u : logs.users) users[u.user_id] = &u;
  absl::flat_hash_map<std::string, int64_t> video_counts, channel_counts, language_counts;
  for (const ImpressionRecord& i : logs.impressions) {
    if (!i.clicked || i.time_s >= before_s) continue;
    ++video_counts[i.video_id];
    if (auto v = videos.find(i.video_id); v != videos.end()) {
      ++channel_counts[v->second->channel_id];
      ++language_counts[v->second->language];
    }
    if (auto u = users.find(i.user_id); u != users.end()) {
      ++language_counts[u->second->language];
    }
  }
  RankingVocabularySet set;
  set.videos = Vocabulary::FromCounts(video_counts, max_videos);
  set.channels = Vocabulary::FromCounts(channel_counts, max_channels);
  set.languages = Vocabulary::FromCounts(language_counts, 0);
  return set;
}

}  // namespace recsys
