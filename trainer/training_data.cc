#include "trainer/training_data.h"

#include <algorithm>

#include "common/base/time_units.h"
#include "common/features/features.h"
#include "common/features/tokenizer.h"

namespace recsys {

bool InUserSample(absl::string_view user_id, double fraction) {
  if (fraction >= 1) return true;
  // FNV-1a, then splitmix64's finaliser (the data-parallel split takes
  // std::hash modulo the world size; this takes the top 53 bits of another
  // hash, so the two choices do not line up).
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : user_id) h = (h ^ c) * 1099511628211ull;
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return static_cast<double>(h >> 11) * 0x1.0p-53 < fraction;
}

TrainingData PrepareTrainingData(const Logs& logs, const TrainingDataOptions& options) {
  TrainingData p;
  UserHistories::Options recent;
  recent.max_watches = std::max(recent.max_watches, options.max_watches);
  recent.max_searches = std::max(recent.max_searches, options.max_searches);
  p.histories = UserHistories::Build(logs, recent);
  UserHistories::Options all_watches;
  all_watches.max_watches = 1 << 30;
  p.eval_histories = UserHistories::Build(logs, all_watches);
  for (const std::string& user : p.histories.user_ids()) {
    const std::vector<WatchRecord>& w = p.histories.watches(user);
    if (w.size() >= 3) {
      p.test[user] = w.back();
      p.validation[user] = w[w.size() - 2];
    }
  }
  absl::flat_hash_map<std::string, int64_t> token_counts, region_counts,
      device_counts;
  for (const std::string& user : p.histories.user_ids()) {
    const std::vector<WatchRecord>& w = p.histories.watches(user);
    size_t n = w.size() >= 3 ? w.size() - 2 : w.size();
    for (size_t i = 0; i < n; ++i) {
      p.train_watches.push_back(&w[i]);
      ++p.video_counts[w[i].video_id];
    }
  }
  if (options.unsampled_video_counts != nullptr) {
    for (const auto& [video, count] : *options.unsampled_video_counts) {
      p.video_counts[video] += count;
    }
  }
  for (const WatchRecord& w : logs.watches) {
    p.window_end_s = std::max(p.window_end_s, w.time_s);
  }
  for (const SearchRecord& s : logs.searches) {
    for (const std::string& t : QueryTokens(s.query)) ++token_counts[t];
  }
  for (const UserRecord& u : logs.users) {
    ++region_counts[u.region];
    ++device_counts[u.device];
  }
  p.videos = Vocabulary::FromCounts(p.video_counts, options.max_videos);
  p.tokens = Vocabulary::FromCounts(token_counts, options.max_tokens);
  p.regions = Vocabulary::FromCounts(region_counts, 0);
  p.devices = Vocabulary::FromCounts(device_counts, 0);
  return p;
}


float ExampleAgeScaleDays(const Logs& logs, const TrainingData& p) {
  int64_t start = p.window_end_s;
  for (const WatchRecord& w : logs.watches) start = std::min(start, w.time_s);
  return std::max(1.0f, static_cast<float>(p.window_end_s - start) / kSecondsPerDay);
}

std::vector<int64_t> Rows(const TrainingData& p, const std::vector<Candidate>& candidates) {
  std::vector<int64_t> rows;
  rows.reserve(candidates.size());
  for (const Candidate& c : candidates) rows.push_back(p.videos.Lookup(c.video_id()));
  return rows;
}

}  // namespace recsys
