#include "tools/world.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/world_topics.h"

namespace recsys {
namespace {

constexpr int64_t kSecondsPerDay = 86400;
// The logging policy's "fresh" slots come from uploads this recent.
constexpr int64_t kFreshWindowS = 3 * kSecondsPerDay;
// Length of the per-day list of globally popular videos the policy draws
// its "popular" slots from.
constexpr int kPopularListSize = 100;
// Activity is planned inside [start, end - kEndReserveS), so the last
// steps (which run a few minutes to hours) still end inside the window.
constexpr int64_t kEndReserveS = kSecondsPerDay / 2;

// ---------------------------------------------------------------------------
// Randomness.

uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Independent streams per purpose (and per user), so that changing how one
// part of the world is drawn leaves the others as they were.
uint64_t StreamSeed(uint64_t seed, uint64_t stream) {
  return SplitMix64(seed ^ SplitMix64(stream));
}

enum Stream : uint64_t {
  kTopicStream = 1,
  kChannelStream = 2,
  kVideoStream = 3,
  kUserStream = 4,
  // Per-user activity: kActivityStreamBase + user index.
  kActivityStreamBase = uint64_t{1} << 32,
};

// Draws from a std::mt19937_64 through distributions defined here, so the
// output is the same with every standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform in [0, n), n > 0.
  int64_t UniformInt(int64_t n) {
    return std::min<int64_t>(n - 1, static_cast<int64_t>(Uniform() * n));
  }
  // Uniform in [lo, hi].
  int64_t UniformInt(int64_t lo, int64_t hi) {
    return lo + UniformInt(hi - lo + 1);
  }
  bool Bernoulli(double p) { return Uniform() < p; }
  // Standard normal (Box-Muller).
  double Normal() {
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  double LogNormal(double mu, double sigma) {
    return std::exp(mu + sigma * Normal());
  }
  // Exponential with mean 1.
  double Exponential() { return -std::log(1.0 - Uniform()); }

  // An index drawn with probability proportional to `weights` (all >= 0),
  // or -1 if they sum to 0.
  int Discrete(const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    if (!(total > 0)) return -1;
    double target = Uniform() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (weights[i] <= 0) continue;
      target -= weights[i];
      if (target < 0) return static_cast<int>(i);
    }
    // Rounding: the last positive weight.
    for (size_t i = weights.size(); i-- > 0;) {
      if (weights[i] > 0) return static_cast<int>(i);
    }
    return -1;
  }

  template <typename T>
  void Shuffle(std::vector<T>* items) {
    for (size_t i = items->size(); i > 1; --i) {
      std::swap((*items)[i - 1], (*items)[UniformInt(static_cast<int64_t>(i))]);
    }
  }

 private:
  std::mt19937_64 engine_;
};

// ---------------------------------------------------------------------------
// Fixed demographic vocabularies.

struct Region {
  const char* code;
  double weight;
  // Main language of the region's channels (ISO 639-1).
  const char* language;
};
constexpr Region kRegions[] = {
    {"US", 0.28, "en"}, {"IN", 0.18, "hi"}, {"BR", 0.10, "pt"},
    {"GB", 0.08, "en"}, {"DE", 0.08, "de"}, {"JP", 0.09, "ja"},
    {"FR", 0.09, "fr"}, {"MX", 0.10, "es"},
};
constexpr int kNumRegions = sizeof(kRegions) / sizeof(kRegions[0]);

struct Device {
  const char* name;
  double weight;
};
constexpr Device kDevices[] = {
    {"mobile", 0.55}, {"desktop", 0.25}, {"tv", 0.12}, {"tablet", 0.08}};

struct AgeGroup {
  int min_age;
  int max_age;
  double weight;
};
constexpr AgeGroup kAgeGroups[] = {
    {13, 17, 0.12}, {18, 24, 0.22}, {25, 34, 0.25}, {35, 49, 0.22},
    {50, 80, 0.19}};
constexpr int kNumAgeGroups = sizeof(kAgeGroups) / sizeof(kAgeGroups[0]);

constexpr const char* kGenders[] = {"female", "male"};
constexpr int kNumGenders = 2;

// Logged-in users who leave gender or age unset.
constexpr double kUnstatedGenderProbability = 0.06;
constexpr double kUnstatedAgeProbability = 0.08;
// Probability that a favourite count is 1, 2 or 3.
constexpr double kFavouriteCountWeights[] = {0.3, 0.4, 0.3};

template <typename T, size_t N>
std::vector<double> Weights(const T (&items)[N]) {
  std::vector<double> weights;
  for (const T& item : items) weights.push_back(item.weight);
  return weights;
}

// "u00042": at least five digits, more if `count` needs them.
std::string PaddedId(char prefix, int64_t index, int64_t count) {
  int width = 5;
  for (int64_t n = 100000; n < count; n *= 10) ++width;
  return absl::StrFormat("%c%0*d", prefix, width, index);
}

double Clamp(double x, double lo, double hi) {
  return std::min(hi, std::max(lo, x));
}

// Share of a video a user watches, from their relative interest in its
// topic (interest / their top interest) and its quality; in [0.05, 1].
double WatchFraction(double relative_interest, double quality, Rng& rng) {
  return Clamp(0.1 + 0.5 * quality + 0.3 * relative_interest +
                   0.12 * rng.Normal(),
               0.05, 1.0);
}

// ---------------------------------------------------------------------------
// The generator.

// A user's events before they are merged and sorted with everyone else's.
struct Page {
  int64_t time_s = 0;
  int user = 0;
  std::vector<ImpressionRecord> rows;  // page_id is assigned later.
};

class WorldGenerator {
 public:
  explicit WorldGenerator(const WorldOptions& options)
      : options_(options),
        start_s_(options.start_time_s),
        end_s_(options.start_time_s + options.num_days * kSecondsPerDay) {}

