// world_gen: generates a simulated world and writes its five CSV files,
// and with --truth_out its ground truth.
//
//   bazel run //simulator:world_gen -- --out=/abs/dir --preset=small --seed=42
//   bazel-bin/simulator/world_gen --out=/tmp/large --preset=large
//
// The preset gives every knob a value; each knob flag, when given,
// overrides the preset. The large preset is streamed to disk user by user
// (see --stream). See docs/data-format.md.

#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>

#include <spdlog/spdlog.h>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/command_line.h"
#include "common/logs/logs.h"
#include "simulator/world.h"

ABSL_FLAG(std::string, out, "",
          "Directory to write videos.csv, users.csv, watches.csv, "
          "searches.csv and impressions.csv to (created if missing). "
          "Required; use an absolute path under `bazel run`.");
ABSL_FLAG(std::string, preset, "small",
          "Base values of all knobs: tiny, small, medium or large.");
ABSL_FLAG(uint64_t, seed, 42, "Seed of every random choice.");
ABSL_FLAG(std::string, truth_out, "",
          "If set, the directory to write the ground truth to "
          "(truth_topics.csv, truth_user_interests.csv, truth_videos.csv, "
          "truth_users.csv; may be the same as --out). Unset: no ground "
          "truth is written.");
ABSL_FLAG(std::optional<bool>, stream, std::nullopt,
          "Write the world user by user as it is generated, holding the "
          "catalogue and one user's events rather than all events (rows "
          "grouped by user, not sorted by time). Unset: only for the large "
          "preset.");

// Knob overrides: unset means "as in the preset". Each fills the
// WorldOptions field of the same name; simulator/world.h documents each one.
#define WORLD_KNOB(type, name, help)                                      \
  ABSL_FLAG(std::optional<type>, name, std::nullopt,                      \
            absl::StrCat(help, " Unset: the preset's value (small: ",     \
                         recsys::SmallWorldOptions().name, ")."))

WORLD_KNOB(int, num_users, "Number of users.");
WORLD_KNOB(int, num_videos, "Number of videos.");
WORLD_KNOB(int, num_topics, "Number of topics (30 have real names).");
WORLD_KNOB(int, num_channels, "Number of channels.");
WORLD_KNOB(int64_t, start_time_s, "Window start, Unix seconds.");
WORLD_KNOB(int, num_days, "Window length in days.");
WORLD_KNOB(double, pre_window_upload_fraction,
           "Share of videos uploaded before the window.");
WORLD_KNOB(int, pre_window_days,
           "Days before the window over which early uploads spread.");
WORLD_KNOB(double, median_duration_s, "Median video duration, seconds.");
WORLD_KNOB(double, duration_log_sigma,
           "Log-space standard deviation of video durations.");
WORLD_KNOB(double, channel_topic_affinity,
           "Probability that a video has its channel's main topic.");
WORLD_KNOB(double, second_topic_probability,
           "Probability that a video lists a second topic label.");
WORLD_KNOB(double, clickbait_fraction,
           "Share of attractive but low-quality videos.");
WORLD_KNOB(double, popularity_zipf_exponent,
           "Exponent of the within-topic Zipf popularity.");
WORLD_KNOB(double, popularity_half_life_days,
           "Half-life of the popularity spike after upload, days.");
WORLD_KNOB(double, evergreen_popularity,
           "Popularity floor, as a share of the base popularity.");
WORLD_KNOB(double, series_fraction,
           "Share of videos that are episodes of a series.");
WORLD_KNOB(int, min_series_episodes, "Fewest episodes of a series.");
WORLD_KNOB(int, max_series_episodes, "Most episodes of a series.");
WORLD_KNOB(double, series_episode_interval_days,
           "Mean days between a series' consecutive uploads.");
WORLD_KNOB(double, series_continue_probability,
           "Probability of watching episode k+1 next after episode k.");
WORLD_KNOB(double, viral_fraction,
           "Share of stand-alone videos that go viral.");
WORLD_KNOB(double, viral_popularity,
           "Popularity added while viral (a topic's top video has 1).");
WORLD_KNOB(double, viral_duration_days, "How long a video stays viral.");
WORLD_KNOB(double, viral_max_delay_days,
           "Latest start of virality, days after upload or window start.");
WORLD_KNOB(double, favourite_interest_mass,
           "Share of each user's interest on their 1-3 favourite topics.");
WORLD_KNOB(double, demographic_tilt,
           "How strongly region, age and gender tilt favourite topics.");
WORLD_KNOB(double, logged_in_probability,
           "Share of logged-in users (others have unknown gender and age).");
WORLD_KNOB(double, mean_watches_per_user, "Mean watches per user.");
WORLD_KNOB(double, watches_log_sigma,
           "Log-space standard deviation of watches per user.");
