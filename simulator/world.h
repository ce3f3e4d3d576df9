#ifndef RECSYS_SIMULATOR_WORLD_H_
#define RECSYS_SIMULATOR_WORLD_H_

// A simulated video platform: a catalogue, a user population with hidden
// topic interests, and the logs those users leave (watches, searches, and
// impressions shown by a logging policy). The hidden truth is returned too,
// so tests can check that a model learns what the world is made of.
//
// Generation is a pure function of `WorldOptions`: the same options (seed
// included) give byte-identical logs on every run and machine. All
// randomness comes from std::mt19937_64 streams derived from `seed`, through
// distributions implemented here (not std::*_distribution, whose output may
// differ between standard libraries).
//
// How the logs are made (docs/data-format.md has the full story):
//  - Each topic has a word list; a video has one main topic (its `topics`
//    column may add a second label), a channel, a language, a lognormal
//    duration, an intrinsic quality and an attractiveness in [0, 1], and an
//    upload time (some before the window, so the catalogue is never empty).
//    Some videos are clickbait (attractive, poor), some are episodes of a
//    series ("... (part 3)"), and a few go viral for a few days.
//  - Each user has 1-3 favourite topics that hold `favourite_interest_mass`
//    of their interest, chosen with tilts by region, age group and gender,
//    and speaks their region's language, sometimes English too. Videos in
//    other languages are rarely watched organically, and when shown they
//    are clicked less and watched for less (see the user model below).
//  - A user's activity is a time-ordered sequence of steps at times drawn
//    uniformly over the window (a step may yield several watches, so steps
//    are thinned at a constant per-user rate to keep the planned number of
//    watches: activity is the same from the first day to the last). At
//    each step the user either searches (1-3 words of the upcoming watch's
//    topic) and then watches, or is shown a page by the logging policy and
//    watches the clicked videos, or simply watches. An organic watch picks
//    a topic by interest, then an unwatched, already uploaded video of that
//    topic by a popularity that is Zipf-like within the topic, decays with
//    time since upload and jumps while the video is viral. Series are
//    entered at episode 1 and followed in order: after episode k the user
//    often watches k+1 next (right away if it is out, else once it is).
//    Nobody watches a video twice.
//  - Every clicked impression has exactly one watches.csv row (same user,
//    video and watch_seconds) starting a few seconds after the page; no
//    other watch comes from a page.
//
// Two ways to get a world: `GenerateWorld` returns it in memory (each file
// sorted by time; the small and medium presets), and `StreamWorld` writes
// it to disk user by user, holding the catalogue and one user's events
// (the large preset). Both make the same rows from the same options.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/logs/logs.h"

namespace recsys {

// Every knob of the world. Defaults are the "small" preset.
struct WorldOptions {
  // Seeds every random choice.
  uint64_t seed = 42;

  // --- Size.
  int num_users = 2000;
  int num_videos = 3000;
  // Topics 1-30 have hand-written names and words ("cooking", ...); more
  // get synthetic ones ("topic31").
  int num_topics = 20;
  int num_channels = 300;

  // --- Time window: [start_time_s, start_time_s + num_days * 86400).
  // Unix seconds; the default is 2026-01-01 00:00:00 UTC.
  int64_t start_time_s = 1767225600;
  int num_days = 30;
  // Share of videos uploaded before the window, uniformly over the
  // `pre_window_days` days before `start_time_s`; the rest uniformly inside.
  // (A series' later episodes follow its first one, see below.)
  double pre_window_upload_fraction = 0.4;
  int pre_window_days = 60;

  // --- Videos.
  // Duration is lognormal: median `median_duration_s` seconds, log-space
  // standard deviation `duration_log_sigma`, clipped to [30 s, 3 h], whole
  // seconds. Defaults give ~2-16 minutes for 90% of the videos.
  double median_duration_s = 360;
  double duration_log_sigma = 0.6;
  // Probability that a video's main topic is its channel's main topic
  // (otherwise any topic, by overall topic popularity).
  double channel_topic_affinity = 0.85;
  // Probability that the `topics` column lists a second, random topic.
  double second_topic_probability = 0.25;
  // Share of stand-alone videos that are "clickbait": attractiveness in
  // [0.75, 1], quality in [0, 0.3]. They get clicked and abandoned.
  double clickbait_fraction = 0.08;
  // Base popularity within a topic is (rank + 1)^-exponent, rank 0 the most
  // popular of the topic (ranks follow attractiveness and quality, noisily).
  double popularity_zipf_exponent = 0.8;
  // Popularity at time t is base * (evergreen + (1 - evergreen) *
  // 2^(-(t - upload) / half_life)): a spike after upload that decays to a
  // floor of `evergreen_popularity`. The half-life must be at least
  // (num_days + pre_window_days) / 500 days.
  double popularity_half_life_days = 4;
  double evergreen_popularity = 0.15;

