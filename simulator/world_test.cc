#include "common/base/time_units.h"
#include "simulator/world.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <map>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/logs/logs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;


// One line per record, every field: equal fingerprints = identical logs.
std::string Fingerprint(const Logs& logs) {
  std::string out;
  for (const VideoRecord& r : logs.videos) {
    absl::StrAppend(&out, r.video_id, "|", r.title, "|", r.channel_id, "|",
                    r.topics, "|", r.language, "|", r.upload_time_s, "|",
                    r.duration_s, "\n");
  }
  for (const UserRecord& r : logs.users) {
    absl::StrAppend(&out, r.user_id, "|", r.region, "|", r.device, "|",
                    r.gender, "|", r.age, "|", r.logged_in, "|", r.language,
                    "\n");
  }
  for (const WatchRecord& r : logs.watches) {
    absl::StrAppend(&out, r.user_id, "|", r.video_id, "|", r.time_s, "|",
                    r.watch_seconds, "\n");
  }
  for (const SearchRecord& r : logs.searches) {
    absl::StrAppend(&out, r.user_id, "|", r.time_s, "|", r.query, "\n");
  }
  for (const ImpressionRecord& r : logs.impressions) {
    absl::StrAppend(&out, r.user_id, "|", r.page_id, "|", r.time_s, "|",
                    r.position, "|", r.video_id, "|", r.clicked, "|",
                    r.watch_seconds, "\n");
  }
  return out;
}

// The small world, generated once for all tests, with lookups by ID.
class SmallWorldTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new World;
    world_->options = SmallWorldOptions();
    absl::StatusOr<Logs> logs =
        GenerateWorld(world_->options, &world_->truth);
    ASSERT_TRUE(logs.ok()) << logs.status();
    world_->logs = *std::move(logs);
    for (size_t i = 0; i < world_->logs.videos.size(); ++i) {
      world_->video_index[world_->logs.videos[i].video_id] = i;
    }
    for (size_t i = 0; i < world_->logs.users.size(); ++i) {
      world_->user_index[world_->logs.users[i].user_id] = i;
    }
    for (const WatchRecord& w : world_->logs.watches) {
      world_->watches_by_user[world_->user_index.at(w.user_id)].push_back(&w);
    }
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }

  struct World {
    WorldOptions options;
    GroundTruth truth;
    Logs logs;
    absl::flat_hash_map<std::string, int> video_index;
    absl::flat_hash_map<std::string, int> user_index;
    // Per user index, in file (= time) order.
    std::map<int, std::vector<const WatchRecord*>> watches_by_user;
  };

  static const World& world() { return *world_; }
  static int VideoIndex(const std::string& id) {
    return world_->video_index.at(id);
  }
  static int UserIndex(const std::string& id) {
    return world_->user_index.at(id);
  }
  static int TopicOf(const std::string& video_id) {
    return world_->truth.videos[VideoIndex(video_id)].topic;
  }

 private:
  static World* world_;
};

SmallWorldTest::World* SmallWorldTest::world_ = nullptr;

TEST_F(SmallWorldTest, HasTheSmallPresetSize) {
  const Logs& logs = world().logs;
  EXPECT_EQ(logs.users.size(), 2000);
  EXPECT_EQ(logs.videos.size(), 3000);
  EXPECT_EQ(world().truth.topics.size(), 20);
  ASSERT_EQ(world().truth.users.size(), logs.users.size());
  ASSERT_EQ(world().truth.videos.size(), logs.videos.size());
  const double per_user =
      static_cast<double>(logs.watches.size()) / logs.users.size();
  EXPECT_GT(per_user, 30);
  EXPECT_LT(per_user, 50);
  EXPECT_EQ(world().watches_by_user.size(), logs.users.size());
  for (const auto& [user, watches] : world().watches_by_user) {
    EXPECT_GE(watches.size(), 3) << logs.users[user].user_id;
  }
  EXPECT_GT(logs.searches.size(), logs.watches.size() / 10);
  EXPECT_GT(logs.impressions.size(), logs.watches.size());
}

