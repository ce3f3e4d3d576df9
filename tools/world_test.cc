#include "tools/world.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/logs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace recsys {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSecondsPerDay = 86400;

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
                    r.gender, "|", r.age, "|", r.logged_in, "\n");
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
  absl::StatusOr<Logs> a = GenerateWorld(options);
  absl::StatusOr<Logs> b = GenerateWorld(options);
  options.seed = 43;
  absl::StatusOr<Logs> c = GenerateWorld(options);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(Fingerprint(*a), Fingerprint(*b));
  EXPECT_NE(Fingerprint(*a), Fingerprint(*c));
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
      const float duration =
          world().logs.videos[VideoIndex(w->video_id)].duration_s;
      EXPECT_GE(w->watch_seconds, 0.05f * duration - 0.1f);
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

TEST(WorldTest, PresetsAndInvalidOptions) {
  EXPECT_EQ(WorldOptionsForPreset("small")->num_users, 2000);
  EXPECT_EQ(WorldOptionsForPreset("tiny")->num_users, 200);
  EXPECT_EQ(WorldOptionsForPreset("medium")->num_users, 20000);
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
}

}  // namespace
}  // namespace recsys
