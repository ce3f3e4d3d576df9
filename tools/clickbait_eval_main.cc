// Clickbait, concretely (paper section 4: rank by expected watch time, not
// by clicks): for held-out users of a simulated world, retrieve candidates
// with one bundle's candidate model, order them by that bundle's ranking
// model (trained on watch time), by a second bundle's ranking model (trained
// with --objective=ctr) and by retrieval score, and compare the top of each
// list with the world's ground truth: the share of clickbait videos
// (attractive and poor), their mean true quality (the share of a video that
// people watch), mean duration, and the watch time per impression the
// world's user model expects for the list: click probability
// max_click_probability * sqrt(r) * attractiveness / (1 + position_bias *
// position) times duration * clamp(0.1 + 0.5 quality + 0.3 r, 0.05, 1), where
// r is the user's interest in the video's topic relative to their favourite
// (tools/world.cc; the watch fraction's noise and the unfollowed-episode
// factor are left out).
//
//   world_gen --out=W --truth_out=W && trainer --logs=W --bundles=A &&
//   trainer --logs=W --bundles=B --objective=ctr &&
//   clickbait_eval --logs=W --truth=W/truth_videos.csv --bundle=A --ctr_bundle=B

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "candidate_service/retriever.h"
#include "common/ann_index.h"
#include "common/bundle.h"
#include "common/cpu_env.h"
#include "common/logs.h"
#include "common/models.h"
#include "common/user_context.h"

ABSL_FLAG(std::string, logs, "", "The world's canonical logs.");
ABSL_FLAG(std::string, truth, "", "The world's truth_videos.csv (world_gen --truth_out).");
ABSL_FLAG(std::string, bundle, "", "Bundle (version dir or root) with the watch-time ranking model.");
ABSL_FLAG(std::string, ctr_bundle, "", "Bundle whose ranking model was trained with --objective=ctr.");
ABSL_FLAG(int, num_candidates, 200, "Candidates retrieved per user.");
ABSL_FLAG(int, top, 10, "Size of the list compared.");
ABSL_FLAG(int, max_users, 2000, "Users evaluated (each at their last watch).");
ABSL_FLAG(std::string, interests, "",
          "The world's truth_user_interests.csv (default: next to --truth).");
ABSL_FLAG(double, max_click_probability, 0.6, "The world's --max_click_probability.");
ABSL_FLAG(double, position_bias, 0.1, "The world's --position_bias.");

namespace recsys {
namespace {

struct Truth {
  std::string topic;
  float quality = 0;
  float attractiveness = 0;
  bool clickbait = false;
};

// Per user: interest per topic, relative to their favourite topic's.
using Interests = absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, double>>;

// The rows of a ground-truth CSV written by world_gen (no quoted fields),
// after checking that its header begins with `header`; every row has at
// least `header.size()` columns.
absl::StatusOr<std::vector<std::vector<std::string>>> ReadTruthCsv(
    const std::string& path, const std::vector<std::string>& header) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path,
                                            ": write it with world_gen --truth_out"));
  }
  std::vector<std::vector<std::string>> rows;
  char line[4096];
  for (int n = 1; std::fgets(line, sizeof(line), f) != nullptr; ++n) {
    std::vector<std::string> cols =
        absl::StrSplit(absl::StripTrailingAsciiWhitespace(line), ',');
    const bool ok = cols.size() >= header.size() &&
                    (n > 1 || std::equal(header.begin(), header.end(), cols.begin()));
    if (!ok) {
      std::fclose(f);
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", n, n == 1 ? ": expected a header beginning " : ": expected columns ",
          absl::StrJoin(header, ",")));
    }
    if (n > 1) rows.push_back(std::move(cols));
  }
  std::fclose(f);
  return rows;
}