  // --- Series.
  // Share of videos that are episodes of a series. A series has
  // `min_series_episodes`-`max_series_episodes` episodes (uniformly; fewer
  // if the window ends first) of one channel and topic, titled "<name>
  // (part k)", uploaded in order, consecutive episodes uniformly 0.5-1.5 x
  // `series_episode_interval_days` days apart.
  double series_fraction = 0.15;
  int min_series_episodes = 3;
  int max_series_episodes = 10;
  double series_episode_interval_days = 2;
  // Probability that a user who watched episode k watches k+1 next: right
  // after episode k if it is uploaded by then, otherwise at the user's
  // first activity after its upload. Organic watches only ever start a
  // series at episode 1.
  double series_continue_probability = 0.8;

  // --- Virality.
  // Share of stand-alone videos that go viral: for `viral_duration_days`
  // days, starting 0-`viral_max_delay_days` days (uniformly) after their
  // upload or the window start, whichever is later, their popularity gets
  // `viral_popularity` added, in units of a topic's most popular video's
  // base popularity (1).
  double viral_fraction = 0.01;
  double viral_popularity = 3;
  double viral_duration_days = 3;
  double viral_max_delay_days = 7;

  // --- Users.
  // Share of interest mass on the user's 1-3 favourite topics.
  double favourite_interest_mass = 0.85;
  // Log-space standard deviation of the per-region, per-age-group and
  // per-gender multipliers on the topic prior from which favourites are
  // drawn: 0 = demographics say nothing about tastes.
  double demographic_tilt = 1.0;
  // Logged-out users have gender "" and age 0 in users.csv (their hidden
  // demographics still shape their tastes).
  double logged_in_probability = 0.8;

  // --- Activity.
  // Watches per user are lognormal with this mean and log-space standard
  // deviation (heavy-tailed), at least `min_watches_per_user` (when the
  // catalogue allows) and at most `max_watches_per_user`. (Precisely: that
  // many steps are planned, uniformly over the window, and each is skipped
  // with probability 1 - 1/m, m the user's running mean of watches per
  // step taken, unless skipping could leave them below the minimum; so the
  // count is the planned one on average, and activity is stationary.)
  double mean_watches_per_user = 40;
  double watches_log_sigma = 1.0;
  int min_watches_per_user = 3;
  int max_watches_per_user = 1000;

  // --- Searches and pages, per step (mutually exclusive: a step with a
  // search has no page).
  // Probability that a step starts with a search for the upcoming watch's
  // topic, 10 s - 3 min before the watch.
  double search_probability = 0.2;
  // Probability that a step (without search) starts with a page of
  // `page_size` impressions; clicked ones become the step's watches, and a
  // page without clicks is followed by an organic watch.
  double page_probability = 0.3;
  int page_size = 10;
  // Logging policy: shares of the page's slots filled with globally popular
  // videos and with fresh uploads (last 3 days); the rest come from the
  // topic of the user's previous watch. Slots are then shuffled.
  double page_popular_fraction = 0.3;
  double page_fresh_fraction = 0.2;
  // Click probability = max_click_probability * sqrt(relative interest in
  // the video's topic) * attractiveness / (1 + position_bias * position),
  // and a third of that for a series episode whose previous episode the
  // user has not watched.
  double max_click_probability = 0.6;
  double position_bias = 0.1;

