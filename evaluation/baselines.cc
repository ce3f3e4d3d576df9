#include "evaluation/baselines.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "common/base/time_units.h"

namespace recsys {

bool NaturalIdLess(absl::string_view a, absl::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = absl::ascii_isdigit(a[i]), db = absl::ascii_isdigit(b[j]);
    if (da && db) {
      size_t ei = i, ej = j;
      while (ei < a.size() && absl::ascii_isdigit(a[ei])) ++ei;
      while (ej < b.size() && absl::ascii_isdigit(b[ej])) ++ej;
      // Numerically: without leading zeros, the shorter run is smaller.
      size_t si = i, sj = j;
      while (si + 1 < ei && a[si] == '0') ++si;
      while (sj + 1 < ej && b[sj] == '0') ++sj;
      if (ei - si != ej - sj) return ei - si < ej - sj;
      const int c = a.substr(si, ei - si).compare(b.substr(sj, ej - sj));
      if (c != 0) return c < 0;
      // Equal values: fewer leading zeros first, then go on.
      if (ei - i != ej - j) return ei - i < ej - j;
      i = ei;
      j = ej;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i;
      ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

namespace {

// Per corpus index, its position in natural video ID order (`NaturalIdLess`).
std::vector<int32_t> IdRanks(const Vocabulary& corpus) {
  std::vector<int32_t> by_id(corpus.size());
  std::iota(by_id.begin(), by_id.end(), 0);
  std::sort(by_id.begin(), by_id.end(), [&corpus](int32_t a, int32_t b) {
    return NaturalIdLess(corpus.value(a), corpus.value(b));
  });
  std::vector<int32_t> rank(corpus.size());
  for (int32_t r = 0; r < static_cast<int32_t>(by_id.size()); ++r) {
    rank[by_id[r]] = r;
  }
  return rank;
}

// Corpus indices of the context's watched videos.
absl::flat_hash_set<int32_t> WatchedIndices(const UserContext& context,
                                            const Vocabulary& corpus) {
  absl::flat_hash_set<int32_t> watched;
  for (const Watch& w : context.watches()) {
    const int32_t index = corpus.Lookup(w.video_id());
    if (index != Vocabulary::kOov) watched.insert(index);
  }
  return watched;
}

}  // namespace

// ---------------------------------------------------------------------------
// MostPopular.

MostPopular MostPopular::FromCounts(std::vector<int64_t> counts,
                                    const Vocabulary& corpus) {
  const std::vector<int32_t> id_rank = IdRanks(corpus);
  MostPopular model;
  model.order_.resize(corpus.size());
  std::iota(model.order_.begin(), model.order_.end(), 0);
  std::sort(model.order_.begin(), model.order_.end(),
            [&counts, &id_rank](int32_t a, int32_t b) {
              if (counts[a] != counts[b]) return counts[a] > counts[b];
              return id_rank[a] < id_rank[b];
            });
  model.counts_ = std::move(counts);
  model.corpus_ = corpus;
  return model;
}

MostPopular MostPopular::Fit(const std::vector<const WatchRecord*>& train,
                             const Vocabulary& corpus) {
  std::vector<int64_t> counts(corpus.size(), 0);
  for (const WatchRecord* w : train) {
    const int32_t index = corpus.Lookup(w->video_id);
    if (index != Vocabulary::kOov) ++counts[index];
  }
  return FromCounts(std::move(counts), corpus);
}

void MostPopular::FillUpTo(int k, const absl::flat_hash_set<int32_t>& skip,
                           std::vector<int64_t>& out) const {
  for (size_t i = 0; i < order_.size() && static_cast<int>(out.size()) < k;
       ++i) {
    if (!skip.contains(order_[i])) out.push_back(order_[i]);
  }
}

std::vector<int64_t> MostPopular::Recommend(const UserContext& context,
                                            int k) const {
  std::vector<int64_t> out;
  if (k <= 0) return out;
  out.reserve(std::min<size_t>(k, order_.size()));
  FillUpTo(k, WatchedIndices(context, corpus_), out);
  return out;
}

// ---------------------------------------------------------------------------
// RecentPopular.

RecentPopular RecentPopular::Fit(const std::vector<const WatchRecord*>& train,
                                 const Vocabulary& corpus,
                                 int64_t window_end_s, int days) {
  std::vector<int64_t> counts(corpus.size(), 0);
  if (days > 0) {
    const int64_t window_start_s = window_end_s - days * kSecondsPerDay;
    for (const WatchRecord* w : train) {
      if (w->time_s < window_start_s || w->time_s >= window_end_s) continue;
      const int32_t index = corpus.Lookup(w->video_id);
      if (index != Vocabulary::kOov) ++counts[index];
    }
  }
  return RecentPopular(MostPopular::FromCounts(std::move(counts), corpus));
}

std::vector<int64_t> RecentPopular::Recommend(const UserContext& context,
                                              int k) const {
  return popular_.Recommend(context, k);
}

// ---------------------------------------------------------------------------
// ItemKnn.

namespace {

uint64_t PairKey(int32_t a, int32_t b) {
  if (a > b) std::swap(a, b);
  return (static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b);
}

}  // namespace

ItemKnn ItemKnn::Fit(const std::vector<const WatchRecord*>& train,
                     const Vocabulary& corpus, const Options& options) {
  const int32_t n = corpus.size();
  ItemKnn model(options, MostPopular::Fit(train, corpus));
  model.id_rank_ = IdRanks(corpus);
  model.neighbours_.resize(n);

  absl::flat_hash_map<absl::string_view, std::vector<const WatchRecord*>>
      by_user;
  for (const WatchRecord* w : train) by_user[w->user_id].push_back(w);

  // users_per_video[i] = n_i; pair_users[key(i, j)] = c_ij. Both are sums,
  // so the (unordered) user iteration order does not matter.
  std::vector<int64_t> users_per_video(n, 0);
  absl::flat_hash_map<uint64_t, int32_t> pair_users;
  std::vector<int32_t> sequence;
  std::vector<uint64_t> pairs;
  for (auto& [user_id, watches] : by_user) {
    std::sort(watches.begin(), watches.end(),
              [](const WatchRecord* a, const WatchRecord* b) {
                return std::tie(a->time_s, a->video_id) <
                       std::tie(b->time_s, b->video_id);
              });
    sequence.clear();
    for (const WatchRecord* w : watches) {
      const int32_t index = corpus.Lookup(w->video_id);
      if (index != Vocabulary::kOov) sequence.push_back(index);
    }
    const size_t len = sequence.size();
    const size_t span = options.window > 0 ? options.window : len;
    pairs.clear();
    for (size_t p = 0; p < len; ++p) {
      for (size_t q = p + 1; q < len && q < p + span; ++q) {
        if (sequence[p] != sequence[q]) {
          pairs.push_back(PairKey(sequence[p], sequence[q]));
        }
      }
    }
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
    for (uint64_t key : pairs) ++pair_users[key];

    std::sort(sequence.begin(), sequence.end());
    sequence.erase(std::unique(sequence.begin(), sequence.end()),
                   sequence.end());
    for (int32_t i : sequence) ++users_per_video[i];
  }

  for (const auto& [key, c] : pair_users) {
    const int32_t i = static_cast<int32_t>(key >> 32);
    const int32_t j = static_cast<int32_t>(key & 0xffffffffu);
    const float similarity = static_cast<float>(
        c / std::sqrt(static_cast<double>(users_per_video[i]) *
                      static_cast<double>(users_per_video[j])));
    model.neighbours_[i].push_back({j, similarity});
    model.neighbours_[j].push_back({i, similarity});
  }
  pair_users.clear();

  const std::vector<int32_t>& id_rank = model.id_rank_;
  auto better = [&id_rank](const Neighbour& a, const Neighbour& b) {
    if (a.similarity != b.similarity) return a.similarity > b.similarity;
    return id_rank[a.index] < id_rank[b.index];
  };
  for (std::vector<Neighbour>& list : model.neighbours_) {
    if (options.max_neighbours > 0 &&
        list.size() > static_cast<size_t>(options.max_neighbours)) {
      std::partial_sort(list.begin(), list.begin() + options.max_neighbours,
                        list.end(), better);
      list.resize(options.max_neighbours);
      list.shrink_to_fit();
    } else {
      std::sort(list.begin(), list.end(), better);
    }
  }
  return model;
}

std::vector<int64_t> ItemKnn::Recommend(const UserContext& context,
                                        int k) const {
  std::vector<int64_t> out;
  if (k <= 0) return out;
  const Vocabulary& corpus = popular_.corpus_;

  // Seeds: the last `last_watches` corpus watches, most recent first.
  std::vector<const Watch*> watches;
  watches.reserve(context.watches_size());
  for (const Watch& w : context.watches()) watches.push_back(&w);
  std::sort(watches.begin(), watches.end(), [](const Watch* a, const Watch* b) {
    return std::make_tuple(a->time_s(), absl::string_view(a->video_id())) <
           std::make_tuple(b->time_s(), absl::string_view(b->video_id()));
  });
  absl::flat_hash_set<int32_t> skip;
  std::vector<int32_t> seeds;
  for (auto it = watches.rbegin(); it != watches.rend(); ++it) {
    const int32_t index = corpus.Lookup((*it)->video_id());
    if (index == Vocabulary::kOov) continue;
    skip.insert(index);
    if (options_.last_watches <= 0 ||
        static_cast<int>(seeds.size()) < options_.last_watches) {
      seeds.push_back(index);
    }
  }

  // Seeds are summed in a fixed order, so scores are reproducible bit for
  // bit.
  absl::flat_hash_map<int32_t, double> scores;
  for (int32_t seed : seeds) {
    for (const Neighbour& nb : neighbours_[seed]) {
      if (!skip.contains(nb.index)) scores[nb.index] += nb.similarity;
    }
  }
  std::vector<std::pair<double, int32_t>> scored;
  scored.reserve(scores.size());
  for (const auto& [index, score] : scores) scored.emplace_back(score, index);
  auto better = [this](const std::pair<double, int32_t>& a,
                       const std::pair<double, int32_t>& b) {
    if (a.first != b.first) return a.first > b.first;
    return id_rank_[a.second] < id_rank_[b.second];
  };
  const size_t top = std::min<size_t>(k, scored.size());
  std::partial_sort(scored.begin(), scored.begin() + top, scored.end(),
                    better);
  out.reserve(k);
  for (size_t i = 0; i < top; ++i) {
    out.push_back(scored[i].second);
    skip.insert(scored[i].second);
  }
  popular_.FillUpTo(k, skip, out);
  return out;
}

}  // namespace recsys