  Logs Generate(GroundTruth* truth) {
    MakeTopics();
    MakeChannels();
    MakeVideos();
    MakeUsers();
    MakePopularLists();
    std::vector<Page> pages;
    for (int u = 0; u < options_.num_users; ++u) SimulateUser(u, &pages);
    SortAndNameEvents(&pages);
    if (truth != nullptr) *truth = std::move(truth_);
    return std::move(logs_);
  }

 private:
  struct TimedWatch {
    int64_t time_s;
    int user;
    WatchRecord record;
  };
  struct TimedSearch {
    int64_t time_s;
    int user;
    SearchRecord record;
  };

  // --- Catalogue.

  void MakeTopics() {
    Rng rng(StreamSeed(options_.seed, kTopicStream));
    for (world_internal::TopicVocabulary& topic :
         world_internal::MakeTopics(options_.num_topics)) {
      truth_.topics.push_back({std::move(topic.name), std::move(topic.words)});
    }
    // Some topics are much bigger than others, overall.
    for (int t = 0; t < options_.num_topics; ++t) {
      topic_prior_.push_back(rng.LogNormal(0, 0.6));
    }
    // Demographic multipliers on the prior for favourite topics.
    auto tilts = [&](int groups) {
      std::vector<std::vector<double>> result(groups);
      for (auto& row : result) {
        for (int t = 0; t < options_.num_topics; ++t) {
          row.push_back(rng.LogNormal(0, options_.demographic_tilt));
        }
      }
      return result;
    };
    region_tilt_ = tilts(kNumRegions);
    age_tilt_ = tilts(kNumAgeGroups);
    gender_tilt_ = tilts(kNumGenders);
    truth_.popularity_half_life_s =
        options_.popularity_half_life_days * kSecondsPerDay;
    truth_.evergreen_popularity = options_.evergreen_popularity;
  }

  void MakeChannels() {
    Rng rng(StreamSeed(options_.seed, kChannelStream));
    const std::vector<double> region_weights = Weights(kRegions);
    for (int c = 0; c < options_.num_channels; ++c) {
      truth_.channel_topics.push_back(rng.Discrete(topic_prior_));
      channel_languages_.push_back(
          kRegions[rng.Discrete(region_weights)].language);
      // Heavy-tailed output: a few channels upload most videos.
      channel_activity_.push_back(rng.LogNormal(0, 1.0));
    }
  }