WORLD_KNOB(int, min_watches_per_user, "Minimum watches per user.");
WORLD_KNOB(int, max_watches_per_user, "Maximum watches per user.");
WORLD_KNOB(double, search_probability,
           "Probability that a step starts with a search.");
WORLD_KNOB(double, page_probability,
           "Probability that a step without search starts with a page.");
WORLD_KNOB(int, page_size, "Impressions per page.");
WORLD_KNOB(double, page_popular_fraction,
           "Share of a page's slots filled with popular videos.");
WORLD_KNOB(double, page_fresh_fraction,
           "Share of a page's slots filled with fresh uploads.");
WORLD_KNOB(double, max_click_probability,
           "Click probability at top interest, attractiveness and slot.");
WORLD_KNOB(double, position_bias,
           "Click probability divisor per slot: 1 + position_bias * slot.");
WORLD_KNOB(double, english_second_language_probability,
           "Probability that a user whose region's language is not English "
           "also speaks English.");
WORLD_KNOB(double, foreign_language_click_factor,
           "Click probability factor for a video in a language the user "
           "does not speak.");
WORLD_KNOB(double, foreign_language_watch_factor,
           "Watch fraction factor for a video in a language the user does "
           "not speak.");
WORLD_KNOB(double, foreign_language_organic_acceptance,
           "Weight factor of a video in a language the user does not speak "
           "in their own (organic) choices.");
WORLD_KNOB(double, policy_foreign_language_acceptance,
           "Probability that the logging policy puts a drawn video in another "
           "language than the user's stated one on a page (1: ignores "
           "languages).");

#undef WORLD_KNOB

