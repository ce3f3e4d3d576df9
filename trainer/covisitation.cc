#include "trainer/covisitation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace recsys {
namespace {

uint64_t PairKey(int32_t a, int32_t b) {
  if (a > b) std::swap(a, b);
  return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b);
}

// Each user's watches in first-appearance order of the users, each user's
// in the order given.
std::vector<std::vector<const WatchRecord*>> ByUser(
    const std::vector<const WatchRecord*>& watches) {
  absl::flat_hash_map<absl::string_view, size_t> index;
  std::vector<std::vector<const WatchRecord*>> users;
  for (const WatchRecord* w : watches) {
    auto [it, inserted] = index.try_emplace(w->user_id, users.size());
    if (inserted) users.emplace_back();
    users[it->second].push_back(w);
  }
  return users;
}

}  // namespace

absl::StatusOr<CovisitationTable> BuildCovisitation(
    const std::vector<const WatchRecord*>& watches, const Vocabulary& videos,
    const CovisitationOptions& options) {
  if (options.window < 2 || options.max_neighbours < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "co-visitation window must be >= 2 and max_neighbours >= 1, got ", options.window,
        " and ", options.max_neighbours));
  }
  const int32_t n = videos.size();
  std::vector<int64_t> users_per_video(n, 0);
  // c_ij, summed over users in a fixed order (doubles: the order decides
  // the bits).
  absl::flat_hash_map<uint64_t, double> pair_weight;
  std::vector<int32_t> sequence;
  std::vector<std::pair<uint64_t, float>> pairs;
  for (std::vector<const WatchRecord*>& user : ByUser(watches)) {
    std::stable_sort(user.begin(), user.end(), [](const WatchRecord* a, const WatchRecord* b) {
      return a->time_s < b->time_s;
    });
    sequence.clear();
    for (const WatchRecord* w : user) {
      const int32_t row = videos.Lookup(w->video_id);
      if (row != Vocabulary::kOov) sequence.push_back(row);
    }
    pairs.clear();
    for (size_t p = 0; p < sequence.size(); ++p) {
      for (size_t q = p + 1; q < sequence.size() && q - p < static_cast<size_t>(options.window);
           ++q) {
        if (sequence[p] != sequence[q]) {
          pairs.emplace_back(PairKey(sequence[p], sequence[q]), 1.0f / static_cast<float>(q - p));
        }
      }
    }
    // Per pair, the closest co-visit: the largest weight comes first.
    std::sort(pairs.begin(), pairs.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    });
    for (size_t i = 0; i < pairs.size(); ++i) {
      if (i == 0 || pairs[i].first != pairs[i - 1].first) {
        pair_weight[pairs[i].first] += pairs[i].second;
      }
    }
    std::sort(sequence.begin(), sequence.end());
    sequence.erase(std::unique(sequence.begin(), sequence.end()), sequence.end());
    for (int32_t row : sequence) ++users_per_video[row];
  }

  std::vector<std::vector<CovisitationTable::Neighbour>> lists(n);
  for (const auto& [key, c] : pair_weight) {
    const int32_t i = static_cast<int32_t>(key >> 32);
    const int32_t j = static_cast<int32_t>(key & 0xffffffffu);
    const float score = static_cast<float>(
        c / std::sqrt(static_cast<double>(users_per_video[i]) *
                      static_cast<double>(users_per_video[j])));
    lists[i].push_back({j, score});
    lists[j].push_back({i, score});
  }
  pair_weight.clear();
  auto better = [](const CovisitationTable::Neighbour& a,
                   const CovisitationTable::Neighbour& b) {
    return a.score != b.score ? a.score > b.score : a.row < b.row;
  };
  for (std::vector<CovisitationTable::Neighbour>& list : lists) {
    if (list.size() > static_cast<size_t>(options.max_neighbours)) {
      std::partial_sort(list.begin(), list.begin() + options.max_neighbours, list.end(), better);
      list.resize(options.max_neighbours);
      list.shrink_to_fit();
    }
  }
  return CovisitationTable::FromLists(std::move(lists));
}

}  // namespace recsys
