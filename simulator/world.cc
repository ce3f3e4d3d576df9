#include "simulator/world.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "simulator/world_topics.h"

namespace recsys {

namespace {

// ---------------------------------------------------------------------------
// CSV writing in the dialect of common/logs/logs.h, for the ground-truth files
// (the logs themselves go through common/logs' `LogWriter`).

// Appends CSV rows, field by field, to `path`.tmp through a buffer, and
// renames it to `path` on `Finish`. Quoting and number formatting are those
// of `WriteLogs`: a field is quoted only if it contains ',', '"', '\r' or
// '\n' (inner quotes doubled), floats are the shortest text that reads back
// as the same value, booleans 0/1. Write errors are sticky and reported by
// `Finish`. Not thread-safe.
class CsvFileWriter {
 public:
  static absl::StatusOr<std::unique_ptr<CsvFileWriter>> Create(
      const std::string& path, const std::vector<absl::string_view>& columns) {
    const std::string temp_path = path + ".tmp";
    std::FILE* file = std::fopen(temp_path.c_str(), "wb");
    if (file == nullptr) {
      return absl::InternalError(
          absl::StrCat(temp_path, ": cannot be opened for writing"));
    }
    std::unique_ptr<CsvFileWriter> writer(new CsvFileWriter(path, file));
    for (absl::string_view column : columns) writer->Text(column);
    writer->EndRow();
    return writer;
  }

  ~CsvFileWriter() {
    if (file_ != nullptr) std::fclose(file_);
    if (!finished_) std::remove((path_ + ".tmp").c_str());
  }

  CsvFileWriter(const CsvFileWriter&) = delete;
  CsvFileWriter& operator=(const CsvFileWriter&) = delete;

  void Text(absl::string_view field) {
    Separator();
    if (field.find_first_of(",\"\r\n") == absl::string_view::npos) {
      buffer_.append(field.data(), field.size());
      return;
    }
    buffer_.push_back('"');
    for (char c : field) {
      if (c == '"') buffer_.push_back('"');
      buffer_.push_back(c);
    }
    buffer_.push_back('"');
  }
  void Int(int64_t value) {
    Separator();
    absl::StrAppend(&buffer_, value);
  }
  void Float(float value) {
    Separator();
    char text[64];
    const auto [end, ec] = std::to_chars(text, text + sizeof(text), value);
    if (ec == std::errc()) buffer_.append(text, end);
  }
  void Bool(bool value) {
    Separator();
    buffer_.push_back(value ? '1' : '0');
  }
  void EndRow() {
    buffer_.push_back('\n');
    first_field_ = true;
    constexpr size_t kFlushBytes = size_t{1} << 20;
    if (buffer_.size() >= kFlushBytes) Flush();
  }

  // Flushes, closes and renames the file into place.
  absl::Status Finish() {
    finished_ = true;
    Flush();
    if (std::fclose(file_) != 0 && status_.ok()) {
      status_ = absl::InternalError(
          absl::StrCat(path_, ".tmp: write failed (disk full or no access?)"));
    }
    file_ = nullptr;
    if (!status_.ok()) {
      std::remove((path_ + ".tmp").c_str());
      return status_;
    }
    std::error_code ec;
    std::filesystem::rename(path_ + ".tmp", path_, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("cannot rename ", path_,
                                              ".tmp to ", path_, ": ",
                                              ec.message()));
    }
    return absl::OkStatus();
  }

 private:
  CsvFileWriter(std::string path, std::FILE* file)
      : path_(std::move(path)), file_(file) {}

  void Separator() {
    if (!first_field_) buffer_.push_back(',');
    first_field_ = false;
  }

  void Flush() {
    if (status_.ok() && !buffer_.empty() &&
        std::fwrite(buffer_.data(), 1, buffer_.size(), file_) !=
            buffer_.size()) {
      status_ = absl::InternalError(
          absl::StrCat(path_, ".tmp: write failed (disk full or no access?)"));
    }
    buffer_.clear();
  }

  const std::string path_;
  std::FILE* file_;
  std::string buffer_;
  bool first_field_ = true;
  bool finished_ = false;
  absl::Status status_;
};

std::string JoinPath(const std::string& dir, absl::string_view file) {
  return (std::filesystem::path(dir) / std::string(file)).string();
}

absl::Status CreateDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create directory ", dir, ": ", ec.message()));
  }
  return absl::OkStatus();
}

// The first error of `statuses`, or OK.
absl::Status FirstError(const std::vector<absl::Status>& statuses) {
  for (const absl::Status& status : statuses) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

constexpr int64_t kSecondsPerDay = 86400;
// The logging policy's "fresh" slots come from uploads this recent.
constexpr int64_t kFreshWindowS = 3 * kSecondsPerDay;
// Length of the per-day list of globally popular videos the policy draws
// its "popular" slots from.
constexpr int kPopularListSize = 100;
// Activity is planned inside [start, end - kEndReserveS), so the last
// steps (which run a few minutes to hours) still end inside the window.
constexpr int64_t kEndReserveS = kSecondsPerDay / 2;
// Click probability factor for a series episode whose previous episode the
// user has not watched: people rarely jump into the middle of a series.
constexpr double kUnfollowedEpisodeClickFactor = 1.0 / 3;
// Watch fraction: clamp(intercept + quality and interest terms + noise,
// min, 1).
constexpr double kWatchFractionIntercept = 0.1;
constexpr double kWatchFractionPerQuality = 0.5;
constexpr double kWatchFractionPerInterest = 0.3;
constexpr double kWatchFractionNoise = 0.12;
constexpr double kMinWatchFraction = 0.05;
// Draws from a topic's popularity that may hit already watched videos
// before an exact scan of the topic takes over; more for a user's own
// choice, which also rejects most videos in languages they do not speak.
constexpr int kTopicDrawAttempts = 16;
constexpr int kOrganicTopicDrawAttempts = 64;
// A user's running mean of watches per step starts from the world's mean,
// estimated on this many users, with the weight of this many steps.
constexpr int kPilotUsers = 300;
constexpr int kPriorSteps = 4;
// Title words of a stand-alone video, and of a series' name.
constexpr int kMinTitleWords = 3;
constexpr int kMaxTitleWords = 6;
constexpr int kMinSeriesNameWords = 2;
constexpr int kMaxSeriesNameWords = 4;

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
  // Per-user activity: kActivityStreamBase + user index.
  kActivityStreamBase = uint64_t{1} << 32,
  // Per-user demographics and tastes: kUserStreamBase + user index.
  kUserStreamBase = uint64_t{2} << 32,
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

// Draws indices with probability proportional to fixed weights (all >= 0,
// some > 0) in O(log n): a binary search in their cumulative sums.
class WeightedSampler {
 public:
  WeightedSampler() = default;
  explicit WeightedSampler(const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) cumulative_.push_back(total += w);
  }

  int Draw(Rng& rng) const {
    const double target = rng.Uniform() * cumulative_.back();
    const auto it =
        std::upper_bound(cumulative_.begin(), cumulative_.end(), target);
    return static_cast<int>(
        std::min<ptrdiff_t>(it - cumulative_.begin(), cumulative_.size() - 1));
  }

 private:
  std::vector<double> cumulative_;
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
constexpr char kEnglish[] = "en";

// The distinct languages of `kRegions`, in order of first appearance; a
// set of them is a bit mask over these indices.
const std::vector<std::string>& Languages() {
  static const std::vector<std::string>& languages = *[] {
    auto* list = new std::vector<std::string>;
    for (const Region& region : kRegions) {
      if (std::find(list->begin(), list->end(), region.language) ==
          list->end()) {
        list->push_back(region.language);
      }
    }
    return list;
  }();
  return languages;
}

// Index of `language` in `Languages()`.
int LanguageIndex(absl::string_view language) {
  const std::vector<std::string>& languages = Languages();
  return static_cast<int>(
      std::find(languages.begin(), languages.end(), language) -
      languages.begin());
}

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

// Digits of the IDs of `count` things: at least five, more if needed.
int IdWidth(int64_t count) {
  int width = 5;
  for (int64_t n = 100000; n < count; n *= 10) ++width;
  return width;
}

// "u00042": `prefix`, then `index` zero-padded to `width` digits.
std::string PaddedId(char prefix, int64_t index, int width) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), index);
  const int num_digits = static_cast<int>(end - digits);
  std::string id(1, prefix);
  if (num_digits < width) id.append(width - num_digits, '0');
  id.append(digits, end);
  return id;
}

