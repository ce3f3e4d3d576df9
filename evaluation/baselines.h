#ifndef RECSYS_EVALUATION_BASELINES_H_
#define RECSYS_EVALUATION_BASELINES_H_

// The non-learned retrieval baselines every candidate-generation experiment
// is compared against (issue 4), under the temporal leave-last-out protocol
// of importers/splits.h: each baseline is fitted on the training watches (every
// user's watches minus the held-out ones), then asked, per test user, for the
// top `k` videos of a corpus given the user's context (everything before the
// held-out target).
//
// Common contract of `Recommend(context, k)`:
//  - The result holds indices into the corpus `Vocabulary` given to `Fit`,
//    best first, at most `k` of them (fewer only when the corpus minus the
//    excluded videos is smaller); empty when `k` <= 0.
//  - Videos in `context.watches()` are excluded. The caller decides how much
//    history the context holds (`UserHistories` keeps the last 50 watches).
//  - Equal scores are ordered by video ID (ascending byte string), so the
//    result is a pure function of the fitted data and the context.
//  - Training watches of videos outside the corpus are ignored.
//
// Every class is an immutable value after `Fit` that keeps its own copy of
// the corpus; const methods are thread-safe. Pure C++: no FAISS, no libtorch.

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "common/logs/logs.h"
#include "common/features/vocabulary.h"
#include "proto/recsys.pb.h"

namespace recsys {

// Natural order of IDs: runs of digits compare as numbers ("m2" < "m10",
// "v00012" < "v00013"), the rest byte-wise. For imported logs it is the
// source's numeric order (MovieLens movie IDs); for zero-padded IDs it is
// the byte order. The baselines break ties with it.
bool NaturalIdLess(absl::string_view a, absl::string_view b);

// Ranks the whole corpus by the number of training watches, most watched
// first; ties and videos never watched follow in natural video ID order.
class MostPopular {
 public:
  static MostPopular Fit(const std::vector<const WatchRecord*>& train,
                         const Vocabulary& corpus);

  std::vector<int64_t> Recommend(const UserContext& context, int k) const;

  // Training watches per corpus index.
  const std::vector<int64_t>& counts() const { return counts_; }

 private:
  friend class RecentPopular;
  friend class ItemKnn;

  // Ranks `counts` (one per corpus index) as described above.
  static MostPopular FromCounts(std::vector<int64_t> counts,
                                const Vocabulary& corpus);
  // Appends to `out` the best-ranked corpus indices not in `skip`, until
  // `out` holds `k` (or the corpus runs out). O(k + |skip|).
  void FillUpTo(int k, const absl::flat_hash_set<int32_t>& skip,
                std::vector<int64_t>& out) const;

  // A copy of the corpus, to look up context watches.
  Vocabulary corpus_;
  std::vector<int64_t> counts_;
  // Every corpus index, best first.
  std::vector<int32_t> order_;
};

// Most popular among the training watches that started in the last `days`
// days before `window_end_s` (Unix seconds; normally the end of the training
// window): those with window_end_s - days * 86400 <= time_s < window_end_s.
// Older and later watches are ignored entirely, so videos without a recent
// watch come last, in video ID order (`days` <= 0 ranks the corpus by ID).
class RecentPopular {
 public:
  static RecentPopular Fit(const std::vector<const WatchRecord*>& train,
                           const Vocabulary& corpus, int64_t window_end_s,
                           int days);

  std::vector<int64_t> Recommend(const UserContext& context, int k) const;

  // Recent training watches per corpus index.
  const std::vector<int64_t>& counts() const { return popular_.counts(); }

 private:
  explicit RecentPopular(MostPopular popular) : popular_(std::move(popular)) {}
  MostPopular popular_;
};

// Item-to-item collaborative filtering on co-watches (the classic
// "people who watched this also watched" baseline).
//
// Fit: each user's training watches of corpus videos are ordered by
// (`time_s`, `video_id`); two different videos co-occur for a user when both are among some
// `Options::window` consecutive watches of that order. `c_ij` counts the
// users for whom i and j co-occur (a user counts once per pair), `n_i` the
// users who watched i, and the similarity is the cosine
// `c_ij / sqrt(n_i * n_j)`, in (0, 1]. Each video keeps only its
// `Options::max_neighbours` most similar videos (ties by video ID).
//
// Recommend: the user's last `Options::last_watches` corpus watches in the
// context (ordered by `time_s`, then `video_id`; watches outside the corpus
// are skipped) are the seeds; video j scores the sum over seeds i of
// sim(i, j) over i's kept neighbours. Videos with a positive score come first,
// best first; when fewer than `k` remain after exclusion, the list is filled
// in `MostPopular` order (over the same training watches). A context without
// corpus watches gets the most-popular list.
class ItemKnn {
 public:
  struct Options {
    // Consecutive watches that form a co-occurrence window: with the default
    // 5, each watch co-occurs with the 4 before and the 4 after it. <= 0:
    // the user's whole history is one window (every pair of the user's
    // videos co-occurs; costs O(sum of squared history lengths)).
    int window = 5;
    // Most recent context watches whose neighbours are scored. <= 0: all.
    int last_watches = 2;
    // Neighbours kept per video, bounding memory at about 8 bytes times this
    // per video. <= 0: all.
    int max_neighbours = 200;
  };

  static ItemKnn Fit(const std::vector<const WatchRecord*>& train,
                     const Vocabulary& corpus, const Options& options);
  static ItemKnn Fit(const std::vector<const WatchRecord*>& train,
                     const Vocabulary& corpus) {
    return Fit(train, corpus, Options());
  }

  std::vector<int64_t> Recommend(const UserContext& context, int k) const;

  struct Neighbour {
    int32_t index = 0;
    float similarity = 0;
  };
  // The kept neighbours of corpus index `index`, most similar first (ties by
  // video ID).
  const std::vector<Neighbour>& neighbours(int32_t index) const {
    return neighbours_[index];
  }
  const Options& options() const { return options_; }

 private:
  ItemKnn(Options options, MostPopular popular)
      : options_(options), popular_(std::move(popular)) {}

  Options options_;
  // Fallback order and training counts.
  MostPopular popular_;
  // Per corpus index.
  std::vector<std::vector<Neighbour>> neighbours_;
  // Per corpus index: its position in video ID order (the tie-break).
  std::vector<int32_t> id_rank_;
};

}  // namespace recsys

#endif  // RECSYS_EVALUATION_BASELINES_H_