  void MakeVideos() {
    Rng rng(StreamSeed(options_.seed, kVideoStream));
    const int n = options_.num_videos;
    const int num_topics = options_.num_topics;
    std::vector<GroundTruth::Video> videos(n);
    std::vector<int> second_topic(n, -1);
    std::vector<float> durations(n);
    for (int i = 0; i < n; ++i) {
      GroundTruth::Video& v = videos[i];
      v.channel = rng.Discrete(channel_activity_);
      v.topic = rng.Bernoulli(options_.channel_topic_affinity)
                    ? truth_.channel_topics[v.channel]
                    : rng.Discrete(topic_prior_);
      if (num_topics > 1 && rng.Bernoulli(options_.second_topic_probability)) {
        second_topic[i] =
            (v.topic + 1 + static_cast<int>(rng.UniformInt(num_topics - 1))) %
            num_topics;
      }
      if (rng.Bernoulli(options_.clickbait_fraction)) {
        v.quality = rng.Uniform(0, 0.3);
        v.attractiveness = rng.Uniform(0.75, 1.0);
      } else {
        v.quality = Clamp(0.6 + 0.18 * rng.Normal(), 0, 1);
        v.attractiveness = Clamp(0.2 + 0.4 * v.quality + 0.15 * rng.Normal(),
                                 0, 1);
      }
      v.upload_time_s =
          rng.Bernoulli(options_.pre_window_upload_fraction)
              ? start_s_ - 1 -
                    rng.UniformInt(options_.pre_window_days * kSecondsPerDay)
              : start_s_ + rng.UniformInt(end_s_ - start_s_);
      const double seconds = rng.LogNormal(std::log(options_.median_duration_s),
                                           options_.duration_log_sigma);
      durations[i] = static_cast<float>(std::round(Clamp(seconds, 30, 10800)));
    }

    // IDs and file order follow upload time.
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      return std::tie(videos[a].upload_time_s, a) <
             std::tie(videos[b].upload_time_s, b);
    });
    videos_by_topic_.assign(num_topics, {});
    for (int rank = 0; rank < n; ++rank) {
      const int i = order[rank];
      const GroundTruth::Video& v = videos[i];
      std::vector<std::string> words = TitleWords(v.topic, rng);
      VideoRecord record;
      record.video_id = PaddedId('v', rank, n);
      record.title = Title(words, rng);
      record.channel_id = PaddedId('c', v.channel, options_.num_channels);
      record.topics = truth_.topics[v.topic].name;
      if (second_topic[i] >= 0) {
        absl::StrAppend(&record.topics, "|",
                        truth_.topics[second_topic[i]].name);
      }
      record.language = channel_languages_[v.channel];
      record.upload_time_s = v.upload_time_s;
      record.duration_s = durations[i];
      logs_.videos.push_back(std::move(record));
      truth_.videos.push_back(v);
      title_words_.push_back(std::move(words));
      upload_times_.push_back(v.upload_time_s);
      videos_by_topic_[v.topic].push_back(rank);
    }
    AssignBasePopularity(rng);
  }

  // 3-6 distinct words of `topic`.
  std::vector<std::string> TitleWords(int topic, Rng& rng) {
    std::vector<std::string> words = truth_.topics[topic].words;
    rng.Shuffle(&words);
    words.resize(std::min<size_t>(words.size(), rng.UniformInt(3, 6)));
    return words;
  }

  // Joins title words, capitalised, sometimes with a comma or quotes (so
  // that the CSV quoting is exercised by every data set).
  std::string Title(const std::vector<std::string>& words, Rng& rng) {
    std::vector<std::string> parts = words;
    if (parts.size() >= 4 && rng.Bernoulli(0.12)) parts[1] += ",";
    if (rng.Bernoulli(0.05)) parts.back() = "\"" + parts.back() + "\"";
    std::string title = absl::StrJoin(parts, " ");
    if (!title.empty()) title[0] = absl::ascii_toupper(title[0]);
    return title;
  }

  // Zipf weights within each topic, ranked by a noisy mix of attractiveness
  // and quality: popular videos tend to be good and catchy.
  void AssignBasePopularity(Rng& rng) {
    for (const std::vector<int>& members : videos_by_topic_) {
      std::vector<std::pair<double, int>> scored;
      for (int v : members) {
        const GroundTruth::Video& video = truth_.videos[v];
        scored.push_back({-(video.attractiveness + 0.5 * video.quality +
                            0.4 * rng.Normal()),
                          v});
      }
      std::sort(scored.begin(), scored.end());
      for (size_t rank = 0; rank < scored.size(); ++rank) {
        truth_.videos[scored[rank].second].base_popularity =
            std::pow(static_cast<double>(rank + 1),
                     -options_.popularity_zipf_exponent);
      }
    }
  }

  // --- Users.

  void MakeUsers() {
    Rng rng(StreamSeed(options_.seed, kUserStream));
    const std::vector<double> region_weights = Weights(kRegions);
    const std::vector<double> device_weights = Weights(kDevices);
    const std::vector<double> age_weights = Weights(kAgeGroups);
    const std::vector<double> favourite_count_weights(
        std::begin(kFavouriteCountWeights), std::end(kFavouriteCountWeights));
    const int num_topics = options_.num_topics;
    population_interest_.assign(num_topics, 0);

    for (int u = 0; u < options_.num_users; ++u) {
      // Hidden demographics, which shape tastes whether or not logged.
      const int region = rng.Discrete(region_weights);
      const int age_group = rng.Discrete(age_weights);
      const AgeGroup& group = kAgeGroups[age_group];
      const int age = static_cast<int>(rng.UniformInt(group.min_age,
                                                      group.max_age));
      const int gender = static_cast<int>(rng.UniformInt(kNumGenders));

      UserRecord record;
      record.user_id = PaddedId('u', u, options_.num_users);
      record.region = kRegions[region].code;
      record.device = kDevices[rng.Discrete(device_weights)].name;
      record.logged_in = rng.Bernoulli(options_.logged_in_probability);
      if (record.logged_in) {
        if (!rng.Bernoulli(kUnstatedGenderProbability)) {
          record.gender = kGenders[gender];
        }
        if (!rng.Bernoulli(kUnstatedAgeProbability)) record.age = age;
      }
      logs_.users.push_back(std::move(record));

      std::vector<double> favourite_prior(num_topics);
      for (int t = 0; t < num_topics; ++t) {
        favourite_prior[t] = topic_prior_[t] * region_tilt_[region][t] *
                             age_tilt_[age_group][t] *
                             gender_tilt_[gender][t];
      }
      GroundTruth::User user = MakeInterests(
          1 + rng.Discrete(favourite_count_weights), favourite_prior, rng);
      for (int t = 0; t < num_topics; ++t) {
        population_interest_[t] += user.topic_interest[t];
      }
      truth_.users.push_back(std::move(user));
    }
  }

  // `num_favourites` topics drawn by `favourite_prior` get
  // `favourite_interest_mass`, the rest of the topics the remainder.
  GroundTruth::User MakeInterests(int num_favourites,
                                  std::vector<double> favourite_prior,
                                  Rng& rng) {
    const int num_topics = options_.num_topics;
    num_favourites = std::min(num_favourites, num_topics);
    GroundTruth::User user;
    std::vector<double> favourite_weight;
    for (int k = 0; k < num_favourites; ++k) {
      const int t = rng.Discrete(favourite_prior);
      favourite_prior[t] = 0;  // Without replacement.
      user.favourite_topics.push_back(t);
      favourite_weight.push_back(0.5 + rng.Exponential());
    }
    std::vector<double> other_weight(num_topics, 0);
    for (int t = 0; t < num_topics; ++t) {
      if (favourite_prior[t] > 0) {
        other_weight[t] = topic_prior_[t] * rng.Exponential();
      }
    }
    const double favourite_total = std::accumulate(
        favourite_weight.begin(), favourite_weight.end(), 0.0);
    const double other_total =
        std::accumulate(other_weight.begin(), other_weight.end(), 0.0);
    const double favourite_mass =
        other_total > 0 ? options_.favourite_interest_mass : 1.0;
    user.topic_interest.assign(num_topics, 0);
    for (int t = 0; t < num_topics; ++t) {
      if (other_total > 0) {
        user.topic_interest[t] =
            (1 - favourite_mass) * other_weight[t] / other_total;
      }
    }
    for (int k = 0; k < num_favourites; ++k) {
      user.topic_interest[user.favourite_topics[k]] =
          favourite_mass * favourite_weight[k] / favourite_total;
    }
    std::sort(user.favourite_topics.begin(), user.favourite_topics.end(),
              [&](int a, int b) {
                return std::tie(user.topic_interest[b], a) <
                       std::tie(user.topic_interest[a], b);
              });
    return user;
  }

  // --- Logging policy.

  // Per day, the videos with the most expected watches at noon: the
  // population's interest in the topic times the video's share of the
  // topic's popularity then.
  void MakePopularLists() {
    for (int day = 0; day < options_.num_days; ++day) {
      const int64_t noon = start_s_ + day * kSecondsPerDay + kSecondsPerDay / 2;
      std::vector<std::pair<double, int>> scored;
      for (int t = 0; t < options_.num_topics; ++t) {
        double total = 0;
        for (int v : videos_by_topic_[t]) total += truth_.PopularityAt(v, noon);
        if (!(total > 0)) continue;
        for (int v : videos_by_topic_[t]) {
          const double p = truth_.PopularityAt(v, noon);
          if (p > 0) scored.push_back({population_interest_[t] * p / total, v});
        }
      }
      const size_t keep = std::min<size_t>(scored.size(), kPopularListSize);
      std::partial_sort(scored.begin(), scored.begin() + keep, scored.end(),
                        [](const auto& a, const auto& b) {
                          return std::tie(b.first, a.second) <
                                 std::tie(a.first, b.second);
                        });
      scored.resize(keep);
      std::vector<int> list;
      std::vector<double> weights;
      for (const auto& [score, v] : scored) {
        list.push_back(v);
        weights.push_back(score);
      }
      popular_videos_.push_back(std::move(list));
      popular_weights_.push_back(std::move(weights));
    }
  }

  // Number of videos uploaded at or before `time_s` (a prefix of the
  // upload-ordered catalogue).
  int NumUploadedBy(int64_t time_s) const {
    return static_cast<int>(
        std::upper_bound(upload_times_.begin(), upload_times_.end(), time_s) -
        upload_times_.begin());
  }

  // --- Per-user simulation.

  // The state of one user while their activity is simulated.
  struct UserState {
    int user = 0;
    std::vector<char> watched;  // Per video.
    int last_topic = -1;
    int64_t num_watches = 0;
    Rng rng;
  };

  double RelativeInterest(const UserState& s, int topic) const {
    const GroundTruth::User& user = truth_.users[s.user];
    return user.topic_interest[topic] /
           user.topic_interest[user.favourite_topics[0]];
  }

  // An unwatched video of `topic` uploaded by `time_s`, by popularity then;
  // -1 if there is none.
  int SampleFromTopic(int topic, int64_t time_s, UserState& s) {
    const std::vector<int>& members = videos_by_topic_[topic];
    scratch_weights_.clear();
    for (int v : members) {
      if (upload_times_[v] > time_s) break;  // Members are upload-ordered.
      scratch_weights_.push_back(s.watched[v] ? 0
                                              : truth_.PopularityAt(v, time_s));
    }
    const int k = s.rng.Discrete(scratch_weights_);
    return k < 0 ? -1 : members[k];
  }

  // What the user watches of their own accord at `time_s`: a topic by
  // interest, then a video in it by popularity. -1 if nothing is left.
  int ChooseOrganicVideo(int64_t time_s, UserState& s) {
    const GroundTruth::User& user = truth_.users[s.user];
    constexpr int kTopicAttempts = 8;
    for (int attempt = 0; attempt < kTopicAttempts; ++attempt) {
      const int v =
          SampleFromTopic(s.rng.Discrete(user.topic_interest), time_s, s);
      if (v >= 0) return v;
    }
    // Every likely topic is exhausted: anything uploaded, by popularity.
    scratch_weights_.assign(NumUploadedBy(time_s), 0);
    for (size_t v = 0; v < scratch_weights_.size(); ++v) {
      if (!s.watched[v]) {
        scratch_weights_[v] =
            user.topic_interest[truth_.videos[v].topic] *
            truth_.PopularityAt(static_cast<int>(v), time_s);
      }
    }
    return s.rng.Discrete(scratch_weights_);
  }

  float WatchSeconds(int video, UserState& s) {
    const GroundTruth::Video& v = truth_.videos[video];
    const double fraction =
        WatchFraction(RelativeInterest(s, v.topic), v.quality, s.rng);
    const double seconds = logs_.videos[video].duration_s * fraction;
    return static_cast<float>(std::round(seconds * 10) / 10);
  }

  void EmitWatch(int video, int64_t time_s, float watch_seconds,
                 UserState& s) {
    s.watched[video] = 1;
    s.last_topic = truth_.videos[video].topic;
    ++s.num_watches;
    watches_.push_back({time_s, s.user,
                        {logs_.users[s.user].user_id,
                         logs_.videos[video].video_id, time_s,
                         watch_seconds}});
  }

  // 1-3 distinct words of the video's topic, each from its title with
  // probability 1/2.
  std::string Query(int video, UserState& s) {
    const std::vector<std::string>& title = title_words_[video];
    const std::vector<std::string>& vocabulary =
        truth_.topics[truth_.videos[video].topic].words;
    const size_t num_words = static_cast<size_t>(s.rng.UniformInt(1, 3));
    std::vector<std::string> words;
    for (int attempt = 0; attempt < 20 && words.size() < num_words;
         ++attempt) {
      const std::vector<std::string>& source =
          s.rng.Bernoulli(0.5) ? title : vocabulary;
      const std::string& word = source[s.rng.UniformInt(source.size())];
      if (std::find(words.begin(), words.end(), word) == words.end()) {
        words.push_back(word);
      }
    }
    return absl::StrJoin(words, " ");
  }

  // The logging policy's page for the user at `time_s`: popular, fresh and
  // same-topic slots (as many as it can fill with unwatched, distinct,
  // uploaded videos), shuffled.
  std::vector<int> ComposePage(int64_t time_s, UserState& s) {
    const int size = options_.page_size;
    const int num_popular =
        static_cast<int>(std::lround(size * options_.page_popular_fraction));
    const int num_fresh = std::min<int>(
        size - num_popular,
        static_cast<int>(std::lround(size * options_.page_fresh_fraction)));
    const int day = static_cast<int>(std::min<int64_t>(
        options_.num_days - 1, (time_s - start_s_) / kSecondsPerDay));
    const int num_uploaded = NumUploadedBy(time_s);
    const int fresh_begin = NumUploadedBy(time_s - kFreshWindowS);

    std::vector<int> page;
    auto usable = [&](int v) {
      return v >= 0 && v < num_uploaded && !s.watched[v] &&
             std::find(page.begin(), page.end(), v) == page.end();
    };
    enum Source { kPopular, kFresh, kSameTopic };
    auto draw = [&](Source source) -> int {
      switch (source) {
        case kPopular: {
          const int k = s.rng.Discrete(popular_weights_[day]);
          return k < 0 ? -1 : popular_videos_[day][k];
        }
        case kFresh:
          if (fresh_begin >= num_uploaded) return -1;
          return fresh_begin +
                 static_cast<int>(s.rng.UniformInt(num_uploaded - fresh_begin));
        case kSameTopic:
          if (s.last_topic < 0) return -1;
          return SampleFromTopic(s.last_topic, time_s, s);
      }
      return -1;
    };
    constexpr int kAttemptsPerSlot = 10;
    for (int slot = 0; slot < size; ++slot) {
      const Source wanted = slot < num_popular               ? kPopular
                            : slot < num_popular + num_fresh ? kFresh
                                                             : kSameTopic;
      int chosen = -1;
      for (int attempt = 0; attempt < kAttemptsPerSlot && chosen < 0;
           ++attempt) {
        // Half of the retries fall back to the popular list.
        const int v = draw(attempt < kAttemptsPerSlot / 2 ? wanted : kPopular);
        if (usable(v)) chosen = v;
      }
      for (int attempt = 0; attempt < kAttemptsPerSlot && chosen < 0;
           ++attempt) {
        if (num_uploaded == 0) break;
        const int v = static_cast<int>(s.rng.UniformInt(num_uploaded));
        if (usable(v)) chosen = v;
      }
      if (chosen >= 0) page.push_back(chosen);
    }
    s.rng.Shuffle(&page);
    return page;
  }

  // Shows a page at `time_s`; the clicked videos are then watched one
  // after the other, a few seconds apart. A click whose watch would start
  // after the window is dropped (the impression becomes unclicked), so that
  // every clicked impression has its watch. Returns the end of the last
  // watch, or `time_s` if none.
  int64_t ShowPage(int64_t time_s, UserState& s, std::vector<Page>* pages) {
    Page page;
    page.time_s = time_s;
    page.user = s.user;
    const std::vector<int> videos = ComposePage(time_s, s);
    for (int position = 0; position < static_cast<int>(videos.size());
         ++position) {
      const int v = videos[position];
      const GroundTruth::Video& video = truth_.videos[v];
      const double p_click =
          options_.max_click_probability *
          std::sqrt(RelativeInterest(s, video.topic)) * video.attractiveness /
          (1 + options_.position_bias * position);
      ImpressionRecord row;
      row.user_id = logs_.users[s.user].user_id;
      row.time_s = time_s;
      row.position = position;
      row.video_id = logs_.videos[v].video_id;
      row.clicked = s.rng.Bernoulli(p_click);
      if (row.clicked) row.watch_seconds = WatchSeconds(v, s);
      page.rows.push_back(std::move(row));
    }

    int64_t t = time_s;
    for (int position = 0; position < static_cast<int>(videos.size());
         ++position) {
      ImpressionRecord& row = page.rows[position];
      if (!row.clicked) continue;
      const int64_t watch_time = t + s.rng.UniformInt(2, 10);
      if (watch_time >= end_s_) {
        row.clicked = false;
        row.watch_seconds = 0;
        continue;
      }
      EmitWatch(videos[position], watch_time, row.watch_seconds, s);
      t = watch_time + static_cast<int64_t>(std::ceil(row.watch_seconds));
    }
    pages->push_back(std::move(page));
    return t;
  }

  void SimulateUser(int u, std::vector<Page>* pages) {
    UserState s{u, std::vector<char>(options_.num_videos, 0), -1, 0,
                Rng(StreamSeed(options_.seed, kActivityStreamBase + u))};

    // Heavy-tailed activity with mean `mean_watches_per_user`.
    const double sigma = options_.watches_log_sigma;
    const double mu = std::log(options_.mean_watches_per_user) -
                      sigma * sigma / 2;
    const int64_t planned = std::clamp<int64_t>(
        std::llround(s.rng.LogNormal(mu, sigma)),
        options_.min_watches_per_user,
        std::max(options_.min_watches_per_user,
                 options_.max_watches_per_user));
    const int64_t plan_end =
        std::max(start_s_ + 1, end_s_ - std::min<int64_t>(
                                            kEndReserveS, end_s_ - start_s_ - 1));
    std::vector<int64_t> step_times(planned);
    for (int64_t& t : step_times) {
      t = start_s_ + s.rng.UniformInt(plan_end - start_s_);
    }
    std::sort(step_times.begin(), step_times.end());

    int64_t free_at = start_s_;  // When the user is done with the last step.
    for (size_t k = 0; k < step_times.size() && s.num_watches < planned;
         ++k) {
      const int64_t t = std::max(step_times[k], free_at);
      if (t >= end_s_) break;
      int64_t done = t;
      if (s.rng.Bernoulli(options_.search_probability)) {
        const int64_t watch_time = t + s.rng.UniformInt(10, 180);
        const int v = ChooseOrganicVideo(watch_time, s);
        if (v < 0 || watch_time >= end_s_) break;
        searches_.push_back(
            {t, u, {logs_.users[u].user_id, t, Query(v, s)}});
        const float seconds = WatchSeconds(v, s);
        EmitWatch(v, watch_time, seconds, s);
        done = watch_time + static_cast<int64_t>(std::ceil(seconds));
      } else if (s.rng.Bernoulli(options_.page_probability)) {
        const int64_t before = s.num_watches;
        done = ShowPage(t, s, pages);
        if (s.num_watches == before) {  // Nothing clicked: watch organically.
          const int64_t watch_time = t + s.rng.UniformInt(5, 60);
          const int v = ChooseOrganicVideo(watch_time, s);
          if (v < 0 || watch_time >= end_s_) break;
          const float seconds = WatchSeconds(v, s);
          EmitWatch(v, watch_time, seconds, s);
          done = watch_time + static_cast<int64_t>(std::ceil(seconds));
        }
      } else {
        const int v = ChooseOrganicVideo(t, s);
        if (v < 0) break;
        const float seconds = WatchSeconds(v, s);
        EmitWatch(v, t, seconds, s);
        done = t + static_cast<int64_t>(std::ceil(seconds));
      }
      free_at = done + s.rng.UniformInt(5, 120);
    }
  }

  // Sorts every kind of event by (time, user) — unique, as one user does one
  // thing at a time — and names the pages in that order.
  void SortAndNameEvents(std::vector<Page>* pages) {
    auto by_time_then_user = [](const auto& a, const auto& b) {
      return std::tie(a.time_s, a.user) < std::tie(b.time_s, b.user);
    };
    std::sort(watches_.begin(), watches_.end(), by_time_then_user);
    std::sort(searches_.begin(), searches_.end(), by_time_then_user);
    std::sort(pages->begin(), pages->end(), by_time_then_user);
    for (TimedWatch& w : watches_) logs_.watches.push_back(std::move(w.record));
    for (TimedSearch& q : searches_) {
      logs_.searches.push_back(std::move(q.record));
    }
    const int64_t num_pages = static_cast<int64_t>(pages->size());
    for (int64_t p = 0; p < num_pages; ++p) {
      const std::string page_id = PaddedId('p', p, num_pages);
      for (ImpressionRecord& row : (*pages)[p].rows) {
        row.page_id = page_id;
        logs_.impressions.push_back(std::move(row));
      }
    }
  }

  const WorldOptions options_;
  const int64_t start_s_;
  const int64_t end_s_;

  GroundTruth truth_;
  Logs logs_;

  std::vector<double> topic_prior_;
  std::vector<std::vector<double>> region_tilt_;
  std::vector<std::vector<double>> age_tilt_;
  std::vector<std::vector<double>> gender_tilt_;
  std::vector<std::string> channel_languages_;
  std::vector<double> channel_activity_;
  // Per video (by index): plain title words, upload time (ascending).
  std::vector<std::vector<std::string>> title_words_;
  std::vector<int64_t> upload_times_;
  // Per topic: its videos in upload order.
  std::vector<std::vector<int>> videos_by_topic_;
  // Sum over users of their interest per topic.
  std::vector<double> population_interest_;
  // Per day of the window: the policy's popular videos and their weights.
  std::vector<std::vector<int>> popular_videos_;
  std::vector<std::vector<double>> popular_weights_;

  std::vector<TimedWatch> watches_;
  std::vector<TimedSearch> searches_;
  std::vector<double> scratch_weights_;
};