TEST_F(SmallWorldTest, PassesEveryLogCheckAndRoundTrips) {
  const Logs& logs = world().logs;
  ASSERT_TRUE(ValidateLogs(logs).ok()) << ValidateLogs(logs);
  const std::string dir = ::testing::TempDir() + "/small_world";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(WriteLogs(dir, logs).ok());
  absl::StatusOr<Logs> read = ReadLogs(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(Fingerprint(*read), Fingerprint(logs));
}

TEST(WorldTest, SameSeedSameLogsOtherSeedOtherLogs) {
  WorldOptions options = SmallWorldOptions();
  GroundTruth truth_a, truth_b;
  absl::StatusOr<Logs> a = GenerateWorld(options, &truth_a);
  absl::StatusOr<Logs> b = GenerateWorld(options, &truth_b);
  options.seed = 43;
  absl::StatusOr<Logs> c = GenerateWorld(options);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(Fingerprint(*a), Fingerprint(*b));
  EXPECT_NE(Fingerprint(*a), Fingerprint(*c));
  ASSERT_EQ(truth_a.users.size(), truth_b.users.size());
  for (size_t u = 0; u < truth_a.users.size(); ++u) {
    EXPECT_EQ(truth_a.users[u].languages, truth_b.users[u].languages);
    EXPECT_EQ(truth_a.users[u].topic_interest, truth_b.users[u].topic_interest);
  }
}

TEST_F(SmallWorldTest, WatchesAreOrderedInsideTheWindowAndNeverRepeated) {
  const int64_t start = world().options.start_time_s;
  const int64_t end = start + world().options.num_days * kSecondsPerDay;
  for (const auto& [user, watches] : world().watches_by_user) {
    absl::flat_hash_set<std::string> seen;
    int64_t previous = -1;
    for (const WatchRecord* w : watches) {
      EXPECT_GT(w->time_s, previous) << w->user_id;
      EXPECT_GE(w->time_s, start);
      EXPECT_LT(w->time_s, end);
      previous = w->time_s;
      EXPECT_LE(world().logs.videos[VideoIndex(w->video_id)].upload_time_s,
                w->time_s)
          << w->user_id << " watched " << w->video_id << " before its upload";
      EXPECT_TRUE(seen.insert(w->video_id).second)
          << w->user_id << " re-watched " << w->video_id;
      const VideoRecord& video = world().logs.videos[VideoIndex(w->video_id)];
      const float duration = video.duration_s;
      const bool speaks = SpeaksLanguage(
          world().truth.users[user].languages, video.language);
      const double min_fraction =
          0.05 * (speaks ? 1.0 : world().options.foreign_language_watch_factor);
      EXPECT_GE(w->watch_seconds, min_fraction * duration - 0.1f);
      EXPECT_LE(w->watch_seconds, duration + 0.1f);
    }
  }
  // Files are sorted by time.
  const Logs& logs = world().logs;
  EXPECT_TRUE(std::is_sorted(
      logs.watches.begin(), logs.watches.end(),
      [](const auto& a, const auto& b) { return a.time_s < b.time_s; }));
  EXPECT_TRUE(std::is_sorted(
      logs.impressions.begin(), logs.impressions.end(),
      [](const auto& a, const auto& b) { return a.time_s < b.time_s; }));
}

TEST_F(SmallWorldTest, CatalogueLooksLikeTheSpec) {
  const Logs& logs = world().logs;
  const int64_t start = world().options.start_time_s;
  int before_window = 0;
  int with_comma = 0;
  std::vector<float> durations;
  for (size_t i = 0; i < logs.videos.size(); ++i) {
    const VideoRecord& v = logs.videos[i];
    const GroundTruth::Video& truth = world().truth.videos[i];
    before_window += v.upload_time_s < start;
    with_comma += v.title.find(',') != std::string::npos;
    durations.push_back(v.duration_s);
    // The main topic is listed first and the title uses its words.
    const GroundTruth::Topic& topic = world().truth.topics[truth.topic];
    const std::vector<std::string> labels = absl::StrSplit(v.topics, '|');
    ASSERT_GE(labels.size(), 1);
    ASSERT_LE(labels.size(), 2);
    EXPECT_EQ(labels[0], topic.name);
    const std::vector<std::string> words =
        absl::StrSplit(v.title, ' ', absl::SkipEmpty());
    EXPECT_GE(words.size(), 3) << v.title;
    EXPECT_LE(words.size(), 6) << v.title;
    EXPECT_GE(truth.quality, 0);
    EXPECT_LE(truth.quality, 1);
    EXPECT_GE(truth.attractiveness, 0);
    EXPECT_LE(truth.attractiveness, 1);
    // Series episodes, and only they, end in "(part k)".
    const std::string part = absl::StrCat("(part ", truth.episode, ")");
    EXPECT_EQ(truth.episode > 0, absl::EndsWith(v.title, part)) << v.title;
    EXPECT_EQ(truth.episode > 0, truth.series >= 0);
    if (i > 0) {
      EXPECT_GE(v.upload_time_s, logs.videos[i - 1].upload_time_s);
    }
  }
  EXPECT_GT(before_window, 600);
  EXPECT_GT(with_comma, 10);
  std::sort(durations.begin(), durations.end());
  EXPECT_GT(durations[durations.size() / 2], 120);
  EXPECT_LT(durations[durations.size() / 2], 1200);
}

TEST_F(SmallWorldTest, ClickedImpressionsAreWatchesAndPagesAreWellFormed) {
  const Logs& logs = world().logs;
  absl::flat_hash_map<std::string, std::vector<const ImpressionRecord*>> pages;
  for (const ImpressionRecord& row : logs.impressions) {
    pages[row.page_id].push_back(&row);
  }
  // (user, video) -> watch.
  absl::flat_hash_map<std::pair<std::string, std::string>, const WatchRecord*>
      watch_of;
  for (const WatchRecord& w : logs.watches) {
    watch_of[{w.user_id, w.video_id}] = &w;
  }
  int64_t clicks = 0;
  for (const auto& [page_id, rows] : pages) {
    EXPECT_LE(rows.size(), world().options.page_size);
    for (size_t p = 0; p < rows.size(); ++p) {
      const ImpressionRecord& row = *rows[p];
      EXPECT_EQ(row.position, p) << page_id;
      EXPECT_LE(logs.videos[VideoIndex(row.video_id)].upload_time_s,
                row.time_s);
      auto it = watch_of.find({row.user_id, row.video_id});
      if (row.clicked) {
        ++clicks;
        ASSERT_NE(it, watch_of.end()) << page_id << " " << row.video_id;
        EXPECT_EQ(it->second->watch_seconds, row.watch_seconds);
        EXPECT_GT(it->second->time_s, row.time_s);
        EXPECT_LT(it->second->time_s, row.time_s + kSecondsPerDay / 2);
      } else {
        EXPECT_EQ(row.watch_seconds, 0);
        // Shown videos were not watched before the page.
        if (it != watch_of.end()) {
          EXPECT_GT(it->second->time_s, row.time_s);
        }
      }
    }
  }
  EXPECT_GT(clicks, 1000);
}

TEST_F(SmallWorldTest, SearchesAnnounceTheTopicOfTheNextWatch) {
  for (const SearchRecord& search : world().logs.searches) {
    const auto& watches =
        world().watches_by_user.at(world().user_index.at(search.user_id));
    auto next = std::upper_bound(
        watches.begin(), watches.end(), search.time_s,
        [](int64_t t, const WatchRecord* w) { return t < w->time_s; });
    ASSERT_NE(next, watches.end()) << search.user_id;
    EXPECT_LE((*next)->time_s - search.time_s, 180);
    const GroundTruth::Topic& topic =
        world().truth.topics[TopicOf((*next)->video_id)];
    const std::vector<std::string> words = absl::StrSplit(search.query, ' ');
    EXPECT_GE(words.size(), 1);
    EXPECT_LE(words.size(), 3);
    for (const std::string& word : words) {
      EXPECT_NE(std::find(topic.words.begin(), topic.words.end(), word),
                topic.words.end())
          << "\"" << search.query << "\" before a " << topic.name << " video";
    }
  }
}

TEST_F(SmallWorldTest, UsersHaveClearTastesAndWatchTheirFavouriteTopics) {
  double share_sum = 0;
  for (const auto& [user, watches] : world().watches_by_user) {
    const GroundTruth::User& truth = world().truth.users[user];
    double total = 0;
    for (double x : truth.topic_interest) total += x;
    EXPECT_NEAR(total, 1.0, 1e-9);
    ASSERT_GE(truth.favourite_topics.size(), 1);
    ASSERT_LE(truth.favourite_topics.size(), 3);
    double favourite_mass = 0;
    for (int t : truth.favourite_topics) {
      favourite_mass += truth.topic_interest[t];
    }
    EXPECT_NEAR(favourite_mass, world().options.favourite_interest_mass, 1e-9);

    std::vector<int> top(truth.topic_interest.size());
    for (size_t t = 0; t < top.size(); ++t) top[t] = t;
    std::partial_sort(top.begin(), top.begin() + 3, top.end(),
                      [&](int a, int b) {
                        return truth.topic_interest[a] >
                               truth.topic_interest[b];
                      });
    int in_top3 = 0;
    for (const WatchRecord* w : watches) {
      const int topic = TopicOf(w->video_id);
      in_top3 += topic == top[0] || topic == top[1] || topic == top[2];
    }
    share_sum += static_cast<double>(in_top3) / watches.size();
  }
  const double mean_share = share_sum / world().watches_by_user.size();
  std::cout << "mean share of a user's watches in their top-3 topics: "
            << mean_share << "\n";
  EXPECT_GT(mean_share, 0.7);
}

TEST_F(SmallWorldTest, DemographicsTiltFavouriteTopics) {
  // Per region, the share of users whose top topic is each topic; the
  // regions must disagree noticeably on the most favoured topic's share.
  const int num_topics = world().truth.topics.size();
  std::map<std::string, std::vector<double>> counts;
  std::map<std::string, int> users;
  for (size_t u = 0; u < world().logs.users.size(); ++u) {
    const std::string& region = world().logs.users[u].region;
    counts[region].resize(num_topics);
    counts[region][world().truth.users[u].favourite_topics[0]] += 1;
    ++users[region];
  }
  ASSERT_GE(counts.size(), 6);
  double max_gap = 0;
  for (int t = 0; t < num_topics; ++t) {
    double lo = 1, hi = 0;
    for (const auto& [region, c] : counts) {
      const double share = c[t] / users[region];
      lo = std::min(lo, share);
      hi = std::max(hi, share);
    }
    max_gap = std::max(max_gap, hi - lo);
  }
  std::cout << "largest gap between regions in a topic's favourite share: "
            << max_gap << "\n";
  EXPECT_GT(max_gap, 0.1);
}

// What the end-to-end test relies on: knowing the true tastes beats
// recommending what is popular, by far. For each user's last watch, hit
// rate at 50 of (a) an oracle ranking unwatched, uploaded videos by true
// topic interest x true popularity then, (b) the global most-watched list.
TEST_F(SmallWorldTest, OracleBeatsMostPopularByAWideMargin) {
  const Logs& logs = world().logs;
  const GroundTruth& truth = world().truth;
  constexpr int kTopK = 50;

  std::vector<int> watch_counts(logs.videos.size(), 0);
  for (const WatchRecord& w : logs.watches) ++watch_counts[VideoIndex(w.video_id)];
  std::vector<int> most_popular(logs.videos.size());
  for (size_t v = 0; v < most_popular.size(); ++v) most_popular[v] = v;
  std::stable_sort(most_popular.begin(), most_popular.end(),
                   [&](int a, int b) {
                     return watch_counts[a] > watch_counts[b];
                   });

  int oracle_hits = 0;
  int popular_hits = 0;
  int users = 0;
  std::vector<std::pair<double, int>> scored;
  for (const auto& [user, watches] : world().watches_by_user) {
    const WatchRecord& last = *watches.back();
    const int label = VideoIndex(last.video_id);
    std::vector<char> watched(logs.videos.size(), 0);
    for (size_t i = 0; i + 1 < watches.size(); ++i) {
      watched[VideoIndex(watches[i]->video_id)] = 1;
    }

    scored.clear();
    for (size_t v = 0; v < logs.videos.size(); ++v) {
      if (watched[v]) continue;
      const double popularity = truth.PopularityAt(v, last.time_s);
      if (popularity <= 0) continue;
      scored.push_back({-truth.users[user].topic_interest[truth.videos[v].topic] *
                            popularity,
                        static_cast<int>(v)});
    }
    const size_t k = std::min<size_t>(kTopK, scored.size());
    std::partial_sort(scored.begin(), scored.begin() + k, scored.end());
    for (size_t i = 0; i < k; ++i) oracle_hits += scored[i].second == label;

    int shown = 0;
    for (int v : most_popular) {
      if (shown == kTopK) break;
      if (watched[v]) continue;
      ++shown;
      popular_hits += v == label;
    }
    ++users;
  }
  const double oracle_rate = static_cast<double>(oracle_hits) / users;
  const double popular_rate = static_cast<double>(popular_hits) / users;
  std::cout << "hit rate at 50 on the last watch: oracle " << oracle_rate
            << ", most popular " << popular_rate << "\n";
  EXPECT_GT(oracle_rate, 2 * popular_rate);
  EXPECT_GT(oracle_rate, 0.2);
}

// Series are entered at episode 1 and followed in order, mostly at once.
TEST_F(SmallWorldTest, SeriesAreStartedAtEpisodeOneAndWatchedInOrder) {
  const GroundTruth& truth = world().truth;
  ASSERT_GT(truth.series.size(), 30);
  for (size_t id = 0; id < truth.series.size(); ++id) {
    const std::vector<int>& episodes = truth.series[id];
    ASSERT_GE(episodes.size(), 2);
    const GroundTruth::Video& first = truth.videos[episodes[0]];
    for (size_t k = 0; k < episodes.size(); ++k) {
      const GroundTruth::Video& v = truth.videos[episodes[k]];
      EXPECT_EQ(v.series, id);
      EXPECT_EQ(v.episode, k + 1);
      EXPECT_EQ(v.topic, first.topic);
      EXPECT_EQ(v.channel, first.channel);
      EXPECT_FALSE(v.clickbait || v.viral);
      if (k > 0) {
        EXPECT_GT(v.upload_time_s, truth.videos[episodes[k - 1]].upload_time_s);
        EXPECT_EQ(truth.PopularityAt(episodes[k], v.upload_time_s + 1), 0);
      }
    }
  }

  int64_t episode_watches = 0;
  int64_t pairs = 0;           // Episodes k and k+1 both watched by a user.
  int64_t ordered_pairs = 0;   // ... k first.
  int64_t pairs_out = 0;       // ... k+1 uploaded when k was watched.
  int64_t pairs_next = 0;      // ... and k+1 the very next watch.
  int64_t started = 0;         // (user, series) pairs.
  int64_t started_at_one = 0;  // ... whose first watch is episode 1.
  for (const auto& [user, watches] : world().watches_by_user) {
    // Series -> episode -> position in the user's watches.
    std::map<int, std::map<int, size_t>> seen;
    for (size_t i = 0; i < watches.size(); ++i) {
      const GroundTruth::Video& v =
          truth.videos[VideoIndex(watches[i]->video_id)];
      if (v.series < 0) continue;
      ++episode_watches;
      seen[v.series][v.episode] = i;
    }
    for (const auto& [series, episodes] : seen) {
      const auto first = std::min_element(
          episodes.begin(), episodes.end(),
          [](const auto& a, const auto& b) { return a.second < b.second; });
      ++started;
      started_at_one += first->first == 1;
      for (const auto& [episode, position] : episodes) {
        const auto next = episodes.find(episode + 1);
        if (next == episodes.end()) continue;
        ++pairs;
        ordered_pairs += next->second > position;
        const int next_video = truth.series[series][episode];
        if (truth.videos[next_video].upload_time_s <=
            watches[position]->time_s) {
          ++pairs_out;
          pairs_next += next->second == position + 1;
        }
      }
    }
  }
  const double ordered = static_cast<double>(ordered_pairs) / pairs;
  const double at_one = static_cast<double>(started_at_one) / started;
  const double next = static_cast<double>(pairs_next) / pairs_out;
  std::cout << truth.series.size() << " series, " << episode_watches
            << " episode watches (of " << world().logs.watches.size()
            << "); " << pairs << " (k, k+1) pairs watched by one user, "
            << ordered << " in order; k+1 the very next watch when out: "
            << next << "; series started at episode 1: " << at_one << "\n";
  EXPECT_GT(pairs, 1000);
  EXPECT_GT(ordered, 0.9);
  EXPECT_GT(next, 0.7);
  EXPECT_GT(at_one, 0.8);
}

// Most videos peak right after upload and decay: of a video's watches in
// its first two weeks, a large share falls in its first three days.
TEST_F(SmallWorldTest, VideosPeakRightAfterUploadAndDecay) {
  const Logs& logs = world().logs;
  const GroundTruth& truth = world().truth;
  const int64_t start = world().options.start_time_s;
  const int64_t end = start + world().options.num_days * kSecondsPerDay;
  constexpr int kDays = 14;
  constexpr int kEarlyDays = 3;
  // Stand-alone and first episodes, never viral, with two weeks in the
  // window after their upload.
  auto eligible = [&](int v) {
    const GroundTruth::Video& video = truth.videos[v];
    return video.upload_time_s >= start &&
           video.upload_time_s + kDays * kSecondsPerDay <= end &&
           video.episode <= 1 && !video.viral;
  };
  std::vector<std::vector<int>> by_day(logs.videos.size(),
                                       std::vector<int>(kDays, 0));
  std::vector<int64_t> total_by_day(kDays, 0);
  for (const WatchRecord& w : logs.watches) {
    const int v = VideoIndex(w.video_id);
    if (!eligible(v)) continue;
    const int64_t day =
        (w.time_s - truth.videos[v].upload_time_s) / kSecondsPerDay;
    if (day < kDays) {
      ++by_day[v][day];
      ++total_by_day[day];
    }
  }
  double share_sum = 0;
  int videos = 0;
  for (size_t v = 0; v < logs.videos.size(); ++v) {
    int total = 0;
    for (int n : by_day[v]) total += n;
    if (total < 5) continue;
    int early = 0;
    for (int d = 0; d < kEarlyDays; ++d) early += by_day[v][d];
    share_sum += static_cast<double>(early) / total;
    ++videos;
  }
  const double mean_share = share_sum / videos;
  std::cout << "mean share of a video's first-" << kDays
            << "-day watches in its first " << kEarlyDays
            << " days: " << mean_share << " over " << videos
            << " videos (uniform: " << static_cast<double>(kEarlyDays) / kDays
            << "); watches by day since upload:";
  for (int64_t n : total_by_day) std::cout << " " << n;
  std::cout << "\n";
  EXPECT_GT(videos, 300);
  EXPECT_GT(mean_share, 0.35);
  EXPECT_EQ(std::max_element(total_by_day.begin(), total_by_day.end()),
            total_by_day.begin());
  EXPECT_GT(total_by_day[0], 2 * total_by_day[kDays / 2]);
}

// A few videos go viral: they take a share of all watches far above their
// share of the catalogue, mostly while they are viral.
TEST_F(SmallWorldTest, ViralVideosGetALargeShareOfWatches) {
  const Logs& logs = world().logs;
  const GroundTruth& truth = world().truth;
  const int64_t end =
      world().options.start_time_s + world().options.num_days * kSecondsPerDay;
  int viral_videos = 0;
  for (const GroundTruth::Video& v : truth.videos) viral_videos += v.viral;
  int64_t viral_watches = 0;
  int64_t during = 0;
  for (const WatchRecord& w : logs.watches) {
    const GroundTruth::Video& v = truth.videos[VideoIndex(w.video_id)];
    if (!v.viral) continue;
    ++viral_watches;
    during += w.time_s >= v.viral_start_s && w.time_s < v.viral_end_s;
  }
  // Time (inside the window, after upload) that viral videos spent viral.
  double viral_time = 0;
  double available_time = 0;
  const int64_t start = world().options.start_time_s;
  for (const GroundTruth::Video& v : truth.videos) {
    if (!v.viral) continue;
    const int64_t from = std::max(start, v.upload_time_s);
    available_time += static_cast<double>(end - from);
    viral_time += static_cast<double>(
        std::max<int64_t>(0, std::min(end, v.viral_end_s) - v.viral_start_s));
  }
  // Where the median viral video ranks by watches among all videos.
  std::vector<int> watch_counts(logs.videos.size(), 0);
  for (const WatchRecord& w : logs.watches) {
    ++watch_counts[VideoIndex(w.video_id)];
  }
  std::vector<int> viral_counts;
  for (size_t v = 0; v < logs.videos.size(); ++v) {
    if (truth.videos[v].viral) viral_counts.push_back(watch_counts[v]);
  }
  ASSERT_FALSE(viral_counts.empty());
  std::sort(viral_counts.begin(), viral_counts.end());
  const int median_viral = viral_counts[viral_counts.size() / 2];
  const double videos_above = static_cast<double>(std::count_if(
      watch_counts.begin(), watch_counts.end(),
      [&](int n) { return n > median_viral; }));
  const double median_viral_top_share = videos_above / logs.videos.size();
  const double catalogue_share =
      static_cast<double>(viral_videos) / logs.videos.size();
  const double watch_share =
      static_cast<double>(viral_watches) / logs.watches.size();
  const double during_share = static_cast<double>(during) / viral_watches;
  const double time_share = viral_time / available_time;
  std::cout << viral_videos << " viral videos (" << catalogue_share
            << " of the catalogue) have " << watch_share
            << " of all watches; " << during_share
            << " of their watches fall in their viral period, which is "
            << time_share << " of their time in the window; the median "
            << "viral video (" << median_viral << " watches) is in the top "
            << median_viral_top_share << " of videos by watches\n";
  EXPECT_GE(viral_videos, 10);
  EXPECT_GT(watch_share, 4 * catalogue_share);
  EXPECT_LT(median_viral_top_share, 0.1);
  EXPECT_GT(during_share, 3 * time_share);
}

// Clickbait is clicked more and watched less.
TEST_F(SmallWorldTest, ClickbaitHasHigherCtrAndLowerWatchTimePerClick) {
  const Logs& logs = world().logs;
  const GroundTruth& truth = world().truth;
  struct Tally {
    int64_t shown = 0;
    int64_t clicked = 0;
    double watch_seconds = 0;
    double watch_fraction = 0;
  };
  Tally tally[2];  // [clickbait]
  for (const ImpressionRecord& row : logs.impressions) {
    const int v = VideoIndex(row.video_id);
    Tally& t = tally[truth.videos[v].clickbait];
    ++t.shown;
    if (!row.clicked) continue;
    ++t.clicked;
    t.watch_seconds += row.watch_seconds;
    t.watch_fraction += row.watch_seconds / logs.videos[v].duration_s;
  }
  auto ctr = [](const Tally& t) {
    return static_cast<double>(t.clicked) / t.shown;
  };
  auto seconds = [](const Tally& t) { return t.watch_seconds / t.clicked; };
  auto fraction = [](const Tally& t) { return t.watch_fraction / t.clicked; };
  std::cout << "clickbait: CTR " << ctr(tally[1]) << ", watch seconds per "
            << "click " << seconds(tally[1]) << " (share of the video "
            << fraction(tally[1]) << "); others: CTR " << ctr(tally[0])
            << ", " << seconds(tally[0]) << " s (" << fraction(tally[0])
            << ")\n";
  EXPECT_GT(tally[1].clicked, 300);
  EXPECT_GT(ctr(tally[1]), 1.3 * ctr(tally[0]));
  EXPECT_LT(seconds(tally[1]), 0.8 * seconds(tally[0]));
  EXPECT_LT(fraction(tally[1]), 0.8 * fraction(tally[0]));
}

// Activity is heavy-tailed: the top 1% of users make a large share of the
// watches.
TEST_F(SmallWorldTest, ActivityIsHeavyTailed) {
  std::vector<int64_t> counts;
  for (const auto& [user, watches] : world().watches_by_user) {
    counts.push_back(static_cast<int64_t>(watches.size()));
  }
  std::sort(counts.rbegin(), counts.rend());
  const size_t top = counts.size() / 100;
  const int64_t total = std::accumulate(counts.begin(), counts.end(),
                                        int64_t{0});
  const int64_t top_total =
      std::accumulate(counts.begin(), counts.begin() + top, int64_t{0});
  const double share = static_cast<double>(top_total) / total;
  std::cout << "the top 1% of users (" << top << ") make " << share
            << " of the watches; watches per user: max " << counts.front()
            << ", median " << counts[counts.size() / 2] << ", min "
            << counts.back() << "\n";
  EXPECT_GT(share, 0.08);
}

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

const char* const kTruthFiles[] = {
    kTruthTopicsFileName, kTruthUserInterestsFileName, kTruthVideosFileName,
    kTruthUsersFileName};

// Every row of `logs` as text, page IDs left out, sorted.
std::vector<std::string> SortedRows(const Logs& logs) {
  Logs copy = logs;
  for (ImpressionRecord& row : copy.impressions) row.page_id.clear();
  std::vector<std::string> rows = absl::StrSplit(Fingerprint(copy), '\n');
  std::sort(rows.begin(), rows.end());
  return rows;
}

TEST_F(SmallWorldTest, StreamWorldWritesTheSameWorldAndTruth) {
  const std::string dir = ::testing::TempDir() + "/streamed_world";
  std::filesystem::remove_all(dir);
  absl::StatusOr<WorldStats> stats =
      StreamWorld(world().options, dir, /*truth_dir=*/dir);
  ASSERT_TRUE(stats.ok()) << stats.status();
  const Logs& logs = world().logs;
  EXPECT_EQ(stats->videos, logs.videos.size());
  EXPECT_EQ(stats->users, logs.users.size());
  EXPECT_EQ(stats->watches, logs.watches.size());
  EXPECT_EQ(stats->searches, logs.searches.size());
  EXPECT_EQ(stats->impressions, logs.impressions.size());
  EXPECT_EQ(stats->series, world().truth.series.size());

  absl::StatusOr<Logs> read = ReadLogs(dir);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(SortedRows(*read) == SortedRows(logs));
  // Videos and users come in the same order both ways: same bytes.
  const std::string written = ::testing::TempDir() + "/written_world";
  std::filesystem::remove_all(written);
  ASSERT_TRUE(WriteLogs(written, logs).ok());
  for (const char* file : {kVideosFileName, kUsersFileName}) {
    EXPECT_TRUE(ReadFileOrDie(dir + "/" + file) ==
                ReadFileOrDie(written + "/" + file))
        << file << " differs";
  }
  // Users in ID order; each user's watches in time order.
  for (size_t i = 1; i < read->watches.size(); ++i) {
    const WatchRecord& a = read->watches[i - 1];
    const WatchRecord& b = read->watches[i];
    ASSERT_TRUE(a.user_id < b.user_id ||
                (a.user_id == b.user_id && a.time_s < b.time_s))
        << "watches[" << i << "]";
  }

  const std::string truth_dir = ::testing::TempDir() + "/written_truth";
  std::filesystem::remove_all(truth_dir);
  ASSERT_TRUE(WriteGroundTruth(truth_dir, logs, world().truth).ok());
  for (const char* file : kTruthFiles) {
    EXPECT_TRUE(ReadFileOrDie(dir + "/" + file) ==
                ReadFileOrDie(truth_dir + "/" + file))
        << file << " differs";
  }
}

// Rows of a CSV file without quoted fields, header first.
std::vector<std::vector<std::string>> ReadSimpleCsv(const std::string& path) {
  std::vector<std::vector<std::string>> rows;
  for (absl::string_view line :
       absl::StrSplit(ReadFileOrDie(path), '\n', absl::SkipEmpty())) {
    rows.push_back(absl::StrSplit(line, ','));
  }
  return rows;
}

TEST_F(SmallWorldTest, GroundTruthFilesDescribeTheWorld) {
  const Logs& logs = world().logs;
  const GroundTruth& truth = world().truth;
  const std::string dir = ::testing::TempDir() + "/truth";
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(WriteGroundTruth(dir, logs, truth).ok());

  const auto topics = ReadSimpleCsv(dir + "/" + kTruthTopicsFileName);
  ASSERT_EQ(topics.size(), truth.topics.size() + 1);
  EXPECT_EQ(topics[0], std::vector<std::string>({"topic", "words"}));
  EXPECT_EQ(topics[1][0], truth.topics[0].name);
  EXPECT_EQ(topics[1][1], absl::StrJoin(truth.topics[0].words, " "));

  const auto videos = ReadSimpleCsv(dir + "/" + kTruthVideosFileName);
  ASSERT_EQ(videos.size(), logs.videos.size() + 1);
  EXPECT_EQ(absl::StrJoin(videos[0], ","),
            "video_id,topic,quality,attractiveness,clickbait,base_popularity,"
            "series_id,episode,viral,viral_start_s,viral_end_s");
  for (size_t v = 0; v < logs.videos.size(); ++v) {
    const std::vector<std::string>& row = videos[v + 1];
    const GroundTruth::Video& video = truth.videos[v];
    ASSERT_EQ(row.size(), 11);
    EXPECT_EQ(row[0], logs.videos[v].video_id);
    EXPECT_EQ(row[1], truth.topics[video.topic].name);
    EXPECT_NEAR(std::stod(row[2]), video.quality, 1e-6);
    EXPECT_NEAR(std::stod(row[3]), video.attractiveness, 1e-6);
    EXPECT_EQ(row[4], video.clickbait ? "1" : "0");
    EXPECT_EQ(row[6].empty(), video.series < 0);
    EXPECT_EQ(row[7], absl::StrCat(video.episode));
    EXPECT_EQ(row[8], video.viral ? "1" : "0");
    EXPECT_EQ(row[9], absl::StrCat(video.viral_start_s));
  }
  EXPECT_EQ(videos[truth.series[3][0] + 1][6], "s00003");

  const auto interests =
      ReadSimpleCsv(dir + "/" + kTruthUserInterestsFileName);
  EXPECT_EQ(absl::StrJoin(interests[0], ","),
            "user_id,topic,weight,favourite_rank");
  std::map<std::string, double> weight_sum;
  std::map<std::string, std::string> top_topic;
  for (size_t i = 1; i < interests.size(); ++i) {
    weight_sum[interests[i][0]] += std::stod(interests[i][2]);
    if (interests[i][3] == "1") top_topic[interests[i][0]] = interests[i][1];
  }
  ASSERT_EQ(weight_sum.size(), logs.users.size());
  for (size_t u = 0; u < logs.users.size(); ++u) {
    const std::string& id = logs.users[u].user_id;
    EXPECT_NEAR(weight_sum[id], 1.0, 1e-5) << id;
    EXPECT_EQ(top_topic[id],
              truth.topics[truth.users[u].favourite_topics[0]].name);
  }

  const auto users = ReadSimpleCsv(dir + "/" + kTruthUsersFileName);
  ASSERT_EQ(users.size(), logs.users.size() + 1);
  EXPECT_EQ(absl::StrJoin(users[0], ","), "user_id,languages");
  for (size_t u = 0; u < logs.users.size(); ++u) {
    ASSERT_EQ(users[u + 1].size(), 2);
    EXPECT_EQ(users[u + 1][0], logs.users[u].user_id);
    EXPECT_EQ(users[u + 1][1], absl::StrJoin(truth.users[u].languages, "|"));
  }
}

// Per day of the window: watches and impressions.
struct DailyActivity {
  std::vector<int64_t> watches;
  std::vector<int64_t> impressions;
};

DailyActivity ActivityPerDay(const Logs& logs, const WorldOptions& options) {
  DailyActivity daily;
  daily.watches.assign(options.num_days, 0);
  daily.impressions.assign(options.num_days, 0);
  auto day = [&](int64_t time_s) {
    return static_cast<size_t>((time_s - options.start_time_s) /
                               kSecondsPerDay);
  };
  for (const WatchRecord& w : logs.watches) ++daily.watches.at(day(w.time_s));
  for (const ImpressionRecord& row : logs.impressions) {
    ++daily.impressions.at(day(row.time_s));
  }
  return daily;
}

// Activity neither fades nor swells over the window: each of the last three
// full days (the last day is half reserved) is within 25% of the mean of
// the middle days, and so are the first three.
TEST_F(SmallWorldTest, ActivityIsStationary) {
  const WorldOptions& options = world().options;
  const DailyActivity daily = ActivityPerDay(world().logs, options);
  const int days = options.num_days;
  for (const auto& [name, counts] :
       {std::pair<const char*, const std::vector<int64_t>*>{"watches",
                                                            &daily.watches},
        {"impressions", &daily.impressions}}) {
    double middle = 0;
    for (int d = days / 4; d < 3 * days / 4; ++d) middle += (*counts)[d];
    middle /= 3 * days / 4 - days / 4;
    std::cout << name << " per day: middle mean " << middle << ", first "
              << absl::StrJoin(counts->begin(), counts->begin() + 3, " ")
              << ", last " << absl::StrJoin(counts->end() - 4, counts->end(),
                                            " ")
              << "\n";
    for (int d : {0, 1, 2, days - 4, days - 3, days - 2}) {
      EXPECT_GT((*counts)[d], 0.75 * middle) << name << " on day " << d;
      EXPECT_LT((*counts)[d], 1.25 * middle) << name << " on day " << d;
    }
  }
}

// Thinning the steps keeps the planned mean number of watches (2,000
// users: the heavy tail makes the mean of fewer too noisy).
TEST(WorldTest, MeanWatchesPerUserIsTheKnob) {
  WorldOptions tiny = TinyWorldOptions();
  tiny.num_users = 2000;
  for (WorldOptions options : {SmallWorldOptions(), tiny}) {
    for (const double mean : {options.mean_watches_per_user, 12.0}) {
      options.mean_watches_per_user = mean;
      absl::StatusOr<Logs> logs = GenerateWorld(options);
      ASSERT_TRUE(logs.ok()) << logs.status();
      const double per_user =
          static_cast<double>(logs->watches.size()) / logs->users.size();
      std::cout << options.num_users << " users, mean_watches_per_user "
                << mean << ": " << per_user << " watches per user\n";
      EXPECT_NEAR(per_user, mean, 0.1 * mean);
      // The ID widths rely on this: no user has more pages than the most
      // watches a user may plan.
      absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>
          pages;
      for (const ImpressionRecord& row : logs->impressions) {
        pages[row.user_id].insert(row.page_id);
      }
      for (const auto& [user, user_pages] : pages) {
        EXPECT_LE(static_cast<int64_t>(user_pages.size()),
                  std::max(options.min_watches_per_user,
                           options.max_watches_per_user))
            << user;
      }
    }
  }
}

TEST_F(SmallWorldTest, UsersSpeakTheirRegionsLanguageAndSometimesEnglish) {
  const std::map<std::string, std::string> region_language = {
      {"US", "en"}, {"IN", "hi"}, {"BR", "pt"}, {"GB", "en"},
      {"DE", "de"}, {"JP", "ja"}, {"FR", "fr"}, {"MX", "es"}};
  const Logs& logs = world().logs;
  int64_t non_english = 0;
  int64_t with_english = 0;
  for (size_t u = 0; u < logs.users.size(); ++u) {
    const UserRecord& user = logs.users[u];
    const std::vector<std::string>& languages =
        world().truth.users[u].languages;
    ASSERT_TRUE(region_language.count(user.region)) << user.region;
    EXPECT_EQ(user.language, region_language.at(user.region)) << user.user_id;
    ASSERT_FALSE(languages.empty());
    EXPECT_EQ(languages[0], user.language);
    if (user.language == "en") {
      EXPECT_EQ(languages.size(), 1);
    } else {
      ++non_english;
      ASSERT_LE(languages.size(), 2);
      if (languages.size() == 2) {
        EXPECT_EQ(languages[1], "en");
        ++with_english;
      }
    }
  }
  const double share = static_cast<double>(with_english) / non_english;
  std::cout << with_english << " of " << non_english
            << " users outside English-speaking regions speak English ("
            << share << ")\n";
  EXPECT_NEAR(share, world().options.english_second_language_probability,
              0.05);
}

// A video in a language the user does not speak is clicked less, watched
// for less, and rarely watched of the user's own accord; the logging policy
// prefers the user's stated language.
TEST_F(SmallWorldTest, ForeignLanguageVideosAreClickedAndWatchedLess) {
  const Logs& logs = world().logs;
  const GroundTruth& truth = world().truth;
  struct Tally {
    int64_t shown = 0;
    int64_t clicked = 0;
    double watch_fraction = 0;
  };
  Tally tally[2];  // [speaks]
  for (const ImpressionRecord& row : logs.impressions) {
    const VideoRecord& video = logs.videos[VideoIndex(row.video_id)];
    const int u = UserIndex(row.user_id);
    Tally& t = tally[SpeaksLanguage(truth.users[u].languages, video.language)];
    ++t.shown;
    if (!row.clicked) continue;
    ++t.clicked;
    t.watch_fraction += row.watch_seconds / video.duration_s;
  }
  auto ctr = [](const Tally& t) {
    return static_cast<double>(t.clicked) / t.shown;
  };
  auto fraction = [](const Tally& t) { return t.watch_fraction / t.clicked; };
  // Watches that did not come from a page: the user's own choices (and
  // next episodes).
  absl::flat_hash_set<std::pair<std::string, std::string>> clicked;
  for (const ImpressionRecord& row : logs.impressions) {
    if (row.clicked) clicked.insert({row.user_id, row.video_id});
  }
  int64_t own = 0;
  int64_t own_spoken = 0;
  for (const WatchRecord& w : logs.watches) {
    if (clicked.contains({w.user_id, w.video_id})) continue;
    ++own;
    own_spoken += SpeaksLanguage(truth.users[UserIndex(w.user_id)].languages,
                                 logs.videos[VideoIndex(w.video_id)].language);
  }
  const double shown_spoken =
      static_cast<double>(tally[1].shown) / (tally[0].shown + tally[1].shown);
  const double own_spoken_share = static_cast<double>(own_spoken) / own;
  // What a language-blind choice would give: the share of the catalogue in
  // a language the watching user speaks, averaged over those watches.
  absl::flat_hash_map<std::string, int64_t> videos_in;
  for (const VideoRecord& v : logs.videos) ++videos_in[v.language];
  double blind_spoken = 0;
  for (const WatchRecord& w : logs.watches) {
    if (clicked.contains({w.user_id, w.video_id})) continue;
    for (const std::string& language : truth.users[UserIndex(w.user_id)].languages) {
      blind_spoken += static_cast<double>(videos_in[language]) / logs.videos.size();
    }
  }
  blind_spoken /= own;
  // Pages: the logging policy prefers the stated language.
  int64_t stated = 0;
  for (const ImpressionRecord& row : logs.impressions) {
    stated += logs.videos[VideoIndex(row.video_id)].language ==
              logs.users[UserIndex(row.user_id)].language;
  }
  const double shown_stated = static_cast<double>(stated) / logs.impressions.size();
  double blind_stated = 0;
  for (const ImpressionRecord& row : logs.impressions) {
    blind_stated += static_cast<double>(
                        videos_in[logs.users[UserIndex(row.user_id)].language]) /
                    logs.videos.size();
  }
  blind_stated /= logs.impressions.size();
  std::cout << "same language: " << tally[1].shown << " impressions, CTR "
            << ctr(tally[1]) << ", watch fraction " << fraction(tally[1])
            << "; foreign: " << tally[0].shown << " impressions, CTR "
            << ctr(tally[0]) << ", watch fraction " << fraction(tally[0])
            << "; spoken-language share of impressions " << shown_spoken
            << ", of other watches " << own_spoken_share
            << " (language-blind: " << blind_spoken
            << "); stated-language share of impressions " << shown_stated
            << " (language-blind: " << blind_stated << ")\n";
  ASSERT_GT(tally[0].clicked, 300);
  ASSERT_GT(tally[1].clicked, 300);
  EXPECT_LT(ctr(tally[0]), 0.5 * ctr(tally[1]));
  EXPECT_LT(fraction(tally[0]), 0.6 * fraction(tally[1]));
  EXPECT_GT(own_spoken_share, blind_spoken + 0.2);
  EXPECT_GT(shown_stated, blind_stated + 0.1);
}

// The public user model is the one the world draws from.
TEST(WorldTest, UserModelFunctions) {
  const WorldOptions options;
  const double p = WorldClickProbability(options, 0.25, 0.8, 0, true);
  EXPECT_DOUBLE_EQ(p, options.max_click_probability * 0.5 * 0.8);
  EXPECT_DOUBLE_EQ(WorldClickProbability(options, 0.25, 0.8, 3, true),
                   p / (1 + 3 * options.position_bias));
  EXPECT_DOUBLE_EQ(WorldClickProbability(options, 0.25, 0.8, 0, false),
                   p * options.foreign_language_click_factor);
  EXPECT_DOUBLE_EQ(WorldClickProbability(options, 0.25, 0.8, 0, true,
                                         /*unfollowed_episode=*/true),
                   p / 3);
  EXPECT_DOUBLE_EQ(WorldWatchFraction(options, 1, 0.6, true, 0), 0.7);
  EXPECT_DOUBLE_EQ(WorldWatchFraction(options, 1, 1, true, 3), 1);
  EXPECT_DOUBLE_EQ(WorldWatchFraction(options, 0, 0, true, -3), 0.05);
  EXPECT_DOUBLE_EQ(WorldWatchFraction(options, 1, 0.6, false, 0),
                   0.7 * options.foreign_language_watch_factor);
  // The expectation is the mean over the noise (clamping included).
  std::mt19937_64 engine(7);
  std::normal_distribution<double> normal;
  for (const auto& [r, q, speaks] :
       {std::tuple<double, double, bool>{1, 1, true},
        {0, 0, true},
        {0.5, 0.6, false},
        {0.02, 0.1, true}}) {
    double sum = 0;
    constexpr int kDraws = 200000;
    for (int i = 0; i < kDraws; ++i) {
      sum += WorldWatchFraction(options, r, q, speaks, normal(engine));
    }
    EXPECT_NEAR(WorldExpectedWatchFraction(options, r, q, speaks),
                sum / kDraws, 1e-3)
        << r << " " << q << " " << speaks;
  }
  EXPECT_TRUE(SpeaksLanguage({"hi", "en"}, "en"));
  EXPECT_FALSE(SpeaksLanguage({"hi"}, "en"));
}

TEST(WorldTest, PresetsAndInvalidOptions) {
  EXPECT_EQ(WorldOptionsForPreset("small")->num_users, 2000);
  EXPECT_EQ(WorldOptionsForPreset("tiny")->num_users, 200);
  EXPECT_EQ(WorldOptionsForPreset("medium")->num_users, 20000);
  EXPECT_EQ(WorldOptionsForPreset("large")->num_users, 1000000);
  EXPECT_EQ(WorldOptionsForPreset("large")->num_videos, 1000000);
  EXPECT_TRUE(ValidateWorldOptions(LargeWorldOptions()).ok());
  EXPECT_THAT(WorldOptionsForPreset("huge").status().message(),
              HasSubstr("unknown world preset \"huge\""));

  WorldOptions options = TinyWorldOptions();
  options.num_users = 0;
  absl::StatusOr<Logs> logs = GenerateWorld(options);
  EXPECT_EQ(logs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(logs.status().message(), HasSubstr("num_users is 0"));

  options = TinyWorldOptions();
  options.search_probability = 1.5;
  EXPECT_THAT(GenerateWorld(options).status().message(),
              HasSubstr("search_probability is 1.5; it must be in [0, 1]"));

  options = TinyWorldOptions();
  options.foreign_language_click_factor = -0.1;
  EXPECT_THAT(GenerateWorld(options).status().message(),
              HasSubstr("foreign_language_click_factor is -0.1"));

  options = TinyWorldOptions();
  options.max_series_episodes = 1;
  EXPECT_THAT(GenerateWorld(options).status().message(),
              HasSubstr("max_series_episodes is 1; it must be >= 3"));
  EXPECT_EQ(StreamWorld(options, ::testing::TempDir() + "/invalid")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(WorldTest, TinyAndOddWorldsAreValid) {
  absl::StatusOr<Logs> tiny = GenerateWorld(TinyWorldOptions());
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_TRUE(ValidateLogs(*tiny).ok()) << ValidateLogs(*tiny);

  // Few videos (users run out of them), one topic, more topics than have
  // names, tiny pages.
  WorldOptions odd = TinyWorldOptions();
  odd.num_videos = 30;
  odd.num_topics = 1;
  odd.page_size = 1;
  absl::StatusOr<Logs> logs = GenerateWorld(odd);
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_TRUE(ValidateLogs(*logs).ok()) << ValidateLogs(*logs);

  odd = TinyWorldOptions();
  odd.num_topics = 40;
  GroundTruth truth;
  logs = GenerateWorld(odd, &truth);
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_TRUE(ValidateLogs(*logs).ok()) << ValidateLogs(*logs);
  EXPECT_EQ(truth.topics[39].name, "topic40");

  // Everything in series, everything viral, no evergreen popularity.
  odd = TinyWorldOptions();
  odd.series_fraction = 0.99;
  odd.viral_fraction = 1;
  odd.evergreen_popularity = 0;
  odd.clickbait_fraction = 1;
  logs = GenerateWorld(odd, &truth);
  ASSERT_TRUE(logs.ok()) << logs.status();
  EXPECT_TRUE(ValidateLogs(*logs).ok()) << ValidateLogs(*logs);
  EXPECT_GT(truth.series.size(), 10);
}

}  // namespace
}  // namespace recsys
