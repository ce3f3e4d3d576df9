#ifndef RECSYS_SIMULATOR_CATALOGUE_H_
#define RECSYS_SIMULATOR_CATALOGUE_H_

// The simulated world's catalogue: topics, channels, and videos (stand-alone,
// clickbait, series episodes, viral), drawn from the topic, channel and
// video streams of the seed, with the per-topic popularity index that
// organic watches draw from. Private to //simulator.

#include <cstdint>
#include <string>
#include <vector>

#include "common/logs/logs.h"
#include "simulator/ground_truth.h"
#include "simulator/random.h"
#include "simulator/world_options.h"

namespace recsys {
namespace world_internal {

// Title words of a stand-alone video, and of a series' name.
inline constexpr int kMinTitleWords = 3;
inline constexpr int kMaxTitleWords = 6;
inline constexpr int kMinSeriesNameWords = 2;
inline constexpr int kMaxSeriesNameWords = 4;

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

// How big each topic is overall and how demographics tilt tastes towards
// it, all indexed by topic (the tilts by region, age group or gender
// first, as in demographics.h).
struct TopicTastes {
  std::vector<double> prior;
  std::vector<std::vector<double>> region_tilt;
  std::vector<std::vector<double>> age_tilt;
  std::vector<std::vector<double>> gender_tilt;
};

// One topic's organic videos (all but a series' later episodes) in upload
// order, with prefix sums of the two parts of their popularity, so that a
// draw by popularity at any time is a binary search: base * evergreen, and
// base * (1 - evergreen) * 2^((upload - end) / half_life) (times
// 2^((end - t) / half_life) at t). And its viral videos by start of
// virality.
struct TopicIndex {
  std::vector<int> organic;
  std::vector<double> evergreen_prefix;
  std::vector<double> decay_prefix;
  std::vector<int> virals;
};

// The catalogue, drawn in full by the constructor from valid `options`
// (see `ValidateWorldOptions`). Video indices follow upload order. Memory:
// ~150 bytes per video. Immutable after construction, so safe to share
// between threads.
class Catalogue {
 public:
  explicit Catalogue(const WorldOptions& options);

  Catalogue(const Catalogue&) = delete;
  Catalogue& operator=(const Catalogue&) = delete;

  // The world's truth without its users.
  const GroundTruth& truth() const { return truth_; }
  const TopicTastes& tastes() const { return tastes_; }
  const TopicIndex& topic_index(int topic) const { return topic_index_[topic]; }

  // The window, [start_s, end_s), in Unix seconds.
  int64_t start_s() const { return start_s_; }
  int64_t end_s() const { return end_s_; }

  std::string VideoId(int video) const;
  std::string ChannelId(int channel) const;
  std::string SeriesId(int series) const;
  VideoRecord VideoRecordOf(int video) const;

  const TitleSpec& title(int video) const { return extras_[video].title; }
  float duration_s(int video) const { return extras_[video].duration_s; }
  int64_t upload_time_s(int video) const { return upload_times_[video]; }
  // The video's language (its channel's) as an index into `Languages()`.
  int language_index(int video) const {
    return channel_language_index_[truth_.videos[video].channel];
  }

  // Number of videos uploaded at or before `time_s` (a prefix of the
  // upload-ordered catalogue).
  int NumUploadedBy(int64_t time_s) const;

  // How long a viral video stays viral, in seconds (at least 1).
  int64_t ViralDurationS() const;

 private:
  // A video or series as drawn, before IDs follow upload order.
  struct DrawnCatalogue;

  void MakeTopics();
  void MakeChannels();
  void MakeVideos();
  std::pair<int, int> DrawChannelAndTopic(Rng& rng);
  int DrawSecondTopic(int topic, Rng& rng);
  int64_t DrawUploadTime(Rng& rng);
  double DrawDurationS(Rng& rng);
  TitleSpec DrawTitle(int topic, int min_words, int max_words, Rng& rng);
  void DrawStandAlone(Rng& rng, DrawnCatalogue* drawn);
  void DrawSeries(Rng& rng, DrawnCatalogue* drawn);
  void OrderByUpload(const DrawnCatalogue& drawn);
  std::string TitleOf(int video) const;
  bool IsOrganic(int video) const;
  void AssignBasePopularity(Rng& rng);
  void IndexTopics();

  const WorldOptions options_;
  const int64_t start_s_;
  const int64_t end_s_;
  const int video_id_width_;
  const int channel_id_width_;

  // Without users.
  GroundTruth truth_;
  TopicTastes tastes_;

  std::vector<std::string> channel_languages_;
  // Per channel: its language's index in `Languages()`.
  std::vector<uint8_t> channel_language_index_;
  std::vector<double> channel_activity_;
  WeightedSampler channel_sampler_;
  WeightedSampler topic_sampler_;
  // Per video (by index): title and duration; upload time (ascending).
  std::vector<VideoExtras> extras_;
  std::vector<int64_t> upload_times_;
  // Per topic.
  std::vector<TopicIndex> topic_index_;
};

}  // namespace world_internal
}  // namespace recsys

#endif  // RECSYS_SIMULATOR_CATALOGUE_H_
