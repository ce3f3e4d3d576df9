#ifndef RECSYS_SIMULATOR_GROUND_TRUTH_H_
#define RECSYS_SIMULATOR_GROUND_TRUTH_H_

// The hidden parameters of a simulated world (`GroundTruth`): what tests
// and evaluations compare a model against. Written to disk by
// simulator/truth_writer.h.

#include <cstdint>
#include <string>
#include <vector>

namespace recsys {

// The hidden parameters of a generated world. `users` and `videos` are
// parallel to `Logs::users` and `Logs::videos`.
struct GroundTruth {
  struct Topic {
    std::string name;
    std::vector<std::string> words;
  };
  struct User {
    // Interest per topic, indexed like `topics`; non-negative, sums to 1.
    std::vector<double> topic_interest;
    // Indices into `topics`, most interesting first.
    std::vector<int> favourite_topics;
    // Languages the user speaks (ISO 639-1): their region's first (also
    // users.csv `language`), then possibly "en".
    std::vector<std::string> languages;
  };
  struct Video {
    // Index into `topics` of the main topic.
    int topic = 0;
    int channel = 0;
    // How much of the video people watch, [0, 1].
    double quality = 0;
    // How likely people click it when shown, [0, 1].
    double attractiveness = 0;
    // Drawn as clickbait: attractive and poor (never a series episode).
    bool clickbait = false;
    // Within-topic Zipf weight, (0, 1]. A later episode of a series has its
    // first episode's.
    double base_popularity = 0;
    int64_t upload_time_s = 0;
    // Index into `GroundTruth::series`, or -1 for a stand-alone video.
    int series = -1;
    // 1-based episode number within the series; 0 for a stand-alone video.
    int episode = 0;
    // Whether the video goes viral (stand-alone videos only), and when:
    // `PopularityAt` adds `viral_popularity` in [viral_start_s,
    // viral_end_s).
    bool viral = false;
    int64_t viral_start_s = 0;
    int64_t viral_end_s = 0;
  };

  std::vector<Topic> topics;
  std::vector<User> users;
  std::vector<Video> videos;
  // Per series (IDs s00000, s00001, ...): its episodes' indices into
  // `videos`, episode 1 first (and in upload order).
  std::vector<std::vector<int>> series;
  // Main topic of each channel, indexed like channel IDs c0000, c0001, ...
  std::vector<int> channel_topics;
  // Copied from the options, for `PopularityAt`.
  double popularity_half_life_s = 0;
  double evergreen_popularity = 0;
  double viral_popularity = 0;

  // The popularity weight with which the world picks video `video` (an
  // index into `videos`) within its topic at `time_s` for an organic watch:
  // 0 before its upload, and 0 for a series episode after the first (users
  // reach those from the episode before).
  double PopularityAt(int video, int64_t time_s) const;
};

}  // namespace recsys

#endif  // RECSYS_SIMULATOR_GROUND_TRUTH_H_