double Clamp(double x, double lo, double hi) {
  return std::min(hi, std::max(lo, x));
}

// A title in compact form: indices into the main topic's word list, and
// punctuation. A series episode's title is its series' name followed by
// " (part k)".
struct TitleSpec {
  uint8_t words[kMaxTitleWords] = {};
  uint8_t num_words = 0;
  // A comma after the second word (titles of 4+ words).
  bool comma = false;
  // The last word in double quotes.
  bool quoted = false;
};

// What videos.csv needs beyond `GroundTruth::Video`.
struct VideoExtras {
  TitleSpec title;
  float duration_s = 0;
  // Index of the second `topics` label, or -1.
  int32_t second_topic = -1;
};

// One user, made and simulated: their users.csv row, hidden tastes, and
// events, each kind in time order. Page rows have no `page_id` yet.
struct UserActivity {
  UserRecord record;
  GroundTruth::User truth;
  std::vector<WatchRecord> watches;
  std::vector<SearchRecord> searches;
  std::vector<std::vector<ImpressionRecord>> pages;
};

// ---------------------------------------------------------------------------
// The generator.

// Builds the catalogue and the population's aggregate tastes (`Build`),
// then makes and simulates one user at a time (`SimulateUser`), each from
// their own random streams, so that users can be simulated and written
// one by one. Memory: the catalogue (~150 bytes per video) and one user.
class WorldGenerator {
 public:
  explicit WorldGenerator(const WorldOptions& options)
      : options_(options),
        start_s_(options.start_time_s),
        end_s_(options.start_time_s + options.num_days * kSecondsPerDay),
        video_id_width_(IdWidth(options.num_videos)),
        user_id_width_(IdWidth(options.num_users)),
        channel_id_width_(IdWidth(options.num_channels)),
        watched_(options.num_videos, 0) {}

  // Everything but the users' activity. Call once, first.
  void Build() {
    MakeTopics();
    MakeChannels();
    MakeVideos();
    IndexTopics();
    SumPopulationInterest();
    MakePopularLists();
    EstimateWatchesPerStep();
  }

  // The world's truth without its users (see `SimulateUser`).
  const GroundTruth& truth() const { return truth_; }

  std::string VideoId(int video) const {
    return PaddedId('v', video, video_id_width_);
  }
  std::string ChannelId(int channel) const {
    return PaddedId('c', channel, channel_id_width_);
  }
  std::string SeriesId(int series) const {
    return PaddedId('s', series, IdWidth(truth_.series.size()));
  }

  VideoRecord VideoRecordOf(int v) const {
    const GroundTruth::Video& video = truth_.videos[v];
    const VideoExtras& extras = extras_[v];
    VideoRecord record;
    record.video_id = VideoId(v);
    record.title = TitleOf(v);
    record.channel_id = ChannelId(video.channel);
    record.topics = truth_.topics[video.topic].name;
    if (extras.second_topic >= 0) {
      absl::StrAppend(&record.topics, "|",
                      truth_.topics[extras.second_topic].name);
    }
    record.language = channel_languages_[video.channel];
    record.upload_time_s = video.upload_time_s;
    record.duration_s = extras.duration_s;
    return record;
  }

  // Makes user `u` and simulates their activity into `activity` (cleared
  // first). Users may be simulated in any order, with the same result.
  // Returns the number of steps the user took.
  int64_t SimulateUser(int u, UserActivity* activity) {
    activity->watches.clear();
    activity->searches.clear();
    activity->pages.clear();
    MakeUser(u, &activity->record, &activity->truth);
    UserState s{u,
                activity->record.user_id,
                &activity->truth,
                activity,
                Rng(StreamSeed(options_.seed, kActivityStreamBase + u)),
                LanguageMask(activity->truth.languages),
                LanguageMask({activity->record.language}),
                /*last_topic=*/-1,
                /*num_watches=*/0,
                /*watched_list=*/{},
                /*pending_episodes=*/{}};
    Simulate(s);
    for (int v : s.watched_list) watched_[v] = 0;
    return s.steps_taken;
  }