namespace recsys {
namespace {

template <typename T, typename Flag>
void Override(const Flag& flag, T* field) {
  if (const std::optional<T> value = absl::GetFlag(flag); value.has_value()) {
    *field = *value;
  }
}

double Seconds(std::chrono::steady_clock::time_point from,
               std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

absl::StatusOr<WorldOptions> OptionsFromFlags() {
  absl::StatusOr<WorldOptions> preset =
      WorldOptionsForPreset(absl::GetFlag(FLAGS_preset));
  if (!preset.ok()) return preset.status();
  WorldOptions o = *preset;
  o.seed = absl::GetFlag(FLAGS_seed);
  Override(FLAGS_num_users, &o.num_users);
  Override(FLAGS_num_videos, &o.num_videos);
  Override(FLAGS_num_topics, &o.num_topics);
  Override(FLAGS_num_channels, &o.num_channels);
  Override(FLAGS_start_time_s, &o.start_time_s);
  Override(FLAGS_num_days, &o.num_days);
  Override(FLAGS_pre_window_upload_fraction, &o.pre_window_upload_fraction);
  Override(FLAGS_pre_window_days, &o.pre_window_days);
  Override(FLAGS_median_duration_s, &o.median_duration_s);
  Override(FLAGS_duration_log_sigma, &o.duration_log_sigma);
  Override(FLAGS_channel_topic_affinity, &o.channel_topic_affinity);
  Override(FLAGS_second_topic_probability, &o.second_topic_probability);
  Override(FLAGS_clickbait_fraction, &o.clickbait_fraction);
  Override(FLAGS_popularity_zipf_exponent, &o.popularity_zipf_exponent);
  Override(FLAGS_popularity_half_life_days, &o.popularity_half_life_days);
  Override(FLAGS_evergreen_popularity, &o.evergreen_popularity);
  Override(FLAGS_series_fraction, &o.series_fraction);
  Override(FLAGS_min_series_episodes, &o.min_series_episodes);
  Override(FLAGS_max_series_episodes, &o.max_series_episodes);
  Override(FLAGS_series_episode_interval_days,
           &o.series_episode_interval_days);
  Override(FLAGS_series_continue_probability, &o.series_continue_probability);
  Override(FLAGS_viral_fraction, &o.viral_fraction);
  Override(FLAGS_viral_popularity, &o.viral_popularity);
  Override(FLAGS_viral_duration_days, &o.viral_duration_days);
  Override(FLAGS_viral_max_delay_days, &o.viral_max_delay_days);
  Override(FLAGS_favourite_interest_mass, &o.favourite_interest_mass);
  Override(FLAGS_demographic_tilt, &o.demographic_tilt);
  Override(FLAGS_logged_in_probability, &o.logged_in_probability);
  Override(FLAGS_mean_watches_per_user, &o.mean_watches_per_user);
  Override(FLAGS_watches_log_sigma, &o.watches_log_sigma);
  Override(FLAGS_min_watches_per_user, &o.min_watches_per_user);
  Override(FLAGS_max_watches_per_user, &o.max_watches_per_user);
  Override(FLAGS_search_probability, &o.search_probability);
  Override(FLAGS_page_probability, &o.page_probability);
  Override(FLAGS_page_size, &o.page_size);
  Override(FLAGS_page_popular_fraction, &o.page_popular_fraction);
  Override(FLAGS_page_fresh_fraction, &o.page_fresh_fraction);
  Override(FLAGS_max_click_probability, &o.max_click_probability);
  Override(FLAGS_position_bias, &o.position_bias);
  Override(FLAGS_english_second_language_probability,
           &o.english_second_language_probability);
  Override(FLAGS_foreign_language_click_factor,
           &o.foreign_language_click_factor);
  Override(FLAGS_foreign_language_watch_factor,
           &o.foreign_language_watch_factor);
  Override(FLAGS_foreign_language_organic_acceptance,
           &o.foreign_language_organic_acceptance);
  Override(FLAGS_policy_foreign_language_acceptance,
           &o.policy_foreign_language_acceptance);
  return o;
}

// The in-memory path: files sorted by time.
int GenerateAndWrite(const WorldOptions& options, const std::string& out,
                     const std::string& truth_out) {
  const auto start = std::chrono::steady_clock::now();
  GroundTruth truth;
  absl::StatusOr<Logs> logs = GenerateWorld(options, &truth);
  if (!logs.ok()) {
    spdlog::error("world_gen: {}", std::string(logs.status().message()));
    return 2;
  }
  const auto generated = std::chrono::steady_clock::now();
  absl::Status status = WriteLogs(out, *logs);
  if (status.ok() && !truth_out.empty()) {
    status = WriteGroundTruth(truth_out, *logs, truth);
  }
  if (!status.ok()) {
    spdlog::error("world_gen: {}", std::string(status.message()));
    return 1;
  }
  const auto written = std::chrono::steady_clock::now();

  int64_t clicks = 0;
  for (const ImpressionRecord& row : logs->impressions) clicks += row.clicked;
  int64_t viral = 0;
  for (const GroundTruth::Video& video : truth.videos) viral += video.viral;
  std::cout << absl::StrFormat(
      "world_gen: preset %s, seed %d: %d videos (%d series, %d viral), %d "
      "users, %d watches (%.1f per user), %d searches, %d impressions (%d "
      "clicked) over %d days from %d; generated in %.2f s, written to %s in "
      "%.2f s.\n",
      absl::GetFlag(FLAGS_preset), options.seed, logs->videos.size(),
      truth.series.size(), viral, logs->users.size(), logs->watches.size(),
      static_cast<double>(logs->watches.size()) /
          static_cast<double>(logs->users.size()),
      logs->searches.size(), logs->impressions.size(), clicks,
      options.num_days, options.start_time_s, Seconds(start, generated), out,
      Seconds(generated, written));
  return 0;
}

// The streaming path: bounded memory, rows grouped by user.
int Stream(const WorldOptions& options, const std::string& out,
           const std::string& truth_out) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<WorldStats> stats = StreamWorld(options, out, truth_out);
  if (!stats.ok()) {
    spdlog::error("world_gen: {}", std::string(stats.status().message()));
    return stats.status().code() == absl::StatusCode::kInvalidArgument ? 2
                                                                       : 1;
  }
  std::cout << absl::StrFormat(
      "world_gen: preset %s, seed %d, streamed: %d videos (%d series, %d "
      "viral), %d users, %d watches (%.1f per user), %d searches, %d "
      "impressions (%d clicked) over %d days from %d; generated and written "
      "to %s in %.2f s.\n",
      absl::GetFlag(FLAGS_preset), options.seed, stats->videos, stats->series,
      stats->viral_videos, stats->users, stats->watches,
      static_cast<double>(stats->watches) / static_cast<double>(stats->users),
      stats->searches, stats->impressions, stats->clicks, options.num_days,
      options.start_time_s, out,
      Seconds(start, std::chrono::steady_clock::now()));
  return 0;
}

int Run() {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    spdlog::error(
        "world_gen: --out is required (the directory to write the CSV files "
        "to)");
    return 2;
  }
  absl::StatusOr<WorldOptions> options = OptionsFromFlags();
  if (!options.ok()) {
    spdlog::error("world_gen: {}", std::string(options.status().message()));
    return 2;
  }
  const bool stream = absl::GetFlag(FLAGS_stream).value_or(
      absl::GetFlag(FLAGS_preset) == "large");
  const std::string truth_out = absl::GetFlag(FLAGS_truth_out);
  return stream ? Stream(*options, out, truth_out)
                : GenerateAndWrite(*options, out, truth_out);
}

}  // namespace
}  // namespace recsys

int main(int argc, char** argv) {
  recsys::ParseCommandLineAndInitLogging(
      argc, argv,
      "Generates a simulated world (videos, users, watches, searches, "
      "impressions) and writes it as CSV.\n"
      "  world_gen --out=/abs/dir [--preset=small] [--seed=42] "
      "[--truth_out=/abs/dir] [--stream=true|false] [--num_users=N ...]\n"
      "Every knob flag overrides the preset's value; see "
      "docs/data-format.md.");
  return recsys::Run();
}
