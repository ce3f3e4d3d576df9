#include "simulator/world_options.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace recsys {
namespace {


// The first error of `statuses`, or OK.
absl::Status FirstError(const std::vector<absl::Status>& statuses) {
  for (const absl::Status& status : statuses) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

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

}  // namespace recsys