 private:
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
    truth_.viral_popularity = options_.viral_popularity;
  }

  void MakeChannels() {
    Rng rng(StreamSeed(options_.seed, kChannelStream));
    const std::vector<double> region_weights = Weights(kRegions);
    for (int c = 0; c < options_.num_channels; ++c) {
      truth_.channel_topics.push_back(rng.Discrete(topic_prior_));
      channel_languages_.push_back(
          kRegions[rng.Discrete(region_weights)].language);
      channel_language_index_.push_back(
          static_cast<uint8_t>(LanguageIndex(channel_languages_.back())));
      // Heavy-tailed output: a few channels upload most videos.
      channel_activity_.push_back(rng.LogNormal(0, 1.0));
    }
    channel_sampler_ = WeightedSampler(channel_activity_);
    topic_sampler_ = WeightedSampler(topic_prior_);
  }

  // A video or series as drawn, before IDs follow upload order.
  struct DrawnCatalogue {
    std::vector<GroundTruth::Video> videos;
    std::vector<VideoExtras> extras;
    // Per series, its videos' draw indices in episode order.
    std::vector<std::vector<int>> series;
  };

  void MakeVideos() {
    Rng rng(StreamSeed(options_.seed, kVideoStream));
    const int n = options_.num_videos;
    DrawnCatalogue drawn;
    drawn.videos.reserve(n);
    drawn.extras.reserve(n);
    // A draw starts a series with the probability that makes
    // `series_fraction` of the videos episodes, given the mean length.
    const double f = options_.series_fraction;
    const double mean_episodes =
        (options_.min_series_episodes + options_.max_series_episodes) / 2.0;
    const double series_probability =
        f >= 1 ? 1 : f / (mean_episodes * (1 - f) + f);
    while (static_cast<int>(drawn.videos.size()) < n) {
      if (rng.Bernoulli(series_probability)) {
        DrawSeries(rng, &drawn);
      } else {
        DrawStandAlone(rng, &drawn);
      }
    }
    OrderByUpload(drawn);
    AssignBasePopularity(rng);
  }

  // A channel, and a main topic: the channel's, or any by topic prior.
  std::pair<int, int> DrawChannelAndTopic(Rng& rng) {
    const int channel = channel_sampler_.Draw(rng);
    const int topic = rng.Bernoulli(options_.channel_topic_affinity)
                          ? truth_.channel_topics[channel]
                          : topic_sampler_.Draw(rng);
    return {channel, topic};
  }

  int DrawSecondTopic(int topic, Rng& rng) {
    const int num_topics = options_.num_topics;
    if (num_topics > 1 && rng.Bernoulli(options_.second_topic_probability)) {
      return (topic + 1 + static_cast<int>(rng.UniformInt(num_topics - 1))) %
             num_topics;
    }
    return -1;
  }

  // Uploads: `pre_window_upload_fraction` before the window, the rest in it.
  int64_t DrawUploadTime(Rng& rng) {
    return rng.Bernoulli(options_.pre_window_upload_fraction)
               ? start_s_ - 1 -
                     rng.UniformInt(options_.pre_window_days * kSecondsPerDay)
               : start_s_ + rng.UniformInt(end_s_ - start_s_);
  }

  double DrawDurationS(Rng& rng) {
    return Clamp(rng.LogNormal(std::log(options_.median_duration_s),
                               options_.duration_log_sigma),
                 30, 10800);
  }

  // `min_words`-`max_words` distinct words of `topic`, and punctuation
  // sometimes (so that the CSV quoting is exercised by every data set).
  TitleSpec DrawTitle(int topic, int min_words, int max_words, Rng& rng) {
    const int vocabulary = static_cast<int>(truth_.topics[topic].words.size());
    std::vector<uint8_t> words(vocabulary);
    std::iota(words.begin(), words.end(), 0);
    rng.Shuffle(&words);
    TitleSpec title;
    title.num_words = static_cast<uint8_t>(
        std::min<int64_t>(vocabulary, rng.UniformInt(min_words, max_words)));
    std::copy(words.begin(), words.begin() + title.num_words, title.words);
    title.comma = title.num_words >= 4 && rng.Bernoulli(0.12);
    title.quoted = rng.Bernoulli(0.05);
    return title;
  }

  void DrawStandAlone(Rng& rng, DrawnCatalogue* drawn) {
    GroundTruth::Video v;
    VideoExtras extras;
    std::tie(v.channel, v.topic) = DrawChannelAndTopic(rng);
    extras.second_topic = DrawSecondTopic(v.topic, rng);
    if (rng.Bernoulli(options_.clickbait_fraction)) {
      v.clickbait = true;
      v.quality = rng.Uniform(0, 0.3);
      v.attractiveness = rng.Uniform(0.75, 1.0);
    } else {
      v.quality = Clamp(0.6 + 0.18 * rng.Normal(), 0, 1);
      v.attractiveness =
          Clamp(0.2 + 0.4 * v.quality + 0.15 * rng.Normal(), 0, 1);
    }
    v.upload_time_s = DrawUploadTime(rng);
    extras.duration_s = static_cast<float>(std::round(DrawDurationS(rng)));
    extras.title = DrawTitle(v.topic, kMinTitleWords, kMaxTitleWords, rng);
    if (rng.Bernoulli(options_.viral_fraction)) {
      v.viral = true;
      v.viral_start_s =
          std::max(v.upload_time_s, start_s_) +
          static_cast<int64_t>(rng.Uniform() * options_.viral_max_delay_days *
                               kSecondsPerDay);
      v.viral_end_s = v.viral_start_s + ViralDurationS();
    }
    drawn->videos.push_back(v);
    drawn->extras.push_back(extras);
  }

  int64_t ViralDurationS() const {
    return std::max<int64_t>(
        1, std::llround(options_.viral_duration_days * kSecondsPerDay));
  }

  // A series: one channel, topic, name and style; episodes uploaded in
  // order until the planned length, the catalogue size or the window's end.
  void DrawSeries(Rng& rng, DrawnCatalogue* drawn) {
    const int planned = static_cast<int>(std::min<int64_t>(
        rng.UniformInt(options_.min_series_episodes,
                       options_.max_series_episodes),
        options_.num_videos - static_cast<int64_t>(drawn->videos.size())));
    const auto [channel, topic] = DrawChannelAndTopic(rng);
    const int second_topic = DrawSecondTopic(topic, rng);
    const double quality = Clamp(0.6 + 0.18 * rng.Normal(), 0, 1);
    const double attractiveness =
        Clamp(0.2 + 0.4 * quality + 0.15 * rng.Normal(), 0, 1);
    const double duration_s = DrawDurationS(rng);
    const TitleSpec name =
        DrawTitle(topic, kMinSeriesNameWords, kMaxSeriesNameWords, rng);
    int64_t upload_time_s = DrawUploadTime(rng);
    std::vector<int> episodes;
    for (int k = 1; k <= planned; ++k) {
      if (k > 1) {
        upload_time_s += std::llround(rng.Uniform(0.5, 1.5) *
                                      options_.series_episode_interval_days *
                                      kSecondsPerDay);
        if (upload_time_s >= end_s_) break;
      }
      GroundTruth::Video v;
      v.channel = channel;
      v.topic = topic;
      v.quality = Clamp(quality + 0.05 * rng.Normal(), 0, 1);
      v.attractiveness = Clamp(attractiveness + 0.05 * rng.Normal(), 0, 1);
      v.upload_time_s = upload_time_s;
      v.episode = k;
      VideoExtras extras;
      extras.title = name;
      extras.second_topic = second_topic;
      extras.duration_s = static_cast<float>(
          std::round(Clamp(duration_s * rng.Uniform(0.85, 1.15), 30, 10800)));
      episodes.push_back(static_cast<int>(drawn->videos.size()));
      drawn->videos.push_back(v);
      drawn->extras.push_back(extras);
    }
    if (episodes.size() == 1) {  // A lone first episode: stand-alone.
      drawn->videos[episodes[0]].episode = 0;
      drawn->extras[episodes[0]].title =
          DrawTitle(topic, kMinTitleWords, kMaxTitleWords, rng);
      return;
    }
    drawn->series.push_back(std::move(episodes));
  }

  // Video IDs and file order follow upload time; series IDs follow their
  // first episode's.
  void OrderByUpload(const DrawnCatalogue& drawn) {
    const int n = static_cast<int>(drawn.videos.size());
    std::vector<int> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      return std::tie(drawn.videos[a].upload_time_s, a) <
             std::tie(drawn.videos[b].upload_time_s, b);
    });
    std::vector<int> rank_of(n);
    for (int rank = 0; rank < n; ++rank) {
      rank_of[order[rank]] = rank;
      truth_.videos.push_back(drawn.videos[order[rank]]);
      extras_.push_back(drawn.extras[order[rank]]);
      upload_times_.push_back(drawn.videos[order[rank]].upload_time_s);
    }
    for (const std::vector<int>& episodes : drawn.series) {
      std::vector<int> ranked;
      for (int i : episodes) ranked.push_back(rank_of[i]);
      truth_.series.push_back(std::move(ranked));
    }
    std::sort(truth_.series.begin(), truth_.series.end());
    for (size_t s = 0; s < truth_.series.size(); ++s) {
      for (int v : truth_.series[s]) {
        truth_.videos[v].series = static_cast<int>(s);
      }
    }
  }

  std::string TitleOf(int v) const {
    const GroundTruth::Video& video = truth_.videos[v];
    const TitleSpec& spec = extras_[v].title;
    const std::vector<std::string>& vocabulary =
        truth_.topics[video.topic].words;
    std::string title;
    for (int i = 0; i < spec.num_words; ++i) {
      if (i > 0) title.push_back(' ');
      const bool quoted = spec.quoted && i + 1 == spec.num_words;
      if (quoted) title.push_back('"');
      title += vocabulary[spec.words[i]];
      if (quoted) title.push_back('"');
      if (spec.comma && i == 1) title.push_back(',');
    }
    if (!title.empty()) title[0] = absl::ascii_toupper(title[0]);
    if (video.episode > 0) {
      absl::StrAppend(&title, " (part ", video.episode, ")");
    }
    return title;
  }

  // Whether organic watches (and the logging policy's topic and popular
  // slots) can pick the video: all but a series' later episodes.
  bool IsOrganic(int v) const { return truth_.videos[v].episode <= 1; }

  // Zipf weights within each topic over the organically picked videos,
  // ranked by a noisy mix of attractiveness and quality: popular videos
  // tend to be good and catchy. Later episodes get their first episode's.
  void AssignBasePopularity(Rng& rng) {
    std::vector<std::vector<std::pair<double, int>>> scored(
        options_.num_topics);
    for (int v = 0; v < static_cast<int>(truth_.videos.size()); ++v) {
      if (!IsOrganic(v)) continue;
      const GroundTruth::Video& video = truth_.videos[v];
      scored[video.topic].push_back(
          {-(video.attractiveness + 0.5 * video.quality + 0.4 * rng.Normal()),
           v});
    }
    for (std::vector<std::pair<double, int>>& topic : scored) {
      std::sort(topic.begin(), topic.end());
      for (size_t rank = 0; rank < topic.size(); ++rank) {
        truth_.videos[topic[rank].second].base_popularity =
            std::pow(static_cast<double>(rank + 1),
                     -options_.popularity_zipf_exponent);
      }
    }
    for (const std::vector<int>& episodes : truth_.series) {
      for (int v : episodes) {
        truth_.videos[v].base_popularity =
            truth_.videos[episodes[0]].base_popularity;
      }
    }
  }

  // Per topic: its organic videos in upload order, with prefix sums of
  // the two parts of their popularity, so that a draw by popularity at any
  // time is a binary search: base * evergreen, and base * (1 - evergreen) *
  // 2^((upload - end) / half_life) (times 2^((end - t) / half_life) at t).
  // And its viral videos by start of virality.
  void IndexTopics() {
    const int num_topics = options_.num_topics;
    organic_by_topic_.assign(num_topics, {});
    evergreen_prefix_.assign(num_topics, {0.0});
    decay_prefix_.assign(num_topics, {0.0});
    viral_by_topic_.assign(num_topics, {});
    const double half_life_s = truth_.popularity_half_life_s;
    for (int v = 0; v < static_cast<int>(truth_.videos.size()); ++v) {
      const GroundTruth::Video& video = truth_.videos[v];
      if (!IsOrganic(v)) continue;
      const int t = video.topic;
      organic_by_topic_[t].push_back(v);
      evergreen_prefix_[t].push_back(evergreen_prefix_[t].back() +
                                     video.base_popularity);
      decay_prefix_[t].push_back(
          decay_prefix_[t].back() +
          video.base_popularity *
              std::exp2(static_cast<double>(video.upload_time_s - end_s_) /
                        half_life_s));
      if (video.viral) viral_by_topic_[t].push_back(v);
    }
    for (std::vector<int>& virals : viral_by_topic_) {
      std::sort(virals.begin(), virals.end(), [&](int a, int b) {
        return std::tie(truth_.videos[a].viral_start_s, a) <
               std::tie(truth_.videos[b].viral_start_s, b);
      });
    }
  }

  // --- Users.

  // User `u`'s users.csv row and hidden tastes, from their own stream.
  void MakeUser(int u, UserRecord* record, GroundTruth::User* user) {
    static const std::vector<double>& region_weights =
        *new std::vector<double>(Weights(kRegions));
    static const std::vector<double>& device_weights =
        *new std::vector<double>(Weights(kDevices));
    static const std::vector<double>& age_weights =
        *new std::vector<double>(Weights(kAgeGroups));
    static const std::vector<double>& favourite_count_weights =
        *new std::vector<double>(std::begin(kFavouriteCountWeights),
                                 std::end(kFavouriteCountWeights));
    Rng rng(StreamSeed(options_.seed, kUserStreamBase + u));

    // Hidden demographics, which shape tastes whether or not logged.
    const int region = rng.Discrete(region_weights);
    const int age_group = rng.Discrete(age_weights);
    const AgeGroup& group = kAgeGroups[age_group];
    const int age =
        static_cast<int>(rng.UniformInt(group.min_age, group.max_age));
    const int gender = static_cast<int>(rng.UniformInt(kNumGenders));

    *record = UserRecord();
    record->user_id = PaddedId('u', u, user_id_width_);
    record->region = kRegions[region].code;
    record->device = kDevices[rng.Discrete(device_weights)].name;
    record->logged_in = rng.Bernoulli(options_.logged_in_probability);
    if (record->logged_in) {
      if (!rng.Bernoulli(kUnstatedGenderProbability)) {
        record->gender = kGenders[gender];
      }
      if (!rng.Bernoulli(kUnstatedAgeProbability)) record->age = age;
    }

    const int num_topics = options_.num_topics;
    std::vector<double> favourite_prior(num_topics);
    for (int t = 0; t < num_topics; ++t) {
      favourite_prior[t] = topic_prior_[t] * region_tilt_[region][t] *
                           age_tilt_[age_group][t] * gender_tilt_[gender][t];
    }
    *user = MakeInterests(1 + rng.Discrete(favourite_count_weights),
                          std::move(favourite_prior), rng);

    // Drawn last, so that tastes do not depend on the language knobs.
    const char* language = kRegions[region].language;
    record->language = language;
    user->languages = {language};
    if (absl::string_view(language) != kEnglish &&
        rng.Bernoulli(options_.english_second_language_probability)) {
      user->languages.push_back(kEnglish);
    }
  }

  static uint32_t LanguageMask(const std::vector<std::string>& languages) {
    uint32_t mask = 0;
    for (const std::string& language : languages) {
      const int index = LanguageIndex(language);
      if (index < static_cast<int>(Languages().size())) mask |= 1u << index;
    }
    return mask;
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

  // The population's interest per topic, which the logging policy's
  // popular list follows (a first pass over the users).
  void SumPopulationInterest() {
    population_interest_.assign(options_.num_topics, 0);
    UserRecord record;
    GroundTruth::User user;
    for (int u = 0; u < options_.num_users; ++u) {
      MakeUser(u, &record, &user);
      for (int t = 0; t < options_.num_topics; ++t) {
        population_interest_[t] += user.topic_interest[t];
      }
    }
  }

  // --- Logging policy.

  // Per day, the videos with the most expected watches at noon: the
  // population's interest in the topic times the video's share of the
  // topic's popularity then.
  void MakePopularLists() {
    const int n = static_cast<int>(truth_.videos.size());
    std::vector<double> popularity(n);
    std::vector<double> topic_total(options_.num_topics);
    std::vector<std::pair<double, int>> scored;
    for (int day = 0; day < options_.num_days; ++day) {
      const int64_t noon = start_s_ + day * kSecondsPerDay + kSecondsPerDay / 2;
      std::fill(topic_total.begin(), topic_total.end(), 0.0);
      for (int v = 0; v < n; ++v) {
        popularity[v] = truth_.PopularityAt(v, noon);
        topic_total[truth_.videos[v].topic] += popularity[v];
      }
      scored.clear();
      for (int v = 0; v < n; ++v) {
        if (popularity[v] > 0) {
          const int t = truth_.videos[v].topic;
          scored.push_back(
              {population_interest_[t] * popularity[v] / topic_total[t], v});
        }
      }
      const size_t keep = std::min<size_t>(scored.size(), kPopularListSize);
      std::partial_sort(scored.begin(), scored.begin() + keep, scored.end(),
                        [](const auto& a, const auto& b) {
                          return std::tie(b.first, a.second) <
                                 std::tie(a.first, b.second);
                        });
      std::vector<int> list;
      std::vector<double> weights;
      for (size_t i = 0; i < keep; ++i) {
        list.push_back(scored[i].second);
        weights.push_back(scored[i].first);
      }
      popular_videos_.push_back(std::move(list));
      popular_weights_.push_back(std::move(weights));
    }
  }

  // The prior of every user's running mean of watches per step (see
  // `Simulate`): the mean over a pilot of the first users, simulated with a
  // prior of 1. Without it, each user's first steps would be taken too
  // often, and activity would be higher on the first days.
  void EstimateWatchesPerStep() {
    watches_per_step_prior_ = 1;
    const int pilot = std::min(options_.num_users, kPilotUsers);
    int64_t watches = 0;
    int64_t steps = 0;
    UserActivity activity;
    for (int u = 0; u < pilot; ++u) {
      steps += SimulateUser(u, &activity);
      watches += static_cast<int64_t>(activity.watches.size());
    }
    if (steps > 0) {
      watches_per_step_prior_ =
          std::max(1.0, static_cast<double>(watches) / steps);
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

  // The state of one user while their activity is simulated. Which videos
  // they watched is in `watched_` (shared, reset after each user).
  struct UserState {
    int user = 0;
    std::string user_id;
    const GroundTruth::User* truth = nullptr;
    UserActivity* out = nullptr;
    Rng rng;
    // Spoken languages, a bit mask over `Languages()`.
    uint32_t languages = 0;
    // The stated one (users.csv), all the logging policy knows; same mask.
    uint32_t stated_language = 0;
    int last_topic = -1;
    int64_t num_watches = 0;
    std::vector<int> watched_list;
    // Next episodes the user means to watch, in the order decided.
    std::vector<int> pending_episodes;
    int64_t steps_taken = 0;
  };

  double RelativeInterest(const UserState& s, int topic) const {
    return s.truth->topic_interest[topic] /
           s.truth->topic_interest[s.truth->favourite_topics[0]];
  }

  // Whether the user speaks the video's language.
  bool Speaks(const UserState& s, int video) const {
    return InLanguages(s.languages, video);
  }

  // Whether the video's language (its channel's) is in `mask`, a bit mask
  // over `Languages()`.
  bool InLanguages(uint32_t mask, int video) const {
    return (mask >> channel_language_index_[truth_.videos[video].channel]) & 1u;
  }

  // Whether the logging policy puts a drawn video on the user's page: in
  // the stated language always, else with
  // `policy_foreign_language_acceptance`.
  bool PolicyAccepts(int video, UserState& s) {
    return InLanguages(s.stated_language, video) ||
           s.rng.Bernoulli(options_.policy_foreign_language_acceptance);
  }

  // Whether an organic watch may pick the video (already unwatched and
  // drawn by popularity): always in a language the user speaks, else with
  // probability `foreign_language_organic_acceptance`.
  bool AcceptOrganically(int video, UserState& s) {
    return Speaks(s, video) ||
           s.rng.Bernoulli(options_.foreign_language_organic_acceptance);
  }

  // The weight factor that `AcceptOrganically` amounts to.
  double OrganicAcceptance(int video, const UserState& s) const {
    return Speaks(s, video) ? 1.0
                            : options_.foreign_language_organic_acceptance;
  }

  // The index k in [0, n) with prefix[k] <= target < prefix[k + 1].
  static int PrefixIndex(const std::vector<double>& prefix, int n,
                         double target) {
    const int k = static_cast<int>(
        std::upper_bound(prefix.begin(), prefix.begin() + n + 1, target) -
        prefix.begin() - 1);
    return std::clamp(k, 0, n - 1);
  }

  // An unwatched organic video of `topic` uploaded by `time_s`, by
  // popularity then (for the user's own choice, `organic`, times
  // `OrganicAcceptance`); -1 if there is none. Draws from the prefix sums
  // and the active viral videos, redrawing watched (and rejected) ones a
  // few times, then scans the topic exactly.
  int SampleFromTopic(int topic, int64_t time_s, bool organic,
                      UserState& s) {
    const std::vector<int>& members = organic_by_topic_[topic];
    const auto uploaded_before = [&](int64_t t, int v) {
      return t < upload_times_[v];
    };
    const int n = static_cast<int>(
        std::upper_bound(members.begin(), members.end(), time_s,
                         uploaded_before) -
        members.begin());
    if (n == 0) return -1;
    const double evergreen_share = options_.evergreen_popularity;
    const double evergreen = evergreen_share * evergreen_prefix_[topic][n];
    const double decay_scale =
        (1 - evergreen_share) *
        std::exp2(static_cast<double>(end_s_ - time_s) /
                  truth_.popularity_half_life_s);
    const double decay = decay_scale * decay_prefix_[topic][n];
    active_virals_.clear();
    const std::vector<int>& virals = viral_by_topic_[topic];
    const auto viral_before = [&](int64_t t, int v) {
      return t < truth_.videos[v].viral_start_s;
    };
    // Active: started in (time_s - duration, time_s].
    for (auto it = std::upper_bound(virals.begin(), virals.end(),
                                    time_s - ViralDurationS(), viral_before);
         it != virals.end() && truth_.videos[*it].viral_start_s <= time_s;
         ++it) {
      active_virals_.push_back(*it);
    }
    const double viral =
        options_.viral_popularity * static_cast<double>(active_virals_.size());
    const double total = evergreen + decay + viral;
    if (!(total > 0)) return -1;
    const int attempts =
        organic ? kOrganicTopicDrawAttempts : kTopicDrawAttempts;
    for (int attempt = 0; attempt < attempts; ++attempt) {
      double x = s.rng.Uniform() * total;
      int v;
      if (x < evergreen) {
        v = members[PrefixIndex(evergreen_prefix_[topic], n,
                                x / evergreen_share)];
      } else if ((x -= evergreen) < decay || active_virals_.empty()) {
        v = members[PrefixIndex(decay_prefix_[topic], n, x / decay_scale)];
      } else {
        const size_t k = static_cast<size_t>((x - decay) /
                                             options_.viral_popularity);
        v = active_virals_[std::min(k, active_virals_.size() - 1)];
      }
      if (!watched_[v] && (!organic || AcceptOrganically(v, s))) return v;
    }
    scratch_weights_.assign(n, 0);
    for (int k = 0; k < n; ++k) {
      if (!watched_[members[k]]) {
        scratch_weights_[k] =
            truth_.PopularityAt(members[k], time_s) *
            (organic ? OrganicAcceptance(members[k], s) : 1.0);
      }
    }
    const int k = s.rng.Discrete(scratch_weights_);
    return k < 0 ? -1 : members[k];
  }

  // What the user watches of their own accord at `time_s`: a topic by
  // interest, then a video in it by popularity. -1 if nothing is left.
  int ChooseOrganicVideo(int64_t time_s, UserState& s) {
    constexpr int kTopicAttempts = 8;
    for (int attempt = 0; attempt < kTopicAttempts; ++attempt) {
      const int v = SampleFromTopic(s.rng.Discrete(s.truth->topic_interest),
                                    time_s, /*organic=*/true, s);
      if (v >= 0) return v;
    }
    // Every likely topic is exhausted: anything uploaded, by popularity
    // (and language, unless only unacceptable videos are left).
    const int num_uploaded = NumUploadedBy(time_s);
    for (const bool by_language : {true, false}) {
      scratch_weights_.assign(num_uploaded, 0);
      for (int v = 0; v < num_uploaded; ++v) {
        if (!watched_[v]) {
          scratch_weights_[v] =
              s.truth->topic_interest[truth_.videos[v].topic] *
              truth_.PopularityAt(v, time_s) *
              (by_language ? OrganicAcceptance(v, s) : 1.0);
        }
      }
      const int v = s.rng.Discrete(scratch_weights_);
      if (v >= 0) return v;
    }
    return -1;
  }

  // A pending next episode uploaded by `time_s` (the earliest decided),
  // removed from the pending list; -1 if none. Drops watched ones.
  int DueEpisode(int64_t time_s, UserState& s) {
    std::vector<int>& pending = s.pending_episodes;
    pending.erase(std::remove_if(pending.begin(), pending.end(),
                                 [&](int v) { return watched_[v] != 0; }),
                  pending.end());
    for (auto it = pending.begin(); it != pending.end(); ++it) {
      if (upload_times_[*it] <= time_s) {
        const int v = *it;
        pending.erase(it);
        return v;
      }
    }
    return -1;
  }

  float WatchSeconds(int video, UserState& s) {
    const GroundTruth::Video& v = truth_.videos[video];
    const double fraction =
        WorldWatchFraction(options_, RelativeInterest(s, v.topic), v.quality,
                           Speaks(s, video), s.rng.Normal());
    const double seconds = extras_[video].duration_s * fraction;
    return static_cast<float>(std::round(seconds * 10) / 10);
  }

  // Records the watch; after a series episode, the user may decide to
  // watch the next one.
  void EmitWatch(int video, int64_t time_s, float watch_seconds,
                 UserState& s) {
    watched_[video] = 1;
    s.watched_list.push_back(video);
    const GroundTruth::Video& v = truth_.videos[video];
    s.last_topic = v.topic;
    ++s.num_watches;
    s.out->watches.push_back(
        {s.user_id, VideoId(video), time_s, watch_seconds});
    if (v.series >= 0 &&
        v.episode < static_cast<int>(truth_.series[v.series].size())) {
      const int next = truth_.series[v.series][v.episode];
      if (!watched_[next] &&
          s.rng.Bernoulli(options_.series_continue_probability)) {
        s.pending_episodes.push_back(next);
      }
    }
  }

  // Watches `video` at `time_s`; returns when the watch ends.
  int64_t WatchNow(int video, int64_t time_s, UserState& s) {
    const float seconds = WatchSeconds(video, s);
    EmitWatch(video, time_s, seconds, s);
    return time_s + static_cast<int64_t>(std::ceil(seconds));
  }

  // 1-3 distinct words of the video's topic, each from its title with
  // probability 1/2.
  std::string Query(int video, UserState& s) {
    const TitleSpec& title = extras_[video].title;
    const std::vector<std::string>& vocabulary =
        truth_.topics[truth_.videos[video].topic].words;
    const size_t num_words = static_cast<size_t>(s.rng.UniformInt(1, 3));
    std::vector<std::string> words;
    for (int attempt = 0; attempt < 20 && words.size() < num_words;
         ++attempt) {
      const std::string& word =
          s.rng.Bernoulli(0.5)
              ? vocabulary[title.words[s.rng.UniformInt(title.num_words)]]
              : vocabulary[s.rng.UniformInt(vocabulary.size())];
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
      return v >= 0 && v < num_uploaded && !watched_[v] &&
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
          return SampleFromTopic(s.last_topic, time_s, /*organic=*/false,
                                 s);
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
        if (usable(v) && PolicyAccepts(v, s)) chosen = v;
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

  double ClickProbability(int video, int position, const UserState& s) const {
    const GroundTruth::Video& v = truth_.videos[video];
    return WorldClickProbability(
        options_, RelativeInterest(s, v.topic), v.attractiveness, position,
        Speaks(s, video),
        /*unfollowed_episode=*/v.episode > 1 &&
            !watched_[truth_.series[v.series][v.episode - 2]]);
  }

  // Shows a page at `time_s`; the clicked videos are then watched one
  // after the other, a few seconds apart. A click whose watch would start
  // after the window is dropped (the impression becomes unclicked), so that
  // every clicked impression has its watch. Returns the end of the last
  // watch, or `time_s` if none.
  int64_t ShowPage(int64_t time_s, UserState& s) {
    const std::vector<int> videos = ComposePage(time_s, s);
    std::vector<ImpressionRecord> rows;
    for (int position = 0; position < static_cast<int>(videos.size());
         ++position) {
      const int v = videos[position];
      ImpressionRecord row;
      row.user_id = s.user_id;
      row.time_s = time_s;
      row.position = position;
      row.video_id = VideoId(v);
      row.clicked = s.rng.Bernoulli(ClickProbability(v, position, s));
      if (row.clicked) row.watch_seconds = WatchSeconds(v, s);
      rows.push_back(std::move(row));
    }

    int64_t t = time_s;
    for (int position = 0; position < static_cast<int>(videos.size());
         ++position) {
      ImpressionRecord& row = rows[position];
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
    s.out->pages.push_back(std::move(rows));
    return t;
  }

  // Plans the user's steps: a heavy-tailed number with mean
  // `mean_watches_per_user`, at times uniform over the window (less the
  // end reserve). Every step yields at least one watch, and some several
  // (a page with several clicks, next episodes watched right away), so
  // each step is taken with probability 1/m, m the user's running mean of
  // watches per step taken (starting from the world's, weighted as
  // `kPriorSteps` steps): the expected watches stay about the planned
  // number, and the steps taken stay uniform over the window.
  // A step is never skipped when the steps left after it could not bring
  // the user to `min_watches_per_user`, and the user stops at
  // `max_watches_per_user`. Pages are at most steps taken, so no user has
  // more pages than the maximum planned count.
  void Simulate(UserState& s) {
    const double sigma = options_.watches_log_sigma;
    const double mu = std::log(options_.mean_watches_per_user) -
                      sigma * sigma / 2;
    const int64_t min_watches = options_.min_watches_per_user;
    const int64_t max_watches =
        std::max(options_.min_watches_per_user, options_.max_watches_per_user);
    const int64_t planned = std::clamp<int64_t>(
        std::llround(s.rng.LogNormal(mu, sigma)), min_watches, max_watches);
    const int64_t plan_end = std::max(
        start_s_ + 1,
        end_s_ - std::min<int64_t>(kEndReserveS, end_s_ - start_s_ - 1));
    std::vector<int64_t> step_times(planned);
    for (int64_t& t : step_times) {
      t = start_s_ + s.rng.UniformInt(plan_end - start_s_);
    }
    std::sort(step_times.begin(), step_times.end());

    int64_t free_at = start_s_;  // When the user is done with the last step.
    size_t next_step = 0;
    int64_t& steps_taken = s.steps_taken;
    // The next step to take, or -1 when none is left.
    auto take_step = [&]() -> int64_t {
      while (next_step < step_times.size()) {
        const int64_t step_time = step_times[next_step++];
        const int64_t steps_left =
            static_cast<int64_t>(step_times.size() - next_step);
        const double watches_per_step =
            (static_cast<double>(s.num_watches) +
             kPriorSteps * watches_per_step_prior_) /
            static_cast<double>(steps_taken + kPriorSteps);
        const bool may_skip = s.num_watches + steps_left >= min_watches;
        if (may_skip && watches_per_step > 1 &&
            !s.rng.Bernoulli(1 / watches_per_step)) {
          continue;
        }
        ++steps_taken;
        return step_time;
      }
      return -1;
    };
    while (s.num_watches < max_watches) {
      // A next episode that is out is watched right away; otherwise the
      // next step taken, which may be an episode that came out since.
      int64_t t = free_at;
      int episode = DueEpisode(t, s);
      if (episode < 0) {
        const int64_t step_time = take_step();
        if (step_time < 0) break;
        t = std::max(step_time, free_at);
        episode = DueEpisode(t, s);
      }
      if (t >= end_s_) break;
      int64_t done = t;
      if (episode >= 0) {
        done = WatchNow(episode, t, s);
      } else if (s.rng.Bernoulli(options_.search_probability)) {
        const int64_t watch_time = t + s.rng.UniformInt(10, 180);
        const int v = ChooseOrganicVideo(watch_time, s);
        if (v < 0 || watch_time >= end_s_) break;
        s.out->searches.push_back({s.user_id, t, Query(v, s)});
        done = WatchNow(v, watch_time, s);
      } else if (s.rng.Bernoulli(options_.page_probability)) {
        const int64_t before = s.num_watches;
        done = ShowPage(t, s);
        if (s.num_watches == before) {  // Nothing clicked: watch organically.
          const int64_t watch_time = t + s.rng.UniformInt(5, 60);
          const int v = ChooseOrganicVideo(watch_time, s);
          if (v < 0 || watch_time >= end_s_) break;
          done = WatchNow(v, watch_time, s);
        }
      } else {
        const int v = ChooseOrganicVideo(t, s);
        if (v < 0) break;
        done = WatchNow(v, t, s);
      }
      free_at = done + s.rng.UniformInt(5, 120);
    }
  }

  const WorldOptions options_;
  const int64_t start_s_;
  const int64_t end_s_;
  const int video_id_width_;
  const int user_id_width_;
  const int channel_id_width_;

  // Without users.
  GroundTruth truth_;

  std::vector<double> topic_prior_;
  std::vector<std::vector<double>> region_tilt_;
  std::vector<std::vector<double>> age_tilt_;
  std::vector<std::vector<double>> gender_tilt_;
  std::vector<std::string> channel_languages_;
  // Per channel: its language's index in `Languages()`.
  std::vector<uint8_t> channel_language_index_;
  std::vector<double> channel_activity_;
  WeightedSampler channel_sampler_;
  WeightedSampler topic_sampler_;
  // Per video (by index): title and duration; upload time (ascending).
  std::vector<VideoExtras> extras_;
  std::vector<int64_t> upload_times_;
  // Per topic: its organic videos in upload order and the prefix sums of
  // their popularity parts (see `IndexTopics`); its viral videos by start.
  std::vector<std::vector<int>> organic_by_topic_;
  std::vector<std::vector<double>> evergreen_prefix_;
  std::vector<std::vector<double>> decay_prefix_;
  std::vector<std::vector<int>> viral_by_topic_;
  // Sum over users of their interest per topic.
  std::vector<double> population_interest_;
  // Per day of the window: the policy's popular videos and their weights.
  std::vector<std::vector<int>> popular_videos_;
  std::vector<std::vector<double>> popular_weights_;

  // Prior of each user's running mean of watches per step.
  double watches_per_step_prior_ = 1;

  // Per video: whether the user being simulated watched it.
  std::vector<char> watched_;
  std::vector<double> scratch_weights_;
  std::vector<int> active_virals_;
};

// ---------------------------------------------------------------------------
// Ground-truth files.

class GroundTruthWriter {
 public:
  static absl::StatusOr<std::unique_ptr<GroundTruthWriter>> Create(
      const std::string& dir) {
    if (absl::Status status = CreateDirectory(dir); !status.ok()) {
      return status;
    }
    std::unique_ptr<GroundTruthWriter> writer(new GroundTruthWriter);
    absl::StatusOr<std::unique_ptr<CsvFileWriter>> topics =
        CsvFileWriter::Create(JoinPath(dir, kTruthTopicsFileName),
                              {"topic", "words"});
    if (!topics.ok()) return topics.status();
    writer->topics_ = *std::move(topics);
    absl::StatusOr<std::unique_ptr<CsvFileWriter>> users =
        CsvFileWriter::Create(JoinPath(dir, kTruthUserInterestsFileName),
                              {"user_id", "topic", "weight", "favourite_rank"});
    if (!users.ok()) return users.status();
    writer->users_ = *std::move(users);
    absl::StatusOr<std::unique_ptr<CsvFileWriter>> videos =
        CsvFileWriter::Create(
            JoinPath(dir, kTruthVideosFileName),
            {"video_id", "topic", "quality", "attractiveness", "clickbait",
             "base_popularity", "series_id", "episode", "viral",
             "viral_start_s", "viral_end_s"});
    if (!videos.ok()) return videos.status();
    writer->videos_ = *std::move(videos);
    absl::StatusOr<std::unique_ptr<CsvFileWriter>> user_rows =
        CsvFileWriter::Create(JoinPath(dir, kTruthUsersFileName),
                              {"user_id", "languages"});
    if (!user_rows.ok()) return user_rows.status();
    writer->user_rows_ = *std::move(user_rows);
    return writer;
  }

  void AddTopics(const std::vector<GroundTruth::Topic>& topics) {
    for (const GroundTruth::Topic& topic : topics) {
      topics_->Text(topic.name);
      topics_->Text(absl::StrJoin(topic.words, " "));
      topics_->EndRow();
    }
  }

  void AddUser(absl::string_view user_id, const GroundTruth::User& user,
               const std::vector<GroundTruth::Topic>& topics) {
    for (size_t t = 0; t < user.topic_interest.size(); ++t) {
      if (!(user.topic_interest[t] > 0)) continue;
      const auto favourite = std::find(user.favourite_topics.begin(),
                                       user.favourite_topics.end(), t);
      users_->Text(user_id);
      users_->Text(topics[t].name);
      users_->Float(static_cast<float>(user.topic_interest[t]));
      users_->Int(favourite == user.favourite_topics.end()
                      ? 0
                      : 1 + (favourite - user.favourite_topics.begin()));
      users_->EndRow();
    }
    user_rows_->Text(user_id);
    user_rows_->Text(absl::StrJoin(user.languages, "|"));
    user_rows_->EndRow();
  }

  void AddVideo(absl::string_view video_id, absl::string_view series_id,
                const GroundTruth::Video& video,
                const std::vector<GroundTruth::Topic>& topics) {
    videos_->Text(video_id);
    videos_->Text(topics[video.topic].name);
    videos_->Float(static_cast<float>(video.quality));
    videos_->Float(static_cast<float>(video.attractiveness));
    videos_->Bool(video.clickbait);
    videos_->Float(static_cast<float>(video.base_popularity));
    videos_->Text(series_id);
    videos_->Int(video.episode);
    videos_->Bool(video.viral);
    videos_->Int(video.viral_start_s);
    videos_->Int(video.viral_end_s);
    videos_->EndRow();
  }

  absl::Status Finish() {
    return FirstError({topics_->Finish(), users_->Finish(), videos_->Finish(),
                       user_rows_->Finish()});
  }

 private:
  GroundTruthWriter() = default;

  std::unique_ptr<CsvFileWriter> topics_;
  std::unique_ptr<CsvFileWriter> users_;
  std::unique_ptr<CsvFileWriter> videos_;
  // truth_users.csv: one row per user.
  std::unique_ptr<CsvFileWriter> user_rows_;
};

// ---------------------------------------------------------------------------
// Option checks.

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

// ---------------------------------------------------------------------------
// Public API.

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

WorldOptions LargeWorldOptions() {
  WorldOptions options;
  options.num_users = 1000000;
  options.num_videos = 1000000;
  options.num_topics = 50;
  options.num_channels = 50000;
  options.num_days = 60;
  options.mean_watches_per_user = 40;
  return options;
}

absl::StatusOr<WorldOptions> WorldOptionsForPreset(absl::string_view preset) {
  if (preset == "tiny") return TinyWorldOptions();
  if (preset == "small") return SmallWorldOptions();
  if (preset == "medium") return MediumWorldOptions();
  if (preset == "large") return LargeWorldOptions();
  return absl::InvalidArgumentError(
      absl::StrCat("unknown world preset \"", preset,
                   "\"; use tiny, small, medium or large"));
}

absl::Status ValidateWorldOptions(const WorldOptions& o) {
  return FirstError({
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
      CheckAtLeast("popularity_half_life_days", o.popularity_half_life_days,
                   std::max(1e-3, (o.num_days + o.pre_window_days) / 500.0)),
      CheckRange("evergreen_popularity", o.evergreen_popularity, 0, 1),
      CheckRange("series_fraction", o.series_fraction, 0, 0.99),
      CheckAtLeast("min_series_episodes", o.min_series_episodes, 2),
      CheckAtLeast("max_series_episodes", o.max_series_episodes,
                   o.min_series_episodes),
      CheckPositive("series_episode_interval_days",
                    o.series_episode_interval_days),
      CheckRange("series_continue_probability", o.series_continue_probability,
                 0, 1),
      CheckRange("viral_fraction", o.viral_fraction, 0, 1),
      CheckAtLeast("viral_popularity", o.viral_popularity, 0),
      CheckPositive("viral_duration_days", o.viral_duration_days),
      CheckAtLeast("viral_max_delay_days", o.viral_max_delay_days, 0),
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
      CheckRange("english_second_language_probability",
                 o.english_second_language_probability, 0, 1),
      CheckRange("foreign_language_click_factor",
                 o.foreign_language_click_factor, 0, 1),
      CheckRange("foreign_language_watch_factor",
                 o.foreign_language_watch_factor, 0, 1),
      CheckRange("foreign_language_organic_acceptance",
                 o.foreign_language_organic_acceptance, 0, 1),
      CheckRange("policy_foreign_language_acceptance",
                 o.policy_foreign_language_acceptance, 0, 1),
  });
}

double WorldClickProbability(const WorldOptions& options,
                             double relative_interest, double attractiveness,
                             int position, bool speaks_language,
                             bool unfollowed_episode) {
  double p = options.max_click_probability *
             std::sqrt(std::max(0.0, relative_interest)) * attractiveness /
             (1 + options.position_bias * position);
  if (!speaks_language) p *= options.foreign_language_click_factor;
  if (unfollowed_episode) p *= kUnfollowedEpisodeClickFactor;
  return p;
}

namespace {

// The watch fraction before the noise and the language factor.
double WatchFractionMean(double relative_interest, double quality) {
  return kWatchFractionIntercept + kWatchFractionPerQuality * quality +
         kWatchFractionPerInterest * relative_interest;
}

double LanguageWatchFactor(const WorldOptions& options, bool speaks_language) {
  return speaks_language ? 1.0 : options.foreign_language_watch_factor;
}

}  // namespace

double WorldWatchFraction(const WorldOptions& options,
                          double relative_interest, double quality,
                          bool speaks_language, double noise) {
  return Clamp(WatchFractionMean(relative_interest, quality) +
                   kWatchFractionNoise * noise,
               kMinWatchFraction, 1.0) *
         LanguageWatchFactor(options, speaks_language);
}

double WorldExpectedWatchFraction(const WorldOptions& options,
                                  double relative_interest, double quality,
                                  bool speaks_language) {
  // E[clamp(m + s Z, a, b)] = a P(Z < alpha) + b P(Z > beta)
  //   + m P(alpha < Z < beta) + s (phi(alpha) - phi(beta)),
  // alpha = (a - m) / s, beta = (b - m) / s.
  const double m = WatchFractionMean(relative_interest, quality);
  const double sd = kWatchFractionNoise;
  const double a = kMinWatchFraction;
  const double b = 1.0;
  const double alpha = (a - m) / sd;
  const double beta = (b - m) / sd;
  auto cdf = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  auto pdf = [](double z) {
    return std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI);
  };
  const double expected = a * cdf(alpha) + b * (1 - cdf(beta)) +
                          m * (cdf(beta) - cdf(alpha)) +
                          sd * (pdf(alpha) - pdf(beta));
  return expected * LanguageWatchFactor(options, speaks_language);
}

bool SpeaksLanguage(const std::vector<std::string>& languages,
                    absl::string_view language) {
  return std::find(languages.begin(), languages.end(), language) !=
         languages.end();
}

double GroundTruth::PopularityAt(int video, int64_t time_s) const {
  const Video& v = videos[video];
  if (time_s < v.upload_time_s || v.episode > 1) return 0;
  const double age_s = static_cast<double>(time_s - v.upload_time_s);
  double popularity =
      v.base_popularity *
      (evergreen_popularity + (1 - evergreen_popularity) *
                                  std::exp2(-age_s / popularity_half_life_s));
  if (v.viral && time_s >= v.viral_start_s && time_s < v.viral_end_s) {
    popularity += viral_popularity;
  }
  return popularity;
}

absl::StatusOr<Logs> GenerateWorld(const WorldOptions& options,
                                   GroundTruth* truth) {
  if (absl::Status status = ValidateWorldOptions(options); !status.ok()) {
    return status;
  }
  WorldGenerator generator(options);
  generator.Build();
  Logs logs;
  const int num_videos = static_cast<int>(generator.truth().videos.size());
  logs.videos.reserve(num_videos);
  for (int v = 0; v < num_videos; ++v) {
    logs.videos.push_back(generator.VideoRecordOf(v));
  }

  // Events keyed by (time, user) — unique, as one user does one thing at a
  // time — so that each file can be sorted by time.
  struct Timed {
    int64_t time_s;
    int user;
    size_t index;  // Into the per-kind list below.
  };
  auto by_time_then_user = [](const Timed& a, const Timed& b) {
    return std::tie(a.time_s, a.user) < std::tie(b.time_s, b.user);
  };
  std::vector<WatchRecord> watches;
  std::vector<SearchRecord> searches;
  std::vector<std::vector<ImpressionRecord>> pages;
  std::vector<Timed> watch_order, search_order, page_order;
  std::vector<GroundTruth::User> users;
  UserActivity activity;
  for (int u = 0; u < options.num_users; ++u) {
    generator.SimulateUser(u, &activity);
    logs.users.push_back(activity.record);
    users.push_back(activity.truth);
    for (WatchRecord& w : activity.watches) {
      watch_order.push_back({w.time_s, u, watches.size()});
      watches.push_back(std::move(w));
    }
    for (SearchRecord& q : activity.searches) {
      search_order.push_back({q.time_s, u, searches.size()});
      searches.push_back(std::move(q));
    }
    for (std::vector<ImpressionRecord>& rows : activity.pages) {
      page_order.push_back(
          {rows.empty() ? 0 : rows[0].time_s, u, pages.size()});
      pages.push_back(std::move(rows));
    }
  }
  std::sort(watch_order.begin(), watch_order.end(), by_time_then_user);
  std::sort(search_order.begin(), search_order.end(), by_time_then_user);
  std::sort(page_order.begin(), page_order.end(), by_time_then_user);
  logs.watches.reserve(watches.size());
  for (const Timed& w : watch_order) {
    logs.watches.push_back(std::move(watches[w.index]));
  }
  logs.searches.reserve(searches.size());
  for (const Timed& q : search_order) {
    logs.searches.push_back(std::move(searches[q.index]));
  }
  const int page_id_width = IdWidth(static_cast<int64_t>(pages.size()));
  for (size_t p = 0; p < page_order.size(); ++p) {
    const std::string page_id = PaddedId('p', p, page_id_width);
    for (ImpressionRecord& row : pages[page_order[p].index]) {
      row.page_id = page_id;
      logs.impressions.push_back(std::move(row));
    }
  }

  if (truth != nullptr) {
    *truth = generator.truth();
    truth->users = std::move(users);
  }
  return logs;
}

absl::StatusOr<WorldStats> StreamWorld(const WorldOptions& options,
                                       const std::string& dir,
                                       const std::string& truth_dir) {
  if (absl::Status status = ValidateWorldOptions(options); !status.ok()) {
    return status;
  }
  absl::StatusOr<std::unique_ptr<LogWriter>> logs = LogWriter::Create(dir);
  if (!logs.ok()) return logs.status();
  std::unique_ptr<GroundTruthWriter> truth_writer;
  if (!truth_dir.empty()) {
    absl::StatusOr<std::unique_ptr<GroundTruthWriter>> created =
        GroundTruthWriter::Create(truth_dir);
    if (!created.ok()) return created.status();
    truth_writer = *std::move(created);
  }

  WorldGenerator generator(options);
  generator.Build();
  const GroundTruth& truth = generator.truth();
  WorldStats stats;
  stats.series = static_cast<int64_t>(truth.series.size());
  if (truth_writer != nullptr) truth_writer->AddTopics(truth.topics);
  for (int v = 0; v < static_cast<int>(truth.videos.size()); ++v) {
    const VideoRecord record = generator.VideoRecordOf(v);
    if (absl::Status status = (*logs)->Add(record); !status.ok()) {
      return status;
    }
    ++stats.videos;
    stats.viral_videos += truth.videos[v].viral;
    if (truth_writer != nullptr) {
      const int series = truth.videos[v].series;
      truth_writer->AddVideo(
          record.video_id, series < 0 ? "" : generator.SeriesId(series),
          truth.videos[v], truth.topics);
    }
  }

  // Pages are numbered as written; no user has more pages than planned
  // steps, at most max(min_watches_per_user, max_watches_per_user).
  const int page_id_width =
      IdWidth(static_cast<int64_t>(options.num_users) *
              std::max(options.min_watches_per_user,
                       options.max_watches_per_user));
  int64_t num_pages = 0;
  UserActivity activity;
  for (int u = 0; u < options.num_users; ++u) {
    generator.SimulateUser(u, &activity);
    absl::Status status = (*logs)->Add(activity.record);
    for (const WatchRecord& w : activity.watches) {
      if (status.ok()) status = (*logs)->Add(w);
    }
    for (const SearchRecord& q : activity.searches) {
      if (status.ok()) status = (*logs)->Add(q);
    }
    for (std::vector<ImpressionRecord>& rows : activity.pages) {
      const std::string page_id = PaddedId('p', num_pages++, page_id_width);
      for (ImpressionRecord& row : rows) {
        row.page_id = page_id;
        if (status.ok()) status = (*logs)->Add(row);
        stats.clicks += row.clicked;
      }
      stats.impressions += static_cast<int64_t>(rows.size());
    }
    if (!status.ok()) return status;
    ++stats.users;
    stats.watches += static_cast<int64_t>(activity.watches.size());
    stats.searches += static_cast<int64_t>(activity.searches.size());
    if (truth_writer != nullptr) {
      truth_writer->AddUser(activity.record.user_id, activity.truth,
                            truth.topics);
    }
  }
  absl::Status status = (*logs)->Finish();
  if (truth_writer != nullptr) {
    absl::Status truth_status = truth_writer->Finish();
    if (status.ok()) status = truth_status;
  }
  if (!status.ok()) return status;
  return stats;
}

absl::Status WriteGroundTruth(const std::string& dir, const Logs& logs,
                              const GroundTruth& truth) {
  if (logs.users.size() != truth.users.size() ||
      logs.videos.size() != truth.videos.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "WriteGroundTruth(", dir, "): the logs have ", logs.users.size(),
        " users and ", logs.videos.size(), " videos but the truth ",
        truth.users.size(), " and ", truth.videos.size()));
  }
  absl::StatusOr<std::unique_ptr<GroundTruthWriter>> writer =
      GroundTruthWriter::Create(dir);
  if (!writer.ok()) return writer.status();
  (*writer)->AddTopics(truth.topics);
  const int series_id_width = IdWidth(truth.series.size());
  for (size_t v = 0; v < truth.videos.size(); ++v) {
    const int series = truth.videos[v].series;
    (*writer)->AddVideo(
        logs.videos[v].video_id,
        series < 0 ? "" : PaddedId('s', series, series_id_width),
        truth.videos[v], truth.topics);
  }
  for (size_t u = 0; u < truth.users.size(); ++u) {
    (*writer)->AddUser(logs.users[u].user_id, truth.users[u], truth.topics);
  }
  return (*writer)->Finish();
}

}  // namespace recsys