absl::Status CheckRange(absl::string_view name, double value, double lo,
                        double hi) {
  if (!(value >= lo && value <= hi)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "WorldOptions.", name, " is ", value, "; it must be in [", lo, ", ",
        hi, "]"));
  }
  return absl::OkStatus();
}

absl::Status CheckAtLeast(absl::string_view name, double value, double lo) {
  if (!(value >= lo)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "WorldOptions.", name, " is ", value, "; it must be >= ", lo));
  }
  return absl::OkStatus();
}

absl::Status CheckPositive(absl::string_view name, double value) {
  if (!(value > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "WorldOptions.", name, " is ", value, "; it must be > 0"));
  }
  return absl::OkStatus();
}

}  // namespace

WorldOptions SmallWorldOptions() { return WorldOptions(); }

WorldOptions TinyWorldOptions() {
  WorldOptions options;
  options.num_users = 200;
  options.num_videos = 400;
  options.num_topics = 8;
  options.num_channels = 40;
  options.num_days = 14;
  options.mean_watches_per_user = 20;
  return options;
}

WorldOptions MediumWorldOptions() {
  WorldOptions options;
  options.num_users = 20000;
  options.num_videos = 30000;
  options.num_topics = 30;
  options.num_channels = 2000;
  options.num_days = 60;
  options.mean_watches_per_user = 50;
  return options;
}

