#include "trainer/candidate_evaluation.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/status_macros.h"
#include "evaluation/baselines.h"
#include "evaluation/metrics.h"

namespace recsys {
namespace {

// The recent-popular baseline counts the last this many days of watches.
constexpr int kRecentPopularDays = 7;
// Every model retrieves this many videos per user (the largest K of HR@K).
constexpr int kCandidateEvaluationDepth = 500;

}  // namespace

absl::Status EvaluateCandidates(const TrainingData& p, const Retriever& retriever,
                                const std::string& ann_factory, float ann_recall,
                                const TrainerOptions& options, TrainerReport* report) {
  std::vector<int> ks = {10, 50, 100, kCandidateEvaluationDepth};
  RetrievalMetrics dnn(ks), served(ks), covisit(ks), popular(ks), recent(ks), knn(ks);
  // Baselines fitted on the same training watches, scored in the same run.
  const MostPopular most_popular = MostPopular::Fit(p.train_watches, p.videos);
  const RecentPopular recent_popular =
      RecentPopular::Fit(p.train_watches, p.videos, p.window_end_s + 1, kRecentPopularDays);
  ItemKnn::Options knn_options;
  knn_options.window = options.knn_window;
  knn_options.last_watches = options.knn_last_watches;
  knn_options.max_neighbours = options.knn_neighbours;
  const ItemKnn item_knn = ItemKnn::Fit(p.train_watches, p.videos, knn_options);
  for (const std::string& user : p.histories.user_ids()) {
    auto it = p.test.find(user);
    if (it == p.test.end()) continue;
    const WatchRecord& target = it->second;
    UserContext context = *p.eval_histories.ContextBefore(target);
    RECSYS_ASSIGN_OR_RETURN(std::vector<Candidate> candidates,
                            retriever.Retrieve(context, kCandidateEvaluationDepth));
    const int64_t label = p.videos.Lookup(target.video_id);
    dnn.Add(Rows(p, candidates), label);
    if (retriever.has_covisitation()) {
      // What the service nominates (popular fill included) and the table
      // alone.
      RECSYS_ASSIGN_OR_RETURN(std::vector<Candidate> nominated,
                              retriever.Candidates(context, kCandidateEvaluationDepth));
      served.Add(Rows(p, nominated), label);
      covisit.Add(Rows(p, retriever.CovisitOnly(context, kCandidateEvaluationDepth)), label);
    }
    popular.Add(most_popular.Recommend(context, kCandidateEvaluationDepth), label);
    recent.Add(recent_popular.Recommend(context, kCandidateEvaluationDepth), label);
    knn.Add(item_knn.Recommend(context, kCandidateEvaluationDepth), label);
  }
  std::string& s = report->summary;
  absl::StrAppend(&s, absl::StrFormat(
      "Candidate generation: each user's held-out last watch, ranked among %d "
      "videos (%lld users, already-watched excluded)\n",
      p.videos.size(), static_cast<long long>(dnn.count())));
  absl::StrAppend(&s, absl::StrFormat("  %-14s %7s %7s %7s %7s %8s %7s\n", "model",
                                      "HR@10", "HR@50", "HR@100", "HR@500",
                                      "NDCG@10", "MRR"));
  std::vector<std::pair<const char*, RetrievalMetrics*>> rows = {{"dnn", &dnn}};
  if (retriever.has_covisitation()) {
    rows.insert(rows.end(), {{"dnn+covisit", &served}, {"covisit", &covisit}});
  }
  rows.insert(rows.end(),
              {{"most-popular", &popular}, {"recent-popular", &recent}, {"item-knn", &knn}});
  for (auto [name, m] : rows) {
    absl::StrAppend(&s, absl::StrFormat("  %-14s %7s %7s %7s %7s %8s %7s\n", name,
                                        FormatMetric(m->hit_rate(10)), FormatMetric(m->hit_rate(50)),
                                        FormatMetric(m->hit_rate(100)), FormatMetric(m->hit_rate(500)),
                                        FormatMetric(m->ndcg(10)), FormatMetric(m->mrr())));
    for (int k : ks) {
      report->metrics.emplace_back(absl::StrCat("candidate/", name, "/hr@", k),
                                   m->hit_rate(k));
    }
    report->metrics.emplace_back(absl::StrCat("candidate/", name, "/ndcg@10"),
                                 m->ndcg(10));
    report->metrics.emplace_back(absl::StrCat("candidate/", name, "/mrr"), m->mrr());
  }
  if (retriever.has_covisitation()) {
    absl::StrAppend(&s, absl::StrFormat(
        "  dnn+covisit: the served nomination (co-visitation share %.2f of the list, seeds "
        "the last %d watches, popular fill); covisit: the table alone (no fill)\n",
        retriever.options().covisit_share, retriever.options().covisit_seeds));
  }
  absl::StrAppend(&s, absl::StrFormat("  ANN index %s: recall of the exact top %d = %.4f\n",
                                      ann_factory, options.num_candidates, ann_recall));
  report->metrics.emplace_back("candidate/ann_recall", ann_recall);
  return absl::OkStatus();
}

}  // namespace recsys
