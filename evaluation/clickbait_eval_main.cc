// Clickbait, concretely (paper section 4: rank by expected watch time, not
// by clicks): for held-out users of a simulated world, retrieve candidates
// with one bundle's candidate model, order them by that bundle's ranking
// model (trained on watch time), by a second bundle's ranking model (trained
// with --objective=ctr) and by retrieval score, and compare the top of each
// list with the world's ground truth: the share of clickbait videos
// (attractive and poor), their mean true quality (the share of a video that
// people watch), mean duration, and the watch time per impression the
// world's user model expects for the list: the world's click probability
// (WorldClickProbability in simulator/world.h: interest, attractiveness,
// position, whether the user speaks the video's language, whether it is a
// series episode whose previous one the user has not watched) times
// duration times the expected watch fraction (WorldExpectedWatchFraction:
// quality, interest, language). Interests come from
// truth_user_interests.csv and spoken languages from truth_users.csv (a
// world without that file is read as one where everybody understands
// everything, as worlds were before languages mattered).
//
//   world_gen --out=W --truth_out=W && trainer --logs=W --bundles=A &&
//   trainer --logs=W --bundles=B --objective=ctr &&
//   clickbait_eval --logs=W --truth=W/truth_videos.csv --bundle=A --ctr_bundle=B

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/serving/retriever.h"
#include "common/serving/ann_index.h"
#include "common/serving/bundle.h"
#include "common/base/command_line.h"
#include "common/base/cpu_env.h"
#include "common/logs/logs.h"
#include "common/serving/models.h"
#include "common/logs/user_context.h"
#include "simulator/world.h"

ABSL_FLAG(std::string, logs, "", "The world's canonical logs.");
ABSL_FLAG(std::string, truth, "", "The world's truth_videos.csv (world_gen --truth_out).");
ABSL_FLAG(std::string, bundle, "", "Bundle (version dir or root) with the watch-time ranking model.");
ABSL_FLAG(std::string, ctr_bundle, "", "Bundle whose ranking model was trained with --objective=ctr.");
ABSL_FLAG(int, num_candidates, 200, "Candidates retrieved per user.");
ABSL_FLAG(int, top, 10, "Size of the list compared.");
ABSL_FLAG(int, max_users, 2000, "Users evaluated (each at their last watch).");
ABSL_FLAG(std::string, interests, "",
          "The world's truth_user_interests.csv (default: next to --truth).");
ABSL_FLAG(std::string, users_truth, "",
          "The world's truth_users.csv (default: next to --truth; if missing, every user "
          "is taken to speak every language).");
ABSL_FLAG(double, max_click_probability, recsys::WorldOptions().max_click_probability,
          "The world's --max_click_probability.");
ABSL_FLAG(double, position_bias, recsys::WorldOptions().position_bias,
          "The world's --position_bias.");
ABSL_FLAG(double, foreign_language_click_factor,
          recsys::WorldOptions().foreign_language_click_factor,
          "The world's --foreign_language_click_factor.");
ABSL_FLAG(double, foreign_language_watch_factor,
          recsys::WorldOptions().foreign_language_watch_factor,
          "The world's --foreign_language_watch_factor.");

namespace recsys {
namespace {

struct Truth {
  std::string topic;
  float quality = 0;
  float attractiveness = 0;
  bool clickbait = false;
  // For an episode k > 1 of a series: the video ID of episode k - 1.
  std::string previous_episode;
};

// Per user: interest per topic, relative to their favourite topic's.
using Interests = absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, double>>;
// Per user: the languages they speak.
using Languages = absl::flat_hash_map<std::string, std::vector<std::string>>;

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
  auto rows = ReadTruthCsv(path, {"video_id", "topic", "quality", "attractiveness", "clickbait",
                                  "base_popularity", "series_id", "episode"});
  if (!rows.ok()) return rows.status();
  absl::flat_hash_map<std::string, Truth> truth;
  // Per series: its episodes' video IDs by episode number.
  absl::flat_hash_map<std::string, absl::flat_hash_map<int, std::string>> episodes;
  for (size_t i = 0; i < rows->size(); ++i) {
    const std::vector<std::string>& cols = (*rows)[i];
    Truth t;
    t.topic = cols[1];
    t.clickbait = cols[4] == "1";
    int episode = 0;
    if (!absl::SimpleAtof(cols[2], &t.quality) || !absl::SimpleAtof(cols[3], &t.attractiveness) ||
        !absl::SimpleAtoi(cols[7], &episode)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", i + 2, ": bad number"));
    }
    if (!cols[6].empty()) episodes[cols[6]][episode] = cols[0];
    truth[cols[0]] = t;
  }
  for (const auto& [series, by_number] : episodes) {
    for (const auto& [episode, video] : by_number) {
      const auto previous = by_number.find(episode - 1);
      if (episode > 1 && previous != by_number.end()) {
        truth[video].previous_episode = previous->second;
      }
    }
  }
  return truth;
}

// Spoken languages per user from truth_users.csv; an empty map if the file
// does not exist (a world made before languages).
absl::StatusOr<Languages> ReadLanguages(const std::string& path) {
  if (std::error_code ec; !std::filesystem::exists(path, ec)) {
    spdlog::warn("clickbait_eval: {} not found; taking every user to speak every language",
                 path);
    return Languages();
  }
  auto rows = ReadTruthCsv(path, {"user_id", "languages"});
  if (!rows.ok()) return rows.status();
  Languages languages;
  for (const std::vector<std::string>& cols : *rows) {
    languages[cols[0]] = absl::StrSplit(cols[1], '|', absl::SkipEmpty());
  }
  return languages;
}

// `path`'s directory (with its '/'), or "" for a bare file name.
std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash + 1);
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
  spdlog::error("clickbait_eval: {}", std::string(s.message()));
  return 1;
}