absl::StatusOr<WorldOptions> WorldOptionsForPreset(absl::string_view preset) {
  if (preset == "tiny") return TinyWorldOptions();
  if (preset == "small") return SmallWorldOptions();
  if (preset == "medium") return MediumWorldOptions();
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown world preset \"", preset, "\"; use tiny, small or medium"));
}

absl::Status ValidateWorldOptions(const WorldOptions& o) {
  const std::vector<absl::Status> checks = {
      CheckAtLeast("num_users", o.num_users, 1),
      CheckAtLeast("num_videos", o.num_videos, 1),
      CheckRange("num_topics", o.num_topics, 1, 100000),
      CheckAtLeast("num_channels", o.num_channels, 1),
      CheckAtLeast("num_days", o.num_days, 1),
      CheckAtLeast("pre_window_days", o.pre_window_days, 0),
      CheckAtLeast("start_time_s", static_cast<double>(o.start_time_s),
                   static_cast<double>(o.pre_window_days) * kSecondsPerDay),
      CheckRange("pre_window_upload_fraction", o.pre_window_upload_fraction, 0,
                 o.pre_window_days > 0 ? 1 : 0),
      CheckPositive("median_duration_s", o.median_duration_s),
      CheckAtLeast("duration_log_sigma", o.duration_log_sigma, 0),
      CheckRange("channel_topic_affinity", o.channel_topic_affinity, 0, 1),
      CheckRange("second_topic_probability", o.second_topic_probability, 0, 1),
      CheckRange("clickbait_fraction", o.clickbait_fraction, 0, 1),
      CheckAtLeast("popularity_zipf_exponent", o.popularity_zipf_exponent, 0),
      CheckPositive("popularity_half_life_days", o.popularity_half_life_days),
      CheckRange("evergreen_popularity", o.evergreen_popularity, 0, 1),
      CheckRange("favourite_interest_mass", o.favourite_interest_mass, 0, 1),
      CheckAtLeast("demographic_tilt", o.demographic_tilt, 0),
      CheckRange("logged_in_probability", o.logged_in_probability, 0, 1),
      CheckPositive("mean_watches_per_user", o.mean_watches_per_user),
      CheckAtLeast("watches_log_sigma", o.watches_log_sigma, 0),
      CheckAtLeast("min_watches_per_user", o.min_watches_per_user, 0),
      CheckAtLeast("max_watches_per_user", o.max_watches_per_user,
                   std::max(1, o.min_watches_per_user)),
      CheckRange("search_probability", o.search_probability, 0, 1),
      CheckRange("page_probability", o.page_probability, 0, 1),
      CheckAtLeast("page_size", o.page_size, 1),
      CheckRange("page_popular_fraction", o.page_popular_fraction, 0, 1),
      CheckRange("page_fresh_fraction", o.page_fresh_fraction, 0,
                 1 - o.page_popular_fraction),
      CheckRange("max_click_probability", o.max_click_probability, 0, 1),
      CheckAtLeast("position_bias", o.position_bias, 0),
  };
  for (const absl::Status& status : checks) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

double GroundTruth::PopularityAt(int video, int64_t time_s) const {
  const Video& v = videos[video];
  if (time_s < v.upload_time_s) return 0;
  const double age_s = static_cast<double>(time_s - v.upload_time_s);
  return v.base_popularity *
         (evergreen_popularity + (1 - evergreen_popularity) *
                                     std::exp2(-age_s / popularity_half_life_s));
}

absl::StatusOr<Logs> GenerateWorld(const WorldOptions& options,
                                   GroundTruth* truth) {
  if (absl::Status status = ValidateWorldOptions(options); !status.ok()) {
    return status;
  }
  return WorldGenerator(options).Generate(truth);
}

}  // namespace recsys