  // --- Languages.
  // Every user speaks their region's language (users.csv `language`); one
  // whose region's language is not English also speaks English with this
  // probability. The spoken languages are hidden (truth_users.csv).
  double english_second_language_probability = 0.3;
  // A video in a language the user does not speak (its channel's, videos.csv
  // `language`): its click probability is multiplied by
  // `foreign_language_click_factor`, its watch fraction by
  // `foreign_language_watch_factor`, and an organic watch picks it with
  // `foreign_language_organic_acceptance` times its usual weight.
  double foreign_language_click_factor = 0.2;
  double foreign_language_watch_factor = 0.4;
  double foreign_language_organic_acceptance = 0.1;
  // The logging policy knows only the stated language (users.csv): a
  // drawn video in another language takes a page slot with this
  // probability (1: the policy ignores languages).
  double policy_foreign_language_acceptance = 0.25;
};

// The small world: the demo and most tests (about 2,000 users, 3,000
// videos, 20 topics, 30 days, ~40 watches per user). Same as `WorldOptions{}`.
WorldOptions SmallWorldOptions();
// A tiny world for fast unit tests of other components: 200 users, 400
// videos, 8 topics, 14 days, ~20 watches per user.
WorldOptions TinyWorldOptions();
// A medium world for load and quality runs: 20,000 users, 30,000 videos,
// 30 topics, 60 days, ~50 watches per user.
WorldOptions MediumWorldOptions();
// A large world, meant for `StreamWorld`: 1,000,000 users, 1,000,000
// videos, 50 topics, 50,000 channels, 60 days, ~40 watches per user
// (~40M watches, ~90M impressions, several GB of CSV).
WorldOptions LargeWorldOptions();
// "tiny", "small", "medium" or "large"; InvalidArgumentError otherwise.
absl::StatusOr<WorldOptions> WorldOptionsForPreset(absl::string_view preset);

// Checks ranges (counts > 0, probabilities in [0, 1], ...); the error names
// the knob.
absl::Status ValidateWorldOptions(const WorldOptions& options);

// --- The world's user model: the formulas the generator draws clicks and
// watch fractions from, for evaluations that score lists by the world's
// truth (evaluation/clickbait_eval). Arguments:
//   relative_interest   the user's interest in the video's main topic over
//                       their favourite topic's, in [0, 1]
//                       (`GroundTruth::User::topic_interest`, or
//                       truth_user_interests.csv's weights over their max);
//   speaks_language     whether the video's language is one of the user's
//                       (`GroundTruth::User::languages`, truth_users.csv);
//   position            the 0-based slot on the page;
//   unfollowed_episode  the video is episode k > 1 of a series and the user
//                       has not watched episode k - 1.

// Probability that the user clicks the video when it is shown:
// max_click_probability * sqrt(relative_interest) * attractiveness /
// (1 + position_bias * position), times foreign_language_click_factor if
// the user does not speak its language, times 1/3 for an unfollowed
// episode.
double WorldClickProbability(const WorldOptions& options,
                             double relative_interest, double attractiveness,
                             int position, bool speaks_language,
                             bool unfollowed_episode = false);

// Share of the video a user watches once they start it, given a standard
// normal draw `noise`: clamp(0.1 + 0.5 quality + 0.3 relative_interest +
// 0.12 noise, 0.05, 1), times foreign_language_watch_factor if the user
// does not speak its language.
double WorldWatchFraction(const WorldOptions& options,
                          double relative_interest, double quality,
                          bool speaks_language, double noise);

// The expectation of `WorldWatchFraction` over the noise (exact: the mean
// of a clamped normal).
double WorldExpectedWatchFraction(const WorldOptions& options,
                                  double relative_interest, double quality,
                                  bool speaks_language);

// Whether `language` is one of `languages`.
bool SpeaksLanguage(const std::vector<std::string>& languages,
                    absl::string_view language);

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

// Generates the world described by `options`: videos (in upload order),
// users, and watches, searches and impressions (each sorted by time, then
// user; pages named in that order). Fills `truth` if not null.
// InvalidArgumentError for invalid options. Holds every event in memory:
// use `StreamWorld` for worlds with tens of millions of events.
absl::StatusOr<Logs> GenerateWorld(const WorldOptions& options,
                                   GroundTruth* truth = nullptr);

// What `StreamWorld` wrote.
struct WorldStats {
  int64_t videos = 0;
  int64_t users = 0;
  int64_t watches = 0;
  int64_t searches = 0;
  int64_t impressions = 0;
  int64_t clicks = 0;
  int64_t series = 0;
  int64_t viral_videos = 0;
};

// Generates the same world as `GenerateWorld(options)` and writes its five
// CSV files into `dir` (created if missing) as it goes, through
// common/logs' `LogWriter` (which checks every row as `ReadLogs` would),
// and its ground truth into `truth_dir` (see `WriteGroundTruth`) unless
// that is empty. The generator holds the catalogue and one user's events
// at a time, never all events. Row order differs from `GenerateWorld`'s:
// users.csv is in ID order, and watches, searches and impressions come user
// by user (in ID order), each user's in time order; pages are named in that
// order (`p` and a fixed number of digits). Files appear (renamed from
// `name.tmp`) only once everything is written. InvalidArgumentError for
// invalid options, InternalError when a file cannot be written.
// Memory: the generator needs ~250 bytes per video (0.24 GB for the large
// preset); `LogWriter` adds what its checks remember (every ID, and every
// page: ~3.6 GB for the large preset's ~9M pages).

absl::StatusOr<WorldStats> StreamWorld(const WorldOptions& options,
                                       const std::string& dir,
                                       const std::string& truth_dir = "");

// Ground-truth file names, written into one directory (they do not clash
// with the five log files, so it may be the logs' directory).
inline constexpr char kTruthTopicsFileName[] = "truth_topics.csv";
inline constexpr char kTruthUserInterestsFileName[] =
    "truth_user_interests.csv";
inline constexpr char kTruthVideosFileName[] = "truth_videos.csv";
inline constexpr char kTruthUsersFileName[] = "truth_users.csv";

// Writes `truth` (of the world whose logs are `logs`) as four CSV files
// into `dir` (created if missing), in the dialect of common/logs/logs.h:
//   truth_topics.csv          topic,words         (words space-separated)
//   truth_user_interests.csv  user_id,topic,weight,favourite_rank
//                             one row per topic with weight > 0
//   truth_users.csv           user_id,languages   (spoken languages,
//                             '|'-separated, the region's first: "hi|en")
//   truth_videos.csv          video_id,topic,quality,attractiveness,
//                             clickbait,base_popularity,series_id,episode,
//                             viral,viral_start_s,viral_end_s
// docs/data-format.md describes every column.
absl::Status WriteGroundTruth(const std::string& dir, const Logs& logs,
                              const GroundTruth& truth);

}  // namespace recsys

#endif  // RECSYS_SIMULATOR_WORLD_H_