int Run() {
  if (absl::GetFlag(FLAGS_logs).empty() || absl::GetFlag(FLAGS_truth).empty() ||
      absl::GetFlag(FLAGS_bundle).empty() || absl::GetFlag(FLAGS_ctr_bundle).empty()) {
    spdlog::error("clickbait_eval: --logs, --truth, --bundle and --ctr_bundle are "
                  "required (see --help)");
    return 2;
  }
  absl::StatusOr<Logs> logs = ReadLogs(absl::GetFlag(FLAGS_logs));
  if (!logs.ok()) return Fail(logs.status());
  auto truth = ReadTruth(absl::GetFlag(FLAGS_truth));
  if (!truth.ok()) return Fail(truth.status());
  std::string interests_path = absl::GetFlag(FLAGS_interests);
  if (interests_path.empty()) {
    interests_path = DirectoryOf(absl::GetFlag(FLAGS_truth)) + kTruthUserInterestsFileName;
  }
  auto interests = ReadInterests(interests_path);
  if (!interests.ok()) return Fail(interests.status());
  std::string users_path = absl::GetFlag(FLAGS_users_truth);
  if (users_path.empty()) users_path = DirectoryOf(absl::GetFlag(FLAGS_truth)) + kTruthUsersFileName;
  auto languages = ReadLanguages(users_path);
  if (!languages.ok()) return Fail(languages.status());
  // The world's user model, with the knobs it was made with.
  WorldOptions world;
  world.max_click_probability = absl::GetFlag(FLAGS_max_click_probability);
  world.position_bias = absl::GetFlag(FLAGS_position_bias);
  world.foreign_language_click_factor = absl::GetFlag(FLAGS_foreign_language_click_factor);
  world.foreign_language_watch_factor = absl::GetFlag(FLAGS_foreign_language_watch_factor);
  auto bundle = Bundle::OpenVersionOrNewest(absl::GetFlag(FLAGS_bundle));
  if (!bundle.ok()) return Fail(bundle.status());
  auto ctr_bundle = Bundle::OpenVersionOrNewest(absl::GetFlag(FLAGS_ctr_bundle));
  if (!ctr_bundle.ok()) return Fail(ctr_bundle.status());
  absl::StatusOr<bundle::RankingObjective> ctr_objective =
      RankingObjectiveOf((*ctr_bundle)->manifest().ranking());
  if (!ctr_objective.ok()) return Fail(ctr_objective.status());
  if (*ctr_objective != bundle::RANKING_OBJECTIVE_CTR) {
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
  // The user's watched videos, for the unfollowed-episode factor.
  absl::flat_hash_set<std::string> watched;
  auto add = [&](Tally& t, const std::string& user, const std::vector<Candidate>& c,
                 const std::vector<size_t>& order, size_t k) {
    const auto user_interests = interests->find(user);
    const auto user_languages = languages->find(user);
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
      const bool speaks = languages->empty() ||
                          (user_languages != languages->end() &&
                           SpeaksLanguage(user_languages->second, v->language));
      const bool unfollowed =
          !truth_v.previous_episode.empty() && !watched.contains(truth_v.previous_episode);
      const double click = WorldClickProbability(
          world, r, truth_v.attractiveness, k == order.size() ? 0 : static_cast<int>(i), speaks,
          unfollowed);
      const double fraction = WorldExpectedWatchFraction(world, r, truth_v.quality, speaks);
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
    watched.clear();
    for (const WatchRecord& watch : w) watched.insert(watch.video_id);
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
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Share of clickbait (by the world's ground truth) at the top of lists ordered by "
      "the watch-time ranking model, a CTR ranking model and retrieval score.\n\n"
      "  clickbait_eval --logs=W --truth=W/truth_videos.csv --bundle=A --ctr_bundle=B");
  return recsys::Run();
}
