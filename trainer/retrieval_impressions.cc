#include "trainer/retrieval_impressions.h"

#include <algorithm>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"

namespace recsys {

absl::StatusOr<RetrievalImpressions> ImpressionsFromRetrieval(
    const TrainingData& p, const Retriever& retriever,
    const RetrievalImpressionOptions& options, std::mt19937_64& rng) {
  RetrievalImpressions out;
  const int page_size = std::max(2, options.page_size);
  for (const std::string& user : p.histories.user_ids()) {
    const std::vector<WatchRecord>& watches = p.histories.watches(user);
    // The training watches: all but the held-out last two (users with >= 3).
    const size_t num_train = watches.size() >= 3 ? watches.size() - 2 : watches.size();
    const size_t tried = static_cast<size_t>(std::max(0, options.watches_per_user));
    const size_t first = num_train > tried ? num_train - tried : 0;
    for (size_t i = first; i < num_train; ++i) {
      const WatchRecord& watch = watches[i];
      RECSYS_ASSIGN_OR_RETURN(UserContext context, p.eval_histories.ContextBefore(watch));
      RECSYS_ASSIGN_OR_RETURN(std::vector<Candidate> nominated,
                              retriever.Candidates(context, options.nominated));
      // Videos the user watches from here on (training watches only) are
      // not negatives, whatever the page showed.
      absl::flat_hash_set<absl::string_view> later;
      for (size_t j = i; j < num_train; ++j) later.insert(watches[j].video_id);
      int clicked = -1;
      std::vector<int> others;
      for (int k = 0; k < static_cast<int>(nominated.size()); ++k) {
        if (nominated[k].video_id() == watch.video_id) {
          clicked = k;
        } else if (!later.contains(nominated[k].video_id())) {
          others.push_back(k);
        }
      }
      if (clicked < 0 || others.empty()) continue;
      std::shuffle(others.begin(), others.end(), rng);
      others.resize(std::min<size_t>(others.size(), page_size - 1));
      others.push_back(clicked);
      std::sort(others.begin(), others.end());  // nomination order
      const std::string page_id = absl::StrCat("retrieved-", user, "-", i);
      for (int slot = 0; slot < static_cast<int>(others.size()); ++slot) {
        ImpressionRecord r;
        r.user_id = user;
        r.page_id = page_id;
        r.time_s = watch.time_s;
        r.position = slot;
        r.video_id = nominated[others[slot]].video_id();
        r.clicked = others[slot] == clicked;
        r.watch_seconds = r.clicked ? watch.watch_seconds : 0;
        out.impressions.push_back(std::move(r));
        out.sources.push_back(nominated[others[slot]].source());
      }
    }
  }
  return out;
}

}  // namespace recsys