absl::StatusOr<absl::flat_hash_map<std::string, Truth>> ReadTruth(const std::string& path) {
  auto rows = ReadTruthCsv(path, {"video_id", "topic", "quality", "attractiveness", "clickbait"});
  if (!rows.ok()) return rows.status();
  absl::flat_hash_map<std::string, Truth> truth;
  for (size_t i = 0; i < rows->size(); ++i) {
    const std::vector<std::string>& cols = (*rows)[i];
    Truth t;
    t.topic = cols[1];
    t.clickbait = cols[4] == "1";
    if (!absl::SimpleAtof(cols[2], &t.quality) || !absl::SimpleAtof(cols[3], &t.attractiveness)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", i + 2, ": bad number"));
    }
    truth[cols[0]] = t;
  }
  return truth;
}

absl::StatusOr<Interests> ReadInterests(const std::string& path) {
  auto rows = ReadTruthCsv(path, {"user_id", "topic", "weight"});
  if (!rows.ok()) return rows.status();
  Interests interests;
  for (size_t i = 0; i < rows->size(); ++i) {
    const std::vector<std::string>& cols = (*rows)[i];
    double weight = 0;
    if (!absl::SimpleAtod(cols[2], &weight)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", i + 2, ": bad number"));
    }
    interests[cols[0]][cols[1]] = weight;
  }
  for (auto& [user, topics] : interests) {
    double top = 0;
    for (const auto& [topic, w] : topics) top = std::max(top, w);
    for (auto& [topic, w] : topics) w = top > 0 ? w / top : 0;
  }
  return interests;
}

int Fail(const absl::Status& s) {
  std::fprintf(stderr, "clickbait_eval: %s\n", std::string(s.message()).c_str());
  return 1;
}

