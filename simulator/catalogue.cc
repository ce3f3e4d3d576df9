#include "simulator/catalogue.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/logs/logs.h"
#include "simulator/demographics.h"
#include "simulator/ground_truth.h"
#include "simulator/ids.h"
#include "simulator/random.h"
#include "simulator/world_options.h"
#include "simulator/world_topics.h"

namespace recsys {
namespace world_internal {
namespace {

double Clamp(double x, double lo, double hi) {
  return std::min(hi, std::max(lo, x));
}

}  // namespace

Catalogue::Catalogue(const WorldOptions& options)
    : options_(options),
      start_s_(options.start_time_s),
      end_s_(options.start_time_s + options.num_days * kSecondsPerDay),
      video_id_width_(IdWidth(options.num_videos)),
      channel_id_width_(IdWidth(options.num_channels)) {
  MakeTopics();
  MakeChannels();
  MakeVideos();
  IndexTopics();
}

std::string Catalogue::VideoId(int video) const {
  return PaddedId('v', video, video_id_width_);
}
std::string Catalogue::ChannelId(int channel) const {
  return PaddedId('c', channel, channel_id_width_);
}
std::string Catalogue::SeriesId(int series) const {
  return PaddedId('s', series, IdWidth(truth_.series.size()));
}

VideoRecord Catalogue::VideoRecordOf(int v) const {
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

int Catalogue::NumUploadedBy(int64_t time_s) const {
  return static_cast<int>(
      std::upper_bound(upload_times_.begin(), upload_times_.end(), time_s) -
      upload_times_.begin());
}

int64_t Catalogue::ViralDurationS() const {
  return std::max<int64_t>(
      1, std::llround(options_.viral_duration_days * kSecondsPerDay));
}

void Catalogue::MakeTopics() {
  Rng rng(StreamSeed(options_.seed, kTopicStream));
  for (TopicVocabulary& topic :
       world_internal::MakeTopics(options_.num_topics)) {
    truth_.topics.push_back({std::move(topic.name), std::move(topic.words)});
  }
  // Some topics are much bigger than others, overall.
  for (int t = 0; t < options_.num_topics; ++t) {
    tastes_.prior.push_back(rng.LogNormal(0, 0.6));
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
  tastes_.region_tilt = tilts(kNumRegions);
  tastes_.age_tilt = tilts(kNumAgeGroups);
  tastes_.gender_tilt = tilts(kNumGenders);
  truth_.popularity_half_life_s =
      options_.popularity_half_life_days * kSecondsPerDay;
  truth_.evergreen_popularity = options_.evergreen_popularity;
  truth_.viral_popularity = options_.viral_popularity;
}

void Catalogue::MakeChannels() {
  Rng rng(StreamSeed(options_.seed, kChannelStream));
  const std::vector<double> region_weights = Weights(kRegions);
  for (int c = 0; c < options_.num_channels; ++c) {
    truth_.channel_topics.push_back(rng.Discrete(tastes_.prior));
    channel_languages_.push_back(
        kRegions[rng.Discrete(region_weights)].language);
    channel_language_index_.push_back(
        static_cast<uint8_t>(LanguageIndex(channel_languages_.back())));
    // Heavy-tailed output: a few channels upload most videos.
    channel_activity_.push_back(rng.LogNormal(0, 1.0));
  }
  channel_sampler_ = WeightedSampler(channel_activity_);
  topic_sampler_ = WeightedSampler(tastes_.prior);
}

struct Catalogue::DrawnCatalogue {
  std::vector<GroundTruth::Video> videos;
  std::vector<VideoExtras> extras;
  // Per series, its videos' draw indices in episode order.
  std::vector<std::vector<int>> series;
};

void Catalogue::MakeVideos() {
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
std::pair<int, int> Catalogue::DrawChannelAndTopic(Rng& rng) {
  const int channel = channel_sampler_.Draw(rng);
  const int topic = rng.Bernoulli(options_.channel_topic_affinity)
                        ? truth_.channel_topics[channel]
                        : topic_sampler_.Draw(rng);
  return {channel, topic};
}

int Catalogue::DrawSecondTopic(int topic, Rng& rng) {
  const int num_topics = options_.num_topics;
  if (num_topics > 1 && rng.Bernoulli(options_.second_topic_probability)) {
    return (topic + 1 + static_cast<int>(rng.UniformInt(num_topics - 1))) %
           num_topics;
  }
  return -1;
}

// Uploads: `pre_window_upload_fraction` before the window, the rest in it.
int64_t Catalogue::DrawUploadTime(Rng& rng) {
  return rng.Bernoulli(options_.pre_window_upload_fraction)
             ? start_s_ - 1 -
                   rng.UniformInt(options_.pre_window_days * kSecondsPerDay)
             : start_s_ + rng.UniformInt(end_s_ - start_s_);
}

double Catalogue::DrawDurationS(Rng& rng) {
  return Clamp(rng.LogNormal(std::log(options_.median_duration_s),
                             options_.duration_log_sigma),
               30, 10800);
}

// `min_words`-`max_words` distinct words of `topic`, and punctuation
// sometimes (so that the CSV quoting is exercised by every data set).
TitleSpec Catalogue::DrawTitle(int topic, int min_words, int max_words,
                               Rng& rng) {
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

void Catalogue::DrawStandAlone(Rng& rng, DrawnCatalogue* drawn) {
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
    v.attractiveness = Clamp(0.2 + 0.4 * v.quality + 0.15 * rng.Normal(), 0, 1);
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

// A series: one channel, topic, name and style; episodes uploaded in
// order until the planned length, the catalogue size or the window's end.
void Catalogue::DrawSeries(Rng& rng, DrawnCatalogue* drawn) {
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
      upload_time_s +=
          std::llround(rng.Uniform(0.5, 1.5) *
                       options_.series_episode_interval_days * kSecondsPerDay);
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
void Catalogue::OrderByUpload(const DrawnCatalogue& drawn) {
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

std::string Catalogue::TitleOf(int v) const {
  const GroundTruth::Video& video = truth_.videos[v];
  const TitleSpec& spec = extras_[v].title;
  const std::vector<std::string>& vocabulary = truth_.topics[video.topic].words;
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
bool Catalogue::IsOrganic(int v) const { return truth_.videos[v].episode <= 1; }

// Zipf weights within each topic over the organically picked videos,
// ranked by a noisy mix of attractiveness and quality: popular videos
// tend to be good and catchy. Later episodes get their first episode's.
void Catalogue::AssignBasePopularity(Rng& rng) {
  std::vector<std::vector<std::pair<double, int>>> scored(options_.num_topics);
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
      truth_.videos[topic[rank].second].base_popularity = std::pow(
          static_cast<double>(rank + 1), -options_.popularity_zipf_exponent);
    }
  }
  for (const std::vector<int>& episodes : truth_.series) {
    for (int v : episodes) {
      truth_.videos[v].base_popularity =
          truth_.videos[episodes[0]].base_popularity;
    }
  }
}

void Catalogue::IndexTopics() {
  const int num_topics = options_.num_topics;
  topic_index_.assign(num_topics, {});
  const double half_life_s = truth_.popularity_half_life_s;
  for (TopicIndex& index : topic_index_) {
    index.evergreen_prefix = {0.0};
    index.decay_prefix = {0.0};
  }
  for (int v = 0; v < static_cast<int>(truth_.videos.size()); ++v) {
    const GroundTruth::Video& video = truth_.videos[v];
    if (!IsOrganic(v)) continue;
    TopicIndex& index = topic_index_[video.topic];
    index.organic.push_back(v);
    index.evergreen_prefix.push_back(index.evergreen_prefix.back() +
                                     video.base_popularity);
    index.decay_prefix.push_back(
        index.decay_prefix.back() +
        video.base_popularity *
            std::exp2(static_cast<double>(video.upload_time_s - end_s_) /
                      half_life_s));
    if (video.viral) index.virals.push_back(v);
  }
  for (TopicIndex& index : topic_index_) {
    std::sort(index.virals.begin(), index.virals.end(), [&](int a, int b) {
      return std::tie(truth_.videos[a].viral_start_s, a) <
             std::tie(truth_.videos[b].viral_start_s, b);
    });
  }
}

}  // namespace world_internal
}  // namespace recsys
