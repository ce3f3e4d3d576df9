// Evaluates a bundle's candidate generation on held-out watches (e.g. the
// last day, from `split_logs --mode=time_cut`): each held-out watch is a
// next-watch query whose context is everything the user did strictly before
// it (from --logs, the full logs), retrieved through the serving Retriever
// with already-watched videos excluded. Reports every metric twice:
// per example (each held-out watch counts once, so heavy users weigh more)
// and per user (each user's mean over their held-out watches, then the mean
// over users).
//
//   evaluate_candidates --logs=data/world --holdout=split/holdout --bundle=bundles

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "common/serving/retriever.h"
#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"
#include "common/logs/logs.h"
#include "evaluation/metrics.h"
#include "common/base/progress.h"
#include "common/logs/user_context.h"

ABSL_FLAG(std::string, logs, "", "Full canonical logs (contexts are built from them).");
ABSL_FLAG(std::string, holdout, "",
          "Logs whose watches are the queries (e.g. split_logs' holdout/).");
ABSL_FLAG(std::string, bundle, "", "A bundle version directory, or a bundles root (newest).");
ABSL_FLAG(std::string, metrics_out, "",
          "If set, also write 'name value' lines (per_example/hr@50, per_user/hr@50, ...).");
ABSL_FLAG(bool, progress, true, "Show a progress bar on stderr.");

namespace recsys {
namespace {

struct Scores {
  double hr10 = 0, hr50 = 0, hr100 = 0, ndcg10 = 0;
  int64_t n = 0;
  void Add(int64_t rank) {
    hr10 += HitAtK(rank, 10);
    hr50 += HitAtK(rank, 50);
    hr100 += HitAtK(rank, 100);
    ndcg10 += NdcgAtK(rank, 10);
    ++n;
  }
  Scores Mean() const {
    Scores m = *this;
    if (n > 0) {
      m.hr10 /= n, m.hr50 /= n, m.hr100 /= n, m.ndcg10 /= n;
    }
    m.n = 1;
    return m;
  }
  void AddMean(const Scores& user) {
    const Scores m = user.Mean();
    hr10 += m.hr10, hr50 += m.hr50, hr100 += m.hr100, ndcg10 += m.ndcg10;
    ++n;
  }
};

int Fail(const absl::Status& s) {
  spdlog::error("evaluate_candidates: {}", std::string(s.message()));
  return 1;
}

int Run() {
  if (absl::GetFlag(FLAGS_logs).empty() || absl::GetFlag(FLAGS_holdout).empty() ||
      absl::GetFlag(FLAGS_bundle).empty()) {
    spdlog::error("evaluate_candidates: --logs, --holdout and --bundle are required "
                  "(see --help)");
    return 2;
  }
  absl::StatusOr<Logs> logs = ReadLogs(absl::GetFlag(FLAGS_logs));
  if (!logs.ok()) return Fail(logs.status());
  absl::StatusOr<Logs> holdout = ReadLogs(absl::GetFlag(FLAGS_holdout));
  if (!holdout.ok()) return Fail(holdout.status());
  absl::StatusOr<std::unique_ptr<Bundle>> bundle =
      Bundle::OpenVersionOrNewest(absl::GetFlag(FLAGS_bundle));
  if (!bundle.ok()) return Fail(bundle.status());
  absl::StatusOr<std::unique_ptr<Retriever>> retriever =
      Retriever::Load(**bundle, AnnIndex::Options());
  if (!retriever.ok()) return Fail(retriever.status());

  UserHistories::Options all_watches;
  all_watches.max_watches = 1 << 30;  // every earlier watch is excluded
  const UserHistories histories = UserHistories::Build(*logs, all_watches);
  Scores per_example;
  std::map<std::string, Scores> by_user;
  ProgressBar bar("held-out watches", holdout->watches.size(), "queries",
                  absl::GetFlag(FLAGS_progress));
  for (const WatchRecord& w : holdout->watches) {
    absl::StatusOr<UserContext> context = histories.ContextBefore(w);
    if (!context.ok()) return Fail(context.status());
    absl::StatusOr<std::vector<Candidate>> got = (*retriever)->Retrieve(*context, 100);
    if (!got.ok()) return Fail(got.status());
    int64_t rank = -1;
    for (size_t i = 0; i < got->size(); ++i) {
      if ((*got)[i].video_id() == w.video_id) {
        rank = i;
        break;
      }
    }
    per_example.Add(rank);
    by_user[w.user_id].Add(rank);
    bar.Update(per_example.n);
  }
  bar.Finish();
  Scores per_user;
  for (const auto& [user, s] : by_user) per_user.AddMean(s);
  const Scores e = per_example.Mean(), u = per_user.Mean();
  std::printf("%lld held-out watches of %zu users (bundle %s)\n",
              static_cast<long long>(per_example.n), by_user.size(),
              (*retriever)->version().c_str());
  std::printf("  %-12s %7s %7s %7s %8s\n", "average", "HR@10", "HR@50", "HR@100", "NDCG@10");
  std::printf("  %-12s %7.3f %7.3f %7.3f %8.3f\n", "per example", e.hr10, e.hr50, e.hr100,
              e.ndcg10);
  std::printf("  %-12s %7.3f %7.3f %7.3f %8.3f\n", "per user", u.hr10, u.hr50, u.hr100,
              u.ndcg10);
  const std::string metrics_out = absl::GetFlag(FLAGS_metrics_out);
  if (!metrics_out.empty()) {
    std::FILE* f = std::fopen(metrics_out.c_str(), "w");
    if (f == nullptr) {
      spdlog::error("evaluate_candidates: cannot write {}", metrics_out);
      return 1;
    }
    for (const auto& [name, s] : {std::pair<const char*, const Scores*>{"per_example", &e},
                                  {"per_user", &u}}) {
      std::fprintf(f, "%s/hr@10 %.6f\n%s/hr@50 %.6f\n%s/hr@100 %.6f\n%s/ndcg@10 %.6f\n", name,
                   s->hr10, name, s->hr50, name, s->hr100, name, s->ndcg10);
    }
    std::fclose(f);
  }
  return 0;
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  recsys::ReexecWithTunedCpuEnvironment(argv);
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Evaluates a bundle's candidate generation on held-out watches, per example and "
      "per user.\n\n"
      "  evaluate_candidates --logs=data/world --holdout=split/holdout --bundle=bundles");
  return recsys::Run();
}