int Run() {
  if (absl::GetFlag(FLAGS_logs).empty() || absl::GetFlag(FLAGS_truth).empty() ||
      absl::GetFlag(FLAGS_bundle).empty() || absl::GetFlag(FLAGS_ctr_bundle).empty()) {
    std::fprintf(stderr, "clickbait_eval: --logs, --truth, --bundle and --ctr_bundle are "
                         "required (see --help)\n");
    return 2;
  }
  absl::StatusOr<Logs> logs = ReadLogs(absl::GetFlag(FLAGS_logs));
  if (!logs.ok()) return Fail(logs.status());
  auto truth = ReadTruth(absl::GetFlag(FLAGS_truth));
  if (!truth.ok()) return Fail(truth.status());
  std::string interests_path = absl::GetFlag(FLAGS_interests);
  if (interests_path.empty()) {
    const std::string truth_path = absl::GetFlag(FLAGS_truth);
    const size_t slash = truth_path.rfind('/');
    interests_path = (slash == std::string::npos ? "" : truth_path.substr(0, slash + 1)) +
                     "truth_user_interests.csv";
  }
  auto interests = ReadInterests(interests_path);
  if (!interests.ok()) return Fail(interests.status());
  const double max_click = absl::GetFlag(FLAGS_max_click_probability);
  const double position_bias = absl::GetFlag(FLAGS_position_bias);
  auto bundle = Bundle::OpenVersionOrNewest(absl::GetFlag(FLAGS_bundle));
  if (!bundle.ok()) return Fail(bundle.status());
  auto ctr_bundle = Bundle::OpenVersionOrNewest(absl::GetFlag(FLAGS_ctr_bundle));
  if (!ctr_bundle.ok()) return Fail(ctr_bundle.status());
  if ((*ctr_bundle)->manifest().ranking().objective() != "ctr") {
    return Fail(absl::InvalidArgumentError(
        "--ctr_bundle's ranking model was not trained with --objective=ctr"));
  }
  auto retriever = Retriever::Load(**bundle, AnnIndex::Options());
  if (!retriever.ok()) return Fail(retriever.status());
  auto watch_time = RankingModel::Load(**bundle);
  if (!watch_time.ok()) return Fail(watch_time.status());
  auto ctr = RankingModel::Load(**ctr_bundle);
  if (!ctr.ok()) return Fail(ctr.status());

  UserHistories::Options all_watches;
  all_watches.max_watches = 1 << 30;
  const UserHistories histories = UserHistories::Build(*logs, all_watches);
  const int top = absl::GetFlag(FLAGS_top);
  struct Tally {
    double clickbait = 0, quality = 0, minutes = 0, expected_seconds = 0;
    int64_t n = 0;
  } by_watch_time, by_ctr, by_retrieval, all_candidates;
  auto add = [&](Tally& t, const std::string& user, const std::vector<Candidate>& c,
                 const std::vector<size_t>& order, size_t k) {
    const auto user_interests = interests->find(user);
    for (size_t i = 0; i < std::min(k, order.size()); ++i) {
      const Candidate& cand = c[order[i]];
      auto it = truth->find(cand.video_id());
      const VideoRecord* v = (*retriever)->FindVideo(cand.video_id());
      if (it == truth->end() || v == nullptr) continue;
      const Truth& truth_v = it->second;
      double r = 0;
      if (user_interests != interests->end()) {
        auto topic = user_interests->second.find(truth_v.topic);
        if (topic != user_interests->second.end()) r = topic->second;
      }
      const double click = max_click * std::sqrt(r) * truth_v.attractiveness /
                           (1 + position_bias * (k == order.size() ? 0 : i));
      const double fraction = std::clamp(0.1 + 0.5 * truth_v.quality + 0.3 * r, 0.05, 1.0);
      t.expected_seconds += click * v->duration_s * fraction;
      t.clickbait += truth_v.clickbait;
      t.quality += truth_v.quality;
      t.minutes += v->duration_s / 60.0;
      ++t.n;
    }
  };
  int users = 0;
  for (const std::string& user : histories.user_ids()) {
    const std::vector<WatchRecord>& w = histories.watches(user);
    if (w.size() < 3) continue;
    if (++users > absl::GetFlag(FLAGS_max_users)) break;
    absl::StatusOr<UserContext> context = histories.ContextAt(user, w.back().time_s);
    if (!context.ok()) return Fail(context.status());
    auto candidates = (*retriever)->Retrieve(*context, absl::GetFlag(FLAGS_num_candidates));
    if (!candidates.ok()) return Fail(candidates.status());
    const std::vector<Candidate>& c = *candidates;
    auto order_by = [&](const std::vector<float>& score) {
      std::vector<size_t> order(c.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return score[a] > score[b]; });
      return order;
    };
    std::vector<float> retrieval;
    for (const Candidate& x : c) retrieval.push_back(x.retrieval_score());
    add(by_watch_time, user, c, order_by((*watch_time)->Logits(*context, c, w.back().time_s)),
        top);
    add(by_ctr, user, c, order_by((*ctr)->Logits(*context, c, w.back().time_s)), top);
    add(by_retrieval, user, c, order_by(retrieval), top);
    add(all_candidates, user, c, order_by(retrieval), c.size());
  }
  std::printf("%d users, top %d of %d retrieved candidates\n", std::min(users, absl::GetFlag(FLAGS_max_users)),
              top, absl::GetFlag(FLAGS_num_candidates));
  std::printf("  %-28s %16s %14s %14s %22s\n", "order by", "clickbait share", "mean quality",
              "mean minutes", "true watch s/impression");
  for (const auto& [name, t] : {std::pair<const char*, const Tally*>{"watch-time model", &by_watch_time},
                                {"CTR model", &by_ctr},
                                {"retrieval score", &by_retrieval},
                                {"(all retrieved candidates)", &all_candidates}}) {
    const double n = std::max<int64_t>(1, t->n);
    std::printf("  %-28s %16.3f %14.3f %14.1f %22.1f\n", name, t->clickbait / n,
                t->quality / n, t->minutes / n, t->expected_seconds / n);
  }
  return 0;
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  recsys::ReexecWithTunedCpuEnvironment(argv);
  absl::SetProgramUsageMessage(
      "Share of clickbait (by the world's ground truth) at the top of lists ordered by "
      "the watch-time ranking model, a CTR ranking model and retrieval score.\n\n"
      "  clickbait_eval --logs=W --truth=W/truth_videos.csv --bundle=A --ctr_bundle=B");
  absl::ParseCommandLine(argc, argv);
  return recsys::Run();
}
