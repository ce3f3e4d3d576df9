#ifndef RECSYS_SIMULATOR_WORLD_OPTIONS_H_
#define RECSYS_SIMULATOR_WORLD_OPTIONS_H_

// The knobs of the simulated world (`WorldOptions`), its presets and their
// validation. simulator/world.h describes how the knobs shape the world.

#include <cstdint>

#include "common/base/time_units.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

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

}  // namespace recsys

#endif  // RECSYS_SIMULATOR_WORLD_OPTIONS_H_
